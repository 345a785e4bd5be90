from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from factories import dossier, ts, vn
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.domain.calendar import WorkCalendar
from cchc.domain.timeliness import (
    EARLY,
    LATE,
    ON_TIME,
    compare_end_to_due,
    compare_end_to_due_series,
    effective_due,
    is_overdue_at,
    is_overdue_at_series,
    working_days_series,
    working_seconds_series,
)

CAL = WorkCalendar()


# ------------------------------------------------------------------ the comparison rule


@pytest.mark.parametrize(
    "end, due, date_mode, timestamp_mode",
    [
        ("2026-10-08 10:00", "2026-10-09 17:00", EARLY, EARLY),
        ("2026-10-09 10:00", "2026-10-09 17:00", ON_TIME, ON_TIME),
        # Finished on the due date after hours: the two readings disagree.
        ("2026-10-09 17:30", "2026-10-09 17:00", ON_TIME, LATE),
        ("2026-10-09 17:00", "2026-10-09 17:00", ON_TIME, ON_TIME),
        ("2026-10-12 07:30", "2026-10-09 17:00", LATE, LATE),
        # A due at midnight (date-only): anything later that day is late only by timestamp.
        ("2026-10-09 08:00", "2026-10-09 00:00", ON_TIME, LATE),
    ],
)
def test_compare_end_to_due(end, due, date_mode, timestamp_mode):
    assert compare_end_to_due(ts(end), ts(due)) == date_mode
    assert compare_end_to_due(ts(end), ts(due), "date") == date_mode
    assert compare_end_to_due(ts(end), ts(due), "timestamp") == timestamp_mode


def test_compare_reads_aware_times_in_vietnam():
    # 17:30 UTC on 09/10 is 00:30 on 10/10 in Vietnam: a day late by date.
    end = datetime(2026, 10, 9, 17, 30, tzinfo=UTC)
    assert compare_end_to_due(end, vn("2026-10-09 17:00")) == LATE
    assert compare_end_to_due(datetime(2026, 10, 9, 3, 0, tzinfo=UTC), ts("2026-10-09 17:00")) == ON_TIME


def test_compare_missing_and_dates():
    assert compare_end_to_due(None, ts("2026-10-09 17:00")) is None
    assert compare_end_to_due(ts("2026-10-09 17:00"), None) is None
    assert compare_end_to_due(date(2026, 10, 8), date(2026, 10, 9)) == EARLY
    with pytest.raises(ValueError, match="comparison mode"):
        compare_end_to_due(ts("2026-10-09 17:00"), ts("2026-10-09 17:00"), "hour")


def test_series_twin_handles_missing():
    end = pd.Series(pd.to_datetime(["2026-10-09 17:30", None, "2026-10-08 09:00"]))
    due = pd.Series(pd.to_datetime(["2026-10-09 17:00", "2026-10-09 17:00", None]))
    assert compare_end_to_due_series(end, due).tolist() == [ON_TIME, pd.NA, pd.NA]
    assert compare_end_to_due_series(end, due, "timestamp").tolist() == [LATE, pd.NA, pd.NA]


def test_series_twin_accepts_aware_series():
    end = pd.Series(pd.to_datetime(["2026-10-09 17:30"]).tz_localize("UTC"))
    due = pd.Series(pd.to_datetime(["2026-10-09 17:00"]))
    assert compare_end_to_due_series(end, due).tolist() == [LATE]


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)).map(
    lambda x: x.replace(microsecond=0)
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), moments), st.one_of(st.none(), moments)), max_size=20),
    st.sampled_from(["date", "timestamp"]),
)
def test_series_twin_equals_scalar_rule(pairs, mode):
    end = pd.Series([p[0] for p in pairs], dtype="datetime64[us]")
    due = pd.Series([p[1] for p in pairs], dtype="datetime64[us]")
    vec = compare_end_to_due_series(end, due, mode).tolist()
    scalar = [compare_end_to_due(e, d, mode) for e, d in pairs]
    assert [None if v is pd.NA else v for v in vec] == scalar


def test_overdue_at_period_end():
    end_of_october = date(2026, 10, 31)
    assert is_overdue_at(ts("2026-10-30 17:00"), end_of_october) is True
    assert is_overdue_at(ts("2026-10-31 10:00"), end_of_october) is False  # still has that day
    assert is_overdue_at(ts("2026-10-31 10:00"), end_of_october, "timestamp") is True
    assert is_overdue_at(ts("2026-11-02 10:00"), end_of_october, "timestamp") is False
    assert is_overdue_at(None, end_of_october) is None
    due = pd.Series(pd.to_datetime(["2026-10-30 17:00", "2026-10-31 10:00", None]))
    assert is_overdue_at_series(due, end_of_october).tolist() == [True, False, False]


# ------------------------------------------------------------------ effective due


def test_effective_due_without_supplements_is_the_original():
    d = dossier(received_at="2026-10-05 08:00", due_at="2026-10-09 17:00")
    assert effective_due(d, CAL) == vn("2026-10-09 17:00")
    assert effective_due(dossier(received_at="2026-10-05 08:00"), CAL) is None


def test_one_completed_supplement_extends_the_due_by_its_working_time():
    # Waiting Mon 08:00 -> Tue 08:00 = 8 office hours = 1 working day; Fri 17:00 -> Mon 17:00.
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 17:00",
        supplements=[("2026-10-05 08:00", "2026-10-06 08:00")],
    )
    assert effective_due(d, CAL) == vn("2026-10-12 17:00")


def test_pending_supplement_does_not_extend():
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 17:00",
        supplements=[("2026-10-06 08:00", None)],
    )
    assert effective_due(d, CAL) == vn("2026-10-09 17:00")


def test_supplement_across_tet_2026_counts_only_working_time():
    # Requested Fri 13/02 16:00, completed Mon 23/02 08:00: 16/02–20/02 are Tết holidays,
    # so the clock stood still for 1 h (Fri) + 1 h (Mon) = 2 office hours.
    d = dossier(
        received_at="2026-02-12 08:00",
        due_at="2026-02-24 17:00",
        supplements=[("2026-02-13 16:00", "2026-02-23 08:00")],
    )
    assert effective_due(d, CAL) == vn("2026-02-25 09:00")


def test_due_on_a_weekend_is_extended_from_the_next_working_morning():
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-10 10:00",  # a Saturday
        supplements=[("2026-10-06 08:00", "2026-10-06 09:00")],
    )
    assert effective_due(d, CAL) == vn("2026-10-12 08:00")


def test_due_on_a_holiday_is_extended_past_it():
    d = dossier(
        received_at="2026-08-25 08:00",
        due_at="2026-09-02 10:00",  # National Day
        supplements=[("2026-08-26 08:00", "2026-08-26 10:00")],
    )
    assert effective_due(d, CAL) == vn("2026-09-03 09:00")


def test_date_only_due_extension_starts_after_that_day():
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 00:00",
        supplements=[("2026-10-05 08:00", "2026-10-06 08:00")],
    )
    assert effective_due(d, CAL) == vn("2026-10-12 17:00")


def test_naive_due_gives_naive_result():
    d = dossier(received_at="2026-10-05 08:00", supplements=[("2026-10-05 08:00", "2026-10-05 09:00")])
    d = replace(d, due_at=datetime(2026, 10, 9, 16, 0))
    assert effective_due(d, CAL) == datetime(2026, 10, 9, 17, 0)  # a session's end is a valid due


def test_apology_never_moves_the_due():
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 17:00",
        apology=True,
        apology_new_due=vn("2026-10-20 17:00"),
    )
    assert effective_due(d, CAL) == vn("2026-10-09 17:00")


def test_two_completed_supplements_add_up():
    d = dossier(
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 17:00",
        supplements=[("2026-10-05 08:00", "2026-10-05 10:00"), ("2026-10-06 14:00", "2026-10-06 16:00")],
    )
    assert effective_due(d, CAL) == vn("2026-10-12 11:00")


# ------------------------------------------------------------------ vectorized working time


def test_working_seconds_series_across_tet():
    a = pd.Series(pd.to_datetime(["2026-02-13 16:00", "2026-10-05 08:00", None, "2026-10-05 08:00"]))
    b = pd.Series(
        pd.to_datetime(["2026-02-23 08:00", "2026-10-05 07:00", "2026-10-05 08:00", "2026-10-06 08:00"])
    )
    assert working_seconds_series(a, b, CAL).tolist()[:2] == [7200.0, 0.0]
    assert np.isnan(working_seconds_series(a, b, CAL).iloc[2])
    assert working_days_series(a, b, CAL).iloc[3] == 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(moments, moments), min_size=1, max_size=15))
def test_working_seconds_series_equals_calendar(pairs):
    a = pd.Series([p[0] for p in pairs], dtype="datetime64[us]")
    b = pd.Series([p[1] for p in pairs], dtype="datetime64[us]")
    got = working_seconds_series(a, b, CAL).tolist()
    want = [CAL.working_seconds_between(x, y) for x, y in pairs]
    assert got == pytest.approx(want)


def test_working_seconds_honours_ward_overrides():
    cal = WorkCalendar(extra_holidays=[date(2026, 10, 6)], extra_working_days=[date(2026, 10, 10)])
    a = pd.Series(pd.to_datetime(["2026-10-05 08:00"]))
    b = a + timedelta(days=6)
    assert working_seconds_series(a, b, cal).iloc[0] == cal.working_seconds_between(a[0], b[0])
