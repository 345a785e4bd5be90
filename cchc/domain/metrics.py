"""Indicators over a period (DOMAIN.md §4): classification of dossiers and the indicator tables.

Pure domain code, no I/O: a "facts" DataFrame in (one row per dossier of one source), tables out.
Everything is vectorized (numpy/pandas); no per-dossier Python loops.

Facts columns (timestamps naive datetime64 in Vietnam local time, NaT when absent; only
`code`, `unit_code`, `status` and `received_at` are required, the rest default as shown):

    code, unit_code, procedure_code, procedure_name, field_code, field_name   str ("")
    status int 1..10, channel int (1 in person, 2 online, 3 postal; missing -> 1)
    online_level float (NaN, 3, 4), evaluation float (NaN, 1 satisfied, 2 acceptable, 3 unsatisfied)
    received_at, due_at, effective_due_at, finished_at, returned_at, refused_at   datetime64 (NaT)
    owes_fee, paid_online, digitized_component, reused_component, e_result, supplement_pending,
    apology, fee_unstated, procedure_has_fee   bool (False); result_paper bool (True);
    supplement_count int (0)

`owes_fee` is what the record says; where it says nothing (`fee_unstated`: no fee list, no
CoPhi flag, not exempt) the catalogue's `procedure_has_fee` decides. `refused_at` (NgayTuChoi) at
or after the reception ends an open dossier as returned without resolution ("trả lại").

Steps columns (optional frame): code, unit_code, officer, at (step done, NaT if not), step_due,
and optionally started_at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from cchc.domain.periods import Period
from cchc.domain.records import (
    CHANNEL_NAMES_VI,
    EXCLUDED_STATUSES,
    FINISHED_STATUSES,
    FINISHED_STATUSES_766,
    WAITING_STATUSES,
    Channel,
    Dossier,
    Status,
    status_codes,
)
from cchc.domain.text import format_decimal, format_percent
from cchc.domain.timeliness import (
    COMPARE_MODES,
    EARLY,
    LATE,
    ON_TIME,
    VN_TZ,
    calendar_days_series,
    compare_end_to_due_series,
    effective_due,
    is_overdue_at_series,
    local_us_values,
    to_local_naive,
    working_days_series,
)

CLASSIFY_MODES = ("bieu06", "766")

STRING_COLUMNS = ("code", "unit_code", "procedure_code", "procedure_name", "field_code", "field_name")
TIME_COLUMNS = ("received_at", "due_at", "effective_due_at", "finished_at", "returned_at", "refused_at")
BOOL_COLUMNS = {
    "owes_fee": False,
    "paid_online": False,
    "digitized_component": False,
    "reused_component": False,
    "e_result": False,
    "result_paper": True,
    "supplement_pending": False,
    "apology": False,
    "fee_unstated": False,
    "procedure_has_fee": False,
}
REQUIRED_COLUMNS = ("code", "unit_code", "status", "received_at")
#: All facts columns, in order.
FACTS_COLUMNS = (
    *STRING_COLUMNS,
    "status",
    "channel",
    "online_level",
    *TIME_COLUMNS,
    *BOOL_COLUMNS,
    "supplement_count",
    "evaluation",
)

#: Columns `classify` adds.
CLASSIFIED_COLUMNS = (
    "excluded",
    "in_scope",
    "received_in_period",
    "carried_over",
    "received_online",
    "received_in_person_postal",
    "received_postal",
    "end_at",
    "resolved",
    "timeliness",
    "early",
    "on_time",
    "late",
    "pending",
    "pending_in_time",
    "pending_overdue",
    "data_issue",
    "data_issue_reason",
    "processing_days",
    "returned_unresolved",
)

_FLAG_COLUMNS = tuple(
    c for c in CLASSIFIED_COLUMNS if c not in ("end_at", "timeliness", "data_issue_reason", "processing_days")
)

#: Why a row is flagged `data_issue` (first reason that applies).
DATA_ISSUE_REASONS = (
    "no_received_time",  # not excluded but no NgayTiepNhan: cannot be placed in any period
    "ended_without_end_time",  # finished status but no end time: counted pending within time
    "end_before_received",  # end before reception: end taken as the reception time
    "no_due_date",  # no NgayHenTra: resolved counts on time, pending counts within time
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


def _naive(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        return dt.astimezone(VN_TZ).replace(tzinfo=None)
    return dt


def facts_from_dossiers(dossiers: Iterable[Dossier], cal=None, paper_result: bool = True,
                        procedure_fee: Mapping[str, bool] | None = None) -> pd.DataFrame:
    """Facts frame from `Dossier` records (for tests and small imports; the store builds the same
    columns in SQL). `effective_due_at` uses `timeliness.effective_due` when a calendar is given,
    else it equals `due_at`. `paper_result` is the `result_paper` flag for every dossier;
    `procedure_fee` the catalogue's fee flag by procedure code (`procedure_has_fee`, else False)."""
    procedure_fee = procedure_fee or {}
    rows = []
    for d in dossiers:
        eff = effective_due(d, cal) if cal is not None else d.due_at
        rows.append(
            {
                "code": d.code,
                "unit_code": d.unit_code,
                "procedure_code": d.procedure_code,
                "procedure_name": d.procedure_name,
                "field_code": d.field_code,
                "field_name": d.field_name,
                "status": int(d.status),
                "channel": int(d.channel),
                "online_level": float(d.online_level) if d.online_level is not None else np.nan,
                "received_at": _naive(d.received_at),
                "due_at": _naive(d.due_at),
                "effective_due_at": _naive(eff),
                "finished_at": _naive(d.finished_at),
                "returned_at": _naive(d.returned_at),
                "refused_at": _naive(d.refused_at),
                "owes_fee": d.owes_fee,
                "paid_online": d.is_paid_online,
                "digitized_component": d.digitized_component,
                "reused_component": d.reused_component,
                "e_result": d.e_result,
                "result_paper": paper_result,
                "supplement_pending": d.supplement_pending,
                "apology": d.apology,
                "supplement_count": d.n_supplements,
                "evaluation": float(d.evaluation) if d.evaluation is not None else np.nan,
                "fee_unstated": d.fee_unstated,
                "procedure_has_fee": bool(procedure_fee.get(d.procedure_code, False)),
            }
        )
    return normalize_facts(pd.DataFrame(rows, columns=list(FACTS_COLUMNS)))


def steps_from_dossiers(dossiers: Iterable[Dossier]) -> pd.DataFrame:
    """Steps frame (code, unit_code, officer, at, step_due, started_at) from `Dossier` records."""
    rows = [
        {
            "code": d.code,
            "unit_code": d.unit_code,
            "officer": s.officer,
            "at": _naive(s.at),
            "step_due": _naive(s.step_due),
            "started_at": _naive(s.started_at),
        }
        for d in dossiers
        for s in d.steps
    ]
    frame = pd.DataFrame(rows, columns=["code", "unit_code", "officer", "at", "step_due", "started_at"])
    for c in ("at", "step_due", "started_at"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
    return frame


def _text(s: pd.Series) -> pd.Series:
    """Text with "" for missing. A Categorical of text stays one (the store reads units,
    procedures and fields so: a code per row, not a string); text without gaps is not copied."""
    if isinstance(s.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(s.cat.categories.dtype):
        if s.isna().any():
            if "" not in s.cat.categories:
                s = s.cat.add_categories([""])
            s = s.fillna("")
        return s
    if s.dtype != object and pd.api.types.is_string_dtype(s.dtype) and not s.isna().any():
        return s
    return s.fillna("").astype(str)


_FINISHED = status_codes(FINISHED_STATUSES)
_FINISHED_766 = status_codes(FINISHED_STATUSES_766)
_EXCLUDED = status_codes(EXCLUDED_STATUSES)
_WAITING = status_codes(WAITING_STATUSES)


def can_matter(facts: pd.DataFrame, period: Period) -> np.ndarray:
    """The rows of `facts` that the store's read for `period` selects (`Store.load_facts`, SQL NULL
    logic included): received by the period's end (or no reception time), and not (in a finished
    status, received before the period and ended before it). A frame read once for several periods
    is cut to each with this, so each period's numbers are those of its own read."""
    start, after = _bounds(period)
    recv = local_us_values(facts["received_at"])
    fin = local_us_values(facts["finished_at"])
    end = np.where(np.isnat(fin), local_us_values(facts["returned_at"]), fin)
    status = facts["status"].to_numpy()
    placed_before = np.isnat(recv) | (recv < after)
    kept = ~np.isin(status, _FINISHED) | (~np.isnat(recv) & (recv >= start)) | (~np.isnat(end) & (end >= start))
    return placed_before & kept


def steps_can_matter(steps: pd.DataFrame, period: Period) -> np.ndarray:
    """The steps `Store.load_steps` selects for `period`: started by its end, not done before it."""
    start, after = _bounds(period)
    started = local_us_values(steps["started_at"])
    done = local_us_values(steps["at"])
    return (np.isnat(started) | (started < after)) & (np.isnat(done) | (done >= start))


def normalize_facts(facts: pd.DataFrame) -> pd.DataFrame:
    """Check the required columns and give every facts column its type and default (see module
    docstring). Raises ValueError naming missing required columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in facts.columns]
    if missing:
        raise ValueError(
            f"Thiếu cột bắt buộc trong dữ liệu hồ sơ: {', '.join(missing)} / "
            f"facts frame lacks required columns: {', '.join(missing)}"
        )
    n = len(facts)
    out: dict[str, pd.Series] = {}
    idx = facts.index
    for c in STRING_COLUMNS:
        s = facts[c] if c in facts.columns else pd.Series("", index=idx)
        out[c] = _text(s)
    out["status"] = pd.to_numeric(facts["status"], errors="coerce").fillna(0).astype(np.int64)
    ch = facts["channel"] if "channel" in facts.columns else pd.Series(1, index=idx)
    out["channel"] = pd.to_numeric(ch, errors="coerce").fillna(int(Channel.IN_PERSON)).astype(np.int64)
    for c in ("online_level", "evaluation"):
        s = facts[c] if c in facts.columns else pd.Series(np.nan, index=idx)
        out[c] = pd.to_numeric(s, errors="coerce").astype(float)
    for c in TIME_COLUMNS:
        if c in facts.columns:
            out[c] = to_local_naive(facts[c]).astype("datetime64[us]")
        else:
            out[c] = pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"), index=idx)
    for c, default in BOOL_COLUMNS.items():
        s = facts[c] if c in facts.columns else pd.Series(default, index=idx)
        if s.dtype != bool and s.isna().any():
            s = s.astype(object).where(s.notna(), default)
        out[c] = s.astype(bool)
    sc = facts["supplement_count"] if "supplement_count" in facts.columns else pd.Series(0, index=idx)
    out["supplement_count"] = pd.to_numeric(sc, errors="coerce").fillna(0).astype(np.int64)
    extra = [c for c in facts.columns if c not in out and c not in CLASSIFIED_COLUMNS]
    frame = pd.DataFrame(out, index=idx)
    if extra:
        frame = pd.concat([frame, facts[extra]], axis=1)
    return frame


# ============================================================================ classify


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _bounds(period: Period) -> tuple[np.datetime64, np.datetime64]:
    """[start, after) of the period as naive local datetime64[us]."""
    start = np.datetime64(period.start, "us")
    after = np.datetime64(period.end + timedelta(days=1), "us")
    return start, after


def classify(
    facts: pd.DataFrame,
    period: Period,
    mode: str = "bieu06",
    compare: str = "date",
    calendar=None,
) -> pd.DataFrame:
    """Classify each dossier for `period` (DOMAIN.md §4). Returns the normalized facts plus:

    excluded (status 1/3: in nothing), in_scope (= received_in_period | carried_over),
    received_in_period, carried_over, received_online, received_in_person_postal, received_postal,
    end_at (the end time used, NaT if not ended), resolved, timeliness (Int8 -1/0/1 for resolved,
    <NA> otherwise), early, on_time, late, pending, pending_in_time, pending_overdue,
    data_issue, data_issue_reason (category, see DATA_ISSUE_REASONS), processing_days (resolved:
    working days received -> end with `calendar`, else calendar days; NaN otherwise),
    returned_unresolved (resolved by a NgayTuChoi at or after the reception, in a status other than
    7/9/10: ended at `refused_at`, on time like a withdrawal, in both modes).

    mode "bieu06": status 8 (stopped) is pending within time. mode "766": status 8 ends at its end
    time, and a dossier with more than one supplement request is late (resolved or pending).
    compare "date" | "timestamp": the rule of `timeliness.compare_end_to_due`.
    The frame's attrs keep period, mode, compare and processing_basis ("working" | "calendar").
    """
    _check(mode, CLASSIFY_MODES, "classification mode")
    _check(compare, COMPARE_MODES, "comparison mode")
    f = normalize_facts(facts)
    status = f["status"].to_numpy()
    start, after = _bounds(period)

    excluded = np.isin(status, _EXCLUDED)
    recv = f["received_at"].to_numpy(dtype="datetime64[us]")
    fin = f["finished_at"].to_numpy(dtype="datetime64[us]")
    ret = f["returned_at"].to_numpy(dtype="datetime64[us]")
    refused = f["refused_at"].to_numpy(dtype="datetime64[us]")
    # Returned without resolution after reception (NgayTuChoi at or after NgayTiepNhan) in a status
    # that is not an end of its own: ends at NgayTuChoi, counted on time as a withdrawal is
    # (Biểu 06 counts withdrawn and returned dossiers as resolved, DOMAIN.md §6), in both modes.
    returned = (
        ~excluded & ~np.isin(status, _FINISHED) & ~np.isnat(refused) & ~np.isnat(recv) & (refused >= recv)
    )
    end_time = np.where(returned, refused, np.where(np.isnat(fin), ret, fin))

    ending_statuses = _FINISHED_766 if mode == "766" else _FINISHED
    ending = (~excluded & np.isin(status, ending_statuses)) | returned
    no_end = ending & np.isnat(end_time)
    end_at = np.where(ending & ~no_end, end_time, np.datetime64("NaT", "us"))
    no_recv = ~excluded & np.isnat(recv)
    end_before_recv = ~np.isnat(end_at) & ~np.isnat(recv) & (end_at < recv)
    end_at = np.where(end_before_recv, recv, end_at)
    ended = ~np.isnat(end_at)

    placed = ~excluded & ~no_recv
    received_in_period = placed & (recv >= start) & (recv < after)
    carried_over = placed & (recv < start) & ~(ended & (end_at < start))
    in_scope = received_in_period | carried_over
    resolved = in_scope & ended & (end_at < after)
    pending = in_scope & ~resolved

    channel = f["channel"].to_numpy()
    received_online = received_in_period & (channel == int(Channel.ONLINE))
    received_in_person_postal = received_in_period & ~received_online
    received_postal = received_in_period & (channel == int(Channel.POSTAL))

    # Due time: effective (supplement-extended) due, else the original NgayHenTra.
    due = f["effective_due_at"].where(f["effective_due_at"].notna(), f["due_at"])
    no_due = due.isna().to_numpy()
    supplements = f["supplement_count"].to_numpy()
    multi_766 = (supplements > 1) if mode == "766" else np.zeros(len(f), dtype=bool)
    withdrawn = (status == Status.WITHDRAWN) | returned

    # Resolved: THE comparison rule; withdrawn or returned on time; 766 multi-supplement late.
    end_series = pd.Series(end_at, index=f.index)
    cmp = compare_end_to_due_series(end_series, due, compare).to_numpy(dtype=np.int8, na_value=ON_TIME)
    cmp = np.where(withdrawn, ON_TIME, np.where(multi_766, LATE, cmp))
    early = resolved & (cmp == EARLY)
    on_time = resolved & (cmp == ON_TIME)
    late = resolved & (cmp == LATE)
    timeliness = pd.array(np.where(resolved, cmp, 0).astype(np.int8), dtype="Int8")
    timeliness[~resolved] = pd.NA

    # Pending at the period end: overdue by the rule, unless exempt (waiting on the citizen for a
    # supplement, whatever the status code says, financial obligation, stopped, or an unknown end
    # time). In 766 mode more than one supplement request is late all the same (multi_766).
    open_now = ~ended
    exempt = (
        open_now & (np.isin(status, _WAITING) | f["supplement_pending"].to_numpy())
    ) | no_end
    overdue_by_due = is_overdue_at_series(due, period.end, compare).to_numpy()
    pending_overdue = pending & (multi_766 | (~exempt & overdue_by_due))
    pending_in_time = pending & ~pending_overdue

    no_due_issue = ~excluded & no_due & ~withdrawn & ~multi_766
    reason_code = np.select(
        [no_recv, no_end, end_before_recv, no_due_issue], [0, 1, 2, 3], default=-1
    ).astype(np.int8)
    data_issue = reason_code >= 0
    reason = pd.Categorical.from_codes(reason_code, categories=list(DATA_ISSUE_REASONS))

    processing = np.full(len(f), np.nan)
    if resolved.any():
        r_idx = f.index[resolved]
        a = f["received_at"][resolved]
        b = pd.Series(end_at[resolved], index=r_idx)
        days = working_days_series(a, b, calendar) if calendar is not None else calendar_days_series(a, b)
        processing[resolved] = days.to_numpy()

    added = pd.DataFrame(
        {
            "excluded": excluded,
            "in_scope": in_scope,
            "received_in_period": received_in_period,
            "carried_over": carried_over,
            "received_online": received_online,
            "received_in_person_postal": received_in_person_postal,
            "received_postal": received_postal,
            "end_at": end_at,
            "resolved": resolved,
            "timeliness": timeliness,
            "early": early,
            "on_time": on_time,
            "late": late,
            "pending": pending,
            "pending_in_time": pending_in_time,
            "pending_overdue": pending_overdue,
            "data_issue": data_issue,
            "data_issue_reason": reason,
            "processing_days": processing,
            "returned_unresolved": resolved & returned,
        },
        index=f.index,
    )
    out = pd.concat([f, added], axis=1)
    out.attrs = {
        "period": period,
        "mode": mode,
        "compare": compare,
        "processing_basis": "working" if calendar is not None else "calendar",
    }
    return out


# ============================================================================ tables


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

    g = {k: col(k, bool) for k in _FLAG_COLUMNS}
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


def _additive_columns(table: pd.DataFrame) -> list[str]:
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


def _steps_additive(steps: pd.DataFrame, period: Period, compare: str) -> pd.DataFrame:
    """Per-step 0/1 columns: done in period on time / late, pending / overdue at period end,
    done without a deadline (data issue)."""
    s = steps
    at = s["at"] if "at" in s.columns else pd.Series(pd.NaT, index=s.index)
    due = s["step_due"] if "step_due" in s.columns else pd.Series(pd.NaT, index=s.index)
    at_v = local_us_values(at)
    start, after = _bounds(period)
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
        sa = _steps_additive(steps, period, c.attrs.get("compare", "date"))
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
    ints = [col for col in _additive_columns(table) if col != "processing_days_sum"]
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
    additive = [c for c in _additive_columns(cells) if c not in COMPONENT_COLUMNS]
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
    additive = _additive_columns(t)
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


def officer_table(steps: pd.DataFrame, period: Period, compare: str = "date") -> pd.DataFrame:
    """Per officer (NguoiXuLy) for `period`: steps done in the period (`at` within it), on time
    (the comparison rule says not late against `step_due`) or late; steps still pending at the
    period end (not done by then; started by then when a `started_at` column exists) and how many
    of those are overdue. A step done without a deadline counts on time and in `data_issues`.

    Columns: officer, group (= officer), label (= officer), steps, on_time, late,
    on_time_rate_num, on_time_rate_den, on_time_rate, pending, pending_overdue, data_issues; a
    final TOTAL row. Officers with nothing in the period are left out."""
    _check(compare, COMPARE_MODES, "comparison mode")
    sa = _steps_additive(steps, period, compare)
    sa["officer"] = _text(steps["officer"]).array  # a Categorical stays one (no string per step)
    sa = sa[(sa["steps"] > 0) | (sa["steps_pending"] > 0)]
    cols = [c for c in sa.columns if c != "officer"]
    grouped = sa.groupby("officer", sort=True, observed=True)[cols].sum().reset_index()
    grouped = grouped.rename(columns=_OFFICER_NAMES)
    grouped["officer"] = grouped["officer"].astype(str)
    return officer_table_from_counts(grouped, period)


_OFFICER_NAMES = {
    "steps_on_time": "on_time",
    "steps_late": "late",
    "steps_pending": "pending",
    "steps_overdue": "pending_overdue",
    f"{STEP_RATE}_num": "on_time_rate_num",
    f"{STEP_RATE}_den": "on_time_rate_den",
    "step_data_issues": "data_issues",
}
_OFFICER_COUNTS = ("steps", "on_time", "late", "on_time_rate_num", "on_time_rate_den", "pending",
                   "pending_overdue", "data_issues")


def officer_table_from_counts(grouped: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The officer table (see `officer_table`) from per-officer counts: TOTAL row, rate, order."""
    grouped = grouped.sort_values("officer", ignore_index=True)
    total = {c: grouped[c].sum() for c in _OFFICER_COUNTS}
    total["officer"] = ""
    table = pd.concat([grouped[["officer", *_OFFICER_COUNTS]], pd.DataFrame([total])], ignore_index=True)
    table.insert(1, "group", list(grouped["officer"]) + [TOTAL])
    table.insert(2, "label", list(grouped["officer"]) + [TOTAL_LABEL_VI])
    for col in _OFFICER_COUNTS:
        table[col] = table[col].astype(np.int64)
    num = table["on_time_rate_num"].to_numpy(dtype=float)
    den = table["on_time_rate_den"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["on_time_rate"] = np.where(den > 0, num / den * 100.0, np.nan)
    out = table[["officer", "group", "label", "steps", "on_time", "late", "on_time_rate_num", "on_time_rate_den",
                 "on_time_rate", "pending", "pending_overdue", "data_issues"]].reset_index(drop=True)
    out.attrs = {"period": period, "table": "officers"}
    return out


# ============================================================================ display


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
