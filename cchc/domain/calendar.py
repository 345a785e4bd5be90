"""Working-day calendar and statutory deadline arithmetic (DOMAIN.md §3).

Pure domain code, no I/O. A working day is a day that is neither a weekend nor a Vietnamese public
holiday (the `holidays` package, country ``VN``, which also knows substituted days off and make-up
working Saturdays), adjusted by a ward's configured extra holidays (days off) and extra working days
(make-up working days). Office hours default to 07:00–11:30 and 13:30–17:00, i.e. 8 hours a day.

Datetimes: inputs may be aware (any zone; converted to the calendar's zone) or naive (read as local
wall-clock time in the calendar's zone). Results are aware datetimes in the calendar's zone. Office
time is measured on the local wall clock, to the microsecond.

Day-level lookups are precomputed lazily per year (a flag per day and the sorted ordinals of the
working days), so `is_working_day` is an index into a bytes object and adding or counting working
days is a bisection, not a loop over days.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

#: The ward's time zone unless the configuration says otherwise: the one place it is named.
VN_TZ_NAME = "Asia/Ho_Chi_Minh"
VN_TZ = ZoneInfo(VN_TZ_NAME)

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND


def _time_us(t: time) -> int:
    """Microseconds since midnight of a wall-clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


@dataclass(frozen=True)
class OfficeHours:
    """The daily office sessions, in order, as (start, end) wall-clock times; end is exclusive."""

    sessions: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError("OfficeHours needs at least one session")
        previous_end: time | None = None
        for start, end in self.sessions:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office session times must be naive wall-clock times")
            if not start < end:
                raise ValueError(f"office session {start}–{end} does not end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("office sessions must be in order and must not overlap")
            previous_end = end

    @property
    def hours_per_day(self) -> float:
        """Total office hours in one working day (8.0 by default)."""
        return self.microseconds_per_day / _US_PER_HOUR

    @property
    def microseconds_per_day(self) -> int:
        return sum(_time_us(end) - _time_us(start) for start, end in self.sessions)


@dataclass(frozen=True)
class _Year:
    base: int  # ordinal of 1 January
    flags: bytes  # flags[ordinal - base] == 1 for a working day
    working: tuple[int, ...]  # sorted ordinals of the working days of the year


class WorkCalendar:
    """Working days (holidays.VN plus ward configuration) and office-time arithmetic."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        office_hours: OfficeHours = OfficeHours(),
        tz: str = VN_TZ_NAME,
    ) -> None:
        off = {_as_date(d) for d in extra_holidays}
        on = {_as_date(d) for d in extra_working_days}
        both = off & on
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates configured both as extra holiday and extra working day: {listed}")
        self.extra_holidays: frozenset[date] = frozenset(off)
        self.extra_working_days: frozenset[date] = frozenset(on)
        self.office_hours = office_hours
        self.tz = ZoneInfo(tz)
        self._sessions_us: tuple[tuple[int, int], ...] = tuple(
            (_time_us(s), _time_us(e)) for s, e in office_hours.sessions
        )
        self._day_us: int = office_hours.microseconds_per_day
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(extra_holidays={len(self.extra_holidays)}, "
            f"extra_working_days={len(self.extra_working_days)}, "
            f"office_hours={self.office_hours!r}, tz={self.tz.key!r})"
        )

    # ------------------------------------------------------------------ days

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            data = self._build_year(year)
            self._years[year] = data
        return data

    def _build_year(self, year: int) -> _Year:
        vn = holidays.VN(years=year)
        first = date(year, 1, 1)
        base = first.toordinal()
        n_days = date(year, 12, 31).toordinal() - base + 1
        flags = bytearray(n_days)
        for i in range(n_days):
            d = first + timedelta(days=i)
            if d in self.extra_working_days:
                flags[i] = 1
            elif d in self.extra_holidays:
                flags[i] = 0
            else:
                flags[i] = 1 if vn.is_working_day(d) else 0
        working = tuple(base + i for i in range(n_days) if flags[i])
        return _Year(base=base, flags=bytes(flags), working=working)

    def is_working_day(self, d: date) -> bool:
        """True when `d` (a date; a datetime is taken by its date as given) is a working day."""
        data = self._years.get(d.year) or self._year(d.year)
        return data.flags[d.toordinal() - data.base] == 1

    def _nth_working_after(self, ordinal: int, n: int) -> int:
        """Ordinal of the n-th (n >= 1) working day strictly after the day `ordinal`."""
        year = date.fromordinal(ordinal).year
        data = self._year(year)
        i = bisect_right(data.working, ordinal)
        while i + n - 1 >= len(data.working):
            n -= len(data.working) - i
            year += 1
            data = self._year(year)
            i = 0
        return data.working[i + n - 1]

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return date.fromordinal(self._nth_working_after(_as_date(d).toordinal(), 1))

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day strictly after `d` (n >= 1); for n == 0, `d` itself if it is a
        working day, else the next working day. Always returns a working day."""
        d = _as_date(d)
        if n < 0:
            raise ValueError(f"add_working_days needs n >= 0, got {n}")
        if n == 0:
            return d if self.is_working_day(d) else self.next_working_day(d)
        return date.fromordinal(self._nth_working_after(d.toordinal(), n))

    def _working_days_upto(self, data: _Year, ordinal: int) -> int:
        """Working days of `data`'s year on or before `ordinal` (which lies in that year)."""
        return bisect_right(data.working, ordinal)

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]; negative (minus the count in (end, start]) when
        end < start."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        first = self._year(start.year)
        if start.year == end.year:
            return self._working_days_upto(first, end.toordinal()) - self._working_days_upto(
                first, start.toordinal()
            )
        count = len(first.working) - self._working_days_upto(first, start.toordinal())
        for year in range(start.year + 1, end.year):
            count += len(self._year(year).working)
        count += self._working_days_upto(self._year(end.year), end.toordinal())
        return count

    # ------------------------------------------------------------------ time

    def _local(self, dt: datetime) -> datetime:
        """Naive local wall-clock time of `dt`."""
        if dt.tzinfo is not None and dt.utcoffset() is not None:
            return dt.astimezone(self.tz).replace(tzinfo=None)
        return dt.replace(tzinfo=None)

    def _aware(self, d: date, us: int) -> datetime:
        return datetime.combine(d, time(0), tzinfo=self.tz) + timedelta(microseconds=us)

    def _start_of_day(self, d: date) -> datetime:
        return self._aware(d, self._sessions_us[0][0])

    def _office_us_before(self, d: date, us: int) -> int:
        """Office microseconds on day `d` before wall-clock time `us` (0 if not a working day)."""
        if not self.is_working_day(d):
            return 0
        total = 0
        for s, e in self._sessions_us:
            if us <= s:
                break
            total += min(us, e) - s
        return total

    def _next_moment(self, local: datetime) -> tuple[date, int]:
        """(day, wall-clock microseconds) of the next working moment at or after naive `local`."""
        d = local.date()
        if self.is_working_day(d):
            us = _time_us(local.time())
            for s, e in self._sessions_us:
                if us < s:
                    return d, s
                if us < e:
                    return d, us
        return self.next_working_day(d), self._sessions_us[0][0]

    def next_working_moment(self, dt: datetime) -> datetime:
        """`dt` itself when it falls inside office hours on a working day; otherwise the start of
        the next office session (later today, or the next working day's first session). Session
        ends are exclusive: 11:30 goes to 13:30, 17:00 to the next working day's 07:00."""
        d, us = self._next_moment(self._local(dt))
        return self._aware(d, us)

    def add_working_hours(self, dt: datetime, hours: float) -> datetime:
        """Statutory deadline arithmetic: from `next_working_moment(dt)`, consume `hours` of office
        time. A deadline that uses up a session exactly ends at that session's end (e.g. 17:00), not
        at the next session's start. `hours` == 0 gives `next_working_moment(dt)`."""
        if hours < 0:
            raise ValueError(f"add_working_hours needs hours >= 0, got {hours}")
        return self._add_office_us(dt, round(hours * _US_PER_HOUR))

    def _add_office_us(self, dt: datetime, remaining: int) -> datetime:
        d, pos = self._next_moment(self._local(dt))
        if remaining == 0:
            return self._aware(d, pos)
        # Rest of the current day.
        for s, e in self._sessions_us:
            if e <= pos:
                continue
            begin = max(pos, s)
            available = e - begin
            if remaining <= available:
                return self._aware(d, begin + remaining)
            remaining -= available
        # Whole working days, then the day in which the deadline falls (remaining in (0, day]).
        skip = (remaining - 1) // self._day_us
        remaining -= skip * self._day_us
        d = date.fromordinal(self._nth_working_after(d.toordinal(), skip + 1))
        for s, e in self._sessions_us:
            if remaining <= e - s:
                return self._aware(d, s + remaining)
            remaining -= e - s
        raise AssertionError("unreachable: remaining office time exceeds one working day")

    def add_working_time_days(self, dt: datetime, days: float) -> datetime:
        """`add_working_hours(dt, days * hours_per_day)`."""
        if days < 0:
            raise ValueError(f"add_working_time_days needs days >= 0, got {days}")
        return self._add_office_us(dt, round(days * self._day_us))

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Office-time seconds in [a, b); 0.0 when b <= a."""
        la, lb = self._local(a), self._local(b)
        if lb <= la:
            return 0.0
        da, db = la.date(), lb.date()
        before_a = self._office_us_before(da, _time_us(la.time()))
        before_b = self._office_us_before(db, _time_us(lb.time()))
        if da == db:
            return (before_b - before_a) / _US_PER_SECOND
        # From a to the end of its day, whole working days strictly between, then b's day up to b.
        rest_of_a = (self._day_us if self.is_working_day(da) else 0) - before_a
        days_between = self.working_days_between(da, db) - (1 if self.is_working_day(db) else 0)
        return (rest_of_a + days_between * self._day_us + before_b) / _US_PER_SECOND

    def working_days_elapsed(self, a: datetime, b: datetime) -> float:
        """Office time from a to b in working days (8 office hours = 1.0 by default)."""
        return self.working_seconds_between(a, b) * _US_PER_SECOND / self._day_us

    def due_date(self, received: datetime, working_days: int) -> datetime:
        """Appointment date (NgayHenTra) for a dossier received at `received` with a statutory
        duration of `working_days`: `add_working_hours(received, working_days * hours_per_day)`.
        A dossier received after hours starts the next working morning."""
        if working_days < 0:
            raise ValueError(f"due_date needs working_days >= 0, got {working_days}")
        return self._add_office_us(received, working_days * self._day_us)


def _as_date(d: date) -> date:
    """The date of a date or datetime (a datetime's own wall-clock date, no zone conversion)."""
    return d.date() if isinstance(d, datetime) else d
