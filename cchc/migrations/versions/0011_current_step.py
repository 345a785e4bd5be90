"""The current processing step kept with the dossier row (for the daily reminders): `step_officer`
(the last step's officer) and `step_due_open` (its deadline while it is not done), written by the
ingestion with the row (`Store.upsert_page`), so that a day's reminders read the open dossiers without
searching their steps one by one.

Filled here for the open dossiers (the only ones the reminders read them for: statuses 2, 4, 5, 6, 8,
`OPEN_STATUSES`); any other dossier gets them the next time a sync writes it (a dossier whose status
or steps change is rewritten whole).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_LAST = ("(SELECT {expr} FROM processing_steps p WHERE p.source = dossiers.source AND p.code = dossiers.code "
         "ORDER BY p.seq DESC LIMIT 1)")


def upgrade() -> None:
    # plain ADD COLUMNs (nullable, no default): no table copy on either database
    op.add_column("dossiers", sa.Column("step_officer", sa.String(128)))
    op.add_column("dossiers", sa.Column("step_due_open", sa.DateTime()))
    op.execute(f"UPDATE dossiers SET step_officer = {_LAST.format(expr='p.officer')}, "
               f"step_due_open = {_LAST.format(expr='CASE WHEN p.done_at IS NULL THEN p.step_due END')} "
               "WHERE status IN (2, 4, 5, 6, 8)")


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("step_due_open")
        batch.drop_column("step_officer")
