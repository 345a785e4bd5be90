"""Classification of dossiers over a period (DOMAIN.md §4): the facts frame (one row per dossier of
one source) normalized, each row classified in Biểu 06 or 766 mode (received, carried over,
resolved early / on time / late, pending, data issues). Pure, vectorized; see `cchc.domain.metrics`
for the columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from cchc.domain.periods import Period
from cchc.domain.records import (
    EXCLUDED_STATUSES,
    FINISHED_STATUSES,
    FINISHED_STATUSES_766,
    WAITING_STATUSES,
    Channel,
    Dossier,
    Status,
    status_codes,
)
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


FLAG_COLUMNS = tuple(
    c for c in CLASSIFIED_COLUMNS if c not in ("end_at", "timeliness", "data_issue_reason", "processing_days")
)


#: Why a row is flagged `data_issue` (first reason that applies).
DATA_ISSUE_REASONS = (
    "no_received_time",  # not excluded but no NgayTiepNhan: cannot be placed in any period
    "ended_without_end_time",  # finished status but no end time: counted pending within time
    "end_before_received",  # end before reception: end taken as the reception time
    "no_due_date",  # no NgayHenTra: resolved counts on time, pending counts within time
)


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


def text_column(s: pd.Series) -> pd.Series:
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
    start, after = period_bounds(period)
    recv = local_us_values(facts["received_at"])
    fin = local_us_values(facts["finished_at"])
    end = np.where(np.isnat(fin), local_us_values(facts["returned_at"]), fin)
    status = facts["status"].to_numpy()
    placed_before = np.isnat(recv) | (recv < after)
    kept = ~np.isin(status, _FINISHED) | (~np.isnat(recv) & (recv >= start)) | (~np.isnat(end) & (end >= start))
    return placed_before & kept


def steps_can_matter(steps: pd.DataFrame, period: Period) -> np.ndarray:
    """The steps `Store.load_steps` selects for `period`: started by its end, not done before it."""
    start, after = period_bounds(period)
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
        out[c] = text_column(s)
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


def check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def period_bounds(period: Period) -> tuple[np.datetime64, np.datetime64]:
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
    check_choice(mode, CLASSIFY_MODES, "classification mode")
    check_choice(compare, COMPARE_MODES, "comparison mode")
    f = normalize_facts(facts)
    status = f["status"].to_numpy()
    start, after = period_bounds(period)

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
