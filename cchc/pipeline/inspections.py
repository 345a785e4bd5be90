"""Inspection planning without orchestration (issue 11): the risk figures of each unit over the
preceding months (from the indicators), the periodic plan and its storage, each visited unit's
dossier sample, the notice / sheet / sample files, and the spot checks. The flows
(`plan_inspections`, `spot_check`) call these through their tasks; tests and benchmarks call them
directly.

The public random sources are never configuration: every function that may draw takes them as a
list of strings, and a draw without them is refused in one line (`SourcesMissing`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.connectors.store.inspections import Inspections, sampled_facts, sampling_facts
from cchc.domain import metrics as m
from cchc.domain.draw import labelled
from cchc.domain.inspection_plan import InspectionPlan, WavePlan, plan_inspections, plan_wave
from cchc.domain.inspection_risk import (
    Complaint,
    LeadershipRequest,
    SpotCheckResult,
    UnitFigures,
    spot_check_triggers,
)
from cchc.domain.periods import Period, parse_period
from cchc.domain.sampling import SamplePlan, plan_sample
from cchc.errors import UserError
from cchc.pipeline import indicators as ti
from cchc.pipeline.period_cells import RECONCILE, period_frames
from cchc.pipeline.reconciliation import missing_by_unit


class InspectionPlanError(UserError, ValueError):
    """A plan, sample or spot check that cannot be made as asked (one Vietnamese line)."""


class SourcesMissing(InspectionPlanError):
    """A draw was asked for without the public random sources."""


SOURCES_NEEDED = ("cần nguồn ngẫu nhiên công khai cho lượt rút thăm: thêm --source \"...\" (ví dụ kết quả xổ số "
                  "đã công bố SAU khi công bố danh sách) / the public random sources are required for a draw")


def reports_dir(year: int) -> Path:
    """var/reports/<year>/ (or $CCHC_REPORTS_DIR/<year>/, read when a file is written)."""
    return Path(os.environ.get("CCHC_REPORTS_DIR", "var/reports")) / str(year)


def inspection_of(cfg: Config, year: int | None = None):
    ins = cfg.inspection
    if ins is None:
        raise InspectionPlanError("cấu hình chưa có mục inspection (kế hoạch kiểm tra) / no inspection section")
    if year is not None and year != ins.year:
        raise InspectionPlanError(f"cấu hình có kế hoạch kiểm tra năm {ins.year}, không có năm {year} "
                                  f"(inspection.year = {ins.year})")
    return ins


def check_sources(sources) -> tuple[str, ...]:
    out = tuple(str(s) for s in (sources or ()) if str(s).strip())
    if not out:
        raise SourcesMissing(SOURCES_NEEDED)
    return out


def _domain(call, *args, **kwargs):
    """A domain rule's ValueError (bad source, not enough working days...) as one user line."""
    try:
        return call(*args, **kwargs)
    except UserError:
        raise
    except ValueError as e:
        raise InspectionPlanError(str(e)) from None


# ------------------------------------------------------------------------- risk figures


def window_before(day: date, months: int, mode: str = "calendar") -> Period:
    """The `months` whole months before the month of `day` (the figures' window)."""
    first = day.replace(day=1)
    y, mth = first.year, first.month - months
    while mth < 1:
        y, mth = y - 1, mth + 12
    return parse_period(None, mode=mode, date_from=date(y, mth, 1), date_to=first - timedelta(days=1))


def _unit_ids(cfg: Config, codes) -> dict[str, str]:
    return {c: cfg.unit_by_code(c).national_id for c in codes}


def risk_figures(store: Store, cfg: Config, period: Period, source: str, codes=None) -> list[UnitFigures]:
    """Per pool unit over `period`: late rate, overdue pending, late without apology slip (from the
    months' cells kept in the store, `period_cells`: no dossier row is read when they are current),
    reconciliation gap (the unit's dossiers missing on the national portal, from the months'
    reconciliation cells read with the Biểu 06 ones: `pipeline.reconciliation.missing_by_unit`),
    complaints registered. Sub-units count under their unit (identifier prefix), for every figure."""
    codes = list(codes if codes is not None else inspection_of(cfg).pool)
    frames = period_frames(store, cfg, period, source, kinds=("bieu06", RECONCILE))
    gaps = missing_by_unit(frames[RECONCILE], _unit_ids(cfg, codes))
    table = m.indicator_table(frames["bieu06"], by="unit")
    complaints = Inspections(store).complaints(since=period.start, until=period.end)
    out = []
    for code in codes:
        nid = cfg.unit_by_code(code).national_id
        rows = table[m.unit_matches(table["group"].astype(str), nid)] if len(table) else table
        tot = {k: int(rows[k].sum()) if len(rows) and k in rows else 0
               for k in ("received", "carried_over", "resolved", "late", "pending_overdue",
                         "apology_rate_num", "apology_rate_den")}
        late_rate = (100.0 * tot["late"] / tot["resolved"]) if tot["resolved"] else None
        out.append(UnitFigures(code, dossiers=tot["received"] + tot["carried_over"], late_rate=late_rate,
                               overdue_pending=tot["pending_overdue"],
                               late_without_apology=max(0, tot["apology_rate_den"] - tot["apology_rate_num"]),
                               reconciliation_gap=gaps[code],
                               complaints=sum(1 for c in complaints if c.unit_code == code)))
    return out


# ------------------------------------------------------------------------------- the plan


@dataclass
class PlannedYear:
    """A stored plan: its selection id, the waves planned, each wave's selection and figures window."""

    selection_id: int
    year: int
    plan: InspectionPlan
    wave_ids: tuple[int, ...]
    windows: dict[int, Period] = field(default_factory=dict)
    source: str | None = None  # the data source the figures were read from (the samples read it too)


def make_plan(store: Store, cfg: Config, year: int, sources, wave: int | None = None,
              source: str | None = None) -> PlannedYear:
    """Figures per wave (the `risk.months` before it), the plan (one wave or the year), stored."""
    ins = inspection_of(cfg, year)
    sources = check_sources(sources)
    waves = ins.domain_waves()
    if wave is not None:
        if not 1 <= wave <= len(waves):
            raise InspectionPlanError(f"--wave {wave}: kế hoạch năm {year} có {len(waves)} đợt (1..{len(waves)})")
        waves = [waves[wave - 1]]
    source = ti.choose_source(store, cfg, source)
    mode = cfg.reporting.period_mode
    windows = {w.number: window_before(w.start, ins.risk.months, mode) for w in waves}
    store.warm_reads()  # the samples read next (`sample_wave`): that read's helper process starts now
    figures = {n: risk_figures(store, cfg, p, source, ins.pool) for n, p in windows.items()}
    units, rules, cal, policy = cfg.plan_units(), ins.plan_rules(), cfg.make_calendar(), ins.risk_policy()
    accessor = Inspections(store)
    if wave is None:
        plan = _domain(plan_inspections, units, waves, rules, cal, figures, sources, policy)
        saved = accessor.save_plan(plan, year, pool=ins.pool)
        return PlannedYear(saved.id, year, plan, saved.wave_ids, windows, source)
    w = waves[0]
    before = accessor.inspected_units(year, w.number)
    wp = _domain(plan_wave, units, w, rules, cal, figures[w.number], sources, policy, before)
    plan = InspectionPlan((wp,), ())
    sid = accessor.save_wave(wp, year)
    return PlannedYear(sid, year, plan, (sid,), windows, source)


def plan_json(planned: PlannedYear) -> dict:
    """`cchc plan --json`: {"selection_id", "waves": [{"start", "end", "visits": [...]}]}, ISO dates."""
    return {"selection_id": planned.selection_id, "year": planned.year, "waves": [
        {"number": w.wave.number, "start": w.wave.start.isoformat(), "end": w.wave.end.isoformat(),
         "selection_id": sid, "notes": list(w.notes),
         "visits": [{"unit": v.unit_code, "unit_name": v.unit_name, "visit_date": v.visit_date.isoformat(),
                     "notice_date": v.notice_date.isoformat(), "report_due": v.report_due.isoformat(),
                     "reasons": list(v.reasons)} for v in w.visits]}
        for w, sid in zip(planned.plan.waves, planned.wave_ids, strict=True)]}


# ----------------------------------------------------------------------------- samples


@dataclass
class UnitSample:
    unit_code: str
    wave: int
    period: Period
    sample: SamplePlan
    lot: pd.DataFrame  # the unit's lot (`sampling_facts`)
    selection_id: int
    sampled: pd.DataFrame  # the sampled dossiers' facts, procedure names included (`sampled_facts`)


def sample_units(store: Store, cfg: Config, unit_codes, period: Period, sources, *, wave: int, year: int,
                 parent_id: int | None = None, source: str | None = None) -> list[UnitSample]:
    """Each unit's dossier sample for `period` (high-risk in full up to the cap, then ISO 2859-1 or
    the fixed n, stratified by procedure), drawn with the wave's sources, stored, in the order
    given. The units' rows of the period are read once for all of them (`sampling_facts`: only
    these units' rows); each unit's lot and draw are its own, as if sampled alone."""
    ins = inspection_of(cfg)
    sources = check_sources(sources)
    source = ti.choose_source(store, cfg, source)
    codes = list(dict.fromkeys(unit_codes))
    accessor = Inspections(store)
    lots = sampling_facts(store, source, _unit_ids(cfg, codes), period,
                          compare=cfg.reporting.timeliness_compare)
    fixed_n = ins.sampling.fixed_n if ins.sampling.method == "fixed" else None
    out = []
    for code in codes:
        complained = {c.dossier_code for c in accessor.complaints(unit_code=code) if c.dossier_code}
        lot = lots[code]
        lot["complained"] = lot["code"].isin(complained).to_numpy(dtype=bool)  # the unit's own complaints
        plan = _domain(plan_sample, lot, labelled(sources, 100 + wave), fixed_n=fixed_n,
                       high_risk_cap=ins.sampling.high_risk_cap)
        sid = accessor.save_sample(plan, code, period, year=year, parent_id=parent_id)
        out.append(UnitSample(code, wave, period, plan, lot, sid, sampled_facts(store, source, lot, plan)))
    return out


def sample_unit(store: Store, cfg: Config, unit_code: str, period: Period, sources, *, wave: int, year: int,
                parent_id: int | None = None, source: str | None = None) -> UnitSample:
    """One unit's sample (`sample_units` for that unit alone)."""
    return sample_units(store, cfg, [unit_code], period, sources, wave=wave, year=year, parent_id=parent_id,
                        source=source)[0]


def sample_wave(store: Store, cfg: Config, planned: PlannedYear, index: int, sources,
                source: str | None = None) -> list[UnitSample]:
    """The samples of every unit visited in the plan's wave `index` (0-based), over the wave's
    figures window, stored under the wave's selection; from the plan's data source unless `source`."""
    w = planned.plan.waves[index]
    return sample_units(store, cfg, [v.unit_code for v in w.visits], planned.windows[w.wave.number], sources,
                        wave=w.wave.number, year=planned.year, parent_id=planned.wave_ids[index],
                        source=source or planned.source)


def sample_rows(s: UnitSample) -> list[dict]:
    """The sample as artifact rows (no personal data: codes, procedure, why chosen)."""
    return [{"Mã hồ sơ": r.code, "Mã TTHC": r.procedure_code, "Lý do chọn": r.reason} for r in s.sample.rows]


# ---------------------------------------------------------------------------- documents


def notice_info(cfg: Config, year: int):
    from cchc.report.inspection_docs import NoticeInfo
    from cchc.report.nd30_docx import Signer

    signer = cfg.monthly_signer()
    return NoticeInfo(ward_name=cfg.ward.name, place=cfg.ward.place_name, year=year,
                      signer=Signer(signer.name, signer.title or "Chủ tịch") if signer is not None else None,
                      simulated=cfg.ward.simulated, templates_dir=cfg.templates_dir)


def write_notice(cfg: Config, planned: PlannedYear, index: int) -> str:
    from cchc.report.inspection_docs import render_notice

    w = planned.plan.waves[index]
    out = reports_dir(planned.year) / f"thong-bao-kiem-tra-{cfg.ward.slug}-{planned.year}-dot-{w.wave.number}.docx"
    render_notice(w, notice_info(cfg, planned.year), out, report_lead_days=inspection_of(cfg).report_lead_days,
                  self_report_deadlines=planned.plan.self_report_deadlines,
                  selection_id=planned.wave_ids[index])
    return str(out)


def unit_stats(store: Store, cfg: Config, unit_code: str, period: Period, source: str | None = None) -> dict | None:
    """The unit's `cchc stats --json` object for `period` (None when the unit has no row)."""
    from cchc.report.tables import json_rows

    source = ti.choose_source(store, cfg, source)
    data = ti.load_period(store, cfg, period, source=source, with_national=False)
    nid = cfg.unit_by_code(unit_code).national_id
    rows = json_rows(ti.group_table(data, cfg, "unit"), "unit", source=source)
    return next((r for r in rows if r["group"] == nid), None)


def write_sheet(store: Store, cfg: Config, year: int, wave: WavePlan, unit_code: str, period: Period,
                source: str | None = None) -> str:
    from cchc.report.inspection_docs import SheetInfo, render_sheet

    visit = next(v for v in wave.visits if v.unit_code == unit_code)
    out = reports_dir(year) / f"phieu-kiem-tra-{cfg.ward.slug}-{year}-dot-{wave.wave.number}-{unit_code.lower()}.docx"
    render_sheet(SheetInfo(visit.unit_name, period.label, notice_info(cfg, year), visit.visit_date),
                 unit_stats(store, cfg, unit_code, period, source), out)
    return str(out)


def write_sample(cfg: Config, year: int, s: UnitSample) -> str:
    from cchc.report.inspection_docs import write_sample_xlsx

    out = reports_dir(year) / f"mau-ho-so-{cfg.ward.slug}-{year}-dot-{s.wave}-{s.unit_code.lower()}.xlsx"
    write_sample_xlsx(s.sample, s.sampled, out, unit_name=cfg.unit_by_code(s.unit_code).name,
                      period_label=s.period.label, selection_id=s.selection_id, simulated=cfg.ward.simulated)
    return str(out)


# --------------------------------------------------------------------------- spot checks


def spot_check(store: Store, cfg: Config, today: date, sources=(), unit: str | None = None,
               reason: str | None = None, source: str | None = None) -> tuple[int, SpotCheckResult]:
    """One spot-check run as of `today`: thresholds over the `risk.months` before it, the
    complaints registered in that window, the leadership request (`unit` + `reason`) and, with
    sources, the random unannounced pick. Stored (`save_spot_check`); returns (selection id, result)."""
    ins = inspection_of(cfg)
    policy = ins.spot_check_policy()
    requests = []
    if unit is not None or reason is not None:
        if not unit or not (reason or "").strip():
            raise InspectionPlanError("yêu cầu kiểm tra đột xuất cần cả --unit và --reason / needs --unit and --reason")
        if unit not in ins.pool:
            raise InspectionPlanError(f"--unit {unit}: không có trong danh sách đơn vị kiểm tra (inspection.pool: "
                                      f"{', '.join(ins.pool)})")
        requests.append(LeadershipRequest(unit, reason.strip(), today))
    given = tuple(str(s) for s in (sources or ()) if str(s).strip())
    if policy.random_count and not given and not requests:
        raise SourcesMissing(SOURCES_NEEDED)
    if not given:
        from dataclasses import replace

        policy = replace(policy, random_count=0)
    window = window_before(today, ins.risk.months, cfg.reporting.period_mode)
    source = ti.choose_source(store, cfg, source)
    figures = risk_figures(store, cfg, window, source, ins.pool)
    complaints: list[Complaint] = [c.to_domain() for c in Inspections(store).complaints(since=window.start, until=today)
                                   if c.unit_code in ins.pool]
    result = _domain(spot_check_triggers, ins.pool, today, figures, policy, complaints, requests, given, ins.never)
    sid = Inspections(store).save_spot_check(result, year=today.year)
    return sid, result


def spot_json(sid: int, result: SpotCheckResult) -> dict:
    return {"selection_id": sid, "units": list(result.units()),
            "triggers": [{"unit": t.unit_code, "kind": t.kind, "reason": t.reason, "fired_on": t.fired_on.isoformat()}
                         for t in result.triggers],
            "key": result.draw.key if result.draw else None}


def findings_rows(store: Store, today: date) -> list[dict]:
    """Every finding (kết luận kiểm tra) as artifact rows."""
    return [{"Số": f.id, "Đơn vị": f.unit_code, "Tồn tại, hạn chế": f.finding, "Yêu cầu khắc phục": f.remediation,
             "Đơn vị chịu trách nhiệm": f.responsible_unit,
             "Hạn khắc phục": f"{f.deadline:%d/%m/%Y}" if f.deadline else "", "Trạng thái": f.status_vi}
            for f in Inspections(store).findings(today=today)]
