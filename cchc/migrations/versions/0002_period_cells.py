"""Cells of closed sub-periods kept in the store, and a log of dossier changes that tells which of
them are out of date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("first_received", sa.DateTime),
        sa.Column("unplaced", sa.Boolean, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_dossier_changes_source_id", "dossier_changes", ["source", "id"])
    op.create_table(
        "period_cells",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("period_start", sa.Date, primary_key=True),
        sa.Column("period_end", sa.Date, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("change_id", sa.Integer, nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("period_cells")
    op.drop_index("ix_dossier_changes_source_id", table_name="dossier_changes")
    op.drop_table("dossier_changes")
