"""Reconciliation of the provincial system against the national portal (DOMAIN.md §4, sync rate).

Pure domain code: two facts frames in (same columns as metrics), a per-unit summary and a list of
mismatches out. Mismatch rows carry dossier codes and unit codes only, never anything personal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cchc.domain.cells import check_consecutive
from cchc.domain.metrics import (
    TOTAL,
    TOTAL_LABEL_VI,
    UNMATCHED,
    UNMATCHED_LABEL_VI,
    classify,
    normalize_facts,
    unit_matches,
)
from cchc.domain.periods import Period
from cchc.domain.records import STATUS_NAMES_VI
from cchc.domain.timeliness import COMPARE_MODES

KIND_MISSING = "thiếu trên Cổng DVCQG"
KIND_STATUS = "lệch trạng thái"
KIND_DUE = "lệch ngày hẹn trả"
KIND_FINISH = "lệch ngày kết thúc"
KINDS = (KIND_MISSING, KIND_STATUS, KIND_DUE, KIND_FINISH)

MISMATCH_COLUMNS = ("code", "unit_code", "kind", "provincial_value", "national_value")
#: The national copy's columns `reconcile` reads (matched by code; the end is finished_at, else
#: returned_at), with those every facts frame has (unit_code, received_at).
COPY_COLUMNS = ("code", "unit_code", "status", "received_at", "due_at", "finished_at", "returned_at")
SUMMARY_COUNTS = (
    "provincial",
    "on_national",
    "missing",
    "status_mismatches",
    "due_mismatches",
    "finish_mismatches",
    "sync_rate_num",
    "sync_rate_den",
)


def _end(frame: pd.DataFrame) -> pd.Series:
    """NgayKetThucXuLy, else NgayTra."""
    return frame["finished_at"].where(frame["finished_at"].notna(), frame["returned_at"])


def _match(p: pd.DataFrame, n: pd.DataFrame) -> pd.DataFrame:
    """Each provincial row (code, unit_code, status, due_at, end) with its national copy's status,
    due_at and end (suffixes _p / _n) and `present`; when the national side repeats a code, its
    last row counts. A hash lookup (Arrow `index_in`), not a merge: a million codes in well under
    a second."""
    import pyarrow as pa
    import pyarrow.compute as pc

    last_first = n.iloc[::-1]
    pos = pc.index_in(pa.array(p["code"].astype(str)), value_set=pa.array(last_first["code"].astype(str)))
    present = pos.is_valid().to_numpy(zero_copy_only=False)
    idx = pos.fill_null(0).to_numpy(zero_copy_only=False)
    out = {"code": p["code"].to_numpy(), "unit_code": p["unit_code"].array, "present": present}
    for col in ("status", "due_at", "end"):
        out[f"{col}_p"] = p[col].to_numpy()
        values = last_first[col].to_numpy()
        if len(values):
            taken = values[idx]
        else:
            taken = np.zeros(len(idx), dtype=values.dtype)
        if col == "status":
            out[f"{col}_n"] = pd.array(np.where(present, taken, 0), dtype="Int64")
            out[f"{col}_n"][~present] = pd.NA
        else:
            out[f"{col}_n"] = np.where(present, taken, np.datetime64("NaT", "us"))
    return pd.DataFrame(out)


def _differs(a: pd.Series, b: pd.Series, compare: str) -> np.ndarray:
    """True where two timestamps disagree: one missing and not the other, or different dates
    (compare "date") / different times to the second (compare "timestamp")."""
    unit = "datetime64[D]" if compare == "date" else "datetime64[s]"
    av = a.to_numpy(dtype="datetime64[us]").astype(unit)
    bv = b.to_numpy(dtype="datetime64[us]").astype(unit)
    na, nb = np.isnat(av), np.isnat(bv)
    return (na != nb) | (~na & ~nb & (av != bv))


def _fmt_time(s: pd.Series, compare: str) -> pd.Series:
    fmt = "%d/%m/%Y" if compare == "date" else "%d/%m/%Y %H:%M:%S"
    return s.dt.strftime(fmt).fillna("").astype(str)


def _fmt_status(s: pd.Series) -> pd.Series:
    names = {int(k): f"{int(k)} - {v}" for k, v in STATUS_NAMES_VI.items()}
    return s.map(lambda v: names.get(int(v), str(v)) if pd.notna(v) else "").astype(str)


def _compared(c: pd.DataFrame, national: pd.DataFrame, compare: str):
    """The in-scope rows of the classified frame `c` matched with their national copies, and the
    masks present / status / due / end mismatch."""
    p = c.loc[c["in_scope"].to_numpy(dtype=bool), ["code", "unit_code", "status", "due_at"]].copy()
    p["end"] = _end(c.loc[p.index])
    n = normalize_facts(national)
    m = _match(p.reset_index(drop=True), n.assign(end=_end(n))[["code", "status", "due_at", "end"]])
    present = m["present"].to_numpy(dtype=bool)
    status_mis = present & (m["status_p"].to_numpy() != m["status_n"].fillna(-1).to_numpy())
    due_mis = present & _differs(m["due_at_p"], m["due_at_n"], compare)
    end_mis = present & _differs(m["end_p"], m["end_n"], compare)
    return p, m, present, status_mis, due_mis, end_mis


def _classified(provincial: pd.DataFrame, period: Period, compare: str, mode: str) -> pd.DataFrame:
    if compare not in COMPARE_MODES:
        raise ValueError(f"unknown comparison mode {compare!r}; expected 'date' or 'timestamp'")
    a = provincial.attrs
    if "in_scope" in provincial.columns and (a.get("period"), a.get("mode"), a.get("compare")) == (period, mode, compare):
        return provincial  # already classified for this period and rules: not again
    return classify(provincial, period, mode=mode, compare=compare)


def reconcile(
    provincial: pd.DataFrame,
    national: pd.DataFrame,
    period: Period,
    compare: str = "date",
    mode: str = "bieu06",
    units: Sequence[tuple[str, str]] | None = None,
    with_mismatches: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare the provincial dossiers of `period` with the national portal's, matched by code.
    `provincial` may be the facts or their `classify` output for the same period, mode and compare
    (then not classified again).

    The provincial dossiers of the period are those in scope of `classify(provincial, period,
    mode)`: received in it, or received before it and not ended before it (so resolved in it or
    pending at its end); status 1/3 excluded. For each: missing on the national side, or present
    with a different status, due date (NgayHenTra) or end date (NgayKetThucXuLy, else NgayTra),
    dates compared as Vietnam dates (compare "date") or to the second ("timestamp").

    Returns (summary, mismatches).
    summary: unit_code, group, label, provincial, on_national, missing, status_mismatches,
    due_mismatches, finish_mismatches, sync_rate_num (= on_national), sync_rate_den (= provincial),
    sync_rate (percent, NaN on a zero denominator); one row per provincial unit_code, or with
    `units` [(national_id, name)] one per configured unit by id-prefix roll-up (plus "UNMATCHED" if
    some dossiers fit none), then TOTAL (`summary_of`: the same from the period's cells).
    mismatches: code, unit_code, kind (KINDS), provincial_value, national_value (text: status
    "10 - Đã trả kết quả", dates dd/mm/yyyy, "" when absent); empty (not listed) when not
    `with_mismatches`, for callers that show the summary only."""
    c = _classified(provincial, period, compare, mode)
    _, m, present, status_mis, due_mis, end_mis = _compared(c, national, compare)
    missing = ~present

    def frame(mask, kind: str, col: str, fmt, national: bool = True) -> pd.DataFrame:
        """The mismatches of one kind: code, unit, the provincial and the national value."""
        sub = m[mask]
        return pd.DataFrame({"code": sub["code"], "unit_code": sub["unit_code"], "kind": kind,
                             "provincial_value": fmt(sub[f"{col}_p"]),
                             "national_value": fmt(sub[f"{col}_n"]) if national else ""})

    parts = []
    for mask, kind, col, fmt, both in (
        (missing, KIND_MISSING, "status", _fmt_status, False),
        (status_mis, KIND_STATUS, "status", _fmt_status, True),
        (due_mis, KIND_DUE, "due_at", lambda s: _fmt_time(s, compare), True),
        (end_mis, KIND_FINISH, "end", lambda s: _fmt_time(s, compare), True),
    ):
        if with_mismatches and mask.any():
            parts.append(frame(mask, kind, col, fmt, national=both))
    if parts:
        mismatches = pd.concat(parts, ignore_index=True)
        order = {k: i for i, k in enumerate(KINDS)}
        mismatches = (
            mismatches.assign(_k=mismatches["kind"].map(order))
            .sort_values(["unit_code", "code", "_k"], kind="stable")
            .drop(columns="_k")
            .reset_index(drop=True)
        )
    else:
        mismatches = pd.DataFrame({c: pd.Series(dtype=str) for c in MISMATCH_COLUMNS})
    per_row = _per_row(m, present, status_mis, due_mis, end_mis)
    by_unit = per_row.groupby("unit_code", sort=True)[list(SUMMARY_COUNTS)].sum().reset_index()
    return _summary(by_unit, period, compare, mode, units), mismatches


def _per_row(m: pd.DataFrame, present, status_mis, due_mis, end_mis) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": m["unit_code"].astype(str),
            "provincial": 1,
            "on_national": present.astype(np.int64),
            "missing": (~present).astype(np.int64),
            "status_mismatches": status_mis.astype(np.int64),
            "due_mismatches": due_mis.astype(np.int64),
            "finish_mismatches": end_mis.astype(np.int64),
            "sync_rate_num": present.astype(np.int64),
            "sync_rate_den": 1,
        }
    )


def _summary(by_unit: pd.DataFrame, period: Period, compare: str, mode: str,
             units: Sequence[tuple[str, str]] | None) -> pd.DataFrame:
    """The summary frame (see `reconcile`) from the counts by provincial unit_code (sorted)."""
    rows = []
    if units:
        covered = np.zeros(len(by_unit), dtype=bool)
        for nid, name in units:
            mask = unit_matches(by_unit["unit_code"], nid)
            covered |= mask
            rows.append(
                {
                    "unit_code": nid,
                    "group": nid,
                    "label": name,
                    **by_unit.loc[mask, list(SUMMARY_COUNTS)].sum(),
                }
            )
        if (~covered).any():
            rows.append(
                {
                    "unit_code": "",
                    "group": UNMATCHED,
                    "label": UNMATCHED_LABEL_VI,
                    **by_unit.loc[~covered, list(SUMMARY_COUNTS)].sum(),
                }
            )
    else:
        for _, r in by_unit.iterrows():
            rows.append(
                {
                    "unit_code": r["unit_code"],
                    "group": r["unit_code"],
                    "label": r["unit_code"],
                    **r[list(SUMMARY_COUNTS)],
                }
            )
    rows.append(
        {"unit_code": "", "group": TOTAL, "label": TOTAL_LABEL_VI, **by_unit[list(SUMMARY_COUNTS)].sum()}
    )
    summary = pd.DataFrame(rows, columns=["unit_code", "group", "label", *SUMMARY_COUNTS])
    for col in SUMMARY_COUNTS:
        summary[col] = summary[col].fillna(0).astype(np.int64)
    num = summary["sync_rate_num"].to_numpy(dtype=float)
    den = summary["sync_rate_den"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        summary["sync_rate"] = np.where(den > 0, num / den * 100.0, np.nan)
    summary.attrs = {"period": period, "compare": compare, "mode": mode}
    return summary


# ------------------------------------------------------------------ the reconciliation's cells
#: Parts of a period's reconciliation cells: the dossiers received in the period, those carried over
#: into it (received before, not ended before it), and one row REACH whose `on_national` counts the
#: national copies of the dossiers a store's read for the period reaches (0: the store holds no
#: national copy of the period's dossiers; the summary is then not shown).
RECEIVED, CARRIED, REACH = "received", "carried", "reach"
CELL_COLUMNS = ("part", "unit_code", *SUMMARY_COUNTS)


def reconcile_cells(
    provincial: pd.DataFrame,
    national: pd.DataFrame,
    period: Period,
    compare: str = "date",
    mode: str = "bieu06",
    reached: int | None = None,
) -> pd.DataFrame:
    """The reconciliation's counts of `period` by part (RECEIVED, CARRIED) and provincial unit_code
    (sorted), plus the REACH row (`reached`: how many national copies the read reached; default
    len(national)). Cells of consecutive sub-periods compose into the period's
    (`compose_reconciliation`: the received parts add up, the carried-over part is the first
    sub-period's, since a period's carried-over dossiers are its first day's); `summary_of` gives
    `reconcile`'s summary from them. Counts only, no dossier code."""
    c = _classified(provincial, period, compare, mode)
    p, m, present, status_mis, due_mis, end_mis = _compared(c, national, compare)
    per_row = _per_row(m, present, status_mis, due_mis, end_mis)
    received = c.loc[p.index, "received_in_period"].to_numpy(dtype=bool)
    per_row.insert(0, "part", np.where(received, RECEIVED, CARRIED))
    counts = list(SUMMARY_COUNTS)
    cells = per_row.groupby(["part", "unit_code"], sort=True)[counts].sum().reset_index()
    reach = {"part": REACH, "unit_code": "", **dict.fromkeys(counts, 0)}
    reach["on_national"] = int(len(national) if reached is None else reached)
    cells = pd.concat([cells, pd.DataFrame([reach])], ignore_index=True)
    cells[counts] = cells[counts].astype(np.int64)
    cells = cells[list(CELL_COLUMNS)].astype({"part": str, "unit_code": str})
    cells.attrs = {"period": period, "compare": compare, "mode": mode, "table": "reconcile"}
    return cells


def compose_reconciliation(parts: Sequence[pd.DataFrame], period: Period) -> pd.DataFrame:
    """The reconciliation cells of `period` from those of its consecutive sub-periods, in order
    (property-tested equal to `reconcile_cells` over the period)."""
    if any(p.attrs.get("table") != "reconcile" for p in parts):
        raise ValueError("compose_reconciliation needs reconcile_cells() frames (attrs['table'] == 'reconcile')")
    check_consecutive([p.attrs.get("period") for p in parts], period)
    rules = {(p.attrs.get("mode"), p.attrs.get("compare")) for p in parts}
    if len(rules) != 1:
        raise ValueError(f"compose_reconciliation: sub-periods reconciled differently: {sorted(map(str, rules))}")
    counts = list(SUMMARY_COUNTS)
    received = pd.concat([p[p["part"] == RECEIVED] for p in parts], ignore_index=True)
    received = received.groupby(["part", "unit_code"], sort=True)[counts].sum().reset_index()
    first = parts[0]
    reach = {"part": REACH, "unit_code": "", **dict.fromkeys(counts, 0)}
    reach["on_national"] = int(max(int(p.loc[p["part"] == REACH, "on_national"].sum()) for p in parts))
    # the order `reconcile_cells` gives: carried (by unit), received (by unit), reach
    out = pd.concat([first[first["part"] == CARRIED], received, pd.DataFrame([reach])], ignore_index=True)
    out[counts] = out[counts].astype(np.int64)
    out = out[list(CELL_COLUMNS)].astype({"part": str, "unit_code": str})
    out.attrs = {**first.attrs, "period": period}
    return out


def reaches_national(cells: pd.DataFrame) -> bool:
    """Whether the store held national copies of the cells' period's dossiers when they were computed."""
    return bool(int(cells.loc[cells["part"] == REACH, "on_national"].sum()) > 0)


def counts_by_unit(cells: pd.DataFrame) -> pd.DataFrame:
    """The counts (SUMMARY_COUNTS) by provincial unit_code, sorted, of reconciliation cells."""
    body = cells[cells["part"] != REACH]
    return body.groupby("unit_code", sort=True)[list(SUMMARY_COUNTS)].sum().reset_index()


def summary_of(cells: pd.DataFrame, units: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
    """`reconcile`'s summary (same rows, columns and attrs) from the period's reconciliation cells."""
    a = cells.attrs
    return _summary(counts_by_unit(cells), a["period"], a["compare"], a["mode"], units)
