"""The `daily_reminders` flow: one digest per recipient per day, through the outbox (exactly once),
sent to the configured SMTP server; the artifact nhac-viec-<ward>-<date> says what was sent,
skipped and failed per recipient. Nothing is sent on a day that is not a working day by the ward's
calendar (a make-up Saturday is one): the deployment runs Monday to Saturday, the flow decides."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cchc.config import load_config
from cchc.tasks import daily_reminders as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import reminders_run_name, tag_current_run


@flow(name="daily_reminders", flow_run_name=reminders_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
def daily_reminders(config_path: str | None = None, date: str | None = None, dry_run: bool = False) -> dict:
    """Gửi thư nhắc việc hằng ngày (daily reminder digests, delivered once through the outbox).

    Args:
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        date: Ngày nhắc việc (YYYY-MM-DD); để trống = hôm nay theo giờ của phường. Ngày nghỉ: không gửi.
        dry_run: Chạy thử: soạn và liệt kê thư sẽ gửi, không gửi, không ghi gì vào hộp thư đi.
    """
    log = get_run_logger()
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "nhac-viec")
    day = t.run_day(cfg, date)
    settings = None if dry_run else t.smtp_settings(cfg)
    store = t.open_store(cfg)
    if not t.is_working_day(cfg, day):
        log.info("Ngày %s là ngày nghỉ: không gửi nhắc việc", f"{day:%d/%m/%Y}")
        s = t.summarize(store, cfg, day, t.empty_plan(day), [], dry_run=dry_run, working_day=False)
    else:
        plan = t.plan_task(store, cfg, day)
        rendered = t.render_task(cfg, plan)
        if dry_run:
            s = t.summarize(store, cfg, day, plan, rendered, dry_run=True, working_day=True)
        else:
            enqueued = t.enqueue_task(store, cfg, rendered)
            report = t.send_task(store, cfg, settings)
            s = t.summarize(store, cfg, day, plan, rendered, dry_run=False, working_day=True, enqueued=enqueued,
                            report=report)
    s["artifact_key"] = t.publish_reminders(cfg, s)
    log.info("Nhắc việc %s: đã gửi %s, bỏ qua %s, thất bại %s, còn chờ %s", s["date"], s["sent"], s["skipped"],
             s["failed"], s["pending"])
    return s
