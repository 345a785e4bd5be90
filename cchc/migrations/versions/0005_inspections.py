"""Inspections: verifiable selections (plan waves, spot-check picks, dossier samples), visits,
complaints (no complainant identity), spot checks and findings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_selections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.Integer),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("wave", sa.Integer),
        sa.Column("unit_code", sa.String(64)),
        sa.Column("period_start", sa.Date),
        sa.Column("period_end", sa.Date),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("pool", sa.JSON),
        sa.Column("pool_sha256", sa.String(64)),
        sa.Column("sources", sa.JSON),
        sa.Column("draw_key", sa.Text),
        sa.Column("method_version", sa.String(40)),
        sa.Column("tickets", sa.JSON),
        sa.Column("draw_count", sa.Integer),
        sa.Column("result", sa.JSON),
        sa.Column("reasons", sa.JSON),
        sa.Column("notes", sa.JSON),
    )
    op.create_index("ix_inspection_selections_parent", "inspection_selections", ["parent_id"])
    op.create_index("ix_inspection_selections_kind_year", "inspection_selections", ["kind", "year"])
    op.create_table(
        "inspection_visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("selection_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("notice_date", sa.Date, nullable=False),
        sa.Column("report_due", sa.Date, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("draw_order", sa.Integer),
    )
    op.create_index("ix_inspection_visits_selection", "inspection_visits", ["selection_id"])
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(32)),
        sa.Column("dossier_code", sa.String(64)),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("category", sa.String(120), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_complaints_unit_received", "complaints", ["unit_code", "received_on"])
    op.create_table(
        "spot_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("trigger_kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("fired_on", sa.Date, nullable=False),
        sa.Column("selection_id", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_spot_checks_unit", "spot_checks", ["unit_code"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("selection_id", sa.Integer),
        sa.Column("finding", sa.Text, nullable=False),
        sa.Column("remediation", sa.Text, nullable=False),
        sa.Column("responsible_unit", sa.String(200), nullable=False),
        sa.Column("deadline", sa.Date),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_findings_unit_status", "findings", ["unit_code", "status"])


def downgrade() -> None:
    op.drop_index("ix_findings_unit_status", "findings")
    op.drop_table("findings")
    op.drop_index("ix_spot_checks_unit", "spot_checks")
    op.drop_table("spot_checks")
    op.drop_index("ix_complaints_unit_received", "complaints")
    op.drop_table("complaints")
    op.drop_index("ix_inspection_visits_selection", "inspection_visits")
    op.drop_table("inspection_visits")
    op.drop_index("ix_inspection_selections_kind_year", "inspection_selections")
    op.drop_index("ix_inspection_selections_parent", "inspection_selections")
    op.drop_table("inspection_selections")
