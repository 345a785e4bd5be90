"""Dossiers whose record says nothing of a fee (no fee list, no CoPhi flag, no exemption): the
procedure catalogue's fee flag decides for them when the facts are read.

Rows stored before this revision get False: they keep the fee they were stored with until the next
sync of the dossier rewrites them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite and PostgreSQL both take one with a default): no table copy.
    op.add_column("dossiers", sa.Column("fee_unstated", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("fee_unstated")
