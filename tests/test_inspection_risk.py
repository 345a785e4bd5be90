"""Risk weights and spot-check triggers (cchc.domain.inspection_risk), checked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from cchc.domain.draw import verify
from cchc.domain.inspection_risk import (
    KIND_COMPLAINT,
    KIND_LEADERSHIP,
    KIND_RANDOM,
    KIND_THRESHOLD,
    NO_DATA_NOTE,
    NO_RISK_NOTE,
    Complaint,
    LeadershipRequest,
    RiskPolicy,
    SpotCheckPolicy,
    UnitFigures,
    random_count_from_share,
    risk_weights,
    spot_check_triggers,
)

UNITS = ["A", "B", "C"]
FIGURES = [
    UnitFigures("A", dossiers=50, late_rate=20.0, overdue_pending=4),
    UnitFigures("B", dossiers=80, late_rate=10.0, complaints=2),
]
AS_OF = date(2026, 7, 15)


def test_weights_by_hand() -> None:
    # maxima: late rate 20, overdue 4, complaints 2; A = 1 + 20/20 + 4/4 = 3; B = 1 + 10/20 + 2/2 = 2.5
    risk = risk_weights(UNITS, FIGURES)
    assert [w.weight for w in risk.weights] == [3.0, 2.5, 1.0]
    assert not risk.no_data and risk.note is None
    assert risk.weight_of("A").reason == (
        "tỷ lệ trễ hạn 20,00%; quá hạn chưa giải quyết 4; trễ hạn không có phiếu xin lỗi 0; "
        "chênh lệch đối soát 0; phản ánh, kiến nghị 0; trọng số 3,00")
    assert risk.weight_of("C").reason == "không có hồ sơ trong kỳ; trọng số 1,00"


def test_coefficients_floor_and_previous_wave() -> None:
    policy = RiskPolicy(coefficients={"late_rate": 2.0, "overdue_pending": 0.0}, floor=0.5,
                        previous_wave_factor=0.25)
    risk = risk_weights(UNITS, FIGURES, policy, previously_inspected={"A"})
    # A = (0.5 + 2 * 20/20) * 0.25; B = 0.5 + 2 * 10/20 (complaints have no coefficient here)
    assert [w.weight for w in risk.weights] == [0.625, 1.5, 0.5]
    assert risk.weight_of("A").previously_inspected
    assert risk.weight_of("A").reason.endswith("trọng số 2,50 × 0,25 (đã kiểm tra ở đợt trước) = 0,62")


def test_no_data_gives_equal_weights_and_says_so() -> None:
    for figures in ([], [UnitFigures("A"), UnitFigures("B", dossiers=0)]):
        risk = risk_weights(UNITS, figures)
        assert risk.no_data and risk.note == NO_DATA_NOTE
        assert {w.weight for w in risk.weights} == {1.0}
    clean = risk_weights(UNITS, [UnitFigures(u, dossiers=10, late_rate=0.0) for u in UNITS])
    assert not clean.no_data and clean.note == NO_RISK_NOTE


def test_bad_policies() -> None:
    with pytest.raises(ValueError, match="trọng số sàn"):
        RiskPolicy(floor=0)
    with pytest.raises(ValueError, match="chỉ số không có"):
        RiskPolicy(coefficients={"speed": 1.0})
    with pytest.raises(ValueError):
        RiskPolicy(previous_wave_factor=0)
    with pytest.raises(ValueError, match="trùng"):
        risk_weights(UNITS, [UnitFigures("A"), UnitFigures("A")])


def test_threshold_triggers() -> None:
    policy = SpotCheckPolicy(thresholds={"late_rate": 10.0, "overdue_pending": 3})
    result = spot_check_triggers(UNITS, AS_OF, FIGURES, policy)
    assert [(t.unit_code, t.kind) for t in result.triggers] == [("A", KIND_THRESHOLD), ("A", KIND_THRESHOLD)]
    assert [t.reason for t in result.triggers] == [
        "vượt ngưỡng: tỷ lệ trễ hạn 20,00% > 10,00%", "vượt ngưỡng: quá hạn chưa giải quyết 4 > 3"]
    assert all(t.fired_on == AS_OF for t in result.triggers)
    # B's 10% equals the threshold: not above it, no trigger
    assert result.units() == ("A",) and result.draw is None


def test_complaint_and_leadership_triggers() -> None:
    complaints = [Complaint("B", date(2026, 7, 1), "thái độ"), Complaint("B", date(2026, 7, 9), "trễ hẹn"),
                  Complaint("C", date(2026, 7, 2))]
    requests = [LeadershipRequest("C", "kiểm tra việc trả kết quả", date(2026, 7, 10))]
    result = spot_check_triggers(UNITS, AS_OF, policy=SpotCheckPolicy(complaints_min=2),
                                 complaints=complaints, requests=requests)
    assert [(t.unit_code, t.kind, t.reason, t.fired_on) for t in result.triggers] == [
        ("B", KIND_COMPLAINT, "2 phản ánh, kiến nghị (gần nhất 09/07/2026: trễ hẹn)", date(2026, 7, 9)),
        ("C", KIND_LEADERSHIP, "lãnh đạo yêu cầu: kiểm tra việc trả kết quả", date(2026, 7, 10)),
    ]
    one = spot_check_triggers(UNITS, AS_OF, complaints=complaints[2:])
    assert [(t.unit_code, t.reason) for t in one.triggers] == [("C", "1 phản ánh, kiến nghị (gần nhất 02/07/2026)")]


def test_unknown_units_and_indicators_rejected() -> None:
    with pytest.raises(ValueError, match="'Z' không có trong danh sách"):
        spot_check_triggers(UNITS, AS_OF, complaints=[Complaint("Z", AS_OF)])
    with pytest.raises(ValueError, match="'Z' không có"):
        spot_check_triggers(UNITS, AS_OF, requests=[LeadershipRequest("Z", "x", AS_OF)])
    with pytest.raises(ValueError, match="ngưỡng cho chỉ số"):
        SpotCheckPolicy(thresholds={"speed": 1})


def test_random_pick_is_verifiable_and_skips_excluded_units() -> None:
    seen = set()
    for seed in range(40):
        result = spot_check_triggers(UNITS, AS_OF, policy=SpotCheckPolicy(random_count=1),
                                     sources=[str(seed)], excluded={"B"})
        (trigger,) = result.triggers
        assert trigger.kind == KIND_RANDOM and trigger.unit_code != "B"
        assert trigger.reason.startswith("chọn ngẫu nhiên đột xuất (RFC 3797), vị trí ")
        assert verify(result.draw).ok and result.draw.pool == ("A", "C")
        seen.add(trigger.unit_code)
    assert seen == {"A", "C"}
    with pytest.raises(ValueError, match="nguồn ngẫu nhiên"):
        spot_check_triggers(UNITS, AS_OF, policy=SpotCheckPolicy(random_count=1))


def test_triggers_ordered_by_unit_then_kind() -> None:
    result = spot_check_triggers(
        UNITS, AS_OF, FIGURES, SpotCheckPolicy(thresholds={"late_rate": 5.0}, random_count=3),
        complaints=[Complaint("A", date(2026, 7, 3))], requests=[LeadershipRequest("A", "x", AS_OF)],
        sources=["1 2 3"])
    kinds_a = [t.kind for t in result.triggers if t.unit_code == "A"]
    assert kinds_a == [KIND_THRESHOLD, KIND_COMPLAINT, KIND_LEADERSHIP, KIND_RANDOM]
    assert result.units() == ("A", "B", "C")


def test_random_count_from_share() -> None:
    assert random_count_from_share(0.2, 7) == 1  # 1.4 -> 1
    assert random_count_from_share(0.25, 10) == 3  # 2.5 -> 3 (half up)
    assert random_count_from_share(0.01, 7) == 1  # a positive share picks at least one
    assert random_count_from_share(0, 7) == 0
    assert random_count_from_share(1, 7) == 7
    with pytest.raises(ValueError):
        random_count_from_share(1.5, 7)
