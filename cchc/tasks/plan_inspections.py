"""Tasks of the plan_inspections flow: the plan (risk figures, draw, storage) as one task, each
wave's samples (every visited unit) and their files as one task, each wave's notice as one task;
artifacts with stable keys (ke-hoach-kiem-tra-<ward>-<year>, lua-chon-<ward>-<year>-dot-<n>, mau-ho-so-<ward>-<year>-dot-<n>-<unit>,
ket-luan-<ward>-<year>) published from the flow run."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.pipeline import inspections as pi
from cchc.pipeline.sync import open_store
from cchc.tasks.artifacts import artifact_key, publish_table

__all__ = ["open_store", "plan_task", "sample_task", "notice_task", "publish_plan", "publish_sample",
           "publish_findings", "plan_json"]

plan_json = pi.plan_json


@task(name="lap-ke-hoach", cache_policy=NO_CACHE)
def plan_task(store: Store, cfg: Config, year: int, sources: list[str], wave: int | None,
              source: str | None) -> pi.PlannedYear:
    return pi.make_plan(store, cfg, year, sources, wave=wave, source=source)


@task(name="thong-bao-kiem-tra", cache_policy=NO_CACHE, task_run_name="thông báo đợt {index}")
def notice_task(cfg: Config, planned: pi.PlannedYear, index: int) -> str:
    return pi.write_notice(cfg, planned, index)


@task(name="boc-mau-ho-so", cache_policy=NO_CACHE, task_run_name="bóc mẫu: đợt {index}")
def sample_task(store: Store, cfg: Config, planned: pi.PlannedYear, index: int, sources: list[str],
                source: str | None) -> list[tuple[pi.UnitSample, list[str]]]:
    """The samples of the wave's visited units (their rows of the period read once), each with its
    sample (.xlsx) and sheet (.docx)."""
    w = planned.plan.waves[index]
    out = []
    for s in pi.sample_wave(store, cfg, planned, index, sources, source):
        out.append((s, [pi.write_sample(cfg, planned.year, s),
                        pi.write_sheet(store, cfg, planned.year, w, s.unit_code, s.period, source)]))
    return out


def publish_plan(cfg: Config, planned: pi.PlannedYear) -> list[str]:
    """The plan (every visit) and each wave's selection with its reasons; returns the keys."""
    slug, year = cfg.ward.slug, str(planned.year)
    key = artifact_key("ke-hoach-kiem-tra", slug, year)
    rows = [{"Đợt": w.wave.number, "Đơn vị": v.unit_name, "Ngày kiểm tra": f"{v.visit_date:%d/%m/%Y}",
             "Ngày thông báo": f"{v.notice_date:%d/%m/%Y}", "Hạn gửi báo cáo": f"{v.report_due:%d/%m/%Y}",
             "Lý do chọn": v.reasons[0] if v.reasons else ""}
            for w in planned.plan.waves for v in w.visits]
    publish_table(key, rows, f"Kế hoạch kiểm tra CCHC năm {year} — {cfg.ward.name} — mã lựa chọn "
                             f"{planned.selection_id} (kiểm chứng: cchc verify-selection {planned.selection_id})")
    keys = [key]
    for w, sid in zip(planned.plan.waves, planned.wave_ids, strict=True):
        key = artifact_key("lua-chon", slug, year, f"dot-{w.wave.number}")
        rows = [{"Đơn vị": v.unit_name, "Cách chọn": v.reasons[0] if v.reasons else "",
                 "Số liệu rủi ro": " | ".join(v.reasons[1:])} for v in w.visits]
        draw = (f"khóa RFC 3797 {w.draw.key}, SHA-256 danh sách {w.draw.pool_sha256}, nguồn: "
                f"{'; '.join(w.draw.sources)}") if w.draw else "không rút thăm (chọn toàn bộ hoặc theo kế hoạch)"
        publish_table(key, rows, f"Lựa chọn đơn vị {w.wave.label()} — {cfg.ward.name} — mã lựa chọn {sid} — {draw}"
                      + "".join(f"\n\n{n}" for n in w.notes))
        keys.append(key)
    return keys


def publish_sample(cfg: Config, year: int, s: pi.UnitSample) -> str:
    key = artifact_key("mau-ho-so", cfg.ward.slug, str(year), f"dot-{s.wave}", s.unit_code)
    rows = pi.sample_rows(s) or [{"Mã hồ sơ": "", "Mã TTHC": "", "Lý do chọn": "không phát sinh hồ sơ"}]
    publish_table(key, rows, f"Hồ sơ bóc mẫu — {cfg.unit_by_code(s.unit_code).name} — {s.period.label} — cỡ lô "
                             f"{s.sample.lot_size}, cỡ mẫu {s.sample.sample_size} — mã lựa chọn {s.selection_id}")
    return key


def publish_findings(store: Store, cfg: Config, year: int) -> str:
    key = artifact_key("ket-luan", cfg.ward.slug, str(year))
    rows = pi.findings_rows(store, cfg.today()) or [{"Số": "", "Đơn vị": "", "Tồn tại, hạn chế": "(chưa có kết luận)"}]
    publish_table(key, rows, f"Kết luận kiểm tra và khắc phục năm {year} — {cfg.ward.name}")
    return key
