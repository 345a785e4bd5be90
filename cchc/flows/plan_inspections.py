"""The `plan_inspections` flow: the year's (or one wave's) inspection plan, drawn verifiably (RFC
3797) from the units' risk figures, stored; for each visit the dossier sample, the unit's sheet
(.docx) and sample (.xlsx); each wave's notice (.docx); files under var/reports/<year>/.

Artifacts: ke-hoach-kiem-tra-<ward>-<year>, lua-chon-<ward>-<year>-dot-<n>,
mau-ho-so-<ward>-<year>-dot-<n>-<unit>, ket-luan-<ward>-<year>."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cchc.config import load_config
from cchc.tasks import plan_inspections as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import plan_run_name, tag_current_run


@flow(name="plan_inspections", flow_run_name=plan_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
def plan_inspections(sources: list[str], year: int | None = None, wave: int | None = None,
                     config_path: str | None = None, source: str | None = None) -> dict:
    """Lập kế hoạch kiểm tra CCHC: chọn đơn vị, bóc mẫu hồ sơ, thông báo (plan the inspections).

    Args:
        sources: Nguồn ngẫu nhiên công khai (bắt buộc), ví dụ kết quả xổ số công bố SAU khi công bố danh sách
            đơn vị: mỗi nguồn một chuỗi số, ví dụ "9319" hoặc "2 5 12 8 10".
        year: Năm kế hoạch (mặc định: inspection.year trong cấu hình).
        wave: Chỉ lập một đợt (1, 2, ...); để trống = cả năm.
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        source: Nguồn số liệu rủi ro: provincial, excel hoặc national; để trống = như chỉ số.
    """
    log = get_run_logger()
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "ke-hoach-kiem-tra")
    year = year or (cfg.inspection.year if cfg.inspection else None)
    store = t.open_store(cfg)
    planned = t.plan_task(store, cfg, year, list(sources or []), wave, source)
    keys = t.publish_plan(cfg, planned)
    files = []
    for i in range(len(planned.plan.waves)):
        files.append(t.notice_task(cfg, planned, i))
        for sample, written in t.sample_task(store, cfg, planned, i, list(sources), source):
            keys.append(t.publish_sample(cfg, planned.year, sample))
            files.extend(written)
    keys.append(t.publish_findings(store, cfg, planned.year))
    log.info("Đã lập kế hoạch kiểm tra năm %s: %s đợt, %s tệp", planned.year, len(planned.plan.waves), len(files))
    return t.plan_json(planned) | {"artifact_keys": keys, "files": files}
