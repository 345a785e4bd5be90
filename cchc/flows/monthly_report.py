"""The `monthly_report` flow: the monthly summary for the ward's leadership — figures of the month
from the store, the Biểu 06 .xlsx, the Word report and the chart under var/reports/<period>/, one
e-mail per recipient through the outbox (once per period and recipient), then the outbox sent.

Artifacts: tong-hop-thang-<ward>-<period> (markdown mirror of the email) and
tep-tong-hop-thang-<ward>-<period> (the files). A failed or crashed scheduled run alerts the IT officer."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from cchc.config import load_config
from cchc.tasks import monthly_report as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import monthly_run_name, tag_current_run


@flow(name="monthly_report", flow_run_name=monthly_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
def monthly_report(config_path: str | None = None, period: str | None = None, dry_run: bool = False,
                   today: str | None = None) -> dict:
    """Tổng hợp tình hình giải quyết TTHC của tháng và gửi thư cho lãnh đạo UBND phường (monthly summary).

    Args:
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        period: Tháng báo cáo, ví dụ 2026-10 (theo chế độ kỳ của phường: tháng dương lịch, hoặc kỳ hành chính
            từ ngày 15); để trống = tháng trước.
        dry_run: Chỉ tạo thư, tệp và artifact; không đưa thư vào hàng đợi, không gửi.
        today: Ngày chạy (YYYY-MM-DD), quyết định "tháng trước" và ngày của báo cáo; để trống = hôm nay.
    """
    log = get_run_logger()
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "tong-hop-thang")
    store = t.open_store(cfg)
    source = t.choose_source(store, cfg, None)
    synced = t.data_age_note(store, cfg, source)
    run_day = date.fromisoformat(today) if today else cfg.today()
    per = t.monthly_period(cfg, period, run_day)
    result = t.prepare_task(store, cfg, per, source, run_day)
    result.dry_run = dry_run
    keys = t.publish_monthly(result, synced)
    if not dry_run:
        now = cfg.now()
        result = t.enqueue_task(store, cfg, result, now)
        result = t.send_task(store, cfg, result, now)
        log.info("Tổng hợp %s: %s thư mới vào hàng đợi, %s thư đã gửi", per.label, result.queued, result.sent)
    else:
        log.info("Tổng hợp %s: chạy thử, không gửi thư", per.label)
    return {**result.as_json(), "artifact_keys": keys, "source": source}
