"""Scrub quarantine rows written before the allow-list: keep of `raw` only what
`quarantine_payload` keeps today (allow-listed fields, string values scrubbed, the file/row origin),
and scrub the reason. A store that quarantined records before 2026-11 may hold applicants' names,
phone or ID numbers there; after this revision it holds none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from cchc.domain.wire import quarantine_payload, scrub_text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_quarantine = sa.table("quarantine", sa.column("id", sa.Integer), sa.column("raw", sa.JSON),
                       sa.column("reason", sa.Text))
_CHUNK = 1000


def upgrade() -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(_quarantine.c.id, _quarantine.c.raw, _quarantine.c.reason)
                            .where(_quarantine.c.id > last).order_by(_quarantine.c.id).limit(_CHUNK)).all()
        if not rows:
            break
        for rid, raw, reason in rows:
            clean_raw, clean_reason = quarantine_payload(raw), scrub_text(reason or "")
            if clean_raw != raw or clean_reason != (reason or ""):
                conn.execute(sa.update(_quarantine).where(_quarantine.c.id == rid)
                             .values(raw=clean_raw, reason=clean_reason))
        last = rows[-1][0]


def downgrade() -> None:
    pass  # what was scrubbed is gone on purpose
