"""Every log record of the process has its credentials masked (`cchc.domain.redact.mask_secrets`).

Installed once, when the `cchc` package is imported: a LogRecord factory formats the message of
each record and masks it, so every handler (terminal, Prefect UI, files, pytest's caplog) receives
the masked text. Records whose message holds nothing credential-shaped are left untouched.
"""

from __future__ import annotations

import logging

from cchc.domain.redact import mask_secrets

_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: let logging report it as usual
        return record
    masked = mask_secrets(message)
    if masked != message:
        record.msg, record.args = masked, None
    return record


def install() -> None:
    """Mask every log record created from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
