"""Composing a period from its sub-periods (DOMAIN.md §4): the cells of consecutive sub-periods
(months, or month pieces of a custom range) add up to the cells of the whole period, so a year's
report can be assembled from twelve months' cells kept in the store instead of a million rows.

Three kinds of count, one rule each:
- flows — received in the period, resolved (early / on time / late), the rate numerators and
  denominators over those, processing days, steps done: the sum over the sub-periods;
- the opening stock — carried over from before the period (and the data issues among those
  dossiers, and among the dossiers with no reception time, which are in every period): the first
  sub-period's;
- the closing stock — pending at the period end, within time or overdue (and the apologies among
  the overdue ones, those paused for a supplement, steps not done at the end): the last
  sub-period's.
The compound columns are rebuilt from their parts: received = received in period + carried over;
the 766 progress rate = (good + pending in time) / (resolved + pending); the apology rate =
apologies among (late + pending overdue).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cchc.domain import metrics as m
from cchc.domain.periods import Period

#: Counts of the period's opening / closing stock in a cell frame.
OPENING = ("carried_over", "data_issues_carried", "data_issues_unplaced")
CLOSING = ("pending", "pending_in_time", "pending_overdue", "apology_overdue", "supplement_unresolved")
_LABELS = (("procedure_code", "procedure_name"), ("field_code", "field_name"))


def check_consecutive(periods: Sequence[Period], period: Period) -> None:
    if not periods:
        raise ValueError("compose: no sub-periods")
    if periods[0].start != period.start or periods[-1].end != period.end or any(
        (b.start - a.end).days != 1 for a, b in zip(periods, periods[1:], strict=False)
    ):
        spans = ", ".join(f"{p.start}..{p.end}" for p in periods)
        raise ValueError(f"compose: sub-periods [{spans}] do not cover {period.start}..{period.end} in order")


def _flows(cells: pd.DataFrame) -> pd.DataFrame:
    """A cell frame's additive part: stock counts zeroed, compound counts cut to their flow part."""
    f = cells.copy()
    f["received"] = f["received_in_period"]
    f["data_issues"] = f["data_issues"] - f["data_issues_carried"] - f["data_issues_unplaced"]
    f["progress_766_rate_num"] = f["on_time_rate_num"]
    f["progress_766_rate_den"] = f["resolved"]
    f["apology_rate_num"] = f["apology_rate_num"] - f["apology_overdue"]
    f["apology_rate_den"] = f["late"]
    for col in (*OPENING, *CLOSING):
        f[col] = 0
    return f


def _opening(cells: pd.DataFrame) -> pd.DataFrame:
    """Only the opening stock of a cell frame (everything else zero)."""
    f = _zero(cells)
    for col in OPENING:
        f[col] = cells[col]
    f["received"] = cells["carried_over"]
    f["data_issues"] = cells["data_issues_carried"] + cells["data_issues_unplaced"]
    return f


def _closing(cells: pd.DataFrame) -> pd.DataFrame:
    """Only the closing stock of a cell frame (everything else zero)."""
    f = _zero(cells)
    for col in CLOSING:
        f[col] = cells[col]
    f["progress_766_rate_num"] = cells["pending_in_time"]
    f["progress_766_rate_den"] = cells["pending"]
    f["apology_rate_num"] = cells["apology_overdue"]
    f["apology_rate_den"] = cells["pending_overdue"]
    return f


def _zero(cells: pd.DataFrame) -> pd.DataFrame:
    f = cells.copy()
    for col in m.additive_columns(cells):
        f[col] = 0.0 if col == "processing_days_sum" else 0
    return f


def compose_cells(parts: Sequence[pd.DataFrame], period: Period) -> pd.DataFrame:
    """The cells of `period` from the cells (`metrics.cell_table`) of its consecutive sub-periods,
    in order. Equal to `cell_table(classify(facts, period))` (property-tested), same attrs."""
    periods = [p.attrs.get("period") for p in parts]
    if any(p is None or p.attrs.get("table") != "cells" for p in parts):
        raise ValueError("compose_cells needs cell_table() frames (attrs['table'] == 'cells')")
    check_consecutive(periods, period)
    modes = {(p.attrs.get("mode"), p.attrs.get("compare"), p.attrs.get("processing_basis")) for p in parts}
    if len(modes) != 1:
        raise ValueError(f"compose_cells: sub-periods classified differently: {sorted(map(str, modes))}")
    missing = [c for c in m.COMPONENT_COLUMNS if c not in parts[0].columns]
    if missing:
        raise ValueError(f"compose_cells: cells without the columns {', '.join(missing)}")
    keys = list(m.CELL_KEYS)
    pieces = [_flows(p) for p in parts] + [_opening(parts[0]), _closing(parts[-1])]
    stacked = pd.concat([p for p in pieces if len(p)], ignore_index=True) if any(len(p) for p in pieces) \
        else parts[0].iloc[0:0]
    additive = m.additive_columns(stacked)
    out = stacked.groupby(keys, sort=True, dropna=False, observed=True)[additive].sum().reset_index()
    ints = [c for c in additive if c != "processing_days_sum"]
    out[ints] = out[ints].astype(np.int64)
    out["processing_days_sum"] = out["processing_days_sum"].astype(float)
    for code, name in _LABELS:  # a code's name: the latest sub-period's
        names: dict[str, str] = {}
        for p in parts:
            names.update((str(k), str(v)) for k, v in zip(p[code], p[name], strict=True) if str(v))
        out[name] = out[code].astype(str).map(names).fillna("").astype(str)
    out = out[[c for c in parts[0].columns if c in out.columns]]
    out.attrs = {**parts[0].attrs, "period": period}
    return out


#: Officer table columns of the closing stock (the rest are sums over the sub-periods).
OFFICER_CLOSING = ("pending", "pending_overdue")
_OFFICER_SUMS = ("steps", "on_time", "late", "on_time_rate_num", "on_time_rate_den", "data_issues")


def compose_officers(parts: Sequence[pd.DataFrame], period: Period) -> pd.DataFrame:
    """`metrics.officer_table` of `period` from the officer tables of its consecutive sub-periods, in
    order; property-tested equal to the table computed from the steps."""
    periods = [p.attrs.get("period") for p in parts]
    if any(p is None for p in periods):
        raise ValueError("compose_officers needs officer tables with attrs['period']")
    check_consecutive(periods, period)
    frames = []
    last = len(parts) - 1
    for i, t in enumerate(parts):
        body = t[t["group"] != m.TOTAL][["officer", *_OFFICER_SUMS, *OFFICER_CLOSING]].copy()
        if i != last:
            for col in OFFICER_CLOSING:
                body[col] = 0
        frames.append(body)
    stacked = pd.concat(frames, ignore_index=True)
    stacked["officer"] = stacked["officer"].astype(str)
    cols = [*_OFFICER_SUMS, *OFFICER_CLOSING]
    grouped = stacked.groupby("officer", sort=True)[cols].sum().reset_index()
    grouped = grouped[(grouped["steps"] > 0) | (grouped["pending"] > 0)]
    return m.officer_table_from_counts(grouped, period)
