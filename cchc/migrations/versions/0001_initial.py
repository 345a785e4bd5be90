"""Initial store: dossiers, processing steps, sync state, quarantine, sync runs, procedures.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("procedure_code", sa.String(32), nullable=False),
        sa.Column("procedure_name", sa.String(500), nullable=False),
        sa.Column("field_code", sa.String(32), nullable=False),
        sa.Column("field_name", sa.String(300), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("channel", sa.SmallInteger, nullable=False),
        sa.Column("online_level", sa.SmallInteger),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("received_at", sa.DateTime),
        sa.Column("due_at", sa.DateTime),
        sa.Column("effective_due_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("returned_at", sa.DateTime),
        sa.Column("refused_at", sa.DateTime),
        sa.Column("fee_total", sa.BigInteger, nullable=False),
        sa.Column("owes_fee", sa.Boolean, nullable=False),
        sa.Column("paid_online", sa.Boolean, nullable=False),
        sa.Column("digitized_component", sa.Boolean, nullable=False),
        sa.Column("reused_component", sa.Boolean, nullable=False),
        sa.Column("e_result", sa.Boolean, nullable=False),
        sa.Column("supplement_count", sa.SmallInteger, nullable=False),
        sa.Column("supplement_pending", sa.Boolean, nullable=False),
        sa.Column("supplements", sa.JSON),
        sa.Column("apology", sa.Boolean, nullable=False),
        sa.Column("apology_at", sa.DateTime),
        sa.Column("apology_new_due", sa.DateTime),
        sa.Column("evaluation", sa.SmallInteger),
        sa.Column("vneid_verified", sa.Boolean, nullable=False),
        sa.Column("applicant_hash", sa.String(64)),
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column("synced_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_dossiers_source_received", "dossiers", ["source", "received_at"])
    op.create_index("ix_dossiers_source_unit", "dossiers", ["source", "unit_code"])
    op.create_table(
        "processing_steps",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("seq", sa.SmallInteger, primary_key=True),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("done_at", sa.DateTime),
        sa.Column("started_at", sa.DateTime),
        sa.Column("step_due", sa.DateTime),
    )
    op.create_index("ix_steps_officer", "processing_steps", ["officer"])
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("record_key", sa.String(64)),
        sa.Column("field", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.JSON),
        sa.Column("raw_hash", sa.String(32), nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.UniqueConstraint("source", "raw_hash", name="uq_quarantine_source_raw"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fetched", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("field_code", sa.String(32), nullable=False),
        sa.Column("field_name", sa.String(300), nullable=False),
        sa.Column("online_level", sa.SmallInteger),
        sa.Column("has_fee", sa.Boolean),
        sa.Column("result_paper", sa.Boolean),
        sa.Column("working_days", sa.Integer),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for name in ("procedures", "sync_runs", "quarantine", "sync_state", "processing_steps", "dossiers"):
        op.drop_table(name)
