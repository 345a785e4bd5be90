"""The indicator tables (DOMAIN.md §4): additive counts and rates of classified dossiers grouped by
unit, procedure, field or channel (TOTAL last), the cells a period is composed from, the roll-up of
sub-units into their parents, and the display form of rates and days."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cchc.domain.classification import FLAG_COLUMNS, period_bounds
from cchc.domain.periods import Period
from cchc.domain.records import (
    CHANNEL_NAMES_VI,
    Channel,
)
from cchc.domain.text import format_decimal, format_percent
from cchc.domain.timeliness import (
    LATE,
    compare_end_to_due_series,
    is_overdue_at_series,
    local_us_values,
    working_days_series,
)

#: The table's counts. Several bear the names of CLASSIFIED_COLUMNS' flags: each flag is summed into
#: its count, but the two lists stay apart — counts add roll-ups (received) and outline figures that
#: are not flags, and some flags (excluded, in_scope) are never counted.
COUNT_COLUMNS = (
    "received",
    "received_in_period",
    "received_online",
    "received_in_person_postal",
    "received_postal",
    "carried_over",
    "resolved",
    "early",
    "on_time",
    "late",
    "pending",
    "pending_in_time",
    "pending_overdue",
    "data_issues",
    # The unit report outline (đề cương báo cáo, DOMAIN.md §1) beyond the rates' own counts:
    "returned_unresolved",  # resolved by being returned without resolution after reception (trả lại)
    "supplement_unresolved",  # pending at the period end after a supplement request (tạm dừng bổ sung)
    "digitized_components",  # received in the period with a digitized component
    "digitized_results",  # resolved in the period with a result (9/10) that is electronic
)


#: The rates of `indicator_table`; each has `<rate>_num`, `<rate>_den` and `<rate>` (percent, NaN = N/A).
RATES = (
    "on_time_rate",
    "progress_766_rate",
    "online_rate",
    "full_online_rate",
    "online_payment_rate",
    "digitization_rate",
    "reuse_rate",
    "postal_rate",
    "satisfaction_rate",
    "apology_rate",
)


STEP_COUNT_COLUMNS = (
    "steps",
    "steps_on_time",
    "steps_late",
    "steps_pending",
    "steps_overdue",
    "step_data_issues",
)


STEP_RATE = "step_on_time_rate"


GROUPINGS = {
    "unit": ("unit_code",),
    "procedure": ("procedure_code",),
    "field": ("field_code",),
    "channel": ("channel",),
}


_GROUP_LABELS = {"procedure": "procedure_name", "field": "field_name"}


TOTAL = "TOTAL"


TOTAL_LABEL_VI = "Tổng cộng"


UNMATCHED = "UNMATCHED"


UNMATCHED_LABEL_VI = "Đơn vị khác (không thuộc đơn vị đã khai báo)"


# ============================================================================ facts


def _relevant_rows(c: pd.DataFrame) -> np.ndarray:
    """Rows that count anywhere in a table: in scope, or flagged and unplaceable (no reception)."""
    in_scope = c["in_scope"].to_numpy(dtype=bool)
    no_recv = c["data_issue"].to_numpy(dtype=bool) & (c["data_issue_reason"].to_numpy() == "no_received_time")
    return in_scope | no_recv


#: Parts of the counts that are not sums over sub-periods, kept in cells so that the cells of
#: consecutive sub-periods compose into the period's (`cchc.domain.cells`): data issues among the
#: dossiers carried over / not placed in time (no reception time), and apologies among the dossiers
#: pending overdue at the period end.
COMPONENT_COLUMNS = ("data_issues_carried", "data_issues_unplaced", "apology_overdue")


def _additive_arrays(c: pd.DataFrame, rows: np.ndarray, components: bool = False) -> dict[str, np.ndarray]:
    """Per-row 0/1 arrays (bool) and processing days (float) over the selected rows, whose group
    sums make every count and rate (with `components`, also COMPONENT_COLUMNS)."""

    def col(name: str, dtype=None) -> np.ndarray:
        return c[name].to_numpy(dtype=dtype)[rows]

    g = {k: col(k, bool) for k in FLAG_COLUMNS}
    rip = g["received_in_period"]
    resolved, pending = g["resolved"], g["pending"]
    good = resolved & (g["early"] | g["on_time"])
    full = col("online_level") == 4
    # The record's fee, or where it tells none, the catalogue's (all fees 0: no fee, DOMAIN.md §4).
    owes = col("owes_fee", bool) | (col("fee_unstated", bool) & col("procedure_has_fee", bool))
    has_result = np.isin(col("status"), (9, 10))
    component = col("digitized_component", bool)
    e_result = col("e_result", bool)
    # Digitized (DOMAIN.md §4): a digitized component and, where the result is a paper document, an
    # electronic result — finished or not, withdrawn or not: no electronic result yet, not digitized.
    digitized = component & (e_result | ~col("result_paper", bool))
    supplement_requested = (
        (col("supplement_count") > 0) | col("supplement_pending", bool) | (col("status") == 5)
    )
    evaluation = col("evaluation", float)
    late_any = g["late"] | g["pending_overdue"]
    proc = col("processing_days", float)
    proc_ok = resolved & ~np.isnan(proc)
    cols = {
        "received": g["in_scope"],
        "received_in_period": rip,
        "received_online": g["received_online"],
        "received_in_person_postal": g["received_in_person_postal"],
        "received_postal": g["received_postal"],
        "carried_over": g["carried_over"],
        "resolved": resolved,
        "early": g["early"],
        "on_time": g["on_time"],
        "late": g["late"],
        "pending": pending,
        "pending_in_time": g["pending_in_time"],
        "pending_overdue": g["pending_overdue"],
        "data_issues": g["data_issue"],
        "returned_unresolved": g["returned_unresolved"],
        "supplement_unresolved": pending & supplement_requested,
        "digitized_components": rip & component,
        "digitized_results": resolved & has_result & e_result,
        "on_time_rate_num": good,
        "on_time_rate_den": resolved,
        "progress_766_rate_num": good | g["pending_in_time"],
        "progress_766_rate_den": resolved | pending,
        "online_rate_num": g["received_online"],
        "online_rate_den": rip,
        "full_online_rate_num": g["received_online"] & full,
        "full_online_rate_den": rip & full,
        "online_payment_rate_num": rip & owes & col("paid_online", bool),
        "online_payment_rate_den": rip & owes,
        "digitization_rate_num": rip & digitized,
        "digitization_rate_den": rip,
        "reuse_rate_num": rip & col("reused_component", bool),
        "reuse_rate_den": rip,
        "postal_rate_num": g["received_postal"],
        "postal_rate_den": rip,
        "satisfaction_rate_num": resolved & (evaluation == 1),
        "satisfaction_rate_den": resolved & ~np.isnan(evaluation),
        "apology_rate_num": late_any & col("apology", bool),
        "apology_rate_den": late_any,
    }
    cols["processing_days_sum"] = np.where(proc_ok, proc, 0.0)
    cols["processing_days_count"] = proc_ok
    if components:
        cols["data_issues_carried"] = g["data_issue"] & g["carried_over"]
        cols["data_issues_unplaced"] = g["data_issue"] & ~g["in_scope"]
        cols["apology_overdue"] = g["pending_overdue"] & col("apology", bool)
    return cols


def _group_sums(arrays: dict[str, np.ndarray], codes: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Per-group sums of each array (bincount: no per-group Python work, no wide frames)."""
    out = {}
    for name, values in arrays.items():
        if values.dtype == np.bool_:
            out[name] = np.bincount(codes[values], minlength=n_groups).astype(np.int64)
        else:
            out[name] = np.bincount(codes, weights=values, minlength=n_groups)
    return out


def _totals(arrays: dict[str, np.ndarray]) -> dict[str, float | int]:
    return {
        name: (int(np.count_nonzero(v)) if v.dtype == np.bool_ else float(v.sum()))
        for name, v in arrays.items()
    }


def additive_columns(table: pd.DataFrame) -> list[str]:
    names = list(COUNT_COLUMNS)
    for r in (*RATES, STEP_RATE):
        names += [f"{r}_num", f"{r}_den"]
    names += ["processing_days_sum", "processing_days_count", *STEP_COUNT_COLUMNS, *COMPONENT_COLUMNS]
    return [n for n in names if n in table.columns]


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """Compute every rate (percent, NaN on a zero denominator) from its num/den, in column order."""
    computed: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for r in (*RATES, STEP_RATE):
            if f"{r}_num" in table.columns:
                num = table[f"{r}_num"].to_numpy(dtype=float)
                den = table[f"{r}_den"].to_numpy(dtype=float)
                computed[r] = np.where(den > 0, num / den * 100.0, np.nan)
        s = table["processing_days_sum"].to_numpy(dtype=float)
        n = table["processing_days_count"].to_numpy(dtype=float)
        computed["avg_processing_days"] = np.where(n > 0, s / n, np.nan)
    table = pd.concat(
        [
            table.drop(columns=[c for c in computed if c in table.columns]),
            pd.DataFrame(computed, index=table.index),
        ],
        axis=1,
    )
    return table[_ordered_columns(table)]


def _ordered_columns(table: pd.DataFrame) -> list[str]:
    head = [c for c in table.columns if c not in _known_columns()]
    cols = head + [c for c in COUNT_COLUMNS if c in table.columns]
    for r in RATES:
        cols += [f"{r}_num", f"{r}_den", r]
    cols += ["avg_processing_days", "processing_days_sum", "processing_days_count"]
    if "steps" in table.columns:
        cols += [*STEP_COUNT_COLUMNS, f"{STEP_RATE}_num", f"{STEP_RATE}_den", STEP_RATE]
    return cols + [c for c in COMPONENT_COLUMNS if c in table.columns]


def _known_columns() -> set[str]:
    known = set(COUNT_COLUMNS) | {"avg_processing_days", "processing_days_sum", "processing_days_count"}
    for r in (*RATES, STEP_RATE):
        known |= {r, f"{r}_num", f"{r}_den"}
    return known | set(STEP_COUNT_COLUMNS) | set(COMPONENT_COLUMNS)


def _keys_for(by: str | list[str] | None) -> tuple[list[str], str | None]:
    if by is None:
        return [], None
    if isinstance(by, str):
        if by in GROUPINGS:
            return list(GROUPINGS[by]), by
        return [by], None
    return list(by), None


def _first_names(rows: pd.DataFrame, code: str, name: str) -> dict[str, str]:
    """code -> the first row's name, as plain text (mapping Categoricals by value, not position)."""
    first = rows.groupby(code, sort=False, observed=True)[name].first()
    return {str(k): str(v) for k, v in first.items() if not pd.isna(v)}


def _labels(grouped: pd.DataFrame, keys: list[str], kind: str | None, rows: pd.DataFrame) -> pd.DataFrame:
    """Add `group` (key text) and `label` (human-readable name) to a grouped table."""
    if not keys:
        return grouped
    if len(keys) == 1:
        group = grouped[keys[0]].astype(str)
    else:
        group = (grouped[keys].astype(str).agg(" / ".join, axis=1) if len(grouped)
                 else pd.Series([], dtype=object))
    grouped.insert(len(keys), "group", group.to_numpy())
    if kind in _GROUP_LABELS:
        names = _first_names(rows, keys[0], _GROUP_LABELS[kind])
        label = grouped[keys[0]].astype(str).map(names).fillna("").astype(str)
        label = label.where(label != "", grouped["group"])
    elif kind == "channel":
        label = grouped["channel"].map(
            lambda v: CHANNEL_NAMES_VI.get(Channel(v), str(v)) if v in (1, 2, 3) else str(v)
        )
    else:
        label = grouped["group"]
    grouped.insert(len(keys) + 1, "label", label.to_numpy())
    return grouped


def _total_row(summed: pd.Series, keys: list[str]) -> pd.DataFrame:
    row = {k: (pd.NA if k == "channel" else "") for k in keys}
    row.update({"group": TOTAL, "label": TOTAL_LABEL_VI})
    row.update(summed.to_dict())
    return pd.DataFrame([row])


def steps_additive(steps: pd.DataFrame, period: Period, compare: str) -> pd.DataFrame:
    """Per-step 0/1 columns: done in period on time / late, pending / overdue at period end,
    done without a deadline (data issue)."""
    s = steps
    at = s["at"] if "at" in s.columns else pd.Series(pd.NaT, index=s.index)
    due = s["step_due"] if "step_due" in s.columns else pd.Series(pd.NaT, index=s.index)
    at_v = local_us_values(at)
    start, after = period_bounds(period)
    done = ~np.isnat(at_v) & (at_v >= start) & (at_v < after)
    cmp = compare_end_to_due_series(pd.Series(at_v, index=s.index), due, compare)
    late = done & (cmp == LATE).fillna(False).to_numpy(dtype=bool)
    on_time = done & ~late
    not_done = np.isnat(at_v) | (at_v >= after)
    if "started_at" in s.columns:
        st = local_us_values(s["started_at"])
        not_done &= np.isnat(st) | (st < after)
    overdue = not_done & is_overdue_at_series(due, period.end, compare).to_numpy()
    no_deadline = done & np.isnat(local_us_values(due))
    return pd.DataFrame(  # 0/1 as bool: a byte per step and column (sums count them)
        {
            "steps": done,
            "steps_on_time": on_time,
            "steps_late": late,
            "steps_pending": not_done,
            "steps_overdue": overdue,
            f"{STEP_RATE}_num": on_time,
            f"{STEP_RATE}_den": done,
            "step_data_issues": no_deadline,
        },
        index=s.index,
    ).astype(bool)


def indicator_table(
    classified: pd.DataFrame,
    by: str | list[str] | None = None,
    steps: pd.DataFrame | None = None,
    calendar=None,
    _components: bool = False,
) -> pd.DataFrame:
    """One row per group plus a final TOTAL row (`group` == "TOTAL", `label` "Tổng cộng").

    by: "unit" (unit_code as is), "procedure" (procedure_code; label = procedure_name), "field"
    (field_code; label = field_name), "channel" (label Trực tiếp / Trực tuyến / Bưu chính), any
    facts column name or list of names, or None (TOTAL row only). Columns: the key columns,
    group, label, COUNT_COLUMNS, for each rate in RATES `<rate>_num`, `<rate>_den`, `<rate>`
    (percent float, NaN when the denominator is 0 = "không phát sinh"), avg_processing_days
    (mean over resolved dossiers; working days if a calendar was given here or to `classify`,
    else calendar days; NaN if none), processing_days_sum, processing_days_count.

    With `steps`, per group (steps joined to dossiers by code) also: steps (done in the period),
    steps_on_time, steps_late, steps_pending, steps_overdue (at the period end) and
    step_on_time_rate(_num/_den). Only groups with at least one dossier in scope or flagged appear.
    """
    if classified.attrs.get("table") == "cells":
        if steps is not None:
            raise ValueError("indicator_table with steps needs the classified rows, not cells")
        return _from_cells(classified, by)
    if "in_scope" not in classified.columns:
        raise ValueError("indicator_table needs the output of classify() or cell_table()")
    keys, kind = _keys_for(by)
    missing = [k for k in keys if k not in classified.columns]
    if missing:
        raise ValueError(f"unknown grouping column(s): {', '.join(missing)}")
    c = classified
    if calendar is not None and c.attrs.get("processing_basis") != "working":
        c = c.copy(deep=False)
        resolved = c["resolved"].to_numpy(dtype=bool)
        proc = np.full(len(c), np.nan)
        if resolved.any():
            a = c["received_at"][resolved]
            b = c["end_at"][resolved]
            proc[resolved] = working_days_series(a, b, calendar).to_numpy()
        c["processing_days"] = proc
    rows = _relevant_rows(c)
    arrays = _additive_arrays(c, rows, components=_components)
    summed = pd.Series(_totals(arrays), dtype=object)
    if keys:
        key_frame = pd.DataFrame({k: c[k][rows].reset_index(drop=True) for k in keys})
        grouper = key_frame.groupby(keys, sort=True, dropna=False)
        codes = grouper.ngroup().to_numpy()
        sizes = grouper.size()
        grouped = sizes.index.to_frame(index=False)
        grouped = pd.concat([grouped, pd.DataFrame(_group_sums(arrays, codes, len(sizes)))], axis=1)
    else:
        grouped = pd.DataFrame(columns=list(arrays))

    if steps is not None:
        period = c.attrs.get("period")
        if period is None:
            raise ValueError("indicator_table with steps needs a classified frame (attrs['period'])")
        sa = steps_additive(steps, period, c.attrs.get("compare", "date"))
        step_cols = list(sa.columns)
        if keys:
            dossier_keys = c[["code", *keys]].drop_duplicates("code")
            sa["code"] = steps["code"].to_numpy()
            sa = sa.merge(dossier_keys, on="code", how="inner")
            sg = sa.groupby(keys, sort=True, dropna=False)[step_cols].sum().reset_index()
            grouped = grouped.merge(sg, on=keys, how="outer").sort_values(keys, ignore_index=True)
            summed = pd.concat([summed, sa[step_cols].sum()])
        else:
            summed = pd.concat([summed, sa[step_cols].sum()])

    return _assemble(_labels(grouped, keys, kind, c), summed, keys, dict(classified.attrs))


def _assemble(grouped: pd.DataFrame, summed: pd.Series, keys: list[str], attrs: dict) -> pd.DataFrame:
    """Labelled groups + the TOTAL row, counts as ints, rates computed."""
    total = _total_row(summed, keys)
    table = pd.concat([grouped, total], ignore_index=True) if len(grouped) else total
    ints = [col for col in additive_columns(table) if col != "processing_days_sum"]
    table[ints] = table[ints].fillna(0).astype(np.int64)
    table["processing_days_sum"] = table["processing_days_sum"].fillna(0.0).astype(float)
    out = _finish(table)
    out.attrs = attrs
    return out


# ============================================================================ cells


#: The finest grouping: every grouping of `indicator_table` (unit, procedure, field, channel, or
#: none) is a sum of these cells.
CELL_KEYS = ("unit_code", "procedure_code", "field_code", "channel")


def cell_table(classified: pd.DataFrame, calendar=None) -> pd.DataFrame:
    """The additive counts of a classified frame per cell (unit, procedure, field, channel): the
    rules run over the rows once, and `indicator_table`, `rollup_units` and `bieu06_rows` given
    this frame sum cells instead of rows, to the same numbers. The procedure and field names are
    those `indicator_table` would show (the first row's, per code). attrs["table"] == "cells"."""
    t = indicator_table(classified, by=list(CELL_KEYS), calendar=calendar, _components=True)
    cells = t[t["group"] != TOTAL].drop(columns=["group", "label", *RATES, "avg_processing_days"])
    cells = cells.reset_index(drop=True)
    for code, name in (("procedure_code", "procedure_name"), ("field_code", "field_name")):
        cells[name] = cells[code].astype(str).map(_first_names(classified, code, name)).fillna("").astype(str)
    cells.attrs = {**classified.attrs, "table": "cells"}
    return cells


def _from_cells(cells: pd.DataFrame, by: str | list[str] | None) -> pd.DataFrame:
    keys, kind = _keys_for(by)
    missing = [k for k in keys if k not in cells.columns]
    if missing:
        raise ValueError(f"unknown grouping column(s) for cells: {', '.join(missing)}")
    additive = [c for c in additive_columns(cells) if c not in COMPONENT_COLUMNS]
    summed = cells[additive].sum()
    if keys:
        grouped = cells.groupby(keys, sort=True, dropna=False, observed=True)[additive].sum().reset_index()
    else:
        grouped = pd.DataFrame(columns=additive)
    attrs = {k: v for k, v in cells.attrs.items() if k != "table"}
    return _assemble(_labels(grouped, keys, kind, cells), summed, keys, attrs)


# ============================================================================ roll-up


def unit_matches(unit_codes: pd.Series, national_id: str) -> np.ndarray:
    """Prefix match on national-id segments: "H99.99.04" matches "H99.99.04" and "H99.99.04.01",
    not "H99.99.041"."""
    nid = str(national_id).strip().rstrip(".")
    s = unit_codes.astype(str).str.strip()
    return ((s == nid) | s.str.startswith(nid + ".")).to_numpy(dtype=bool)


def rollup_units(
    table_or_classified: pd.DataFrame,
    units: Sequence[tuple[str, str]],
) -> pd.DataFrame:
    """One row per configured unit (in the given order): `unit_code` = its national id,
    `group` = the id, `label` = its name; it aggregates every dossier whose unit_code is the id or
    lies under it (`unit_matches`). Units may nest, so the rows need not add up to the total.
    Then an "UNMATCHED" row when some dossiers belong to none of the units (never dropped), and the
    TOTAL row over all dossiers. Accepts a `classify` output or an `indicator_table(by="unit")`."""
    t = table_or_classified
    if "in_scope" in t.columns or t.attrs.get("table") == "cells":
        t = indicator_table(t, by="unit")
    if "unit_code" not in t.columns or "group" not in t.columns:
        raise ValueError("rollup_units needs a classified frame or an indicator_table(by='unit')")
    body = t[t["group"] != TOTAL]
    additive = additive_columns(t)
    rows = []
    covered = np.zeros(len(body), dtype=bool)
    for nid, name in units:
        mask = unit_matches(body["unit_code"], nid)
        covered |= mask
        row = {"unit_code": nid, "group": nid, "label": name}
        row.update(body.loc[mask, additive].sum().to_dict())
        rows.append(row)
    if (~covered).any():
        row = {"unit_code": "", "group": UNMATCHED, "label": UNMATCHED_LABEL_VI}
        row.update(body.loc[~covered, additive].sum().to_dict())
        rows.append(row)
    row = {"unit_code": "", "group": TOTAL, "label": TOTAL_LABEL_VI}
    row.update(body[additive].sum().to_dict())
    rows.append(row)
    table = pd.DataFrame(rows)
    ints = [col for col in additive if col != "processing_days_sum"]
    table[ints] = table[ints].astype(np.int64)
    table["processing_days_sum"] = table["processing_days_sum"].astype(float)
    out = _finish(table)
    out.attrs = dict(t.attrs)
    return out


# ============================================================================ officers


def format_days(value: float | None, na: str = "không phát sinh") -> str:
    """3.256 -> '3,26'; NaN/None -> 'không phát sinh'."""
    if value is None or pd.isna(value):
        return na
    return format_decimal(value, na=na)


def rates_for_display(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with no NaN: every rate column (`*_rate`) as '95,25%' or 'không phát sinh',
    avg_processing_days as '3,25' or 'không phát sinh', counts as ints, other blanks as ''."""
    out = table.copy()
    for col in out.columns:
        if col.endswith("_rate"):
            out[col] = [format_percent(None if pd.isna(v) else float(v)) for v in out[col]]
        elif col == "avg_processing_days":
            out[col] = [format_days(v) for v in out[col]]
    for col in out.columns:
        if out[col].isna().any():
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    return out
