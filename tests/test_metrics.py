"""Hand-checked rules of classification and indicators (DOMAIN.md §3–§4)."""

import numpy as np
import pandas as pd
import pytest
from factories import done, dossier, fact, facts, steps, vn

from cchc.domain.calendar import WorkCalendar
from cchc.domain.metrics import (
    COUNT_COLUMNS,
    RATES,
    TOTAL,
    UNMATCHED,
    classify,
    facts_from_dossiers,
    indicator_table,
    officer_table,
    rates_for_display,
    rollup_units,
    steps_from_dossiers,
    unit_matches,
)
from cchc.domain.periods import parse_period
from cchc.domain.records import ProcessingStep, Status

OCT = parse_period("2026-10")
CAL = WorkCalendar()

#: The flags these tests read, spelled out on purpose (not taken from metrics.CLASSIFIED_COLUMNS): a
#: test states what it checks independently of the code's own lists, so a flag dropped there fails here.
FLAGS = (
    "received_in_period",
    "carried_over",
    "resolved",
    "early",
    "on_time",
    "late",
    "pending",
    "pending_in_time",
    "pending_overdue",
    "data_issue",
)


def one(row: dict, period=OCT, **kw) -> pd.Series:
    return classify(facts(row), period, **kw).iloc[0]


def flags(row: dict, period=OCT, **kw) -> set[str]:
    r = one(row, period, **kw)
    return {f for f in FLAGS if bool(r[f])}


def total(table: pd.DataFrame) -> pd.Series:
    return table[table["group"] == TOTAL].iloc[0]


# ------------------------------------------------------------------ resolved timeliness


def test_early_on_time_late_by_date():
    due = "2026-10-09 17:00"
    assert flags(done("2026-10-05 08:00", due, "2026-10-08 10:00")) == {
        "received_in_period",
        "resolved",
        "early",
    }
    assert flags(done("2026-10-05 08:00", due, "2026-10-09 09:00")) == {
        "received_in_period",
        "resolved",
        "on_time",
    }
    assert flags(done("2026-10-05 08:00", due, "2026-10-12 08:00")) == {
        "received_in_period",
        "resolved",
        "late",
    }


def test_finished_on_due_date_after_hours():
    row = done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-09 18:30")
    assert "on_time" in flags(row, compare="date")
    assert "late" in flags(row, compare="timestamp")


def test_end_time_is_finish_time_else_returned_time():
    # Đã xử lý xong 09/10 (on time), handed over 12/10: the end is the finish time.
    row = fact(status=10, finished_at="2026-10-09 10:00", returned_at="2026-10-12 10:00")
    r = one(row)
    assert r["end_at"] == pd.Timestamp("2026-10-09 10:00") and r["on_time"]
    # No NgayKetThucXuLy: the hand-over time is the end.
    r = one(fact(status=10, returned_at="2026-10-12 10:00"))
    assert r["end_at"] == pd.Timestamp("2026-10-12 10:00") and r["late"]
    # Status 9 with only a finish time.
    assert "early" in flags(fact(status=9, finished_at="2026-10-07 10:00"))


def test_due_on_a_holiday():
    # Due on National Day (02/09/2026); finished on 01/09 early, on 03/09 late.
    due = "2026-09-02 10:00"
    sep = parse_period("2026-09")
    assert "early" in flags(done("2026-08-25 08:00", due, "2026-09-01 10:00"), sep)
    assert "late" in flags(done("2026-08-25 08:00", due, "2026-09-03 08:00"), sep)


def test_due_on_a_weekend_finished_the_monday_after_is_late():
    row = done("2026-10-05 08:00", "2026-10-10 10:00", "2026-10-12 08:00")  # due Saturday
    assert "late" in flags(row)


def test_completed_supplement_across_tet_extends_the_due():
    # Due 24/02; the supplement wait 13/02 16:00 -> 23/02 08:00 is only 2 office hours (Tết
    # 16–20/02), so the effective due is 25/02 09:00: finishing at 25/02 08:30 is on time by date.
    d = dossier(
        status=Status.RETURNED,
        received_at="2026-02-12 08:00",
        due_at="2026-02-24 17:00",
        finished_at="2026-02-25 08:30",
        returned_at="2026-02-25 08:30",
        supplements=[("2026-02-13 16:00", "2026-02-23 08:00")],
    )
    f = facts_from_dossiers([d], CAL)
    assert f["effective_due_at"].iloc[0] == pd.Timestamp("2026-02-25 09:00")
    c = classify(f, parse_period("2026-02"))
    assert c["on_time"].iloc[0]
    # Without the supplement it would have been late.
    c = classify(facts_from_dossiers([d]), parse_period("2026-02"))
    assert c["late"].iloc[0]


def test_one_pending_supplement_is_within_time_two_are_late_in_766():
    # Status 5 (waiting for the citizen) past its due: within time.
    waiting = fact(status=5, supplement_count=1, supplement_pending=True, due_at="2026-10-09 17:00")
    assert flags(waiting) == {"received_in_period", "pending", "pending_in_time"}
    # Still processing but a single supplement pending (flag from the source): within time.
    assert "pending_in_time" in flags(fact(status=4, supplement_count=1, supplement_pending=True))
    # Two supplement requests: late under 766 rules, resolved or pending.
    twice = done("2026-10-05 08:00", "2026-10-20 17:00", "2026-10-08 10:00", supplement_count=2)
    assert "early" in flags(twice, mode="bieu06")
    assert "late" in flags(twice, mode="766")
    twice_pending = fact(status=5, supplement_count=2, supplement_pending=True, due_at="2026-11-20 17:00")
    assert "pending_in_time" in flags(twice_pending, mode="bieu06")
    assert "pending_overdue" in flags(twice_pending, mode="766")


def test_withdrawn_is_resolved_on_time():
    late_withdrawal = fact(status=7, finished_at="2026-10-20 10:00")
    assert flags(late_withdrawal) == {"received_in_period", "resolved", "on_time"}
    assert one(fact(status=7, returned_at="2026-10-21 10:00"))["end_at"] == pd.Timestamp("2026-10-21 10:00")
    # Withdrawn without a due date is not a data issue: it is on time whatever the due.
    assert flags(fact(status=7, finished_at="2026-10-20 10:00", due_at=None)) == {
        "received_in_period",
        "resolved",
        "on_time",
    }


@pytest.mark.parametrize("status", [1, 3])
def test_not_accepted_is_excluded_from_everything(status):
    row = done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-12 08:00", status=status)
    r = one(row)
    assert r["excluded"] and flags(row) == set()
    t = total(indicator_table(classify(facts(row), OCT), by="unit"))
    assert all(t[c] == 0 for c in COUNT_COLUMNS)


def test_stopped_dossier_depends_on_mode():
    stopped = fact(status=8, finished_at="2026-10-20 10:00", due_at="2026-10-09 17:00")
    assert flags(stopped, mode="bieu06") == {"received_in_period", "pending", "pending_in_time"}
    assert flags(stopped, mode="766") == {"received_in_period", "resolved", "late"}


def test_finished_without_end_time_is_pending_within_time_and_flagged():
    row = fact(status=10, finished_at=None, returned_at=None, due_at="2026-10-01 17:00")
    r = one(row)
    assert r["pending_in_time"] and r["data_issue"]
    assert r["data_issue_reason"] == "ended_without_end_time"
    t = total(indicator_table(classify(facts(row), OCT)))
    assert (t["pending"], t["pending_in_time"], t["data_issues"]) == (1, 1, 1)


def test_missing_due_date_counts_on_time_and_is_flagged():
    r = one(done("2026-10-05 08:00", None, "2026-10-30 08:00"))
    assert r["on_time"] and r["data_issue"] and r["data_issue_reason"] == "no_due_date"
    r = one(fact(due_at=None))
    assert r["pending_in_time"] and r["data_issue"]


def test_end_before_reception_is_clamped_and_flagged():
    r = one(done("2026-10-05 08:00", "2026-10-09 17:00", "2026-09-30 08:00"))
    assert r["resolved"] and r["early"] and r["data_issue"]
    assert r["end_at"] == pd.Timestamp("2026-10-05 08:00")
    assert r["data_issue_reason"] == "end_before_received"


def test_missing_reception_time_is_counted_as_a_data_issue_only():
    row = fact(received_at=None)
    r = one(row)
    assert r["data_issue"] and not r["in_scope"]
    t = total(indicator_table(classify(facts(row), OCT)))
    assert t["received"] == 0 and t["data_issues"] == 1


# ------------------------------------------------------------------ periods: carried over, pending


def test_carried_over_and_not():
    # Received in September, finished in October: carried over and resolved in October.
    assert flags(done("2026-09-20 08:00", "2026-10-09 17:00", "2026-10-05 08:00")) == {
        "carried_over",
        "resolved",
        "early",
    }
    # Received and finished in September: in nothing.
    assert flags(done("2026-09-20 08:00", "2026-09-25 17:00", "2026-09-24 08:00")) == set()
    # Received in September, still open: carried over and pending (overdue).
    assert flags(fact(received_at="2026-09-20 08:00", due_at="2026-09-25 17:00")) == {
        "carried_over",
        "pending",
        "pending_overdue",
    }
    # Finished on 30/09 23:59 is before the period even in timestamp mode.
    assert (
        flags(done("2026-09-20 08:00", "2026-10-09 17:00", "2026-09-30 23:59"), compare="timestamp") == set()
    )


def test_received_and_resolved_in_period_counts_in_both():
    t = total(
        indicator_table(
            classify(facts(done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-06 10:00")), OCT)
        )
    )
    assert (t["received"], t["received_in_period"], t["resolved"], t["pending"]) == (1, 1, 1, 0)


def test_finished_after_the_period_was_pending_at_its_end():
    r = one(done("2026-10-20 08:00", "2026-10-30 17:00", "2026-11-03 08:00"))
    assert r["pending"] and r["pending_overdue"] and not r["resolved"]
    r = one(done("2026-10-20 08:00", "2026-11-05 17:00", "2026-11-03 08:00"))
    assert r["pending_in_time"]


def test_pending_at_period_end_in_time_or_overdue():
    assert "pending_in_time" in flags(fact(due_at="2026-10-31 10:00"))  # due on the last day
    assert "pending_overdue" in flags(fact(due_at="2026-10-31 10:00"), compare="timestamp")
    assert "pending_overdue" in flags(fact(due_at="2026-10-30 17:00"))
    assert "pending_in_time" in flags(fact(due_at="2026-11-02 17:00"))
    # Financial obligation pending past its due: within time.
    assert "pending_in_time" in flags(fact(status=6, due_at="2026-10-02 17:00"))


def test_received_after_the_period_is_in_nothing():
    assert flags(fact(received_at="2026-11-01 08:00")) == set()


def test_administrative_vs_calendar_month():
    row = done("2026-09-20 08:00", "2026-09-25 17:00", "2026-09-24 08:00")
    assert flags(row, parse_period("2026-10")) == set()
    assert flags(row, parse_period("2026-10", mode="administrative")) == {
        "received_in_period",
        "resolved",
        "early",
    }


# ------------------------------------------------------------------ channels and rates


def _rates_frame():
    return facts(
        # online, full online procedure, fee paid online, digitized with an e-result, satisfied
        done(
            "2026-10-05 08:00",
            "2026-10-09 17:00",
            "2026-10-08 10:00",
            channel=2,
            online_level=4,
            owes_fee=True,
            paid_online=True,
            digitized_component=True,
            e_result=True,
            evaluation=1,
        ),
        # online, partial procedure, fee not paid online, digitized, paper result without e-result
        done(
            "2026-10-05 08:00",
            "2026-10-09 17:00",
            "2026-10-12 08:00",
            channel=2,
            online_level=3,
            owes_fee=True,
            digitized_component=True,
            apology=True,
            evaluation=3,
        ),
        # postal, full-online procedure, reused component, digitized and not finished yet: a paper
        # result and no electronic one yet, so not digitized (DOMAIN.md §4)
        fact(
            channel=3,
            online_level=4,
            reused_component=True,
            digitized_component=True,
            due_at="2026-11-20 17:00",
        ),
        # in person (channel missing), digitized, result is not a paper document
        done(
            "2026-10-05 08:00",
            "2026-10-09 17:00",
            "2026-10-09 10:00",
            channel=None,
            digitized_component=True,
            result_paper=False,
        ),
        # carried over, pending overdue, no apology: in neither online nor in-person
        fact(received_at="2026-09-10 08:00", due_at="2026-09-20 17:00"),
    )


def test_channel_split_and_identities():
    t = total(indicator_table(classify(_rates_frame(), OCT)))
    assert t["received_in_period"] == 4
    assert (t["received_online"], t["received_in_person_postal"], t["received_postal"]) == (2, 2, 1)
    assert t["carried_over"] == 1
    assert t["received"] == t["received_online"] + t["received_in_person_postal"] + t["carried_over"]
    assert t["received"] == t["resolved"] + t["pending"]


def test_rates_hand_checked():
    """Digitization is 2 of 4, not 3 of 4: DOMAIN.md §4 counts a dossier with a digitized
    component and, where the procedure's result is a paper document, an electronic result. The
    postal dossier is unfinished and has no electronic result yet; this test used to count it
    (unfinished dossiers were exempt from the result condition), a reading the rule does not give:
    a dossier counts as digitized once its paper result is also electronic, not before."""
    t = total(indicator_table(classify(_rates_frame(), OCT)))

    def rate(name):
        return (t[f"{name}_num"], t[f"{name}_den"], t[name])

    assert rate("on_time_rate") == (2, 3, pytest.approx(200 / 3))
    assert rate("progress_766_rate") == (3, 5, 60.0)  # 2 resolved in time + 1 pending in time
    assert rate("online_rate") == (2, 4, 50.0)
    assert rate("full_online_rate") == (1, 2, 50.0)
    assert rate("online_payment_rate") == (1, 2, 50.0)
    assert rate("digitization_rate") == (2, 4, 50.0)  # the e-result one and the non-paper one
    assert rate("reuse_rate") == (1, 4, 25.0)
    assert rate("postal_rate") == (1, 4, 25.0)
    assert rate("satisfaction_rate") == (1, 2, 50.0)
    assert rate("apology_rate") == (1, 2, 50.0)  # 1 resolved late (apology) + 1 pending overdue


def test_zero_denominators_are_na_never_zero():
    t = indicator_table(classify(facts(), OCT), by="unit")
    assert list(t["group"]) == [TOTAL]
    row = total(t)
    for r in RATES:
        assert row[f"{r}_den"] == 0 and np.isnan(row[r])
    assert np.isnan(row["avg_processing_days"])
    shown = rates_for_display(t)
    assert not shown.isna().any().any()
    assert shown["on_time_rate"].iloc[0] == "không phát sinh"
    assert shown["avg_processing_days"].iloc[0] == "không phát sinh"


def test_rates_for_display_formats_percent_with_comma():
    t = indicator_table(classify(_rates_frame(), OCT), by="unit")
    shown = rates_for_display(t)
    assert total(shown)["on_time_rate"] == "66,67%"
    assert total(shown)["online_rate"] == "50,00%"
    assert not shown.isna().any().any()


def test_avg_processing_days_working_vs_calendar():
    # Received Fri 09/10 16:00, finished Mon 12/10 08:00: 2 office hours, 2.67 calendar days.
    f = facts(done("2026-10-09 16:00", "2026-10-15 17:00", "2026-10-12 08:00"))
    plain = total(indicator_table(classify(f, OCT)))
    assert plain["avg_processing_days"] == pytest.approx(64 / 24)
    working = total(indicator_table(classify(f, OCT), calendar=CAL))
    assert working["avg_processing_days"] == pytest.approx(0.25)
    assert total(indicator_table(classify(f, OCT, calendar=CAL)))["avg_processing_days"] == pytest.approx(
        0.25
    )


# ------------------------------------------------------------------ groupings


def test_groupings_and_labels():
    f = facts(
        fact(
            field_code="HT",
            field_name="Hộ tịch",
            procedure_code="2.1",
            procedure_name="Đăng ký khai sinh",
            channel=2,
        ),
        fact(field_code="HT", field_name="Hộ tịch", procedure_code="2.2", procedure_name="Đăng ký kết hôn"),
        fact(field_code="CT", field_name="Chứng thực", unit_code="H99.99.05"),
    )
    c = classify(f, OCT)
    by_field = indicator_table(c, by="field")
    assert list(by_field["group"]) == ["CT", "HT", TOTAL]
    assert list(by_field["label"]) == ["Chứng thực", "Hộ tịch", "Tổng cộng"]
    assert list(by_field["received"]) == [1, 2, 3]
    by_proc = indicator_table(c, by="procedure")
    assert "Đăng ký kết hôn" in set(by_proc["label"])
    by_channel = indicator_table(c, by="channel")
    assert list(by_channel["label"]) == ["Trực tiếp", "Trực tuyến", "Tổng cộng"]
    by_unit = indicator_table(c, by="unit")
    assert list(by_unit["group"]) == ["H99.99.04.01", "H99.99.05", TOTAL]
    by_two = indicator_table(c, by=["unit_code", "field_code"])
    assert list(by_two["group"])[:2] == ["H99.99.04.01 / HT", "H99.99.05 / CT"]
    with pytest.raises(ValueError, match="unknown grouping"):
        indicator_table(c, by="nope")


def test_groups_without_activity_are_left_out():
    f = facts(fact(), fact(unit_code="H99.99.07", received_at="2026-12-01 08:00"))
    t = indicator_table(classify(f, OCT), by="unit")
    assert list(t["group"]) == ["H99.99.04.01", TOTAL]


# ------------------------------------------------------------------ roll-up by national id prefix


def test_unit_matches_is_segment_prefix():
    codes = pd.Series(["H99.99.04", "H99.99.04.01", "H99.99.041", "H99.99.04.01.02", "H99.99"])
    assert unit_matches(codes, "H99.99.04").tolist() == [True, True, False, True, False]


def test_prefix_rollup():
    f = facts(
        fact(unit_code="H99.99.04"),
        fact(unit_code="H99.99.04.01", channel=2),
        fact(unit_code="H99.99.041"),
        fact(unit_code="X.01"),
    )
    c = classify(f, OCT)
    units = [("H99.99", "UBND phường"), ("H99.99.04", "Phòng Văn hóa - Xã hội"), ("H99.99.041", "Trung tâm")]
    t = rollup_units(c, units)
    assert list(t["group"]) == ["H99.99", "H99.99.04", "H99.99.041", UNMATCHED, TOTAL]
    assert list(t["label"])[:3] == ["UBND phường", "Phòng Văn hóa - Xã hội", "Trung tâm"]
    assert list(t["received"]) == [3, 2, 1, 1, 4]
    assert list(t["online_rate"]) == [pytest.approx(100 / 3), 50.0, 0.0, 0.0, 25.0]
    # From a by-unit table, the same numbers.
    t2 = rollup_units(indicator_table(c, by="unit"), units)
    pd.testing.assert_frame_equal(t.reset_index(drop=True), t2.reset_index(drop=True), check_like=True)


# ------------------------------------------------------------------ officers


def test_step_deadline_per_officer():
    s = steps(
        ("A", "an", "2026-10-06 10:00", "2026-10-06 17:00"),  # on time
        ("A", "an", "2026-10-08 09:00", "2026-10-07 17:00"),  # late
        ("B", "binh", "2026-10-07 18:00", "2026-10-07 17:00"),  # same day after hours
        ("C", "binh", None, "2026-10-20 17:00"),  # pending, overdue at the end of October
        ("D", "chi", None, "2026-11-05 17:00"),  # pending, in time
        ("E", "chi", "2026-09-30 10:00", "2026-09-30 17:00"),  # before the period
        ("F", "dung", "2026-10-09 10:00", None),  # no deadline: on time, data issue
    )
    t = officer_table(s, OCT).set_index("group")
    assert (t.loc["an", "steps"], t.loc["an", "on_time"], t.loc["an", "late"]) == (2, 1, 1)
    assert t.loc["an", "on_time_rate"] == 50.0
    assert (t.loc["binh", "on_time"], t.loc["binh", "pending"], t.loc["binh", "pending_overdue"]) == (1, 1, 1)
    assert (t.loc["chi", "steps"], t.loc["chi", "pending"], t.loc["chi", "pending_overdue"]) == (0, 1, 0)
    assert np.isnan(t.loc["chi", "on_time_rate"])
    assert t.loc["dung", "data_issues"] == 1
    assert (t.loc[TOTAL, "steps"], t.loc[TOTAL, "on_time"], t.loc[TOTAL, "late"]) == (4, 3, 1)
    ts_mode = officer_table(s, OCT, compare="timestamp").set_index("group")
    assert ts_mode.loc["binh", "late"] == 1


def test_steps_in_indicator_table_and_from_dossiers():
    d = dossier(
        status=Status.PROCESSING,
        unit_code="H99.99.04.01",
        received_at="2026-10-05 08:00",
        due_at="2026-10-09 17:00",
        steps=(
            ProcessingStep(officer="an", at=vn("2026-10-06 10:00"), step_due=vn("2026-10-06 17:00")),
            ProcessingStep(officer="binh", at=vn("2026-10-08 10:00"), step_due=vn("2026-10-07 17:00")),
        ),
    )
    c = classify(facts_from_dossiers([d]), OCT)
    s = steps_from_dossiers([d])
    assert list(s["officer"]) == ["an", "binh"]
    t = indicator_table(c, by="unit", steps=s)
    row = t.iloc[0]
    assert (row["steps"], row["steps_on_time"], row["steps_late"], row["step_on_time_rate"]) == (
        2,
        1,
        1,
        50.0,
    )
    assert total(t)["steps"] == 2


# ------------------------------------------------------------------ validation


def test_classify_validates_input():
    with pytest.raises(ValueError, match="received_at"):
        classify(pd.DataFrame({"code": ["x"], "unit_code": ["u"], "status": [2]}), OCT)
    with pytest.raises(ValueError, match="classification mode"):
        classify(facts(fact()), OCT, mode="bieu07")
    with pytest.raises(ValueError, match="comparison mode"):
        classify(facts(fact()), OCT, compare="hour")


def test_classify_keeps_its_settings_in_attrs():
    c = classify(facts(fact()), OCT, mode="766", compare="timestamp")
    assert c.attrs["period"] == OCT and c.attrs["mode"] == "766" and c.attrs["compare"] == "timestamp"
    assert indicator_table(c).attrs["mode"] == "766"


def test_classify_accepts_aware_timestamps():
    f = facts(done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-09 18:00"))
    for col in ("received_at", "due_at", "effective_due_at", "finished_at", "returned_at"):
        f[col] = f[col].dt.tz_localize("Asia/Ho_Chi_Minh").dt.tz_convert("UTC")
    r = classify(f, OCT).iloc[0]
    assert r["on_time"] and r["end_at"] == pd.Timestamp("2026-10-09 18:00")


def test_tables_are_the_same_when_the_store_reads_text_as_categoricals():
    # The store reads unit, procedure and field columns as Categoricals (a code per row). Field
    # codes and names sort differently here (CT < DD < XD, but "Đất đai" > "Xây dựng"): a label
    # mapped by category position instead of by value would swap them.
    rows = [
        fact(field_code="XD", field_name="Xây dựng", procedure_code="3", procedure_name="C"),
        fact(field_code="DD", field_name="Đất đai", procedure_code="2", procedure_name="A thủ tục"),
        fact(field_code="CT", field_name="Chứng thực", procedure_code="1", procedure_name="Z thủ tục"),
        fact(field_code="DD", field_name="Đất đai", procedure_code="2", procedure_name="A thủ tục",
             unit_code="H99.99.01"),
    ]
    plain = facts(*rows)
    coded = plain.copy()
    for col in ("unit_code", "procedure_code", "procedure_name", "field_code", "field_name"):
        coded[col] = pd.Categorical(coded[col], categories=sorted(set(coded[col])))
    for by in ("field", "procedure", "unit"):
        want = indicator_table(classify(plain, OCT), by=by)
        got = indicator_table(classify(coded, OCT), by=by)
        assert got["label"].astype(str).tolist() == want["label"].astype(str).tolist(), by
        assert got["group"].astype(str).tolist() == want["group"].astype(str).tolist(), by
        assert got["received"].tolist() == want["received"].tolist(), by
    t = indicator_table(classify(coded, OCT), by="field").set_index("group")
    assert t.loc["DD", "label"] == "Đất đai" and t.loc["DD", "received"] == 2
    assert t.loc["XD", "label"] == "Xây dựng"
