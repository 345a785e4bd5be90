"""The reconciliation with the national copies over a period, from the months' reconciliation cells
kept in the store (`period_cells`, kind "reconcile"): no dossier row is read when they are current;
a month out of date (its dossiers or their national copies changed since) is computed from the rows
and kept, as the indicator cells are. Equal to `reconcile` over the period's rows (tested)."""

from __future__ import annotations

import pandas as pd

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.periods import Period
from cchc.domain.reconcile import counts_by_unit, reaches_national, summary_of


def period_reconciliation(store: Store, cfg: Config, period: Period, source: str = "provincial") -> pd.DataFrame:
    """The reconciliation cells of `period` (`domain.reconcile.reconcile_cells`), composed from its months'."""
    from cchc.pipeline.period_cells import RECONCILE, period_frames

    return period_frames(store, cfg, period, source, kinds=(RECONCILE,))[RECONCILE]


def reconciliation_summary(store: Store, cfg: Config, period: Period, source: str = "provincial",
                           units: list[tuple[str, str]] | None = None) -> pd.DataFrame | None:
    """`reconcile`'s summary of `period` by unit (`units` [(national_id, name)], sub-units rolled up by
    identifier prefix; default the ward's top units), or None when the store holds no national copy
    of the period's dossiers."""
    from cchc.pipeline.indicators import top_units

    cells = period_reconciliation(store, cfg, period, source)
    if not reaches_national(cells):
        return None
    return summary_of(cells, top_units(cfg) if units is None else units)


def missing_by_unit(cells: pd.DataFrame, unit_ids: dict[str, str]) -> dict[str, int]:
    """Per unit (code -> national identifier, sub-units rolled up by identifier prefix,
    `metrics.unit_matches`): its dossiers of the period (in scope, `metrics.classify` in Biểu 06
    mode) with no copy on the national portal — the reconciliation's "missing" count — from the
    period's reconciliation cells (`period_reconciliation`, or read beside the Biểu 06 cells:
    `period_cells.period_frames(..., kinds=("bieu06", "reconcile"))`)."""
    by_unit = counts_by_unit(cells)
    return {code: int(by_unit.loc[m.unit_matches(by_unit["unit_code"], nid), "missing"].sum())
            for code, nid in unit_ids.items()}
