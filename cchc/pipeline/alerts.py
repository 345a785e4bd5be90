"""Failure alerts (issue 13), without Prefect: the message telling the ward's IT officer that a run
failed or crashed (the flow, the run, the error line with secrets masked, a link to the run in the
Prefect UI when `alerts.ui_url` is configured), put once into the outbox (idempotency key: the flow
run's id) and sent with the rest of the outbox. The Prefect state hook is `cchc.tasks.alerts`."""

from __future__ import annotations

from datetime import datetime

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox, OutboxMessage
from cchc.domain.redact import mask_secrets
from cchc.domain.wire import scrub_text

KIND = "canh-bao"
STATE_VI = {"Failed": "thất bại", "Crashed": "bị ngắt (crashed)", "TimedOut": "quá thời gian"}


def alert_key(flow_run_id) -> str:
    """The outbox idempotency key: one alert per failed run, whatever calls the hook again."""
    return f"{KIND}|{flow_run_id}"


def error_line(text: str, limit: int = 500) -> str:
    """The first meaningful line of an error, secrets masked and personal-looking data scrubbed."""
    lines = [x.strip() for x in str(text or "").splitlines() if x.strip()]
    line = lines[-1] if lines and lines[0].startswith("Traceback") else (lines[0] if lines else "")
    line = scrub_text(mask_secrets(" ".join(line.split())))
    return line[:limit] or "(không có thông báo lỗi)"


def run_link(ui_url: str | None, flow_run_id) -> str | None:
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui_url else None


def alert_message(cfg: Config, *, flow_name: str, run_name: str, flow_run_id, state_name: str, error: str,
                  when: datetime) -> OutboxMessage | None:
    """The alert to the IT officer (None when `alerts.it_officer_email` is not configured)."""
    a = cfg.alerts
    if not a.it_officer_email:
        return None
    state = STATE_VI.get(state_name, state_name)
    link = run_link(a.ui_url, flow_run_id)
    line = error_line(error)
    subject = f"[CCHC] Lượt chạy {flow_name} {state} — {cfg.ward.name}"
    text = "\n".join([
        f"Kính gửi {a.it_officer_name},",
        "",
        f"Lượt chạy theo lịch của job {flow_name} ({run_name}) {state} lúc {when:%H:%M ngày %d/%m/%Y}.",
        "",
        f"Flow: {flow_name}",
        f"Lượt chạy: {run_name}",
        f"Trạng thái: {state}",
        f"Lỗi: {line}",
        f"Xem lượt chạy trong Prefect UI: {link}" if link else "Prefect UI: chưa cấu hình alerts.ui_url.",
        "",
        "Thư này do hệ thống CCHC gửi tự động, mỗi lượt chạy lỗi một thư.",
    ])
    return OutboxMessage(key=alert_key(flow_run_id), kind=KIND, recipient=str(a.it_officer_email),
                         recipient_name=a.it_officer_name, subject=subject, body_text=text)


def queue_and_send_alert(cfg: Config, message: OutboxMessage, now: datetime) -> tuple[int, int]:
    """Enqueue the alert (once per run) and send the outbox; (inserted, sent)."""
    from cchc.pipeline.monthly import send_queued

    store = Store(cfg.database_url)
    try:
        store.migrate()
        inserted = Outbox(store.engine).enqueue([message], now).inserted
        report = send_queued(store, cfg, now)
        return inserted, report.sent
    finally:
        store.dispose()
