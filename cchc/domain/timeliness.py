"""Timeliness rules (DOMAIN.md §3–§4): the effective due date and THE comparison rule.

Pure domain code, no I/O. One source of truth: `compare_end_to_due` (scalars) and
`compare_end_to_due_series` (pandas) both apply `_rule`, so every report, artifact and email that
says early / on time / late says it the same way.

The comparison rule, by mode:

- ``"date"`` (default; common practice in provincial systems): compare Vietnam calendar dates.
  end date < due date -> -1 (trước hạn), equal -> 0 (đúng hạn), end date > due date -> 1 (quá hạn).
- ``"timestamp"`` (the 766 spec): late (1) when end > due exactly; otherwise early (-1) when the
  end date is before the due date; otherwise on time (0). So a dossier finished on its due date
  after the due time is late, one finished earlier that same day is on time.

A pending dossier is overdue at the end of a period when the rule says "late" for an end at the
last moment of the period's last day (`is_overdue_at`): in date mode, due date < period end date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from cchc.domain.calendar import VN_TZ
from cchc.domain.records import Dossier

COMPARE_MODES = ("date", "timestamp")

EARLY, ON_TIME, LATE = -1, 0, 1
TIMELINESS_NAMES_VI = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn"}

_US_PER_DAY = 86_400_000_000


def _check_mode(mode: str) -> None:
    if mode not in COMPARE_MODES:
        raise ValueError(f"unknown comparison mode {mode!r}; expected 'date' or 'timestamp'")


# ----------------------------------------------------------------------------- the rule


def _rule(end_day, due_day, end_after_due, mode: str):
    """THE comparison rule on day numbers (ints or int arrays) and an exact "end > due" flag.

    Works element-wise on numpy arrays and on scalars alike."""
    if mode == "date":
        return np.where(end_day < due_day, EARLY, np.where(end_day > due_day, LATE, ON_TIME))
    return np.where(end_after_due, LATE, np.where(end_day < due_day, EARLY, ON_TIME))


def _local_naive(value) -> datetime | date:
    """Vietnam wall-clock naive datetime of an aware datetime; naive ones and dates as given."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(VN_TZ).replace(tzinfo=None)
    return value


def compare_end_to_due(end, due, mode: str = "date") -> int | None:
    """-1 early, 0 on time, 1 late for one end time against one due time; None if either is missing.

    Accepts datetimes (aware ones are read in Vietnam time, naive ones as Vietnam wall-clock time)
    or dates (a date is its midnight; in date mode only the date matters)."""
    _check_mode(mode)
    if end is None or due is None or end is pd.NaT or due is pd.NaT:
        return None
    e, d = _local_naive(end), _local_naive(due)
    e_dt = e if isinstance(e, datetime) else datetime.combine(e, time(0))
    d_dt = d if isinstance(d, datetime) else datetime.combine(d, time(0))
    return int(_rule(e_dt.toordinal(), d_dt.toordinal(), e_dt > d_dt, mode))


def end_of_day(d: date) -> datetime:
    """The last representable moment (to the microsecond) of day `d`, naive Vietnam time."""
    return datetime.combine(d, time(0)) + timedelta(days=1) - timedelta(microseconds=1)


def is_overdue_at(due, at_date: date, mode: str = "date") -> bool | None:
    """A dossier (or step) still pending at the end of `at_date` is overdue when the rule calls an
    end at the last moment of that day late: date mode, due date < at_date; timestamp mode, due
    before the end of that day. None when there is no due time."""
    result = compare_end_to_due(end_of_day(at_date), due, mode)
    return None if result is None else result == LATE


# ----------------------------------------------------------------------------- vectorized


def to_local_naive(values) -> pd.Series:
    """A datetime Series in naive Vietnam wall-clock time: aware values are converted, naive ones
    kept, object/strings parsed. The index is preserved."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(VN_TZ).dt.tz_localize(None)
    if not pd.api.types.is_datetime64_dtype(s.dtype):
        s = pd.Series([_local_naive(v) if not pd.isna(v) else pd.NaT for v in s], index=s.index)
        s = pd.to_datetime(s)
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.dt.tz_convert(VN_TZ).dt.tz_localize(None)
    return s


def local_us_values(s: pd.Series) -> np.ndarray:
    """datetime64[us] numpy values of a naive local datetime Series (NaT kept)."""
    return to_local_naive(s).to_numpy(dtype="datetime64[us]")


def compare_end_to_due_series(end: pd.Series, due: pd.Series | datetime, mode: str = "date") -> pd.Series:
    """Vectorized twin of `compare_end_to_due`: an Int8 Series of -1/0/1, <NA> where end or due is
    missing. `due` may also be a single datetime applied to every row. Index taken from `end`."""
    _check_mode(mode)
    e = local_us_values(end)
    if isinstance(due, pd.Series):
        d = local_us_values(due)
    else:
        d = np.full(
            len(e), np.datetime64(_local_naive(due), "us") if due is not None else np.datetime64("NaT")
        )
    missing = np.isnat(e) | np.isnat(d)
    e_day = e.astype("datetime64[D]").astype(np.int64)
    d_day = d.astype("datetime64[D]").astype(np.int64)
    result = _rule(e_day, d_day, e > d, mode).astype(np.int8)
    result[missing] = 0
    return pd.Series(pd.arrays.IntegerArray(result, missing), index=end.index, name="timeliness")


def is_overdue_at_series(due: pd.Series, at_date: date, mode: str = "date") -> pd.Series:
    """Vectorized twin of `is_overdue_at`: boolean Series, False where the due time is missing."""
    moment = pd.Series(np.datetime64(end_of_day(at_date), "us"), index=due.index)
    result = compare_end_to_due_series(moment, due, mode)
    return (result == LATE).fillna(False).astype(bool)


# ----------------------------------------------------------------------------- effective due


def _is_date_only(dt: datetime) -> bool:
    return (dt.hour, dt.minute, dt.second, dt.microsecond) == (0, 0, 0, 0)


def supplement_wait_seconds(d: Dossier, cal) -> float:
    """Office-time seconds the clock stood still: the sum over COMPLETED supplement requests of
    the working time in [requested_at, completed_at). Pending requests do not count (yet)."""
    total = 0.0
    for s in d.supplements:
        if s.requested_at is not None and s.completed_at is not None and s.completed_at > s.requested_at:
            total += cal.working_seconds_between(s.requested_at, s.completed_at)
    return total


def effective_due(d: Dossier, cal) -> datetime | None:
    """The due time timeliness is judged against: the original NgayHenTra, moved later by the
    working time of each completed supplement wait. None when the dossier has no due date.

    Apology slips (new appointment dates) never move it (DOMAIN.md §3). A due at exactly 00:00 is
    read as a date-only appointment (the whole day), so an extension starts from the end of that
    day's office hours. Without completed supplements the original due is returned unchanged."""
    if d.due_at is None:
        return None
    wait = supplement_wait_seconds(d, cal)
    if wait <= 0:
        return d.due_at
    due = d.due_at.astimezone(cal.tz) if d.due_at.tzinfo is not None else d.due_at
    if _is_date_only(due):
        last_end = cal.office_hours.sessions[-1][1]
        due = due.replace(hour=last_end.hour, minute=last_end.minute, second=last_end.second)
    result = cal.add_working_hours(due, wait / 3600.0)
    if d.due_at.tzinfo is None:
        result = result.replace(tzinfo=None)
    return result


# ----------------------------------------------------------------------------- working time


def _day_table(cal, first: np.datetime64, last: np.datetime64) -> tuple[np.ndarray, np.ndarray]:
    """Working flags for the days first..last and the count of working days before each day."""
    n = int((last - first).astype(np.int64)) + 1
    start = pd.Timestamp(first).date()
    flags = np.fromiter(
        (cal.is_working_day(start + timedelta(days=i)) for i in range(n)), dtype=np.int64, count=n
    )
    before = np.concatenate(([0], np.cumsum(flags)[:-1]))
    return flags, before


def working_seconds_series(start: pd.Series, end: pd.Series, cal) -> pd.Series:
    """Vectorized `cal.working_seconds_between(start, end)` (office seconds in [start, end), 0 when
    end <= start), NaN where either is missing. Same calendar days and office hours as `cal`."""
    a, b = local_us_values(start), local_us_values(end)
    missing = np.isnat(a) | np.isnat(b)
    out = np.full(len(a), np.nan)
    if (~missing).any():
        aa, bb = a[~missing], b[~missing]
        first = min(aa.min(), bb.min()).astype("datetime64[D]")
        last = max(aa.max(), bb.max()).astype("datetime64[D]")
        flags, before = _day_table(cal, first, last)
        sessions = [
            (
                ((s.hour * 60 + s.minute) * 60 + s.second) * 1_000_000 + s.microsecond,
                ((e.hour * 60 + e.minute) * 60 + e.second) * 1_000_000 + e.microsecond,
            )
            for s, e in cal.office_hours.sessions
        ]
        day_us = sum(e - s for s, e in sessions)

        def office_clock(x: np.ndarray) -> np.ndarray:
            """Office microseconds from the start of `first` up to each moment x."""
            days = x.astype("datetime64[D]")
            idx = (days - first).astype(np.int64)
            tod = (x - days).astype(np.int64)
            within = np.zeros(len(x), dtype=np.int64)
            for s, e in sessions:
                within += np.clip(tod - s, 0, e - s)
            return before[idx] * day_us + flags[idx] * within

        diff = office_clock(bb) - office_clock(aa)
        out[~missing] = np.maximum(diff, 0) / 1_000_000
    return pd.Series(out, index=start.index)


def working_days_series(start: pd.Series, end: pd.Series, cal) -> pd.Series:
    """Vectorized `cal.working_days_elapsed`: office time from start to end in working days."""
    day_seconds = cal.office_hours.microseconds_per_day / 1_000_000
    return working_seconds_series(start, end, cal) / day_seconds


def calendar_days_series(start: pd.Series, end: pd.Series) -> pd.Series:
    """Elapsed calendar days (fractional) from start to end, NaN where either is missing."""
    a, b = local_us_values(start), local_us_values(end)
    out = (b - a).astype(np.int64) / _US_PER_DAY
    out[np.isnat(a) | np.isnat(b)] = np.nan
    return pd.Series(out, index=start.index)
