"""The `compute_indicators` flow: indicators of a period from the store, published to the Prefect UI
with stable keys, Biểu 06 written to var/reports/.

Artifacts (ward = slug of the ward's name, period = e.g. 2026-10, 2026-q3):
  chi-so-don-vi-<ward>-<period>, chi-so-can-bo-..., chi-so-thu-tuc-..., chi-so-linh-vuc-...,
  chi-so-kenh-..., bieu-06-<ward>-<period> (by field), bieu-06a-<ward>-<period> (by unit),
  doi-soat-<ward>-<period> (summary per unit), doi-soat-chi-tiet-<ward>-<period> (the mismatching
  dossiers, the first 200, their count in the description), diem-766-<ward>-<period>,
  tong-hop-<ward>-<period> (markdown). A period not finished is flagged in every description.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from cchc.config import load_config
from cchc.tasks import compute_indicators as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import indicators_run_name, tag_current_run


@flow(name="compute_indicators", flow_run_name=indicators_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
def compute_indicators(config_path: str | None = None, period: str | None = None, source: str | None = None,
                       today: str | None = None, write_xlsx: bool = True, sync_first: bool = False) -> dict:
    """Tính chỉ số CCHC của một kỳ và đăng lên Prefect (compute a period's indicators; publish artifacts).

    Mọi artifact ghi thời điểm đồng bộ thành công lần cuối của dữ liệu. Khi cấu hình có
    reporting.max_data_age_hours, flow từ chối tính từ dữ liệu cũ hơn giới hạn đó.

    Args:
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        period: Kỳ báo cáo: 2026-10 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm); để trống = tháng trước.
        source: Nguồn số liệu: provincial (hệ thống tỉnh), excel (tệp xuất một cửa) hoặc national (Cổng DVCQG);
            để trống = nguồn duy nhất có trong kho, hoặc reporting.source khi kho có nhiều nguồn.
        today: Ngày chạy (YYYY-MM-DD), quyết định "tháng trước"; để trống = hôm nay theo giờ của phường.
        write_xlsx: Ghi Biểu 06 ra tệp .xlsx trong var/reports/.
        sync_first: Đồng bộ hồ sơ trước khi tính (lịch chi-so-thang bật tùy chọn này).
    """
    log = get_run_logger()
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "chi-so")
    store = t.open_store(cfg)
    source = t.choose_source(store, cfg, source)
    if sync_first:
        sync_before(config_path, source, today, log)
    synced = t.data_age_note(store, cfg, source)
    run_day = date.fromisoformat(today) if today else cfg.today()
    per = t.report_period(cfg, period, run_day)
    data = t.load_task(store, cfg, per, source)
    tables = {by: t.table_task(data, cfg, by) for by in t.GROUPINGS}
    by_field, by_unit = t.bieu06_task(data, cfg)
    rec_summary, mismatches = t.reconcile_task(data, cfg)
    scores = t.scores(data, rec_summary, cfg)
    notes = t.notes_of(per, run_day, data)
    keys = t.publish_indicator_artifacts(cfg, per, source, data, tables, by_field, by_unit, rec_summary, mismatches,
                                         scores, notes, synced)
    prev_total = t.previous_total(store, cfg, per, source, log)
    keys.append(t.publish_summary(cfg, per, source, tables, prev_total, scores, rec_summary, notes, synced))
    xlsx = (t.write_xlsx_task(cfg, per, by_field, by_unit, notes, t.outline_rows(data, cfg), source)
            if write_xlsx else None)
    log.info("Đã đăng %s artifact cho kỳ %s", len(keys), per.label)
    return {"period": per.slug, "artifact_keys": keys, "xlsx": xlsx, "unit_rows": t.unit_rows(data, cfg),
            "files": [xlsx] if xlsx else [], "provisional": per.state(run_day) != "finished", "notes": notes,
            "source": source}


def sync_before(config_path: str | None, source: str, today: str | None, log) -> None:
    """Sync the report's source first (a subflow run). A failed sync does not stop the report by
    itself: the data-age rule decides, and every artifact states how old the data is."""
    if source not in ("provincial", "national"):
        log.info("Nguồn %s không đồng bộ qua API: tính từ dữ liệu đã nhập", source)
        return
    from cchc.flows.sync_dossiers import SyncFailed, sync_dossiers

    try:
        sync_dossiers(config_path=config_path, today=today)
    except SyncFailed as e:
        log.warning("Đồng bộ trước khi tính chỉ số không thành công: %s", e)
