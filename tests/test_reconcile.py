import math

import pandas as pd
import pytest
from factories import done, fact, facts

from cchc.domain.periods import parse_period
from cchc.domain.reconcile import (
    KIND_DUE,
    KIND_FINISH,
    KIND_MISSING,
    KIND_STATUS,
    MISMATCH_COLUMNS,
    reconcile,
)

OCT = parse_period("2026-10")


def pair():
    provincial = facts(
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 10:00", code="A"),  # identical
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 10:00", code="B"),  # status differs
        fact(code="C", due_at="2026-10-09 17:00"),  # due differs by a day
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 10:00", code="D"),  # finish differs
        fact(code="E", unit_code="H99.99.05"),  # missing nationally
        fact(code="F", status=3),  # not accepted: not reconciled
        done("2026-09-01 08:00", "2026-09-05 17:00", "2026-09-04 10:00", code="G"),  # not of the period
        fact(code="H", due_at="2026-10-09 17:00"),  # due differs only by the time of day
    )
    national = provincial[provincial["code"].isin(["A", "B", "C", "D", "H"])].copy()
    national = national.set_index("code")
    national.loc["B", "status"] = 9
    national.loc["C", "due_at"] = pd.Timestamp("2026-10-10 17:00")
    national.loc["D", "finished_at"] = pd.Timestamp("2026-10-09 10:00")
    national.loc["H", "due_at"] = pd.Timestamp("2026-10-09 11:00")
    return provincial, national.reset_index()


def test_mismatches_by_kind():
    summary, mismatches = reconcile(*pair(), OCT)
    assert tuple(mismatches.columns) == MISMATCH_COLUMNS  # codes and unit only, nothing personal
    got = {(r.code, r.kind): (r.provincial_value, r.national_value) for r in mismatches.itertuples()}
    assert got == {
        ("B", KIND_STATUS): ("10 - Đã trả kết quả", "9 - Đã xử lý xong"),
        ("C", KIND_DUE): ("09/10/2026", "10/10/2026"),
        ("D", KIND_FINISH): ("08/10/2026", "09/10/2026"),
        ("E", KIND_MISSING): ("4 - Đang xử lý", ""),
    }


def test_timestamp_mode_compares_times():
    _, mismatches = reconcile(*pair(), OCT, compare="timestamp")
    row = mismatches[(mismatches["code"] == "H")].iloc[0]
    assert row["kind"] == KIND_DUE
    assert (row["provincial_value"], row["national_value"]) == ("09/10/2026 17:00:00", "09/10/2026 11:00:00")


def test_summary_and_sync_rate():
    summary, _ = reconcile(*pair(), OCT)
    s = summary.set_index("group")
    assert list(s.index) == ["H99.99.04.01", "H99.99.05", "TOTAL"]
    assert (s.loc["H99.99.04.01", "provincial"], s.loc["H99.99.04.01", "on_national"]) == (5, 5)
    assert s.loc["H99.99.05", "sync_rate"] == 0.0
    t = s.loc["TOTAL"]
    assert (t["sync_rate_num"], t["sync_rate_den"], t["sync_rate"]) == (5, 6, pytest.approx(500 / 6))
    assert (t["missing"], t["status_mismatches"], t["due_mismatches"], t["finish_mismatches"]) == (1, 1, 1, 1)


def test_units_rollup_and_na_on_empty():
    summary, _ = reconcile(*pair(), OCT, units=[("H99.99", "Phường"), ("H99.99.06", "Trống")])
    s = summary.set_index("group")
    assert s.loc["H99.99", "provincial"] == 6
    assert s.loc["H99.99.06", "provincial"] == 0 and math.isnan(s.loc["H99.99.06", "sync_rate"])
    summary, mismatches = reconcile(facts(), facts(), OCT)
    assert list(summary["group"]) == ["TOTAL"] and math.isnan(summary["sync_rate"].iloc[0])
    assert mismatches.empty and tuple(mismatches.columns) == MISMATCH_COLUMNS


def test_carried_over_pending_dossier_is_reconciled():
    provincial = facts(fact(code="X", received_at="2026-08-01 08:00", due_at="2026-08-10 17:00"))
    summary, mismatches = reconcile(provincial, facts(), OCT)
    assert summary["provincial"].iloc[-1] == 1
    assert list(mismatches["kind"]) == [KIND_MISSING]


@pytest.mark.parametrize("compare", ["date", "timestamp"])
def test_a_classified_frame_gives_the_same_result_and_other_rules_reclassify(compare):
    from cchc.domain.metrics import classify

    provincial, national = pair()
    want_s, want_m = reconcile(provincial, national, OCT, compare=compare)
    got_s, got_m = reconcile(classify(provincial, OCT, compare=compare), national, OCT, compare=compare)
    pd.testing.assert_frame_equal(got_s, want_s)
    pd.testing.assert_frame_equal(got_m, want_m)
    # classified for another period: classified again for this one, not reused
    other = classify(provincial, parse_period("2026-09"), compare=compare)
    again_s, _ = reconcile(other, national, OCT, compare=compare)
    pd.testing.assert_frame_equal(again_s, want_s)


def test_a_code_repeated_on_the_national_side_counts_its_last_row():
    provincial = facts(done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 10:00", code="A"),
                       fact(code="B"))
    first = provincial[provincial["code"] == "A"].copy()
    first["status"] = 9
    national = pd.concat([first, provincial[provincial["code"] == "A"]], ignore_index=True)
    summary, mismatches = reconcile(provincial, national, OCT)
    total = summary[summary["group"] == "TOTAL"].iloc[0]
    assert (total["provincial"], total["on_national"], total["missing"], total["status_mismatches"]) == (2, 1, 1, 0)
    assert set(zip(mismatches["code"], mismatches["kind"], strict=True)) == {("B", KIND_MISSING)}
    # and the other way round: the last row differs
    summary, mismatches = reconcile(provincial, national.iloc[::-1].reset_index(drop=True), OCT)
    assert set(zip(mismatches["code"], mismatches["kind"], strict=True)) == {("B", KIND_MISSING), ("A", KIND_STATUS)}


def test_no_national_rows_at_all():
    provincial = facts(fact(code="A"), fact(code="B"))
    summary, mismatches = reconcile(provincial, provincial.iloc[0:0], OCT)
    total = summary[summary["group"] == "TOTAL"].iloc[0]
    assert (total["provincial"], total["missing"], total["on_national"]) == (2, 2, 0)
    assert math.isclose(total["sync_rate"], 0.0)


def test_the_summary_alone_is_the_same_summary():
    """`with_mismatches=False` (the monthly summary shows the counts only): the same summary, no list."""
    summary, mismatches = reconcile(*pair(), OCT)
    alone, none = reconcile(*pair(), OCT, with_mismatches=False)
    pd.testing.assert_frame_equal(alone, summary)
    assert len(mismatches) == 4 and len(none) == 0 and tuple(none.columns) == MISMATCH_COLUMNS
