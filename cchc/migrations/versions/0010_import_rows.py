"""The rows of an Excel import seen so far, by code: how an import of a million rows tells that a
code repeats an earlier row ("mã hồ sơ trùng với dòng N") without holding every code in memory.
Rows of one run only; the import deletes them when it ends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_rows",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("source_row", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_rows")
