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
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
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
    Column("fee_unstated", Boolean, nullable=False, default=False, server_default=false()),
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
    # the current processing step (the last one), kept with the row for the daily reminders (migration
    # 0011): its officer, and its deadline while it is not done. Derived from the steps, not hashed.
    Column("step_officer", String(128)),
    Column("step_due_open", DateTime),
    Index("ix_dossiers_source_received", "source", "received_at"),
    Index("ix_dossiers_source_unit", "source", "unit_code"),
    # the daily reminders (migration 0007): the open dossiers by status, the finished ones by end time.
    # Neither starts with `source`, so the plans of the queries that filter on the source alone stay.
    Index("ix_dossiers_status_source", "status", "source"),
)
Index("ix_dossiers_ended", func.coalesce(dossiers.c.finished_at, dossiers.c.returned_at))

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
    # Received dates the record came from (its own, else the window's): what to ask the source again.
    Column("retry_from", Date),
    Column("retry_to", Date),
    UniqueConstraint("source", "raw_hash", name="uq_quarantine_source_raw"),
)

#: One sync at a time per store (connectors/store/lock.py): who holds it, and its lease's heartbeat.
sync_lock = Table(
    "sync_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("acquired_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
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

#: The rows of the Excel import under way (its `run_id`), by code: the first row each code was
#: read on, so a later row repeating it is reported against it without an index in memory.
import_rows = Table(
    "import_rows",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("source_row", Integer, nullable=False),
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

#: One row per committed page that changed dossiers of a source: the earliest reception time among
#: the changed rows, old and new versions (`unplaced`: one of them had none). The cells of a
#: sub-period computed at change id N are out of date when a later change reaches back to it.
dossier_changes = Table(
    "dossier_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),
    Column("first_received", DateTime),
    Column("unplaced", Boolean, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Index("ix_dossier_changes_source_id", "source", "id"),
)

#: Cells (counts, no dossier) of a sub-period, as an Arrow IPC stream: kind "bieu06" / "766"
#: (metrics.cell_table) or "officers" (metrics.officer_table). `fingerprint` covers the rules'
#: code, the settings and the catalogue they read; `change_id` the data (see dossier_changes).
period_cells = Table(
    "period_cells",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("period_end", Date, primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("change_id", Integer, nullable=False),
    Column("computed_at", DateTime, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

# --- inspections (issue 11; cchc/connectors/store/inspections.py) -----------------------------
#: One verifiable choice: a wave's units (kind "periodic"), a spot check's random pick ("spot"),
#: a stratum of a dossier sample ("sample"); a row without a parent groups its children (a plan of
#: several waves, the sample of one unit and period). A row that drew keeps every input of
#: `cchc.domain.draw.DrawRecord`: the ordered pool, its SHA-256, the sources, the key, the method,
#: the tickets (weighted draws), the count and the result; `reasons` says why each item was chosen.
inspection_selections = Table(
    "inspection_selections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parent_id", Integer),
    Column("kind", String(16), nullable=False),
    Column("year", Integer),
    Column("wave", Integer),
    Column("unit_code", String(64)),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("label", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("pool", JSON),
    Column("pool_sha256", String(64)),
    Column("sources", JSON),
    Column("draw_key", Text),
    Column("method_version", String(40)),
    Column("tickets", JSON),
    Column("draw_count", Integer),
    Column("result", JSON),
    Column("reasons", JSON),
    Column("notes", JSON),
    Column("fingerprint", String(64)),  # SHA-256 of what is stored: the same inputs reuse the row (0007)
    Index("ix_inspection_selections_parent", "parent_id"),
    Index("ix_inspection_selections_fingerprint", "fingerprint"),
    Index("ix_inspection_selections_kind_year", "kind", "year"),
)

inspection_visits = Table(
    "inspection_visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("selection_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("unit_code", String(64), nullable=False),
    Column("visit_date", Date, nullable=False),
    Column("notice_date", Date, nullable=False),
    Column("report_due", Date, nullable=False),
    Column("forced", Boolean, nullable=False, default=False),
    Column("draw_order", Integer),
    Index("ix_inspection_visits_selection", "selection_id"),
)

#: A complaint or feedback (phản ánh, kiến nghị) about a unit: never who complained.
complaints = Table(
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit_code", String(64), nullable=False),
    Column("procedure_code", String(32)),
    Column("dossier_code", String(64)),
    Column("received_on", Date, nullable=False),
    Column("category", String(120), nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Index("ix_complaints_unit_received", "unit_code", "received_on"),
)

spot_checks = Table(
    "spot_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit_code", String(64), nullable=False),
    Column("trigger_kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("fired_on", Date, nullable=False),
    Column("selection_id", Integer),
    Column("created_at", DateTime, nullable=False),
    Index("ix_spot_checks_unit", "unit_code"),
)

#: What an inspection found and the remediation required; "overdue" is not stored: an open finding
#: past its deadline is overdue (`inspections.finding_status`).
findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit_code", String(64), nullable=False),
    Column("selection_id", Integer),
    Column("finding", Text, nullable=False),
    Column("remediation", Text, nullable=False, default=""),
    Column("responsible_unit", String(200), nullable=False, default=""),
    Column("deadline", Date),
    Column("status", String(8), nullable=False, default="open"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_findings_unit_status", "unit_code", "status"),
)
