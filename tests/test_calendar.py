"""Working-day calendar and deadline arithmetic (cchc.domain.calendar, DOMAIN.md §3).

Expected values are worked out by hand against the 2025/2026 Vietnamese calendar (office hours
07:00–11:30 and 13:30–17:00, 8 hours a day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.domain.calendar import OfficeHours, WorkCalendar

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


# ---------------------------------------------------------------- office hours


def test_default_office_hours_are_eight_hours() -> None:
    oh = OfficeHours()
    assert oh.sessions == ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
    assert oh.hours_per_day == 8.0


def test_custom_office_hours() -> None:
    assert OfficeHours(((time(7, 30), time(16, 45)),)).hours_per_day == 9.25
    assert OfficeHours(((time(8), time(12)), (time(13), time(16, 30)))).hours_per_day == 7.5


@pytest.mark.parametrize(
    "sessions",
    [
        (),
        ((time(11), time(7)),),
        ((time(7), time(12)), (time(11), time(17))),  # overlap
        ((time(13), time(17)), (time(7), time(11))),  # out of order
    ],
)
def test_invalid_office_hours_rejected(sessions) -> None:
    with pytest.raises(ValueError):
        OfficeHours(sessions)


# ---------------------------------------------------------------- working days


@pytest.mark.parametrize("day", [16, 17, 18, 19, 20])
def test_tet_2026_is_off(day: int) -> None:
    assert not CAL.is_working_day(date(2026, 2, day))


def test_days_around_tet_2026() -> None:
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before Tết
    assert not CAL.is_working_day(date(2026, 2, 14))  # Saturday
    assert not CAL.is_working_day(date(2026, 2, 22))  # Sunday
    assert CAL.is_working_day(date(2026, 2, 23))  # Monday after Tết


def test_weekends() -> None:
    assert CAL.is_working_day(date(2026, 3, 6))  # Friday
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday
    assert CAL.is_working_day(date(2026, 3, 9))  # Monday


def test_make_up_saturday_and_substituted_day_off_2026() -> None:
    assert CAL.is_working_day(date(2026, 8, 22))  # Saturday worked for...
    assert not CAL.is_working_day(date(2026, 8, 31))  # ...Monday off
    assert not CAL.is_working_day(date(2026, 8, 29))  # an ordinary Saturday stays off
    assert not CAL.is_working_day(date(2026, 9, 1))
    assert not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.is_working_day(date(2026, 9, 3))


def test_make_up_saturday_2025() -> None:
    assert CAL.is_working_day(date(2025, 4, 26))
    assert not CAL.is_working_day(date(2025, 5, 2))


def test_vietnam_culture_day_from_2026() -> None:
    assert not CAL.is_working_day(date(2026, 11, 24))  # Tuesday, Ngày Văn hóa Việt Nam
    assert CAL.is_working_day(date(2025, 11, 24))  # Monday, not yet a holiday in 2025


def test_is_working_day_accepts_a_datetime() -> None:
    assert not CAL.is_working_day(datetime(2026, 2, 17, 9, 0))
    assert CAL.is_working_day(datetime(2026, 2, 23, 9, 0))


def test_next_working_day() -> None:
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert CAL.next_working_day(date(2026, 8, 21)) == date(2026, 8, 22)  # make-up Saturday
    assert CAL.next_working_day(date(2026, 8, 22)) == date(2026, 8, 24)
    assert CAL.next_working_day(date(2026, 8, 28)) == date(2026, 9, 3)  # 31/8, 1/9, 2/9 off
    assert CAL.next_working_day(date(2025, 12, 31)) == date(2026, 1, 2)  # across the year, 1/1 off
    assert CAL.next_working_day(date(2026, 3, 9)) == date(2026, 3, 10)  # strictly after


def test_add_working_days() -> None:
    assert CAL.add_working_days(date(2026, 2, 13), 0) == date(2026, 2, 13)
    assert CAL.add_working_days(date(2026, 2, 14), 0) == date(2026, 2, 23)
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)  # 13, 23, 24, 25, 26
    assert CAL.add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 3)
    # 29/12/2025 Mon + 5: 30, 31, 2/1, 5/1, 6/1
    assert CAL.add_working_days(date(2025, 12, 29), 5) == date(2026, 1, 6)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 3, 9), -1)


def test_working_days_between_across_tet() -> None:
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 23, 24
    # 06/02 Fri → 27/02 Fri: 9–13/02 (5) and 23–27/02 (5)
    assert CAL.working_days_between(date(2026, 2, 6), date(2026, 2, 27)) == 10
    assert CAL.working_days_between(date(2026, 2, 27), date(2026, 2, 6)) == -10
    assert CAL.working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 1
    assert CAL.working_days_between(date(2026, 2, 15), date(2026, 2, 22)) == 0
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0


def test_working_days_between_across_years() -> None:
    # (31/12/2025, 05/01/2026]: 1/1 off, 2/1 Fri, 3–4 weekend, 5/1 Mon
    assert CAL.working_days_between(date(2025, 12, 31), date(2026, 1, 5)) == 2
    # whole years: 2026 has 365 days, 104 weekend days, and the public holidays on weekdays
    vn = holidays.VN(years=2026)
    expected = sum(1 for i in range(365) if vn.is_working_day(date(2026, 1, 1) + timedelta(days=i)))
    assert CAL.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == expected
    # by hand: 365 − 104 weekend days − 13 weekday holidays (1/1, 16–20/2, 27/4, 30/4, 1/5, 31/8, 1/9,
    # 2/9, 24/11) + 1 make-up Saturday (22/8)
    assert expected == 249
    assert CAL.working_days_between(date(2024, 12, 31), date(2027, 1, 1)) == (
        # 1/1/2027 is a holiday, so nothing counts after 31/12/2026
        CAL.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) + expected
    )


# ---------------------------------------------------------------- configuration


def test_configured_extra_holiday_and_working_day() -> None:
    default = WorkCalendar()
    assert default.is_working_day(date(2026, 1, 2))  # Friday
    assert not default.is_working_day(date(2026, 1, 10))  # Saturday

    ward = WorkCalendar(extra_holidays=[date(2026, 1, 2)], extra_working_days=[date(2026, 1, 10)])
    assert not ward.is_working_day(date(2026, 1, 2))
    assert ward.is_working_day(date(2026, 1, 10))
    assert ward.next_working_day(date(2025, 12, 31)) == date(2026, 1, 5)
    assert ward.next_working_day(date(2026, 1, 9)) == date(2026, 1, 10)

    # 31/12/2025 15:00 + 2 days. Default: 31/12 2h, 2/1 8h, 5/1 6h → 5/1 15:00.
    assert default.due_date(local(2025, 12, 31, 15), 2) == local(2026, 1, 5, 15)
    # With 2/1 off: 31/12 2h, 5/1 8h, 6/1 6h → 6/1 15:00.
    assert ward.due_date(local(2025, 12, 31, 15), 2) == local(2026, 1, 6, 15)


def test_configuration_overrides_the_holidays_package() -> None:
    ward = WorkCalendar(extra_holidays=[date(2026, 8, 22)], extra_working_days=[date(2026, 8, 31)])
    assert not ward.is_working_day(date(2026, 8, 22))
    assert ward.is_working_day(date(2026, 8, 31))
    assert not ward.is_working_day(date(2026, 9, 1))  # untouched holidays stay


def test_configuration_conflict_rejected() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(extra_holidays=[date(2026, 1, 2)], extra_working_days=[date(2026, 1, 2)])


# ---------------------------------------------------------------- moments and deadlines


def test_due_date_over_tet_2026() -> None:
    # 13/02 15:00: 2h left that day; Mon 23/02 8h; Tue 24/02 4.5h (to 11:30) + 1.5h from 13:30.
    due = CAL.due_date(local(2026, 2, 13, 15), 2)
    assert due == local(2026, 2, 24, 15)
    assert due.tzinfo == VN_TZ


def test_next_working_moment() -> None:
    assert CAL.next_working_moment(local(2026, 3, 9, 9, 15)) == local(2026, 3, 9, 9, 15)  # inside
    assert CAL.next_working_moment(local(2026, 3, 9, 6, 0)) == local(2026, 3, 9, 7, 0)  # early
    assert CAL.next_working_moment(local(2026, 3, 9, 12, 0)) == local(2026, 3, 9, 13, 30)  # lunch
    assert CAL.next_working_moment(local(2026, 3, 9, 11, 30)) == local(2026, 3, 9, 13, 30)  # end excl.
    assert CAL.next_working_moment(local(2026, 3, 9, 17, 0)) == local(2026, 3, 10, 7, 0)
    assert CAL.next_working_moment(local(2026, 3, 9, 18, 0)) == local(2026, 3, 10, 7, 0)
    assert CAL.next_working_moment(local(2026, 3, 6, 18, 0)) == local(2026, 3, 9, 7, 0)  # Friday night
    assert CAL.next_working_moment(local(2026, 3, 8, 10, 0)) == local(2026, 3, 9, 7, 0)  # Sunday
    assert CAL.next_working_moment(local(2026, 2, 13, 17, 30)) == local(2026, 2, 23, 7, 0)  # Tết


def test_naive_and_foreign_zone_inputs() -> None:
    naive = datetime(2026, 3, 9, 12, 0)
    result = CAL.next_working_moment(naive)
    assert result == local(2026, 3, 9, 13, 30)
    assert result.utcoffset() == timedelta(hours=7)
    # 08:00 UTC on 13/02 is 15:00 in Vietnam.
    assert CAL.due_date(datetime(2026, 2, 13, 8, 0, tzinfo=UTC), 2) == local(2026, 2, 24, 15)
    # 23:30 UTC on Sunday 08/03 is 06:30 Monday in Vietnam → 07:00 Monday.
    assert CAL.next_working_moment(datetime(2026, 3, 8, 23, 30, tzinfo=UTC)) == local(2026, 3, 9, 7)
    plus9 = timezone(timedelta(hours=9))
    out = CAL.next_working_moment(datetime(2026, 3, 9, 12, 0, tzinfo=plus9))  # 10:00 local
    assert out == local(2026, 3, 9, 10, 0)
    assert out.tzinfo == VN_TZ


def test_after_hours_receipt_starts_next_morning() -> None:
    # Mon 09/03 18:00 → Tue 07:00, + 8h = Tue 17:00.
    assert CAL.due_date(local(2026, 3, 9, 18), 1) == local(2026, 3, 10, 17)
    # Friday 18:00 → Monday 07:00, + 16h = Tuesday 17:00.
    assert CAL.due_date(local(2026, 3, 6, 18), 2) == local(2026, 3, 10, 17)
    # received at 17:00 sharp counts as after hours
    assert CAL.due_date(local(2026, 3, 9, 17), 1) == local(2026, 3, 10, 17)


def test_lunch_break_receipt() -> None:
    # Tue 10/03 12:00 → 13:30; 3.5h to 17:00, 4.5h on Wed 07:00–11:30.
    assert CAL.due_date(local(2026, 3, 10, 12), 1) == local(2026, 3, 11, 11, 30)


def test_sunday_receipt() -> None:
    assert CAL.due_date(local(2026, 3, 8, 10), 1) == local(2026, 3, 9, 17)
    assert CAL.due_date(local(2026, 3, 8, 10), 3) == local(2026, 3, 11, 17)


def test_deadline_ending_at_a_session_end_stays_there() -> None:
    assert CAL.add_working_hours(local(2026, 3, 9, 7), 4.5) == local(2026, 3, 9, 11, 30)
    assert CAL.add_working_hours(local(2026, 3, 9, 7), 8) == local(2026, 3, 9, 17)
    assert CAL.add_working_hours(local(2026, 3, 9, 7), 4.5 + 1 / 60) == local(2026, 3, 9, 13, 31)


def test_add_working_hours_and_time_days() -> None:
    assert CAL.add_working_hours(local(2026, 3, 6, 18), 0) == local(2026, 3, 9, 7)
    # 10:00–11:30 is 1.5h, the other 0.75h from 13:30
    assert CAL.add_working_hours(local(2026, 3, 9, 10), 2.25) == local(2026, 3, 9, 14, 15)
    assert CAL.add_working_time_days(local(2026, 3, 9, 7), 0.5) == local(2026, 3, 9, 11)
    assert CAL.add_working_time_days(local(2026, 3, 9, 7), 1.5) == local(2026, 3, 10, 11)
    # 30 working days from Mon 05/01/2026 07:00: Jan has 5/1..30/1 = 20 working days, then
    # 2/2..13/2 = 10 more → the 30th is Fri 13/02, ending at 17:00.
    assert CAL.due_date(local(2026, 1, 5, 7), 30) == local(2026, 2, 13, 17)
    # one more minute rolls over Tết
    assert CAL.add_working_hours(local(2026, 1, 5, 7), 240 + 1 / 60) == local(2026, 2, 23, 7, 1)
    with pytest.raises(ValueError):
        CAL.add_working_hours(local(2026, 3, 9, 7), -1)
    with pytest.raises(ValueError):
        CAL.due_date(local(2026, 3, 9, 7), -1)


def test_due_date_with_custom_office_hours() -> None:
    cal = WorkCalendar(office_hours=OfficeHours(((time(8), time(12)), (time(13), time(17)))))
    # Mon 09/03 16:00: 1h left; Tue 8h; Wed 08:00–12:00 4h, then 13:00 + 3h = Wed 16:00.
    assert cal.due_date(local(2026, 3, 9, 16), 2) == local(2026, 3, 11, 16)
    assert cal.next_working_moment(local(2026, 3, 9, 7, 30)) == local(2026, 3, 9, 8)
    short = WorkCalendar(office_hours=OfficeHours(((time(8), time(12)), (time(13), time(16, 30)))))
    # 7.5h day. Mon 10:00: 2h to 12:00 + 3.5h afternoon = 5.5h; 2h more on Tue → 10:00.
    assert short.due_date(local(2026, 3, 9, 10), 1) == local(2026, 3, 10, 10)
    assert short.working_days_elapsed(local(2026, 3, 9, 10), local(2026, 3, 10, 10)) == 1.0


def test_working_seconds_between_across_weekend() -> None:
    # Fri 06/03 16:00 → Mon 09/03 08:00: 1h Friday + 1h Monday
    assert CAL.working_seconds_between(local(2026, 3, 6, 16), local(2026, 3, 9, 8)) == 7200.0
    # Fri 10:00 → Mon 14:00: Fri 1.5h + 3.5h, Mon 4.5h + 0.5h = 10h
    assert CAL.working_seconds_between(local(2026, 3, 6, 10), local(2026, 3, 9, 14)) == 36000.0
    assert CAL.working_days_elapsed(local(2026, 3, 6, 10), local(2026, 3, 9, 14)) == 1.25
    # entirely within the weekend
    assert CAL.working_seconds_between(local(2026, 3, 7, 9), local(2026, 3, 8, 15)) == 0.0
    # from the weekend into Monday lunch: 4.5h
    assert CAL.working_seconds_between(local(2026, 3, 7, 9), local(2026, 3, 9, 12, 45)) == 4.5 * 3600


def test_working_seconds_between_same_day_and_reversed() -> None:
    assert CAL.working_seconds_between(local(2026, 3, 9, 11), local(2026, 3, 9, 14)) == 3600.0
    assert CAL.working_seconds_between(local(2026, 3, 9, 14), local(2026, 3, 9, 11)) == 0.0
    assert CAL.working_seconds_between(local(2026, 3, 9, 14), local(2026, 3, 9, 14)) == 0.0
    assert CAL.working_seconds_between(local(2026, 3, 9, 18), local(2026, 3, 10, 6)) == 0.0


def test_working_seconds_between_across_tet() -> None:
    # 13/02 15:00 → 24/02 15:00 is exactly the 2-day statutory duration
    assert CAL.working_days_elapsed(local(2026, 2, 13, 15), local(2026, 2, 24, 15)) == 2.0
    # mixed zones: 08:00 UTC = 15:00 local
    a = datetime(2026, 2, 13, 8, 0, tzinfo=UTC)
    assert CAL.working_seconds_between(a, local(2026, 2, 23, 7, 30)) == 2.5 * 3600


# ---------------------------------------------------------------- properties

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
_VN = holidays.VN(years=range(2024, 2031))


@settings(max_examples=300, deadline=None)
@given(d=days, n=st.integers(min_value=0, max_value=400))
def test_add_working_days_roundtrip(d: date, n: int) -> None:
    result = CAL.add_working_days(d, n)
    assert CAL.is_working_day(result)
    assert result >= d
    if CAL.is_working_day(d) or n >= 1:
        assert CAL.working_days_between(d, result) == n
        assert CAL.working_days_between(result, d) == -n


@settings(max_examples=300, deadline=None)
@given(d=days)
def test_is_working_day_matches_holidays_package(d: date) -> None:
    assert CAL.is_working_day(d) == _VN.is_working_day(d)


def _oracle_add_minutes(start: datetime, minutes: int) -> datetime:
    """Minute-by-minute reference for add_working_hours (whole minutes only)."""

    def in_office(t: datetime) -> bool:
        hm = t.hour * 60 + t.minute
        return _VN.is_working_day(t.date()) and (7 * 60 <= hm < 11 * 60 + 30 or 13 * 60 + 30 <= hm < 17 * 60)

    t = start
    while not in_office(t):
        t += timedelta(minutes=1)
    while minutes > 0:
        if in_office(t):
            minutes -= 1
        t += timedelta(minutes=1)
    return t


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 12, 20), max_value=datetime(2026, 3, 10)).map(
        lambda t: t.replace(second=0, microsecond=0)
    ),
    minutes=st.integers(min_value=1, max_value=3 * 8 * 60),
)
def test_add_working_hours_matches_minute_oracle(start: datetime, minutes: int) -> None:
    got = CAL.add_working_hours(start, minutes / 60)
    expected = _oracle_add_minutes(start, minutes).replace(tzinfo=VN_TZ)
    # the oracle steps one minute past the last consumed minute, so a deadline landing exactly at a
    # session end (11:30, 17:00) agrees; a minute consumed up to 13:31 gives 13:31 as well.
    assert got == expected
    assert CAL.working_seconds_between(start, got) == minutes * 60


@settings(max_examples=200, deadline=None)
@given(
    a=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31)),
    b=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31)),
    c=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31)),
)
def test_working_seconds_are_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    ab = CAL.working_seconds_between(a, b)
    bc = CAL.working_seconds_between(b, c)
    assert ab >= 0 and bc >= 0
    assert ab + bc == pytest.approx(CAL.working_seconds_between(a, c), abs=1e-6)
