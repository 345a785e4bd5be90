"""The monthly summary's messages for the outbox (one per recipient, idempotency key: report,
period, recipient): the report layer renders them, the store's outbox keeps them."""

from __future__ import annotations

from cchc.connectors.store.outbox import OutboxMessage
from cchc.report.monthly import monthly_message_fields


def monthly_messages(fig, setup, recipients, **files) -> list[OutboxMessage]:
    """`cchc.report.monthly.monthly_message_fields` as OutboxMessages (same arguments)."""
    return [OutboxMessage(**f) for f in monthly_message_fields(fig, setup, recipients, **files)]
