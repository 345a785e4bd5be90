"""Prefect state hooks of the flows: a run that fails or crashes e-mails the ward's IT officer
through the outbox, once per run (`on_failure=[alert_it_officer]`, `on_crashed=[alert_it_officer]`;
any flow may reuse them). By default only runs of a deployment (the schedules) alert
(`alerts.scheduled_only`); a person at the terminal already sees the error.

A hook never raises: whatever goes wrong while alerting (no configuration, the mail server down) is a
warning in the run's log; a message not delivered stays in the outbox for the next sending."""

from __future__ import annotations

import logging

from prefect.runtime import deployment

from cchc.config import load_config
from cchc.pipeline.alerts import alert_message, queue_and_send_alert

__all__ = ["alert_it_officer"]


def _logger(flow, flow_run):
    try:
        from prefect.logging.loggers import flow_run_logger

        return flow_run_logger(flow_run, flow)
    except Exception:  # noqa: BLE001 — logging must not fail the hook
        return logging.getLogger("cchc.alerts")


def _error_text(state) -> str:
    """The exception of the failed state as 'Type: message', else the state's message."""
    try:
        exc = state.result(raise_on_failure=False)
        if isinstance(exc, BaseException):
            return f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 — the result may not be retrievable (a crash); use the message
        pass
    return state.message or state.name or ""


def alert_it_officer(flow, flow_run, state) -> None:
    """State hook (on_failure / on_crashed): tell the IT officer by e-mail, once per flow run."""
    log = _logger(flow, flow_run)
    try:
        params = dict(getattr(flow_run, "parameters", None) or {})
        cfg = load_config(params.get("config_path"))
        if cfg.alerts.scheduled_only and not (getattr(flow_run, "deployment_id", None) or deployment.id):
            return
        now = cfg.now()
        msg = alert_message(cfg, flow_name=flow.name, run_name=flow_run.name, flow_run_id=flow_run.id,
                            state_name=state.name or state.type.value.title(), error=_error_text(state),
                            when=now)
        if msg is None:
            log.warning("Lượt chạy lỗi nhưng chưa cấu hình alerts.it_officer_email: không gửi cảnh báo")
            return
        inserted, sent = queue_and_send_alert(cfg, msg, now)
        log.warning("Đã báo lỗi cho cán bộ CNTT %s (thư mới: %s, đã gửi: %s)", msg.recipient, inserted, sent)
    except Exception as e:  # noqa: BLE001 — a hook must never raise
        from cchc.domain.redact import mask_secrets

        log.warning("Không gửi được cảnh báo lỗi: %s", mask_secrets(f"{type(e).__name__}: {e}"))

