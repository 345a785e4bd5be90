import math

import pytest
from factories import done, fact, facts

from cchc.config import Score766Indicator
from cchc.domain.metrics import classify, indicator_table
from cchc.domain.periods import parse_period
from cchc.domain.reconcile import reconcile
from cchc.domain.score766 import indicator_rates, score_766, scores_by_unit

WEIGHTS = {
    "tien_do": (20, 100),
    "truc_tuyen": (12, 50),
    "thanh_toan": (10, 80),
    "so_hoa": (12, 80),
    "tai_su_dung": (10, 80),
    "hai_long": (18, 90),
    "dong_bo": (18, 100),
}


def test_points_are_linear_up_to_the_threshold():
    rates = {
        "progress_766_rate": 90.0,  # 20 × 0.9 = 18
        "online_rate": 60.0,  # above the 50% threshold: full 12
        "online_payment_rate": 40.0,  # 10 × 40/80 = 5
        "digitization_rate": 80.0,  # 12
        "reuse_rate": 0.0,  # 0
        "late": 5,
        "resolved": 100,  # late rate 5% -> hai_long rate 95% -> full 18
        "sync_rate": 97.5,  # 18 × 0.975 = 17.55
    }
    result = score_766(rates, WEIGHTS)
    assert result["points"] == pytest.approx(
        {
            "tien_do": 18,
            "truc_tuyen": 12,
            "thanh_toan": 5,
            "so_hoa": 12,
            "tai_su_dung": 0,
            "hai_long": 18,
            "dong_bo": 17.55,
        }
    )
    assert result["rates"]["hai_long"] == 95.0
    assert result["total"] == pytest.approx(82.55)
    assert result["max_total"] == 100
    assert result["percent"] == pytest.approx(82.55)


def test_na_indicators_are_left_out_of_total_and_max():
    result = score_766(
        {"progress_766_rate": 50.0, "online_rate": float("nan"), "resolved": 0, "late": 0}, WEIGHTS
    )
    assert result["points"]["tien_do"] == 10
    for name in ("truc_tuyen", "thanh_toan", "so_hoa", "tai_su_dung", "hai_long", "dong_bo"):
        assert result["points"][name] is None
    assert result["total"] == 10 and result["max_total"] == 20 and result["percent"] == 50.0
    empty = score_766({}, WEIGHTS)
    assert empty["total"] == 0 and empty["max_total"] == 0 and empty["percent"] is None


def test_hai_long_uses_late_and_complaint_rates():
    rates = indicator_rates({"late": 10, "resolved": 50, "complaint_rate": 3.0})
    assert rates["hai_long"] == pytest.approx(100 - 20 - 3)
    assert indicator_rates({"late": 10, "resolved": 50})["hai_long"] == 80.0  # complaint rate 0 when unknown
    assert indicator_rates({"hai_long": 91.0})["hai_long"] == 91.0
    points = score_766({"late": 10, "resolved": 50}, {"hai_long": (18, 90)})["points"]["hai_long"]
    assert points == pytest.approx(18 * 80 / 90)


def test_indicator_name_keys_win_and_config_objects_work():
    weights = {"truc_tuyen": Score766Indicator(max_points=12, threshold=50)}
    assert score_766({"truc_tuyen": 25.0, "online_rate": 99.0}, weights)["points"]["truc_tuyen"] == 6
    assert score_766({"online_rate": 25.0}, {"truc_tuyen": {"max_points": 12, "threshold": 50}})["total"] == 6


def test_unknown_indicator_and_bad_threshold():
    with pytest.raises(ValueError, match="cong_khai"):
        score_766({}, {"cong_khai": (18, 100)})
    with pytest.raises(ValueError, match="threshold"):
        score_766({"online_rate": 10.0}, {"truc_tuyen": (12, 0)})


def test_scores_by_unit_with_sync_rates_from_reconcile():
    oct_ = parse_period("2026-10")
    f = facts(
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 10:00", channel=2),
        fact(unit_code="H99.99.05", due_at="2026-10-20 17:00"),
    )
    table = indicator_table(classify(f, oct_, mode="766"), by="unit")
    summary, _ = reconcile(f, f.iloc[[0]], oct_)
    scores = scores_by_unit(table, WEIGHTS, summary).set_index("group")
    assert list(scores.index) == ["H99.99.04.01", "H99.99.05", "TOTAL"]
    assert scores.loc["H99.99.04.01", "dong_bo_rate"] == 100.0
    assert scores.loc["H99.99.05", "dong_bo_points"] == 0.0
    assert scores.loc["TOTAL", "dong_bo_rate"] == 50.0
    assert scores.loc["H99.99.05", "tien_do_points"] == 0.0  # one pending overdue: progress 0%
    assert math.isnan(scores.loc["H99.99.05", "hai_long_points"])  # nothing resolved: N/A
    assert scores.loc["H99.99.04.01", "truc_tuyen_points"] == 12
    no_sync = scores_by_unit(table, WEIGHTS)
    assert no_sync["dong_bo_points"].isna().all()
    assert set(scores.columns) >= {"label", "total", "max_total", "percent"}
