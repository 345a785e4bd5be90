"""Tables of the dossier store (SQLAlchemy Core). Alembic migrations in cchc/migrations grow it.

Datetimes are stored naive, in the ward's local time (Vietnam), as the source systems give them.
No column holds a citizen's personal data: the applicant is at most a salted hash.
Processing steps keep the officer's username and deadlines, not the free-text content
(which may name the citizen).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

dossiers = Table(
    "dossiers",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("procedure_code", String(32), nullable=False, default=""),
    Column("procedure_name", String(500), nullable=False, default=""),
    Column("field_code", String(32), nullable=False, default=""),
    Column("field_name", String(300), nullable=False, default=""),
    Column("unit_code", String(64), nullable=False, default=""),
    Column("status", SmallInteger, nullable=False),
    Column("channel", SmallInteger, nullable=False),
    Column("online_level", SmallInteger),
    Column("submitted_at", DateTime),
    Column("received_at", DateTime),
    Column("due_at", DateTime),
    Column("effective_due_at", DateTime),
    Column("finished_at", DateTime),
    Column("returned_at", DateTime),
    Column("refused_at", DateTime),
    Column("fee_total", BigInteger, nullable=False, default=0),
    Column("owes_fee", Boolean, nullable=False, default=False),
    Column("paid_online", Boolean, nullable=False, default=False),
    Column("digitized_component", Boolean, nullable=False, default=False),
    Column("reused_component", Boolean, nullable=False, default=False),
    Column("e_result", Boolean, nullable=False, default=False),
    Column("supplement_count", SmallInteger, nullable=False, default=0),
    Column("supplement_pending", Boolean, nullable=False, default=False),
    Column("supplements", JSON),
    Column("apology", Boolean, nullable=False, default=False),
    Column("apology_at", DateTime),
    Column("apology_new_due", DateTime),
    Column("evaluation", SmallInteger),
    Column("vneid_verified", Boolean, nullable=False, default=False),
    Column("applicant_hash", String(64)),
    Column("row_hash", String(32), nullable=False),
    Column("synced_at", DateTime, nullable=False),
    Index("ix_dossiers_source_received", "source", "received_at"),
    Index("ix_dossiers_source_unit", "source", "unit_code"),
)

processing_steps = Table(
    "processing_steps",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("seq", SmallInteger, primary_key=True),
    Column("officer", String(128), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("department", String(200), nullable=False, default=""),
    Column("done_at", DateTime),
    Column("started_at", DateTime),
    Column("step_due", DateTime),
    Index("ix_steps_officer", "officer"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("cursor", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),
    Column("record_key", String(64)),
    Column("field", String(120), nullable=False, default=""),
    Column("reason", Text, nullable=False),
    Column("raw", JSON),
    Column("raw_hash", String(32), nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("run_id", String(64)),
    UniqueConstraint("source", "raw_hash", name="uq_quarantine_source_raw"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("source", String(16), primary_key=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),
    Column("fetched", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("error", Text),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(500), nullable=False, default=""),
    Column("field_code", String(32), nullable=False, default=""),
    Column("field_name", String(300), nullable=False, default=""),
    Column("online_level", SmallInteger),
    Column("has_fee", Boolean),
    Column("result_paper", Boolean),
    Column("working_days", Integer),
    Column("updated_at", DateTime, nullable=False),
)
