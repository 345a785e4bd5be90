"""Indicators of a period: read its cells from the store and compute every table with the domain
rules (the shaping for people is in `cchc.report`). One call per table set, never per dossier."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain import outline
from cchc.domain.bieu06 import bieu06_rows
from cchc.domain.periods import Period
from cchc.domain.reconcile import reconcile
from cchc.domain.score766 import scores_by_unit
from cchc.domain.text import as_number


@dataclass
class PeriodData:
    """A period's cells (Biểu 06 and 766 modes, officers) and, for reconciliation, its rows."""

    period: Period
    cells: pd.DataFrame
    cells_766: pd.DataFrame
    officers: pd.DataFrame
    classified: pd.DataFrame | None = None
    national: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    source: str = "provincial"
    #: False when the source holds no processing steps at all (an Excel export has none).
    has_steps: bool = True


#: The provincial columns `load_rows` reads: what reconciliation compares, and what `classify`
#: needs for the period's scope (status, reception, end: finished, returned or refused).
RECONCILED_COLUMNS = (*Store.NATIONAL_COLUMNS, "refused_at")


def load_period(store: Store, cfg: Config, period: Period, source: str = "provincial",
                with_national: bool = True) -> PeriodData:
    """The period's cells, composed from its months' cells kept in the store (`period_cells`:
    computed from the rows only for months not current), and — `with_national` — the rows that
    reconciliation with the national portal compares (`load_rows`, read beside the cells)."""
    from concurrent.futures import ThreadPoolExecutor

    from cchc.pipeline.period_cells import period_cells

    has_steps = store.has_steps(source)
    if not with_national:
        c = period_cells(store, cfg, period, source)
        return PeriodData(period, c.bieu06, c.c766, c.officers, source=source, has_steps=has_steps)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cchc-load") as pool:
        rows = pool.submit(load_rows, store, cfg, period, source)
        c = period_cells(store, cfg, period, source)
        classified, national = rows.result()
    return PeriodData(period, c.bieu06, c.c766, c.officers, classified, national, source=source,
                      has_steps=has_steps)


def load_rows(store: Store, cfg: Config, period: Period, source: str = "provincial"
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What reconciliation with the national portal compares: the period's facts of `source`,
    classified (Biểu 06 mode), and the national copies of the same dossiers, read side by side. Only
    the columns it reads: the compared ones (`Store.NATIONAL_COLUMNS`) and, for the period's scope,
    the refusal time — not the 25 columns of every indicator (the cells hold those)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cchc-national") as pool:
        # scoped: a dossier without a reception time is in no period's scope, never compared
        national = pool.submit(store.load_facts, "national", period.start, period.end, scope_source=source,
                               columns=store.NATIONAL_COLUMNS, scoped=True)
        facts = store.load_facts(source, period.start, period.end, columns=RECONCILED_COLUMNS, scoped=True)
        classified = m.classify(facts, period, mode="bieu06", compare=cfg.reporting.timeliness_compare)
        return classified, national.result()


def choose_source(store: Store, cfg: Config, requested: str | None = None) -> str:
    """The source a report reads: `domain.sources.reporting_source` over what the store holds.
    Raises a one-line `SourceChoiceError` (nothing read, nothing written) when it cannot choose."""
    from cchc.domain.sources import SourceChoiceError, check_source, reporting_source

    if requested:
        return check_source(requested)
    if cfg.reporting.source:
        return reporting_source(None, cfg.reporting.source, {})
    held = {s: 1 for s in store.sources_held()}  # which sources have rows: an index probe each
    try:
        return reporting_source(None, None, held)
    except SourceChoiceError:  # several sources: the message names how many dossiers each holds
        return reporting_source(None, None, store.count_by_source())


def top_units(cfg: Config) -> list[tuple[str, str]]:
    """Units without a parent: they partition the ward, so their rows add up to the total."""
    return [(u.national_id, u.name) for u in cfg.units if u.parent is None]


def all_units(cfg: Config) -> list[tuple[str, str]]:
    """Every configured unit, sub-units indented under their parent (rolled up by identifier prefix)."""
    depth = {}
    by_code = {u.code: u for u in cfg.units}

    def d(u):
        if u.code not in depth:
            depth[u.code] = 0 if u.parent is None else d(by_code[u.parent]) + 1
        return depth[u.code]

    return [(u.national_id, "  " * d(u) + u.name) for u in cfg.units]


def has_dossiers(data: PeriodData) -> bool:
    """Whether the period holds any dossier (received in it or carried over into it)."""
    t = m.indicator_table(data.cells, by=None)
    return bool(len(t)) and int(t[t["group"] == m.TOTAL]["received"].sum()) > 0


def group_table(data: PeriodData, cfg: Config, by: str, nested: bool = False) -> pd.DataFrame:
    """The indicator table for one grouping (with TOTAL last)."""
    if by == "unit":
        return m.rollup_units(m.indicator_table(data.cells, by="unit"),
                              all_units(cfg) if nested else top_units(cfg))
    if by == "officer":
        names = {o.username: o.name for o in cfg.officers}
        t = data.officers.copy()
        t["label"] = [names.get(g, g) if g != m.TOTAL else m.TOTAL_LABEL_VI for g in t["group"]]
        return t
    return m.indicator_table(data.cells, by=by)


def bieu06(data: PeriodData, cfg: Config, unit_table: pd.DataFrame | None = None) -> tuple[list, list]:
    """Biểu 06 rows by field and by top unit; `unit_table`: the period's `group_table(data, cfg,
    "unit")` when the caller holds it (not computed again)."""
    from cchc.domain.bieu06 import table_rows

    by_field = bieu06_rows(data.cells, by="field")
    by_unit = (table_rows(unit_table) if unit_table is not None
               else bieu06_rows(data.cells, by="unit", units=top_units(cfg)))
    return by_field, by_unit


def outline_rows(data: PeriodData, cfg: Config) -> list[dict]:
    """The unit report outline's figures per top unit (Biểu 06 mode), the total last."""
    return outline.outline_rows(m.rollup_units(m.indicator_table(data.cells, by="unit"), top_units(cfg)))


def unit_table_766(data: PeriodData, cfg: Config) -> pd.DataFrame:
    """The unit table in 766 mode (status 8 ends; more than one supplement request is late): what
    the 766 scores read."""
    return m.rollup_units(m.indicator_table(data.cells_766, by="unit"), all_units(cfg))


def reconciliation(data: PeriodData, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    if data.classified is None:
        raise ValueError("reconciliation needs the period's rows: load_period(..., with_national=True)")
    return reconcile_rows(data.classified, data.national, data.period, cfg)


def reconcile_rows(classified: pd.DataFrame, national: pd.DataFrame | None, period: Period,
                   cfg: Config, with_mismatches: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary by unit, mismatches: empty unless `with_mismatches`) of the rows `load_rows` reads."""
    national = national if national is not None else classified.iloc[0:0]
    # Biểu 06 scope (the default mode); the classification is reused when it is that one.
    return reconcile(classified, national, period, cfg.reporting.timeliness_compare, units=top_units(cfg),
                     with_mismatches=with_mismatches)


def scores(unit_table: pd.DataFrame, sync_summary: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    weights = {k: (v.max_points, v.threshold) for k, v in cfg.score_766.items()}
    sync_rates = {}
    if sync_summary is not None and len(sync_summary):
        for r in sync_summary.to_dict("records"):
            sync_rates[str(r["group"])] = as_number(r.get("sync_rate"))
    return scores_by_unit(unit_table, weights, sync_rates)


def sync_total(summary: pd.DataFrame) -> dict:
    if summary is None or not len(summary):
        return {"rate": None, "num": 0, "den": 0}
    t = summary[summary["group"] == m.TOTAL]
    if t.empty:
        return {"rate": None, "num": 0, "den": 0}
    r = t.iloc[0]
    return {"rate": as_number(r["sync_rate"]), "num": int(r["sync_rate_num"]), "den": int(r["sync_rate_den"])}
