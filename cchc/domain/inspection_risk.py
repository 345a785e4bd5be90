"""Risk weights for the periodic selection and spot-check triggers (DOMAIN.md §1, §7). Pure, no I/O.

Figures per unit (`UnitFigures`) come from the indicators over the preceding months: the late rate
(percent of resolved dossiers resolved late), overdue pending dossiers, late dossiers without an
apology slip, the sync/reconciliation gap (dossiers missing on one side), complaints registered.

Weight (`risk_weights`): weight = floor + sum over the indicators of coefficient * value / largest
value of that indicator among the pool's units (an indicator that is 0 everywhere adds nothing).
The floor (default 1, must be > 0) keeps every unit in the draw; with the default coefficients (1
each) the worst unit on every indicator weighs 6 and a clean unit 1. A unit inspected in the previous
wave has its weight multiplied by `previous_wave_factor` (default 0.5). With no data at all (no
dossiers and no figure above 0) every unit gets the same weight and the assessment says so.

Spot checks (`spot_check_triggers`): an indicator above its configured threshold (strictly greater),
complaints (at least `complaints_min`), a leadership request, and a random unannounced pick (plain
RFC 3797 over the pool minus the excluded units, the sources as given, no label).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cchc.domain.draw import DrawRecord, SourceLike, record_draw
from cchc.domain.text import format_decimal, format_int, format_percent

INDICATORS: tuple[str, ...] = (
    "late_rate", "overdue_pending", "late_without_apology", "reconciliation_gap", "complaints",
)
INDICATOR_LABELS: dict[str, str] = {
    "late_rate": "tỷ lệ trễ hạn",
    "overdue_pending": "quá hạn chưa giải quyết",
    "late_without_apology": "trễ hạn không có phiếu xin lỗi",
    "reconciliation_gap": "chênh lệch đối soát",
    "complaints": "phản ánh, kiến nghị",
}
NO_DATA_NOTE = "chưa có dữ liệu hồ sơ: mọi đơn vị cùng trọng số"
NO_RISK_NOTE = "không có chỉ số rủi ro nào khác 0: mọi đơn vị cùng trọng số"


@dataclass(frozen=True)
class UnitFigures:
    unit_code: str
    dossiers: int = 0  # dossiers of the unit in the window (0 = no data)
    late_rate: float | None = None  # percent, 0..100; None = no resolved dossier
    overdue_pending: int = 0
    late_without_apology: int = 0
    reconciliation_gap: int = 0
    complaints: int = 0

    def value(self, indicator: str) -> float:
        v = getattr(self, indicator)
        return 0.0 if v is None else float(v)


def _default_coefficients() -> dict[str, float]:
    return {name: 1.0 for name in INDICATORS}


@dataclass(frozen=True)
class RiskPolicy:
    coefficients: Mapping[str, float] = field(default_factory=_default_coefficients)
    floor: float = 1.0
    previous_wave_factor: float = 0.5

    def __post_init__(self) -> None:
        unknown = sorted(set(self.coefficients) - set(INDICATORS))
        if unknown:
            raise ValueError(f"chỉ số không có trong {', '.join(INDICATORS)}: {', '.join(unknown)}")
        if any(c < 0 for c in self.coefficients.values()):
            raise ValueError("hệ số rủi ro không được âm")
        if not self.floor > 0:
            raise ValueError(f"trọng số sàn phải > 0 để mọi đơn vị còn cơ hội, không phải {self.floor}")
        if not 0 < self.previous_wave_factor <= 1:
            raise ValueError(f"hệ số đơn vị đã kiểm tra đợt trước phải trong (0, 1], không phải "
                             f"{self.previous_wave_factor}")


@dataclass(frozen=True)
class UnitWeight:
    unit_code: str
    weight: float
    figures: UnitFigures | None
    previously_inspected: bool
    reason: str  # Vietnamese: the figures and the weight


@dataclass(frozen=True)
class RiskAssessment:
    weights: tuple[UnitWeight, ...]  # in the order of the unit codes given
    no_data: bool
    note: str | None

    def weight_of(self, unit_code: str) -> UnitWeight:
        return next(w for w in self.weights if w.unit_code == unit_code)


def _by_unit(figures: Iterable[UnitFigures] | Mapping[str, UnitFigures]) -> dict[str, UnitFigures]:
    items = figures.values() if isinstance(figures, Mapping) else figures
    out: dict[str, UnitFigures] = {}
    for f in items:
        if f.unit_code in out:
            raise ValueError(f"số liệu rủi ro trùng cho đơn vị {f.unit_code}")
        out[f.unit_code] = f
    return out


def format_figure(indicator: str, value: float | None) -> str:
    if indicator == "late_rate":
        return format_percent(value)
    return format_int(value)


def describe_figures(f: UnitFigures | None) -> str:
    if f is None or (f.dossiers == 0 and not any(f.value(i) for i in INDICATORS)):
        return "không có hồ sơ trong kỳ"
    return "; ".join(f"{INDICATOR_LABELS[i]} {format_figure(i, getattr(f, i))}" for i in INDICATORS)


def risk_weights(unit_codes: Sequence[str], figures: Iterable[UnitFigures] | Mapping[str, UnitFigures] = (),
                 policy: RiskPolicy | None = None, previously_inspected: Iterable[str] = ()
                 ) -> RiskAssessment:
    """Weights of the units (in the order given); see the module docstring for the rule."""
    policy = policy or RiskPolicy()
    data = _by_unit(figures)
    previous = set(previously_inspected)
    present = [data.get(code) for code in unit_codes]
    no_data = all(f is None or (f.dossiers == 0 and not any(f.value(i) for i in INDICATORS))
                  for f in present)
    top = {i: max((f.value(i) for f in present if f is not None), default=0.0) for i in INDICATORS}
    weights = []
    for code, f in zip(unit_codes, present, strict=True):
        score = 0.0
        if f is not None and not no_data:
            score = sum(policy.coefficients.get(i, 0.0) * f.value(i) / top[i] for i in INDICATORS if top[i] > 0)
        weight = policy.floor + score
        reason = f"{describe_figures(f)}; trọng số {format_decimal(weight)}"
        if code in previous:
            weight *= policy.previous_wave_factor
            reason += (f" × {format_decimal(policy.previous_wave_factor)} (đã kiểm tra ở đợt trước) = "
                       f"{format_decimal(weight)}")
        weights.append(UnitWeight(code, weight, f, code in previous, reason))
    same = len({round(w.weight / (policy.previous_wave_factor if w.previously_inspected else 1), 12)
                for w in weights}) <= 1
    note = NO_DATA_NOTE if no_data else NO_RISK_NOTE if same and weights else None
    return RiskAssessment(tuple(weights), no_data, note)


# ---------------------------------------------------------------- spot checks

KIND_THRESHOLD = "threshold"
KIND_COMPLAINT = "complaint"
KIND_LEADERSHIP = "leadership"
KIND_RANDOM = "random"
_KIND_ORDER = (KIND_THRESHOLD, KIND_COMPLAINT, KIND_LEADERSHIP, KIND_RANDOM)


@dataclass(frozen=True)
class Complaint:
    """A complaint or feedback (phản ánh, kiến nghị); no complainant identity is kept."""

    unit_code: str
    received_on: date
    category: str = ""
    summary: str = ""
    procedure_code: str | None = None
    dossier_code: str | None = None


@dataclass(frozen=True)
class LeadershipRequest:
    unit_code: str
    reason: str
    requested_on: date


@dataclass(frozen=True)
class SpotCheckPolicy:
    thresholds: Mapping[str, float] = field(default_factory=dict)  # indicator -> fires when above
    complaints_min: int = 1
    random_count: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.thresholds) - set(INDICATORS))
        if unknown:
            raise ValueError(f"ngưỡng cho chỉ số không có trong {', '.join(INDICATORS)}: {', '.join(unknown)}")
        if self.complaints_min < 1 or self.random_count < 0:
            raise ValueError("complaints_min phải >= 1 và random_count phải >= 0")


@dataclass(frozen=True)
class SpotTrigger:
    unit_code: str
    kind: str  # KIND_THRESHOLD, KIND_COMPLAINT, KIND_LEADERSHIP or KIND_RANDOM
    reason: str  # Vietnamese
    fired_on: date


@dataclass(frozen=True)
class SpotCheckResult:
    triggers: tuple[SpotTrigger, ...]  # by unit (pool order), then kind
    draw: DrawRecord | None

    def units(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.unit_code for t in self.triggers))


def spot_check_triggers(unit_codes: Sequence[str], as_of: date,
                        figures: Iterable[UnitFigures] | Mapping[str, UnitFigures] = (),
                        policy: SpotCheckPolicy | None = None, complaints: Iterable[Complaint] = (),
                        requests: Iterable[LeadershipRequest] = (), sources: Sequence[SourceLike] = (),
                        excluded: Iterable[str] = ()) -> SpotCheckResult:
    """Which spot-check triggers fired for which unit, and why (see the module docstring)."""
    policy = policy or SpotCheckPolicy()
    pool = list(unit_codes)
    known = set(pool)
    data = _by_unit(figures)
    fired: list[SpotTrigger] = []
    for code in pool:
        f = data.get(code)
        for indicator, limit in policy.thresholds.items():
            value = None if f is None else getattr(f, indicator)
            if value is not None and value > limit:
                fired.append(SpotTrigger(code, KIND_THRESHOLD, f"vượt ngưỡng: {INDICATOR_LABELS[indicator]} "
                                         f"{format_figure(indicator, value)} > "
                                         f"{format_figure(indicator, limit)}", as_of))
    by_unit: dict[str, list[Complaint]] = {}
    for c in complaints:
        _check_unit(c.unit_code, known, "phản ánh")
        by_unit.setdefault(c.unit_code, []).append(c)
    for code, items in by_unit.items():
        if len(items) >= policy.complaints_min:
            last = max(items, key=lambda c: c.received_on)
            what = f": {last.category}" if last.category else ""
            fired.append(SpotTrigger(code, KIND_COMPLAINT, f"{len(items)} phản ánh, kiến nghị (gần nhất "
                                     f"{last.received_on:%d/%m/%Y}{what})", last.received_on))
    for r in requests:
        _check_unit(r.unit_code, known, "yêu cầu của lãnh đạo")
        fired.append(SpotTrigger(r.unit_code, KIND_LEADERSHIP, f"lãnh đạo yêu cầu: {r.reason}", r.requested_on))
    record = None
    if policy.random_count:
        skip = set(excluded)
        candidates = [c for c in pool if c not in skip]
        record = record_draw(candidates, min(policy.random_count, len(candidates)), sources)
        for order, p in enumerate(record.selected, start=1):
            fired.append(SpotTrigger(candidates[p - 1], KIND_RANDOM, f"chọn ngẫu nhiên đột xuất (RFC 3797), "
                                     f"vị trí {p}/{len(candidates)}, lượt rút {order}", as_of))
    index = {code: i for i, code in enumerate(pool)}
    fired.sort(key=lambda t: (index[t.unit_code], _KIND_ORDER.index(t.kind)))
    return SpotCheckResult(tuple(fired), record)


def _check_unit(code: str, known: set[str], what: str) -> None:
    if code not in known:
        raise ValueError(f"{what} cho đơn vị {code!r} không có trong danh sách đơn vị")


def random_count_from_share(share: float, pool_size: int) -> int:
    """Units for a random share of the pool (e.g. 0.2 of 7 -> 2): round half up, at least 1 if share > 0."""
    if not 0 <= share <= 1:
        raise ValueError(f"tỷ lệ chọn ngẫu nhiên phải trong [0, 1], không phải {share}")
    if share == 0 or pool_size == 0:
        return 0
    return min(pool_size, max(1, int(share * pool_size + 0.5)))
