"""Reporting periods (DOMAIN.md §4, §6): calendar or administrative (ND 09/2019) months, quarters,
half-years and years, plus explicit custom ranges.

Pure domain code, no I/O. A `Period` is an inclusive range of Vietnam calendar dates.

Administrative regime (Nghị định 09/2019/NĐ-CP): a month runs from the 15th of the previous month to
the 14th (`2026-10` = 15/09/2026–14/10/2026); a quarter from the 15th of the month before the quarter
to the 14th of its last month; H1 = 15/12 of the previous year to 14/06, H2 = 15/06–14/12; a year
from 15/12 of the previous year to 14/12. Calendar periods are the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MODES = ("calendar", "administrative")
KINDS = ("month", "quarter", "half", "year", "custom")

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_ACCEPTED = (
    "2026-10 (tháng/month), 2026-Q3 (quý/quarter), 2026-H1 (6 tháng/half-year), 2026 (năm/year), "
    "2026-10-01..2026-10-31 hoặc/or date_from + date_to (tùy chọn/custom)"
)
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RE_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_RE_HALF = re.compile(r"^(\d{4})-[Hh]([12])$")
_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|,|\s)\s*(\d{4}-\d{2}-\d{2})$")


def _vn(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _first_month(kind: str, number: int) -> int:
    """First calendar month of the number-th month/quarter/half of a year."""
    if kind == "month":
        return number
    if kind == "quarter":
        return 3 * (number - 1) + 1
    if kind == "half":
        return 6 * (number - 1) + 1
    return 1


def _n_months(kind: str) -> int:
    return {"month": 1, "quarter": 3, "half": 6, "year": 12}[kind]


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    i = year * 12 + (month - 1) + delta
    return i // 12, i % 12 + 1


def _bounds(kind: str, year: int, number: int, mode: str) -> tuple[date, date]:
    first = _first_month(kind, number)
    y_last, m_last = _shift_month(year, first, _n_months(kind) - 1)
    if mode == "administrative":
        y0, m0 = _shift_month(year, first, -1)
        return date(y0, m0, 15), date(y_last, m_last, 14)
    y_next, m_next = _shift_month(y_last, m_last, 1)
    return date(year, first, 1), date(y_next, m_next, 1) - timedelta(days=1)


def _label(kind: str, year: int, number: int, start: date, end: date) -> str:
    if kind == "month":
        return f"Tháng {number}/{year}"
    if kind == "quarter":
        return f"Quý {_ROMAN[number]}/{year}"
    if kind == "half":
        return f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
    if kind == "year":
        return f"Năm {year}"
    return f"Từ {_vn(start)} đến {_vn(end)}"


@dataclass(frozen=True)
class Period:
    """An inclusive range of Vietnam dates with its Vietnamese label.

    `kind` is "month" | "quarter" | "half" | "year" | "custom"; `mode` is "calendar" |
    "administrative"; `year` and `number` (month 1–12, quarter 1–4, half 1–2) identify a named
    period (None for custom ranges).
    """

    start: date
    end: date
    label: str
    kind: str
    mode: str = "calendar"
    year: int | None = None
    number: int | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"Kỳ báo cáo sai: ngày kết thúc {_vn(self.end)} trước ngày bắt đầu {_vn(self.start)} / "
                f"period end {self.end.isoformat()} is before its start {self.start.isoformat()}"
            )
        if self.kind not in KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.mode not in MODES:
            raise ValueError(f"unknown period mode {self.mode!r}; expected one of {', '.join(MODES)}")

    def __copy__(self) -> Period:
        return self

    def __deepcopy__(self, memo) -> Period:
        """Itself: a Period is immutable, and pandas deep-copies a frame's attrs (which hold the
        period) on nearly every operation."""
        return self

    # ----------------------------------------------------------- constructors

    @classmethod
    def named(cls, kind: str, year: int, number: int = 1, mode: str = "calendar") -> Period:
        """The number-th month/quarter/half (or the year) of `year` in the given regime."""
        if mode not in MODES:
            raise ValueError(f"unknown period mode {mode!r}; expected one of {', '.join(MODES)}")
        limits = {"month": 12, "quarter": 4, "half": 2, "year": 1}
        if kind not in limits:
            raise ValueError(f"unknown period kind {kind!r}; expected month, quarter, half or year")
        if kind == "year":
            number = 1
        if not 1 <= number <= limits[kind]:
            raise ValueError(f"{kind} number must be 1..{limits[kind]}, got {number}")
        start, end = _bounds(kind, year, number, mode)
        return cls(start, end, _label(kind, year, number, start, end), kind, mode, year, number)

    @classmethod
    def custom(cls, start: date, end: date, mode: str = "calendar") -> Period:
        return cls(start, end, _label("custom", 0, 0, start, end), "custom", mode)

    # -------------------------------------------------------------- queries

    @property
    def slug(self) -> str:
        """Stable key for artifacts: 2026-10, 2026-q3, 2026-h1, 2026, 2026-10-01-2026-10-31."""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-q{self.number}"
        if self.kind == "half":
            return f"{self.year}-h{self.number}"
        if self.kind == "year":
            return f"{self.year}"
        return f"{self.start.isoformat()}-{self.end.isoformat()}"

    @property
    def range_label(self) -> str:
        """'Từ 15/09/2026 đến 14/10/2026' for any period."""
        return f"Từ {_vn(self.start)} đến {_vn(self.end)}"

    @property
    def title(self) -> str:
        """The label with its dates, once: 'Tháng 10/2026 (từ 01/10/2026 đến 31/10/2026)'; a custom
        range is its dates already ('Từ 01/10/2026 đến 15/10/2026')."""
        if self.kind == "custom":
            return self.label
        return f"{self.label} (từ {_vn(self.start)} đến {_vn(self.end)})"

    def state(self, today: date) -> str:
        """"finished" (ended before `today`), "ongoing" (contains it) or "future" (starts after it)."""
        if isinstance(today, datetime):
            today = today.date()
        if today > self.end:
            return "finished"
        if today < self.start:
            return "future"
        return "ongoing"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        return self.start <= d <= self.end

    def previous(self) -> Period:
        """The period of the same kind just before (custom: same length, ending the day before)."""
        if self.kind == "custom":
            end = self.start - timedelta(days=1)
            return Period.custom(end - timedelta(days=self.days - 1), end, self.mode)
        if self.kind == "year":
            return Period.named("year", self.year - 1, 1, self.mode)
        per_year = {"month": 12, "quarter": 4, "half": 2}[self.kind]
        if self.number == 1:
            return Period.named(self.kind, self.year - 1, per_year, self.mode)
        return Period.named(self.kind, self.year, self.number - 1, self.mode)

    def next(self) -> Period:
        """The period of the same kind just after."""
        if self.kind == "custom":
            start = self.end + timedelta(days=1)
            return Period.custom(start, start + timedelta(days=self.days - 1), self.mode)
        if self.kind == "year":
            return Period.named("year", self.year + 1, 1, self.mode)
        per_year = {"month": 12, "quarter": 4, "half": 2}[self.kind]
        if self.number == per_year:
            return Period.named(self.kind, self.year + 1, 1, self.mode)
        return Period.named(self.kind, self.year, self.number + 1, self.mode)

    def sub_periods(self, kind: str = "month") -> list[Period]:
        """The periods of `kind` that make up this one, in order; together they cover it exactly.

        A year splits into halves, quarters or months, a half into quarters or months, a quarter into
        months, a month into itself. `kind="day"` gives one custom period per day. For a custom
        range, months are cut to the range (custom pieces)."""
        if kind == "day":
            return [
                Period.custom(self.start + timedelta(days=i), self.start + timedelta(days=i), self.mode)
                for i in range(self.days)
            ]
        order = {"month": 1, "quarter": 3, "half": 6, "year": 12}
        if kind not in order:
            raise ValueError(f"unknown sub-period kind {kind!r}; expected day, month, quarter, half, year")
        if self.kind == "custom":
            if kind != "month":
                raise ValueError("a custom period splits only into months or days")
            pieces = []
            current = period_of(self.start, "month", self.mode)
            while current.start <= self.end:
                start, end = max(current.start, self.start), min(current.end, self.end)
                pieces.append(
                    current
                    if (start, end) == (current.start, current.end)
                    else Period.custom(start, end, self.mode)
                )
                current = current.next()
            return pieces
        own = order[self.kind]
        if order[kind] > own or own % order[kind]:
            raise ValueError(f"a {self.kind} period does not split into {kind} periods")
        count = own // order[kind]
        first = (_first_month(self.kind, self.number) - 1) // order[kind] + 1
        return [Period.named(kind, self.year, first + i, self.mode) for i in range(count)]


# ------------------------------------------------------------------ functions

#: What a reader is told about a period not yet over, and about one without any dossier.
PROVISIONAL_NOTE_VI = "kỳ chưa kết thúc, số liệu tạm tính"
FUTURE_NOTE_VI = "kỳ chưa bắt đầu"
NO_DATA_NOTE_VI = "không có hồ sơ trong kỳ"


def period_notes(period: Period, today: date, has_data: bool = True) -> list[str]:
    """The warnings to print with a period's figures: provisional (not finished, or in the future:
    "kỳ chưa kết thúc, số liệu tạm tính"), and "không có hồ sơ trong kỳ" when it holds no dossier."""
    notes = []
    state = period.state(today)
    if state != "finished":
        notes.append(PROVISIONAL_NOTE_VI + (f" ({FUTURE_NOTE_VI})" if state == "future" else ""))
    if not has_data:
        notes.append(NO_DATA_NOTE_VI)
    return notes



def period_of(d: date, kind: str = "month", mode: str = "calendar") -> Period:
    """The named period of `kind` ("month", "quarter", "half", "year") that contains date `d`."""
    if isinstance(d, datetime):
        d = d.date()
    year, month = d.year, d.month
    if mode == "administrative" and d.day >= 15:
        year, month = _shift_month(year, month, 1)
    size = _n_months(kind) if kind in ("month", "quarter", "half", "year") else None
    if size is None:
        raise ValueError(f"unknown period kind {kind!r}; expected month, quarter, half or year")
    return Period.named(kind, year, (month - 1) // size + 1, mode)


def last_full_month(today: date, mode: str = "calendar") -> Period:
    """The last month (of the regime) that ended before `today`: the one before the month that
    contains today. Calendar, today 03/11/2026 -> Tháng 10/2026; administrative, today 14/10/2026 ->
    Tháng 9/2026 (15/08–14/09), today 15/10/2026 -> Tháng 10/2026."""
    if mode not in MODES:
        raise ValueError(f"unknown period mode {mode!r}; expected one of {', '.join(MODES)}")
    return period_of(today, "month", mode).previous()


def _parse_date(value, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(
            f"Ngày không hợp lệ cho {what}: {value!r} (dạng yyyy-mm-dd) / "
            f"invalid date for {what}: {value!r} (expected yyyy-mm-dd)"
        ) from None


def _bad(text) -> ValueError:
    return ValueError(
        f"Kỳ báo cáo không hợp lệ: {text!r}. Các dạng được chấp nhận: {_ACCEPTED} / "
        f"invalid period {text!r}; accepted forms: {_ACCEPTED}"
    )


def parse_period(
    text: str | None,
    mode: str = "calendar",
    date_from: date | str | None = None,
    date_to: date | str | None = None,
) -> Period:
    """Parse `2026-10`, `2026-Q3`, `2026-H1`, `2026`, `2026-10-01..2026-10-31`, or (text None)
    an explicit `date_from` + `date_to`, in the given regime ("calendar" | "administrative").

    Raises ValueError with a Vietnamese + English message naming the value and the accepted forms."""
    if mode not in MODES:
        raise ValueError(
            f"Chế độ kỳ báo cáo không hợp lệ: {mode!r} (calendar | administrative) / "
            f"invalid period mode {mode!r}; expected calendar or administrative"
        )
    if text is None or not str(text).strip():
        if date_from is None or date_to is None:
            raise _bad(text)
        start, end = _parse_date(date_from, "date_from"), _parse_date(date_to, "date_to")
        return Period.custom(start, end, mode)
    if date_from is not None or date_to is not None:
        raise ValueError(
            f"Chỉ được dùng một trong hai: kỳ {text!r} hoặc date_from/date_to / "
            f"give either the period {text!r} or date_from/date_to, not both"
        )
    try:
        return _parse_text(str(text).strip(), mode)
    except ValueError:
        raise _bad(text) from None


def _parse_text(s: str, mode: str) -> Period:
    if m := _RE_MONTH.match(s):
        return Period.named("month", int(m.group(1)), int(m.group(2)), mode)
    if m := _RE_QUARTER.match(s):
        return Period.named("quarter", int(m.group(1)), int(m.group(2)), mode)
    if m := _RE_HALF.match(s):
        return Period.named("half", int(m.group(1)), int(m.group(2)), mode)
    if m := _RE_YEAR.match(s):
        return Period.named("year", int(m.group(1)), 1, mode)
    if m := _RE_RANGE.match(s):
        return Period.custom(date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2)), mode)
    raise ValueError(s)
