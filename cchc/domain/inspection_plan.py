"""The periodic inspection plan's rules (Kế hoạch kiểm tra, DOMAIN.md §1, §7). Pure, no I/O.

Per wave: the units always included come first (in pool order), then `units_per_wave` minus those
are drawn among the other units (never the excluded ones) with the weighted RFC 3797 draw of
cchc.domain.draw: tickets from the risk weights (cchc.domain.inspection_risk), the pool being the
candidate units in pool order, the sources being the wave's own (or the plan's), labelled with the
wave number. When every remaining candidate is needed, no draw is made. Waves are planned in order;
a unit chosen in wave k weighs less in wave k+1 (wave 1: the units in `previously_inspected`, e.g.
the stored previous wave when one wave is planned alone).

Visits are placed on the working days of the wave (the calendar's holidays, make-up working days and
the ward's overrides), from its first working day, `visits_per_day` a day, in the order above. A
wave without enough working days is an error naming the wave. The notice date and the pre-inspection
report's due date are `notice_lead_days` and `report_lead_days` working days before the visit
(0: the visit day). The self-inspection report deadlines (fixed dates) that fall on a day off move
to the next working day, as a period ending on a day off does (Bộ luật Dân sự 2015, Điều 148 khoản 5),
or to the previous one with `deadline_roll="preceding"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cchc.domain.calendar import WorkCalendar
from cchc.domain.draw import DrawRecord, SourceLike, labelled, record_draw, tickets_from_weights
from cchc.domain.inspection_risk import RiskAssessment, RiskPolicy, UnitFigures, risk_weights

FORCED_REASON = "luôn kiểm tra theo kế hoạch"


@dataclass(frozen=True)
class Wave:
    number: int
    start: date
    end: date
    sources: tuple[str, ...] = ()  # this wave's public random sources (else the plan's)

    def label(self) -> str:
        return f"đợt {self.number} ({self.start:%d/%m/%Y}–{self.end:%d/%m/%Y})"


@dataclass(frozen=True)
class PlanUnit:
    code: str
    name: str


@dataclass(frozen=True)
class PlanRules:
    units_per_wave: int
    always: frozenset[str] = frozenset()
    never: frozenset[str] = frozenset()
    visits_per_day: int = 1
    notice_lead_days: int = 5
    report_lead_days: int = 5
    self_report_deadlines: tuple[date, ...] = ()
    deadline_roll: str = "following"  # or "preceding"
    ticket_resolution: int = 100


@dataclass(frozen=True)
class Visit:
    unit_code: str
    unit_name: str
    visit_date: date
    notice_date: date
    report_due: date
    reasons: tuple[str, ...]  # Vietnamese: how chosen, then the risk figures and weight
    forced: bool
    draw_order: int | None = None
    weight: float | None = None


@dataclass(frozen=True)
class WavePlan:
    wave: Wave
    visits: tuple[Visit, ...]
    draw: DrawRecord | None
    risk: RiskAssessment
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Deadline:
    configured: date
    due: date  # a working day


@dataclass(frozen=True)
class InspectionPlan:
    waves: tuple[WavePlan, ...]
    self_report_deadlines: tuple[Deadline, ...]


def working_days_before(calendar: WorkCalendar, d: date, n: int) -> date:
    """The n-th working day before `d` (n >= 1); n == 0: `d` if it is a working day, else the
    previous working day."""
    if n < 0:
        raise ValueError(f"số ngày làm việc phải không âm, không phải {n}")
    count = 0
    while n == 0 and not calendar.is_working_day(d):
        d -= timedelta(days=1)
    while count < n:
        d -= timedelta(days=1)
        if calendar.is_working_day(d):
            count += 1
    return d


def deadline_on_working_day(calendar: WorkCalendar, d: date, roll: str = "following") -> date:
    if roll == "following":
        return calendar.add_working_days(d, 0)
    if roll == "preceding":
        return working_days_before(calendar, d, 0)
    raise ValueError(f"deadline_roll phải là 'following' hoặc 'preceding', không phải {roll!r}")


def wave_working_days(calendar: WorkCalendar, wave: Wave) -> list[date]:
    days, d = [], wave.start
    while d <= wave.end:
        if calendar.is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def _validate(units: Sequence[PlanUnit], waves: Sequence[Wave], rules: PlanRules) -> None:
    codes = [u.code for u in units]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ValueError(f"mã đơn vị trùng trong danh sách đơn vị: {', '.join(dup)}")
    for key, listed in (("always", rules.always), ("never", rules.never)):
        unknown = sorted(set(listed) - set(codes))
        if unknown:
            raise ValueError(f"{key}: đơn vị không có trong danh sách đơn vị: {', '.join(unknown)}")
    both = sorted(set(rules.always) & set(rules.never))
    if both:
        raise ValueError(f"đơn vị vừa luôn kiểm tra vừa không kiểm tra (always, never): {', '.join(both)}")
    if rules.units_per_wave < 1:
        raise ValueError(f"units_per_wave phải >= 1, không phải {rules.units_per_wave}")
    if len(rules.always) > rules.units_per_wave:
        raise ValueError(f"always có {len(rules.always)} đơn vị, nhiều hơn units_per_wave = {rules.units_per_wave}")
    if rules.visits_per_day < 1:
        raise ValueError(f"visits_per_day phải >= 1, không phải {rules.visits_per_day}")
    if rules.notice_lead_days < 0 or rules.report_lead_days < 0:
        raise ValueError("notice_lead_days và report_lead_days phải không âm")
    numbers = [w.number for w in waves]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"số thứ tự đợt trùng: {numbers}")
    for w in waves:
        if w.end < w.start:
            raise ValueError(f"{w.label()}: ngày kết thúc trước ngày bắt đầu")


def _figures_for(figures, wave: Wave) -> Iterable[UnitFigures]:
    if isinstance(figures, Mapping) and all(isinstance(k, int) for k in figures):
        return figures.get(wave.number, ())
    return figures


def plan_wave(units: Sequence[PlanUnit], wave: Wave, rules: PlanRules, calendar: WorkCalendar,
              figures: Iterable[UnitFigures] = (), sources: Sequence[SourceLike] = (),
              policy: RiskPolicy | None = None, previously_inspected: Iterable[str] = ()) -> WavePlan:
    """One wave: the chosen units, their reasons, and the visits on working days."""
    _validate(units, [wave], rules)
    names = {u.code: u.name for u in units}
    pool = [u.code for u in units]
    risk = risk_weights(pool, figures, policy, previously_inspected)
    forced = [c for c in pool if c in rules.always]
    candidates = [c for c in pool if c not in rules.always and c not in rules.never]
    need = rules.units_per_wave - len(forced)
    if need > len(candidates):
        raise ValueError(f"{wave.label()}: cần chọn {need} đơn vị nhưng chỉ còn {len(candidates)} đơn vị "
                         "(sau khi trừ always và never)")
    chosen: list[tuple[str, tuple[str, ...], bool, int | None]] = []
    for c in forced:
        chosen.append((c, (FORCED_REASON, risk.weight_of(c).reason), True, None))
    record = None
    if 0 < need < len(candidates):
        tickets = tickets_from_weights([risk.weight_of(c).weight for c in candidates], rules.ticket_resolution)
        record = record_draw(candidates, need, labelled(wave.sources or tuple(sources), wave.number), tickets)
        for order, p in enumerate(record.selected, start=1):
            c = candidates[p - 1]
            how = (f"rút ngẫu nhiên có trọng số (RFC 3797), lượt rút {order}, vị trí {p}/{len(candidates)}, "
                   f"{tickets[p - 1]}/{sum(tickets)} vé")
            chosen.append((c, (how, risk.weight_of(c).reason), False, order))
    elif need:
        for c in candidates:
            chosen.append((c, ("toàn bộ đơn vị còn lại", risk.weight_of(c).reason), False, None))
    days = wave_working_days(calendar, wave)
    slots = -(-len(chosen) // rules.visits_per_day)
    if slots > len(days):
        raise ValueError(f"{wave.label()}: chỉ có {len(days)} ngày làm việc, không đủ cho {len(chosen)} cuộc "
                         f"kiểm tra ({rules.visits_per_day} cuộc/ngày)")
    visits = []
    for i, (code, reasons, is_forced, order) in enumerate(chosen):
        day = days[i // rules.visits_per_day]
        visits.append(Visit(code, names[code], day, working_days_before(calendar, day, rules.notice_lead_days),
                            working_days_before(calendar, day, rules.report_lead_days), reasons, is_forced,
                            order, risk.weight_of(code).weight))
    notes = [risk.note] if risk.note else []
    if record is not None:
        notes.append(f"khóa RFC 3797: {record.key}")
    return WavePlan(wave, tuple(visits), record, risk, tuple(notes))


def plan_inspections(units: Sequence[PlanUnit], waves: Sequence[Wave], rules: PlanRules,
                     calendar: WorkCalendar,
                     figures: Iterable[UnitFigures] | Mapping[int, Iterable[UnitFigures]] = (),
                     sources: Sequence[SourceLike] = (), policy: RiskPolicy | None = None,
                     previously_inspected: Iterable[str] = ()) -> InspectionPlan:
    """The waves in order (see the module docstring) and the self-inspection report deadlines.
    `figures` is one list for every wave, or a mapping from wave number to that wave's list."""
    _validate(units, waves, rules)
    planned = []
    previous = set(previously_inspected)
    for wave in sorted(waves, key=lambda w: w.start):
        plan = plan_wave(units, wave, rules, calendar, _figures_for(figures, wave), sources, policy, previous)
        planned.append(plan)
        previous = {v.unit_code for v in plan.visits}
    deadlines = tuple(Deadline(d, deadline_on_working_day(calendar, d, rules.deadline_roll))
                      for d in sorted(rules.self_report_deadlines))
    return InspectionPlan(tuple(planned), deadlines)
