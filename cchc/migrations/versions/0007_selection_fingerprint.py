"""A fingerprint (SHA-256 of everything stored) on each inspection selection, so that planning
again with the same inputs reuses the stored selection instead of adding an identical one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_selections") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64)))
    op.create_index("ix_inspection_selections_fingerprint", "inspection_selections", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_inspection_selections_fingerprint", "inspection_selections")
    with op.batch_alter_table("inspection_selections") as batch:
        batch.drop_column("fingerprint")
