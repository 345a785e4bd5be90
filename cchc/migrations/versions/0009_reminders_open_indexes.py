"""Indexes for the daily reminders: the open dossiers by status, the finished ones by end time
(COALESCE(finished_at, returned_at)), so that a day's reminders search them instead of reading every
dossier of the store.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Neither index starts with `source`: the queries filtering on the source alone keep their plans.
    op.create_index("ix_dossiers_status_source", "dossiers", ["status", "source"])
    op.create_index("ix_dossiers_ended", "dossiers", [sa.text("COALESCE(finished_at, returned_at)")])


def downgrade() -> None:
    op.drop_index("ix_dossiers_ended", "dossiers")
    op.drop_index("ix_dossiers_status_source", "dossiers")
