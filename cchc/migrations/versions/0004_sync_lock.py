"""The sync lock (one sync at a time per store) and the date range a quarantined record came from
(so that an incremental sync asks the source for it again).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_lock",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("retry_from", sa.Date))
        batch.add_column(sa.Column("retry_to", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("retry_to")
        batch.drop_column("retry_from")
    op.drop_table("sync_lock")
