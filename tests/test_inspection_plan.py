"""Inspection plan rules (cchc.domain.inspection_plan): selection per wave, visits on working days,
notice and report dates, self-inspection deadlines. Dates are checked by hand against the 2026
Vietnamese calendar: 22/08/2026 (Saturday) is a make-up working day for the day off on 31/08;
01–02/09 National Day; 24/11 Vietnam Cultural Day."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.domain.calendar import WorkCalendar
from cchc.domain.draw import labelled, make_key, verify
from cchc.domain.inspection_plan import (
    FORCED_REASON,
    PlanRules,
    PlanUnit,
    Wave,
    deadline_on_working_day,
    plan_inspections,
    plan_wave,
    working_days_before,
)
from cchc.domain.inspection_risk import NO_DATA_NOTE, UnitFigures

CAL = WorkCalendar()
VN = holidays.VN(years=2026)
THREE = [PlanUnit("VP", "Văn phòng HĐND và UBND"), PlanUnit("VHXH", "Phòng Văn hóa - Xã hội"),
         PlanUnit("KT", "Phòng Kinh tế, Hạ tầng và Đô thị")]
TEN = [PlanUnit(f"U{i:02d}", f"Đơn vị {i}") for i in range(1, 11)]
WAVES = [Wave(1, date(2026, 7, 1), date(2026, 7, 10)), Wave(2, date(2026, 10, 20), date(2026, 10, 25))]
SOURCES = ["12 34 56", "7 8"]


def is_vn_working_day(d: date) -> bool:
    """Independent of WorkCalendar: weekday and not a holiday, or a make-up working Saturday."""
    return (d.weekday() < 5 and d not in VN) or d in VN.weekend_workdays


def test_two_of_three_gives_exactly_two_per_wave() -> None:
    for seed in range(30):
        plan = plan_inspections(THREE, WAVES, PlanRules(units_per_wave=2), CAL, sources=[str(seed)])
        for wave in plan.waves:
            codes = [v.unit_code for v in wave.visits]
            assert len(codes) == 2 == len(set(codes))
            assert verify(wave.draw).ok
            assert wave.draw.key == make_key(labelled([str(seed)], wave.wave.number))


def test_forced_and_excluded_units_honoured() -> None:
    rules = PlanRules(units_per_wave=3, always=frozenset({"U04"}), never=frozenset({"U01", "U02"}))
    for seed in range(30):
        plan = plan_inspections(TEN, WAVES, rules, CAL, sources=[str(seed)])
        for wave in plan.waves:
            codes = [v.unit_code for v in wave.visits]
            assert codes[0] == "U04" and wave.visits[0].forced
            assert wave.visits[0].reasons[0] == FORCED_REASON
            assert not {"U01", "U02"} & set(codes)
            assert len(codes) == 3
            assert "U04" not in wave.draw.pool and "U01" not in wave.draw.pool
            assert [v.draw_order for v in wave.visits[1:]] == [1, 2]


def test_no_draw_when_every_candidate_is_needed() -> None:
    rules = PlanRules(units_per_wave=2, always=frozenset({"VP"}), never=frozenset({"KT"}))
    plan = plan_wave(THREE, WAVES[0], rules, CAL)  # no sources needed: nothing is drawn
    assert [v.unit_code for v in plan.visits] == ["VP", "VHXH"] and plan.draw is None
    assert plan.visits[1].reasons[0] == "toàn bộ đơn vị còn lại"


def test_visits_notice_and_report_on_working_days_by_hand() -> None:
    # 01/09 and 02/09 are National Day: the visits are 03/09 (Thu), 04/09 (Fri), 07/09 (Mon)
    wave = Wave(3, date(2026, 9, 1), date(2026, 9, 10))
    plan = plan_wave(THREE, wave, PlanRules(units_per_wave=3, report_lead_days=3), CAL)
    assert [v.visit_date for v in plan.visits] == [date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 7)]
    # five working days before 03/09, skipping 02/09, 01/09, 31/08 (days off) and the weekend:
    # 28/08, 27/08, 26/08, 25/08, 24/08
    assert [v.notice_date for v in plan.visits] == [date(2026, 8, 24), date(2026, 8, 25), date(2026, 8, 26)]
    assert [v.report_due for v in plan.visits] == [date(2026, 8, 26), date(2026, 8, 27), date(2026, 8, 28)]


def test_make_up_saturday_counts_as_a_working_day() -> None:
    wave = Wave(1, date(2026, 8, 21), date(2026, 8, 24))  # Fri, Sat (make-up), Sun, Mon
    plan = plan_wave(THREE, wave, PlanRules(units_per_wave=3), CAL)
    assert [v.visit_date for v in plan.visits] == [date(2026, 8, 21), date(2026, 8, 22), date(2026, 8, 24)]
    # the notice five working days before Friday 28/08 lands on the make-up Saturday
    assert working_days_before(CAL, date(2026, 8, 28), 5) == date(2026, 8, 22)
    assert working_days_before(CAL, date(2026, 8, 28), 0) == date(2026, 8, 28)
    assert working_days_before(CAL, date(2026, 8, 30), 0) == date(2026, 8, 28)  # Sunday -> Friday


def test_ward_overrides_of_the_calendar() -> None:
    cal = WorkCalendar(extra_holidays=[date(2026, 7, 2)], extra_working_days=[date(2026, 7, 4)])
    wave = Wave(1, date(2026, 7, 1), date(2026, 7, 5))
    plan = plan_wave(THREE, wave, PlanRules(units_per_wave=3, visits_per_day=1), cal)
    assert [v.visit_date for v in plan.visits] == [date(2026, 7, 1), date(2026, 7, 3), date(2026, 7, 4)]
    # notice for 06/07 (Mon): 04/07 (the ward's working Saturday), 03/07, 01/07, 30/06, 29/06
    assert working_days_before(cal, date(2026, 7, 6), 5) == date(2026, 6, 29)


def test_visits_per_day() -> None:
    plan = plan_wave(TEN, WAVES[0], PlanRules(units_per_wave=5, visits_per_day=2), CAL, sources=SOURCES)
    assert [v.visit_date.day for v in plan.visits] == [1, 1, 2, 2, 3]


@settings(max_examples=40, deadline=None)
@given(start=st.dates(min_value=date(2026, 1, 10), max_value=date(2026, 12, 10)),
       length=st.integers(min_value=6, max_value=20), seed=st.integers(min_value=0, max_value=10**6))
def test_nothing_falls_on_a_day_off(start: date, length: int, seed: int) -> None:
    wave = Wave(1, start, start + timedelta(days=length))
    rules = PlanRules(units_per_wave=3, self_report_deadlines=(start, start + timedelta(days=3)))
    working = [wave.start + timedelta(days=i) for i in range(length + 1)]
    if sum(map(is_vn_working_day, working)) < 3:  # e.g. a week over Tết
        with pytest.raises(ValueError, match=r"^đợt 1 \("):
            plan_inspections(TEN, [wave], rules, CAL, sources=[str(seed)])
        return
    plan = plan_inspections(TEN, [wave], rules, CAL, sources=[str(seed)])
    for v in plan.waves[0].visits:
        assert wave.start <= v.visit_date <= wave.end
        for d in (v.visit_date, v.notice_date, v.report_due):
            assert is_vn_working_day(d), d
        assert v.notice_date < v.visit_date
    for deadline in plan.self_report_deadlines:
        assert is_vn_working_day(deadline.due) and deadline.due >= deadline.configured


def test_self_report_deadlines_roll_to_a_working_day() -> None:
    assert deadline_on_working_day(CAL, date(2026, 6, 15)) == date(2026, 6, 15)  # Monday
    assert deadline_on_working_day(CAL, date(2026, 11, 29)) == date(2026, 11, 30)  # Sunday
    assert deadline_on_working_day(CAL, date(2026, 11, 29), "preceding") == date(2026, 11, 27)
    assert deadline_on_working_day(CAL, date(2026, 11, 24)) == date(2026, 11, 25)  # holiday
    rules = PlanRules(units_per_wave=2, self_report_deadlines=(date(2026, 11, 29), date(2026, 6, 15)))
    plan = plan_inspections(THREE, WAVES, rules, CAL, sources=SOURCES)
    assert [(d.configured, d.due) for d in plan.self_report_deadlines] == [
        (date(2026, 6, 15), date(2026, 6, 15)), (date(2026, 11, 29), date(2026, 11, 30))]
    with pytest.raises(ValueError):
        deadline_on_working_day(CAL, date(2026, 6, 15), "nearest")


def test_same_inputs_same_selection_and_any_source_change_changes_it() -> None:
    rules = PlanRules(units_per_wave=3)
    figures = [UnitFigures("U03", 40, 25.0, 2), UnitFigures("U07", 30, 5.0, 0, 1, 0, 2)]

    def chosen(sources):
        plan = plan_inspections(TEN, WAVES, rules, CAL, figures, sources=sources)
        return [tuple((v.unit_code, v.visit_date) for v in w.visits) for w in plan.waves]

    base = chosen(SOURCES)
    assert chosen(list(SOURCES)) == base
    for changed in (["12 34 57", "7 8"], ["12 34 56", "7 9"], ["12 34 56", "7 8", "1"]):
        assert chosen(changed) != base, changed


def test_wave_sources_override_the_plans() -> None:
    waves = [Wave(1, date(2026, 7, 1), date(2026, 7, 10), sources=("99 98",)), WAVES[1]]
    plan = plan_inspections(TEN, waves, PlanRules(units_per_wave=3), CAL, sources=SOURCES)
    assert plan.waves[0].draw.sources == ("99 98", "1")
    assert plan.waves[1].draw.sources == (*SOURCES, "2")


def test_no_data_every_unit_weighs_the_same_and_the_plan_says_so() -> None:
    plan = plan_inspections(TEN, WAVES, PlanRules(units_per_wave=3), CAL, sources=SOURCES)
    first = plan.waves[0]
    assert first.risk.no_data and NO_DATA_NOTE in first.notes
    assert {w.weight for w in first.risk.weights} == {1.0}
    assert set(first.draw.tickets) == {100}
    # wave 2: the units inspected in wave 1 weigh less (still no data, still said)
    second = plan.waves[1]
    visited = {v.unit_code for v in first.visits}
    assert {w.unit_code for w in second.risk.weights if w.previously_inspected} == visited
    assert all(w.weight == (0.5 if w.unit_code in visited else 1.0) for w in second.risk.weights)
    assert NO_DATA_NOTE in second.notes


def test_previously_inspected_for_a_wave_planned_alone() -> None:
    plan = plan_inspections(TEN, [WAVES[1]], PlanRules(units_per_wave=3), CAL, sources=SOURCES,
                            previously_inspected={"U01"})
    assert plan.waves[0].risk.weight_of("U01").weight == 0.5


def test_figures_per_wave() -> None:
    per_wave = {1: [UnitFigures("U05", 10, 50.0)], 2: [UnitFigures("U06", 10, 50.0)]}
    plan = plan_inspections(TEN, WAVES, PlanRules(units_per_wave=3), CAL, per_wave, sources=SOURCES)
    assert plan.waves[0].risk.weight_of("U05").weight == 2.0
    assert plan.waves[1].risk.weight_of("U06").weight == 2.0
    assert plan.waves[1].risk.weight_of("U05").weight in (1.0, 0.5)


def test_risky_units_are_chosen_more_often() -> None:
    figures = [UnitFigures("U01", 100, 40.0, 10, 10, 10, 10)]  # weight 6 against 1 for the others
    hits = 0
    for seed in range(200):
        plan = plan_wave(TEN, WAVES[0], PlanRules(units_per_wave=1), CAL, figures, [str(seed)])
        hits += plan.visits[0].unit_code == "U01"
    assert 60 <= hits <= 120  # 6/15 of 200 = 80 expected; uniform would give 20


def test_wave_too_short_names_the_wave() -> None:
    short = Wave(2, date(2026, 10, 24), date(2026, 10, 26))  # Sat, Sun, Mon: one working day
    with pytest.raises(ValueError, match=r"đợt 2 \(24/10/2026–26/10/2026\): chỉ có 1 ngày làm việc, "
                                         r"không đủ cho 2 cuộc kiểm tra \(1 cuộc/ngày\)"):
        plan_inspections(THREE, [WAVES[0], short], PlanRules(units_per_wave=2), CAL, sources=SOURCES)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (PlanRules(units_per_wave=2, always=frozenset({"X"})), "always: đơn vị không có"),
        (PlanRules(units_per_wave=2, never=frozenset({"X"})), "never: đơn vị không có"),
        (PlanRules(units_per_wave=2, always=frozenset({"VP"}), never=frozenset({"VP"})), "vừa luôn"),
        (PlanRules(units_per_wave=1, always=frozenset({"VP", "KT"})), "nhiều hơn units_per_wave"),
        (PlanRules(units_per_wave=3, never=frozenset({"VP"})), "cần chọn 3 đơn vị nhưng chỉ còn 2"),
        (PlanRules(units_per_wave=0), "units_per_wave"),
        (PlanRules(units_per_wave=2, visits_per_day=0), "visits_per_day"),
    ],
)
def test_bad_rules(rules: PlanRules, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_inspections(THREE, WAVES, rules, CAL, sources=SOURCES)


def test_bad_waves_and_units() -> None:
    with pytest.raises(ValueError, match="ngày kết thúc trước"):
        plan_inspections(THREE, [Wave(1, date(2026, 7, 10), date(2026, 7, 1))], PlanRules(2), CAL)
    with pytest.raises(ValueError, match="trùng"):
        plan_inspections(THREE, [WAVES[0], WAVES[0]], PlanRules(2), CAL)
    with pytest.raises(ValueError, match="mã đơn vị trùng"):
        plan_inspections([*THREE, THREE[0]], WAVES, PlanRules(2), CAL)
    with pytest.raises(ValueError, match="nguồn ngẫu nhiên"):
        plan_inspections(TEN, WAVES, PlanRules(3), CAL)  # a draw needs public sources
