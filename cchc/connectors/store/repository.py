"""The SQL store: upsert pages of dossiers with their sync cursor in one transaction, read facts.

SQLite by default, PostgreSQL by URL. The schema is created and grown by Alembic migrations
(`Store.migrate()`); nothing here creates tables behind Alembic's back.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from operator import itemgetter
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import (
    BigInteger,
    Integer,
    SmallInteger,
    String,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    DBAPIError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)

from cchc.connectors.store import bulk_upsert, cell_cache, seen_codes
from cchc.connectors.store.arrow_read import (
    close_reads,
    read_frame,
    select_list,
    sorted_categories,
    warm_helper,
)
from cchc.connectors.store.schema import (
    dossier_changes,
    dossiers,
    import_rows,
    metadata,
    period_cells,
    procedures,
    processing_steps,
    quarantine,
    sync_runs,
    sync_state,
)
from cchc.domain.calendar import VN_TZ as VN
from cchc.domain.records import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    WIRE_NAMES,
    Dossier,
    Status,
    sql_in,
)
from cchc.domain.redact import mask_secrets
from cchc.domain.sources import COPY_SOURCE, SOURCES
from cchc.domain.wire import quarantine_payload, scrub_text
from cchc.errors import UserError

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


class StoreError(UserError):
    """The database cannot be reached or used; the message names the database (without password)."""

    def __init__(self, message: str):
        super().__init__(mask_secrets(message))


class SyncBusy(StoreError):
    """Another sync holds this store's lock; the message says which one and since when."""


@dataclass(slots=True)
class QuarantineItem:
    source: str
    record_key: str | None
    field: str
    reason: str
    raw: dict | list | str | None  # already stripped of personal fields
    retry_from: date | None = None  # received dates to ask the source for again (None: by code only)
    retry_to: date | None = None


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    inserted_codes: set[str] = field(default_factory=set)
    updated_codes: set[str] = field(default_factory=set)
    refused_codes: set[str] = field(default_factory=set)  # records the store could not hold: quarantined

    def add(self, other: UpsertResult) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.inserted_codes |= other.inserted_codes
        self.updated_codes |= other.updated_codes
        self.refused_codes |= other.refused_codes


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages (whatever its shape: see mask_secrets)."""
    return mask_secrets(url)


def _naive(dt: datetime | None, tz=VN) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is tz:  # the usual case, first
        return dt.replace(tzinfo=None)
    if dt.tzinfo is None:
        return dt
    if dt.tzinfo is not tz:
        dt = dt.astimezone(tz)
    return dt.replace(tzinfo=None)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else _naive(dt).isoformat(sep=" ")


def dossier_row(d: Dossier, effective_due: datetime | None, synced_at: datetime) -> dict:
    """The `dossiers` row of a record, with a hash of its content to detect real changes."""
    row = {
        "source": d.source,
        "code": d.code,
        "procedure_code": d.procedure_code,
        "procedure_name": d.procedure_name[:500],
        "field_code": d.field_code,
        "field_name": d.field_name[:300],
        "unit_code": d.unit_code,  # identifiers are never cut (two could merge): `_misfit` refuses them
        "status": int(d.status),
        "channel": int(d.channel),
        "online_level": d.online_level,
        "submitted_at": _naive(d.submitted_at),
        "received_at": _naive(d.received_at),
        "due_at": _naive(d.due_at),
        "effective_due_at": _naive(effective_due),
        "finished_at": _naive(d.finished_at),
        "returned_at": _naive(d.returned_at),
        "refused_at": _naive(d.refused_at),
        "fee_total": sum(f.amount for f in d.fees) if d.fees else 0,
        "owes_fee": d.owes_fee,
        "fee_unstated": d.fee_unstated,
        "paid_online": d.is_paid_online,
        "digitized_component": d.digitized_component,
        "reused_component": d.reused_component,
        "e_result": d.e_result,
        "supplement_count": d.n_supplements,
        "supplement_pending": d.supplement_pending,
        "supplements": [
            [_iso(s.requested_at), _iso(s.completed_at), _iso(s.due_before), _iso(s.due_after)]
            for s in d.supplements
        ]
        or None,
        "apology": d.apology,
        "apology_at": _naive(d.apology_at),
        "apology_new_due": _naive(d.apology_new_due),
        "evaluation": int(d.evaluation) if d.evaluation else None,
        "vneid_verified": d.vneid_verified,
        "applicant_hash": d.applicant_hash,
    }
    steps = [(s.officer, s.title, s.department, s.at, s.started_at, s.step_due) for s in d.steps]
    row["row_hash"] = _content_hash(tuple(row.values()), steps)
    row["synced_at"] = synced_at
    row.update(current_step(d))
    return row


#: columns of a `dossiers` row outside its content hash (when it was synced; what the steps give)
_UNHASHED = ("row_hash", "synced_at", "step_officer", "step_due_open")


def _without_step(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("step_officer", "step_due_open")}


def current_step(d: Dossier) -> dict:
    """The columns the current processing step (the last one) gives a `dossiers` row: its officer and,
    while it is not done, its deadline (none without steps)."""
    last = d.steps[-1] if d.steps else None
    return {"step_officer": last.officer if last else None,
            "step_due_open": _naive(last.step_due) if last is not None and last.at is None else None}


def _content_hash(values: tuple, steps: list) -> str:
    """The hash that tells a real change: md5 of the row's values and its steps, written by orjson
    (fast, and the same bytes for the same values whoever holds them); repr() for what orjson cannot
    write (an integer beyond 64 bits never reaches here: `check_dossier` refuses it)."""
    try:
        blob = orjson.dumps((values, steps))
    except TypeError:  # orjson.JSONEncodeError is one
        blob = repr((values, steps)).encode()
    return hashlib.md5(blob, usedforsecurity=False).hexdigest()


def legacy_row_hash(row: dict, d: Dossier) -> str:
    """The row hash as stored before 2026-12-01 (md5 of repr()): a dossier stored then and unchanged
    since is unchanged, not updated, at the first sync after the upgrade (its hash is rewritten)."""
    values = tuple(v for k, v in row.items() if k not in _UNHASHED)
    steps = [(s.officer, s.title, s.department, s.at, s.started_at, s.step_due) for s in d.steps]
    return hashlib.md5(repr((values, steps)).encode(), usedforsecurity=False).hexdigest()


def step_rows(d: Dossier) -> list[dict]:
    return [
        {
            "source": d.source,
            "code": d.code,
            "seq": i,
            "officer": s.officer,
            "title": s.title[:200],
            "department": s.department[:200],
            "done_at": _naive(s.at),
            "started_at": _naive(s.started_at),
            "step_due": _naive(s.step_due),
        }
        for i, s in enumerate(d.steps)
    ]


def _raw_hash(source: str, raw) -> str:
    blob = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.md5((source + blob).encode(), usedforsecurity=False).hexdigest()


def _clean_text(value: str | None, limit: int | None = None) -> str | None:
    """Text a database accepts: NUL shown as \\x00 (PostgreSQL refuses it), cut to the column."""
    if value is None:
        return None
    value = str(value).replace("\x00", "\\x00")
    return value[:limit] if limit else value


def _clean_raw(raw):
    if isinstance(raw, str):
        return _clean_text(raw)
    if isinstance(raw, dict):
        return {_clean_text(str(k)): _clean_raw(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_clean_raw(v) for v in raw]
    if isinstance(raw, float) and not math.isfinite(raw):
        return str(raw)
    return raw


def _quarantine_row(q: QuarantineItem, now: datetime, run_id: str | None) -> dict:
    payload = quarantine_payload(q.raw)  # the allow-list, whoever built the item
    # A record the store itself refused has no raw copy: its code and field identify it.
    basis = payload if payload is not None else {"record_key": q.record_key, "field": q.field}
    return {
        "source": q.source,
        "record_key": _clean_text(q.record_key or None, 64),
        "field": _clean_text(q.field, 120),
        "reason": _clean_text(scrub_text(q.reason)),
        "raw": _clean_raw(payload),
        "raw_hash": _raw_hash(q.source, basis),
        "first_seen": now,
        "last_seen": now,
        "run_id": run_id,
        "retry_from": q.retry_from,
        "retry_to": q.retry_to,
    }


def _days(d: Dossier) -> tuple[date | None, date | None]:
    day = _naive(d.received_at).date() if d.received_at is not None else None
    return day, day


_INT_RANGES = ((SmallInteger, 2**15), (BigInteger, 2**63), (Integer, 2**31))


@cache
def _column_limits(table) -> tuple[tuple[str, str, int | None, int | None], ...]:
    """(column, field name, text length, integer bound) of each column of `table`, worked out once."""
    out = []
    for col in table.columns:
        bound = next((b for kind, b in _INT_RANGES if isinstance(col.type, kind)), None)
        out.append((col.name, WIRE_NAMES.get(col.name, col.name), getattr(col.type, "length", None), bound))
    return tuple(out)


def _misfit(table, row: dict, prefix: str = "") -> tuple[str, str] | None:
    """(field, reason) of the first value of `row` that `table`'s columns cannot hold, else None."""
    for key, name, length, bound in _column_limits(table):
        v = row.get(key)
        if v is None:
            continue
        if isinstance(v, str):
            if "\x00" in v:
                return prefix + name, "chứa ký tự NUL (\\x00)"
            if length and len(v) > length:
                return prefix + name, f"dài {len(v)} ký tự, tối đa {length}"
        elif isinstance(v, float):
            if not math.isfinite(v):
                return prefix + name, f"không phải số hữu hạn: {v}"
        elif isinstance(v, int) and not isinstance(v, bool) and bound is not None and not -bound <= v < bound:
            shown = str(v) if len(str(v)) <= 24 else f"{str(v)[:6]}…({len(str(v))} chữ số)"
            return prefix + name, f"giá trị {shown} vượt quá giới hạn của cột {key}"
    return None


def _suspects(table, rows: list[dict]) -> set[int]:
    """Indexes of the rows `_misfit` might find a problem in, a column of the page at a time (a few C
    loops over each column instead of a Python loop over each value): every other row fits for sure."""
    out: set[int] = set()
    for name, _, length, bound in _column_limits(table):
        try:
            vals = list(map(itemgetter(name), rows))
        except KeyError:  # a column the rows do not all fill
            vals = [r.get(name) for r in rows]
        for kind in set(map(type, vals)):
            if kind is bool or not issubclass(kind, (str, int, float)):  # `_misfit` passes these by
                continue
            same = [v for v in vals if v.__class__ is kind]
            if kind is str:
                if "\x00" not in "".join(same) and not (length and max(map(len, same)) > length):
                    continue
                out.update(i for i, v in enumerate(vals) if v.__class__ is str
                           and ("\x00" in v or (length and len(v) > length)))
            elif kind is int:
                if bound is None or (-bound <= min(same) and max(same) < bound):
                    continue
                out.update(i for i, v in enumerate(vals) if v.__class__ is int and not -bound <= v < bound)
            else:  # a float, or a type the screen does not know: `_misfit` looks at each
                out.update(i for i, v in enumerate(vals) if v.__class__ is kind)
    return out


def _data_error(e: BaseException) -> str | None:
    """The database's own words when it refused a VALUE (not the statement, not the values), else None."""
    orig = getattr(e, "orig", None) if isinstance(e, StatementError) else e
    if isinstance(e, DataError) or isinstance(orig, (OverflowError, ValueError)) and not isinstance(
            e, DBAPIError):
        text_ = str(orig if orig is not None else e).strip().splitlines()
        return " ".join(text_[:1])[:200] or type(e).__name__
    return None


@cache
def _pg_by_code(columns: tuple[str, ...]):
    """The stored rows' `columns` (after the code) for an array of codes, one primary-key probe per
    code (LIMIT 1 keeps the planner from flattening the lateral subquery into a join it may plan as
    a scan of the source: see `Store._rows_by_code`). `columns` are the store's own column names."""
    listed = ", ".join(columns)
    return text(
        f"SELECT d.code, {', '.join('d.' + c for c in columns)} FROM unnest(:codes) AS k(code) CROSS JOIN LATERAL "
        f"(SELECT code, {listed} FROM dossiers WHERE source = :source AND code = k.code LIMIT 1) AS d"
    ).bindparams(bindparam("codes", type_=ARRAY(String)))


#: The columns of `Store.reminder_dossiers`' statement (`_reminder_sql`), in order, with their kinds
#: for the columnar read.
_REMINDER_COLUMNS = (("code", "text"), ("procedure_name", "text"), ("unit_code", "text"), ("status", "int"),
                     ("due", "time"), ("finished_at", "time"), ("apology", "bool"), ("supplements", "text"),
                     ("officer", "text"), ("step_due", "time"))

#: The advisory lock key of migrations on PostgreSQL (any fixed number; per database).
_MIGRATION_LOCK_KEY = 7_265_101


class Store:
    def __init__(self, url: str, echo: bool = False):
        self.url = url
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :].split("?", 1)[0]
            if path and path != ":memory:":
                _check_sqlite_file(Path(path))
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            kwargs = {"executemany_mode": "values_plus_batch"} if url.startswith("postgresql+psycopg2") else {}
            self.engine: Engine = create_engine(url, echo=echo, future=True, pool_pre_ping=True, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as e:
            raise StoreError(f"URL cơ sở dữ liệu không dùng được: {safe_url(url)} ({e})") from None
        self.dialect = self.engine.dialect.name
        self._code_point_order: bool | None = None  # see _text_in_code_point_order
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    # --- schema --------------------------------------------------------------------------
    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest Alembic revision, or to `revision` (idempotent)."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if revision == "head" and self._schema_is_head(cfg):
            return  # the usual case: no lock, no wait for a writer
        try:
            with self.engine.begin() as conn:
                self._migration_lock(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except OperationalError as e:
            code = getattr(e.orig, "sqlite_errorname", None)  # e.g. SQLITE_IOERR_SHMMAP: which I/O failed
            raise StoreError(f"Không kết nối được cơ sở dữ liệu {safe_url(self.url)}: {e.orig}"
                             + (f" ({code})" if code else "")) from None
        except DatabaseError as e:  # e.g. a file that is not a database
            raise StoreError(f"Không dùng được cơ sở dữ liệu {safe_url(self.url)}: {e.orig}") from None

    def _schema_is_head(self, cfg) -> bool:
        """Whether the stored revision is the newest (a read; False when it cannot be read)."""
        from alembic.script import ScriptDirectory

        try:
            return self.revision() == ScriptDirectory.from_config(cfg).get_current_head()
        except SQLAlchemyError:
            return False

    def _migration_lock(self, conn: Connection) -> None:
        """One migration of a store at a time: two first runs on a new store (two demos started at
        once, a flow and a command) would otherwise both find no schema and both create its tables
        ("table dossiers already exists"). The second waits for the first's commit, then finds the
        schema current. SQLite: the write lock taken before anything is read (DDL would otherwise run
        outside a transaction); PostgreSQL: a transaction-scoped advisory lock."""
        if self.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to the busy timeout
        elif self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:
                return None

    def dispose(self) -> None:
        self.engine.dispose()
        close_reads(self.engine)  # the columnar reads' own connections too

    # --- writing ---------------------------------------------------------------------------
    def _upsert_stmt(self, table, keys: Sequence[str]):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - other engines are not supported yet
            raise StoreError(f"Hệ quản trị CSDL chưa hỗ trợ: {self.dialect}")
        stmt = insert(table)
        cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=cols)

    def _insert_ignore_stmt(self, table, keys: Sequence[str]):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table).on_conflict_do_nothing(index_elements=list(keys))

    def upsert_page(
        self,
        source: str,
        records: Iterable[Dossier],
        quarantined: Iterable[QuarantineItem] = (),
        cursor: dict | None = None,
        cursor_key: str | None = None,
        effective_due: Callable[[Dossier], datetime | None] | None = None,
        run_id: str | None = None,
    ) -> UpsertResult:
        """Upsert one page of records, its quarantined records and the cursor, in ONE transaction.

        A record the store cannot hold (a text longer than its column, a NUL character, a number
        out of its column's range) goes to quarantine naming the field; the rest of the page is
        stored. Should the database still refuse the page for a value (an engine's own limit),
        the page is written record by record, the refused ones quarantined with the database's
        message (without the statement or its values), then the cursor."""
        now = datetime.now(VN).replace(tzinfo=None, microsecond=0)
        latest: dict[str, Dossier] = {}
        for d in records:
            latest[d.code] = d  # a code twice in a page: the later copy wins
        bad = list(quarantined)
        refused: set[str] = set()
        rows: dict[str, tuple[Dossier, dict, list[dict]]] = {}
        page = [(d, dossier_row(d, effective_due(d) if effective_due else d.due_at, now), step_rows(d))
                for d in latest.values()]
        suspect = _suspects(dossiers, [row for _, row, _ in page])
        flat = [(i, s) for i, (_, _, steps) in enumerate(page) for s in steps]
        suspect.update(flat[j][0] for j in _suspects(processing_steps, [s for _, s in flat]))
        for i, (d, row, steps) in enumerate(page):
            # the current step's columns come from the steps: a misfit there is named by its step
            problem = None if i not in suspect else _misfit(dossiers, _without_step(row)) or next(
                (p for s in steps if (p := _misfit(processing_steps, s, f"QuaTrinhXuLy[{s['seq']}]."))), None)
            if problem is not None:
                bad.append(QuarantineItem(source, d.code, problem[0], problem[1], None, *_days(d)))
                refused.add(d.code)
            else:
                rows[d.code] = (d, row, steps)
        try:
            result = self._write_page(source, rows, bad, cursor, cursor_key, run_id, now)
            result.refused_codes = refused
            return result
        except Exception as e:
            if not rows or _data_error(e) is None:
                raise
        result = UpsertResult(refused_codes=refused)  # the safety net: a record per transaction, then the cursor
        for code, item in rows.items():
            try:
                result.add(self._write_page(source, {code: item}, [], None, None, run_id, now))
            except Exception as e:
                reason = _data_error(e)
                if reason is None:
                    raise
                bad.append(QuarantineItem(source, code, "(bản ghi)", f"kho dữ liệu không lưu được: {reason}", None,
                                          *_days(item[0])))
                result.refused_codes.add(code)
        result.add(self._write_page(source, {}, bad, cursor, cursor_key, run_id, now))
        return result

    def _write_page(self, source: str, latest: dict[str, tuple[Dossier, dict, list[dict]]],
                    quarantined: list[QuarantineItem],
                    cursor: dict | None, cursor_key: str | None, run_id: str | None, now: datetime) -> UpsertResult:
        result = UpsertResult()
        rows = [row for _, row, _ in latest.values()]
        with self.engine.begin() as conn:
            if rows:
                existing = self._stored_versions(conn, source, list(latest))
                changed = [r for r in rows if existing.get(r["code"], (None,))[0] != r["row_hash"]]
                if changed and existing:
                    changed = self._rehash_legacy(conn, source, changed, existing, latest)
                result.inserted_codes = {r["code"] for r in changed if r["code"] not in existing}
                result.updated_codes = {r["code"] for r in changed if r["code"] in existing}
                result.inserted = len(result.inserted_codes)
                result.updated = len(result.updated_codes)
                result.unchanged = len(rows) - len(changed)
                if changed:
                    bulk_upsert.upsert(conn, dossiers, ("source", "code"), changed)
                    changed_codes = [r["code"] for r in changed if r["code"] in existing]
                    for chunk in _chunks(changed_codes, 500):
                        conn.execute(
                            delete(processing_steps).where(
                                processing_steps.c.source == source, processing_steps.c.code.in_(chunk)
                            )
                        )
                    steps = [s for r in changed for s in latest[r["code"]][2]]
                    if steps:
                        conn.execute(processing_steps.insert(), steps)
                    # How far back the change reaches: reception (old and new) and the new steps' times.
                    received = [r["received_at"] for r in changed]
                    received += [existing[r["code"]][1] for r in changed if r["code"] in existing]
                    known = [t for t in received if t is not None]
                    known += [s[k] for s in steps for k in ("started_at", "done_at") if s[k] is not None]
                    if source == COPY_SOURCE:  # a copy changes the reconciliation of the dossier it copies
                        known += self._counterparts_received(conn, source, [r["code"] for r in changed])
                    conn.execute(dossier_changes.insert(), [{
                        "source": source, "first_received": min(known) if known else None,
                        "unplaced": None in received, "rows": len(changed), "changed_at": now}])
            # to the microsecond: a later pass tells by this time what it has seen again (resolve_quarantine)
            seen = datetime.now(VN).replace(tzinfo=None)
            q_rows = [_quarantine_row(q, seen, run_id) for q in quarantined]
            if rows:
                # stored correctly now: no longer in quarantine (unless this very page quarantines it again)
                again = {r["record_key"] for r in q_rows}
                fine = [c for c in latest if c not in again]
                if fine and conn.execute(select(quarantine.c.id).where(quarantine.c.source == source).limit(1)).first():
                    for chunk in _chunks(fine, 500):
                        conn.execute(delete(quarantine).where(quarantine.c.source == source,
                                                              quarantine.c.record_key.in_(chunk)))
            if q_rows:
                stmt = _quarantine_upsert(self.dialect)
                conn.execute(stmt, q_rows)
                result.quarantined = len(q_rows)
            if cursor is not None:
                self._save_cursor(conn, cursor_key or source, cursor, now)
        return result

    def _rehash_legacy(self, conn: Connection, source: str, changed: list[dict], existing: dict,
                       latest: dict) -> list[dict]:
        """`changed` without the rows stored under the old hash and unchanged since: their stored
        hash is rewritten (nothing else), so the next sync compares the new hashes only."""
        same = [r for r in changed if r["code"] in existing
                and existing[r["code"]][0] == legacy_row_hash(r, latest[r["code"]][0])]
        if not same:
            return changed
        conn.execute(update(dossiers).where(dossiers.c.source == bindparam("b_source"),
                                            dossiers.c.code == bindparam("b_code"))
                     .values(row_hash=bindparam("b_hash")),
                     [{"b_source": source, "b_code": r["code"], "b_hash": r["row_hash"]} for r in same])
        done = {r["code"] for r in same}
        return [r for r in changed if r["code"] not in done]

    def _counterparts_received(self, conn: Connection, source: str, codes: list[str]) -> list[datetime]:
        """The reception times of the same codes' rows in the other sources (those a copy is compared
        with): a national copy arriving or changing alters the reconciliation cells of the months its
        provincial dossier belongs to (from its reception on), which its own times need not tell."""
        return [t for other in SOURCES if other != source
                for _, t in self._rows_by_code(conn, other, codes, ("received_at",)) if t is not None]

    def _stored_versions(self, conn: Connection, source: str, codes: list[str]) -> dict[str, tuple]:
        """code -> (row hash, reception time) of the stored versions."""
        return {c: (h, r) for c, h, r in self._rows_by_code(conn, source, codes, ("row_hash", "received_at"))}

    def _rows_by_code(self, conn: Connection, source: str, codes: Sequence[str], columns: tuple[str, ...]
                      ) -> list[tuple]:
        """(code, *columns) of the stored rows of `source` with these codes, each looked up by the
        primary key. On PostgreSQL the codes are one array: with an IN list the planner, whose
        statistics may be those of a nearly empty table (a first import; autovacuum off), picks the
        index on the source alone and reads every row of the source for each page — a million-row
        import then slows down page after page."""
        if not codes:
            return []
        if self.dialect == "postgresql":
            return list(conn.execute(_pg_by_code(columns), {"source": source, "codes": list(codes)}))
        out: list[tuple] = []
        for chunk in _chunks(list(codes), 900):
            q = select(dossiers.c.code, *(dossiers.c[c] for c in columns)).where(
                dossiers.c.source == source, dossiers.c.code.in_(chunk))
            out.extend(tuple(r) for r in conn.execute(q))
        return out

    def _save_cursor(self, conn: Connection, key: str, cursor: dict, now: datetime) -> None:
        conn.execute(
            self._upsert_stmt(sync_state, ("source",)),
            [{"source": key, "cursor": cursor, "updated_at": now}],
        )

    def clear_dossiers(self) -> None:
        """Remove every dossier, step, cursor and quarantined record (the demo's fresh start)."""
        with self.engine.begin() as conn:
            for t in (processing_steps, dossiers, sync_state, quarantine, sync_runs, dossier_changes, period_cells,
                      import_rows):
                conn.execute(delete(t))

    def claim_import_rows(self, run_id: str, rows: dict[str, int]) -> dict[str, int]:
        """Record the codes of a page of the Excel import `run_id` (code -> row, distinct) and return
        those an earlier page of it recorded, with their first row (`seen_codes.claim`)."""
        return seen_codes.claim(self.engine, run_id, rows)

    def forget_import_rows(self, run_id: str | None = None) -> None:
        """Drop what the import `run_id` recorded (None: every import's)."""
        seen_codes.forget(self.engine, run_id)

    def save_cursor(self, key: str, cursor: dict) -> None:
        with self.engine.begin() as conn:
            self._save_cursor(conn, key, cursor, datetime.now(VN).replace(tzinfo=None, microsecond=0))

    def get_cursor(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            return conn.execute(select(sync_state.c.cursor).where(sync_state.c.source == key)).scalar()

    def upsert_procedures(self, rows: list[dict]) -> int:
        if not rows:
            return 0
        now = datetime.now(VN).replace(tzinfo=None, microsecond=0)
        rows = [{**r, "updated_at": now} for r in rows]
        with self.engine.begin() as conn:
            conn.execute(self._upsert_stmt(procedures, ("code",)), rows)
        return len(rows)

    def start_run(self, run_id: str, source: str) -> None:
        now = datetime.now(VN).replace(tzinfo=None, microsecond=0)
        with self.engine.begin() as conn:
            conn.execute(
                self._upsert_stmt(sync_runs, ("run_id", "source")),
                [{"run_id": run_id, "source": source, "started_at": now, "status": "running", "fetched": 0,
                  "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "error": None,
                  "finished_at": None}],
            )

    def finish_run(self, run_id: str, source: str, status: str, counts: dict, error: str | None = None) -> None:
        now = datetime.now(VN).replace(tzinfo=None, microsecond=0)
        values = {k: int(counts.get(k, 0)) for k in ("fetched", "inserted", "updated", "unchanged", "quarantined")}
        with self.engine.begin() as conn:
            conn.execute(
                sync_runs.update()
                .where(sync_runs.c.run_id == run_id, sync_runs.c.source == source)
                .values(status=status, finished_at=now, error=error, **values)
            )

    def sync_lock(self, run_id: str, wait_s: float = 60.0, lease_s: float = 30.0):
        """Context manager: one sync at a time on this store (`lock.hold`); SyncBusy after `wait_s`."""
        from cchc.connectors.store import lock

        return lock.hold(self.engine, run_id, SyncBusy, wait_s=wait_s, lease_s=lease_s)

    # --- quarantine: asking again ------------------------------------------------------------
    def quarantine_keys(self, source: str) -> list[str]:
        """Codes of the source's quarantined records (to look up again where the source can)."""
        q = (select(quarantine.c.record_key).where(quarantine.c.source == source, quarantine.c.record_key.is_not(None))
             .distinct().order_by(quarantine.c.record_key))
        with self.engine.connect() as conn:
            return [k for k in conn.execute(q).scalars() if k]

    def quarantine_retry_from(self, source: str, keys: Iterable[str] | None = None,
                              keyless: bool = False) -> date | None:
        """The earliest received date to ask the source again for its quarantined records (all of
        them; or only those without a code (`keyless`) and those whose code is in `keys`)."""
        q = select(func.min(quarantine.c.retry_from)).where(quarantine.c.source == source)
        conds = []
        if keyless:
            conds.append(quarantine.c.record_key.is_(None))
        if keys is not None:
            keys = list(keys)
            if keys:
                conds.append(quarantine.c.record_key.in_(keys[:900]))
        if keyless or keys is not None:
            if not conds:
                return None
            from sqlalchemy import or_

            q = q.where(or_(*conds))
        with self.engine.connect() as conn:
            v = conn.execute(q).scalar()
        if isinstance(v, str):  # SQLite without type affinity on aggregates
            v = date.fromisoformat(v[:10])
        return v

    def resolve_quarantine(self, source: str, received_from: date, received_to: date | None,
                           seen_before: datetime) -> int:
        """A complete pass over [received_from, received_to] that did not quarantine a record again:
        that record is fine now (stored, or gone from the source). Remove those rows; return how many."""
        q = delete(quarantine).where(
            quarantine.c.source == source, quarantine.c.retry_from.is_not(None),
            quarantine.c.retry_from >= received_from, quarantine.c.last_seen < seen_before)
        if received_to is not None:
            q = q.where(quarantine.c.retry_to.is_not(None), quarantine.c.retry_to <= received_to)
        with self.engine.begin() as conn:
            return conn.execute(q).rowcount or 0

    # --- reading ---------------------------------------------------------------------------
    def _count(self, table, source: str | None) -> int:
        q = select(func.count()).select_from(table)
        if source:
            q = q.where(table.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def count_dossiers(self, source: str | None = None) -> int:
        return self._count(dossiers, source)

    def count_by_source(self) -> dict[str, int]:
        """Dossiers per source held in the store (sources without dossiers absent)."""
        q = select(dossiers.c.source, func.count()).group_by(dossiers.c.source)
        with self.engine.connect() as conn:
            return {s: int(n) for s, n in conn.execute(q)}

    def sources_held(self, candidates: Sequence[str] = SOURCES) -> list[str]:
        """The sources of `candidates` with at least one dossier in the store, in that order: one
        `EXISTS` per source (an index probe each), where `count_by_source` counts every row."""
        if not candidates:
            return []
        probes = ", ".join(f"EXISTS (SELECT 1 FROM dossiers WHERE source = :s{i})" for i in range(len(candidates)))
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {probes}"), {f"s{i}": s for i, s in enumerate(candidates)}).one()
        return [s for s, held in zip(candidates, row, strict=True) if held]

    # --- the cell cache (monthly cells kept for the reports: cell_cache.py) -------------------------
    def cached_cells(self, source: str, start: date, end: date, fingerprint: str,
                     kinds: Sequence[str], also: Sequence[str] = ()) -> dict[str, pd.DataFrame] | None:
        """The kept cells of every kind of (source, [start, end]) if all are there and current, else
        None; `also`: other sources whose changes the kinds depend on (the national copies)."""
        return cell_cache.get(self.engine, source, start, end, fingerprint, kinds, also)

    def cached_cells_many(self, source: str, ranges: Sequence[tuple[date, date]], fingerprint: str,
                          kinds: Sequence[str], also: Sequence[str] = ()) -> list[dict[str, pd.DataFrame] | None]:
        """`cached_cells` for each (start, end) of `ranges`, in order, read together."""
        return cell_cache.get_many(self.engine, source, ranges, fingerprint, kinds, also)

    def cells_change_id(self, source: str, also: Sequence[str] = ()) -> int:
        """The last change recorded for `source` (and the sources `also`): cells computed now are
        current up to it."""
        return cell_cache.last_change_id(self.engine, source, also)

    def keep_cells(self, source: str, start: date, end: date, fingerprint: str, change_id: int,
                   frames: dict[str, pd.DataFrame]) -> None:
        """Keep (replace) the cells by kind of (source, [start, end]) computed from data up to `change_id`."""
        cell_cache.put(self.engine, source, start, end, fingerprint, change_id, frames)

    def drop_kept_cells(self) -> None:
        """Empty the cell cache (every source): reports recompute their months from the rows."""
        with self.engine.begin() as conn:
            conn.execute(period_cells.delete())

    def kept_cells(self, source: str) -> list[dict]:
        """What the cell cache holds for `source` (no payloads)."""
        return cell_cache.entries(self.engine, source)

    def has_steps(self, source: str) -> bool:
        """Whether the source holds any processing step (an Excel export has none); one index probe."""
        q = select(processing_steps.c.seq).where(processing_steps.c.source == source).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def count_steps(self, source: str | None = None) -> int:
        return self._count(processing_steps, source)

    def count_quarantine(self, source: str | None = None) -> int:
        return self._count(quarantine, source)

    def runs(self, limit: int = 20) -> list[dict]:
        """The latest sync runs, newest first: what ran, when, with what counts and error."""
        q = select(sync_runs).order_by(sync_runs.c.started_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def quarantine_rows(self, source: str | None = None, limit: int = 1000) -> list[dict]:
        q = select(quarantine).order_by(quarantine.c.id).limit(limit)
        if source:
            q = q.where(quarantine.c.source == source)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def oldest_open_received(self, source: str) -> datetime | None:
        """The received time of the oldest dossier not yet finished (its status may still change)."""
        q = select(func.min(dossiers.c.received_at)).where(
            dossiers.c.source == source, dossiers.c.status.in_((1, 2, 4, 5, 6))
        )
        with self.engine.connect() as conn:
            return conn.execute(q).scalar()

    def iter_codes(
        self, source: str, received_from: date | None = None, codes_only_open: bool = False, batch: int = 5000,
        after_code: str | None = None,
    ) -> Iterator[list[str]]:
        """Codes of a source in batches, ordered by code; optionally received since a date, after a code."""
        q = select(dossiers.c.code).where(dossiers.c.source == source).order_by(dossiers.c.code)
        if after_code is not None:
            q = q.where(dossiers.c.code > after_code)
        if received_from is not None:
            q = q.where(dossiers.c.received_at >= datetime.combine(received_from, datetime.min.time()))
        if codes_only_open:
            q = q.where(dossiers.c.status.in_((1, 2, 4, 5, 6)))
        with self.engine.connect() as conn:
            res = conn.execution_options(yield_per=batch).execute(q)
            for part in res.scalars().partitions(batch):
                yield list(part)

    def dump_text(self) -> str:
        """Every row of every table as text (tests scan it for personal data)."""
        out = []
        with self.engine.connect() as conn:
            for table in metadata.sorted_tables:
                for r in conn.execute(select(table)):
                    out.append(repr(tuple(r)))
        return "\n".join(out)

    FACT_COLUMNS = (
        "code", "unit_code", "procedure_code", "procedure_name", "field_code", "field_name", "status",
        "channel", "online_level", "received_at", "due_at", "effective_due_at", "finished_at",
        "returned_at", "owes_fee", "paid_online", "digitized_component", "reused_component", "e_result",
        "supplement_count", "supplement_pending", "apology", "evaluation", "refused_at", "fee_unstated",
    )
    DATE_COLUMNS = ("received_at", "due_at", "effective_due_at", "finished_at", "returned_at", "refused_at")
    BOOL_COLUMNS = ("owes_fee", "paid_online", "digitized_component", "reused_component", "e_result",
                    "supplement_pending", "apology", "fee_unstated")

    NATIONAL_COLUMNS = ("code", "unit_code", "status", "received_at", "due_at", "effective_due_at",
                        "finished_at", "returned_at")

    def load_facts(self, source: str, start: date | None = None, end: date | None = None,
                   scope_source: str | None = None, columns: Sequence[str] | None = None,
                   unit_ids: Sequence[str] | None = None,
                   scoped: bool = False, columnar: bool = True, units_index: bool = False) -> pd.DataFrame:
        """One row per dossier of `source` that can matter for [start, end] (a superset; the domain
        classifies). Columns: FACT_COLUMNS (or `columns`) + result_paper and procedure_has_fee (from
        the procedure catalogue, default True and False).

        The pre-filter only drops what no rule can count: dossiers received after the period, and
        dossiers in a finished status (`FINISHED_STATUSES`) both received and ended before it (SQL's NULL logic:
        `metrics.can_matter` selects the same rows from a frame). With
        `scope_source`, the rows of `source` are those whose code is in scope on `scope_source`
        (the national copies of the provincial dossiers of the period, whatever their own dates).
        With `unit_ids` (national identifiers), only the dossiers of those units and of the units
        under them (`metrics.unit_matches`: the identifier or a prefix "id." of it) are read.
        `scoped`: only the dossiers that can be in the period's scope (`metrics.classify`'s in_scope:
        a reception time, before the end), for a caller that keeps only those — the reception index
        then serves the read. `columnar=False` reads through the DB-API: for a small result, no
        helper process. `units_index` (with `unit_ids` that are a small part of the ward, e.g. the
        units visited): their rows through the units' index rather than the period's through the
        reception index (for most of the ward's units the reception index is faster)."""
        columns = tuple(columns or self.FACT_COLUMNS)
        sql = "SELECT {columns} FROM dossiers d"
        params: dict = {"source": source}
        scope = "s" if scope_source is not None else "d"
        where = []
        if scoped and end is None:
            raise ValueError("scoped needs the period's end")
        # The units' rows through the (source, unit_code) index: each unit, and its sub-units as a
        # range of codes, one OR term each with the source (SQLite's MULTI-INDEX OR, PostgreSQL's
        # BitmapOr), where text sorts by code point; on SQLite the other terms are written `+x` so
        # that the planner (no statistics) does not take the reception index for the whole period.
        by_unit = (units_index and unit_ids is not None and scope_source is None
                   and self._text_in_code_point_order())
        plain = "+" if by_unit and self.dialect == "sqlite" else ""
        if end is not None:
            where.append(f"{plain}{scope}.received_at < :end_excl" if scoped
                         else f"({scope}.received_at IS NULL OR {scope}.received_at < :end_excl)")
            params["end_excl"] = datetime.combine(end + timedelta(days=1), datetime.min.time())
        if start is not None:
            where.append(f"NOT ({scope}.status IN ({sql_in(FINISHED_STATUSES)}) AND {scope}.received_at < :start"
                         f" AND COALESCE({scope}.finished_at, {scope}.returned_at) < :start)")
            params["start"] = datetime.combine(start, datetime.min.time())
        if unit_ids is not None:
            match = []
            for i, nid in enumerate(unit_ids):
                nid = str(nid).strip().rstrip(".")
                params[f"unit_{i}"] = nid
                if by_unit:  # the codes "id." + anything: in code point order, ["id.", "id/")
                    params[f"unit_{i}_lo"], params[f"unit_{i}_hi"] = nid + ".", nid + "/"
                    match += [f"(d.source = :source AND d.unit_code = :unit_{i})",
                              f"(d.source = :source AND d.unit_code >= :unit_{i}_lo AND d.unit_code < :unit_{i}_hi)"]
                    continue
                params[f"unit_{i}_under"] = nid.replace("!", "!!").replace("%", "!%").replace("_", "!_") + ".%"
                match.append(f"{scope}.unit_code = :unit_{i} OR {scope}.unit_code LIKE :unit_{i}_under ESCAPE '!'")
            where.append("(" + (" OR ".join(match) or "1 = 0") + ")")
        sql += f" WHERE {plain}d.source = :source"
        if scope_source is not None:
            # A semi-join (IN): one pass over the codes in scope, then one over the source's rows;
            # on SQLite twice as fast as a JOIN's index lookup per row, the same rows (unique codes).
            params["scope_source"] = scope_source
            sql += (" AND d.code IN (SELECT s.code FROM dossiers s WHERE s.source = :scope_source"
                    + "".join(" AND " + w for w in where) + ")")
        else:
            sql += "".join(" AND " + w for w in where)
        df = self._frame(sql, params, [(c, _fact_kind(c)) for c in columns], _typed_facts, alias="d",
                         columnar=columnar)
        if "procedure_code" in df.columns:
            paper = self.result_paper_by_procedure()
            df["result_paper"] = _bool(df["procedure_code"].map(paper), True)
            df["procedure_has_fee"] = _bool(df["procedure_code"].map(self.fee_by_procedure()), False)
        return df

    def procedure_names(self, source: str, codes: Sequence[str]) -> dict[str, str]:
        """code -> the procedure's name as the source gave it, for a few dossiers (a sample's), each
        looked up by the primary key (`_rows_by_code`)."""
        codes = list(dict.fromkeys(str(c) for c in codes))
        with self.engine.connect() as conn:
            return {c: n or "" for c, n in self._rows_by_code(conn, source, codes, ("procedure_name",))}

    def warm_reads(self) -> None:
        """Start ahead what the next columnar read needs (on a SQLite file, its helper process), for
        a caller that reads next after other work; nothing on PostgreSQL (read in-process)."""
        warm_helper(self.engine)

    def _text_in_code_point_order(self) -> bool:
        """Whether the dossiers' text compares by code point (then a prefix is a range of the index):
        SQLite's BINARY collation; on PostgreSQL a database of libc collation C, POSIX or C.UTF-8
        (not ICU, not a language's collation)."""
        if self.dialect == "sqlite":
            return True
        if self._code_point_order is None:
            with self.engine.connect() as conn:
                row = conn.execute(text("SELECT to_jsonb(d) FROM pg_database d WHERE datname = current_database()"
                                        )).scalar() or {}
            self._code_point_order = (row.get("datlocprovider", "c") == "c"
                                      and str(row.get("datcollate", "")).lower() in ("c", "posix", "c.utf-8", "c.utf8"))
        return self._code_point_order

    def result_paper_by_procedure(self) -> dict[str, bool]:
        """The catalogue's "result is a paper document" flag by procedure code (unknown: paper)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(procedures.c.code, procedures.c.result_paper)).all()
        return {code: (True if paper is None else bool(paper)) for code, paper in rows}

    def fee_by_procedure(self) -> dict[str, bool]:
        """The catalogue's "the procedure charges a fee" flag by procedure code (unknown: no fee)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(procedures.c.code, procedures.c.has_fee)).all()
        return {code: bool(fee) for code, fee in rows}

    def _frame(self, sql: str, params: dict, kinds: list[tuple[str, str]], convert, alias: str = "",
               chunk: int = 100_000, columnar: bool = True) -> pd.DataFrame:
        """Run a read query (`{columns}` in `sql` stands for the SELECT list of `kinds`, (name,
        kind) pairs) into a typed frame. First choice: the columnar ADBC drivers (`arrow_read`).
        Otherwise the DB-API driver itself, typed chunk by chunk: for a million rows the ORM's row
        objects cost several times the query, and typing each chunk as it arrives keeps memory to
        the typed frame (text columns become Arrow-backed strings: one buffer per column, not a
        Python object per value). PostgreSQL then streams the rows with COPY ... CSV."""
        frame = None
        if columnar:
            frame = read_frame(self.engine, sql.format(columns=select_list(kinds, self.dialect, alias)), params, kinds)
        if frame is not None:
            return frame  # typed by `kinds` already; `convert` types the DB-API path's text to match
        columns = [name for name, _ in kinds]
        prefix = f"{alias}." if alias else ""
        sql = sql.format(columns=", ".join(prefix + c for c in columns))
        params = {k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in params.items()}
        parts: list[pd.DataFrame] = []
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if self.dialect == "postgresql":
                import io
                import re

                cur = raw.cursor()
                query = cur.mogrify(re.sub(r":(\w+)", r"%(\1)s", sql), params).decode()
                buf = io.StringIO()
                cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buf)
                buf.seek(0)
                reader = pd.read_csv(buf, header=None, names=columns, dtype=str, keep_default_na=False,
                                     na_values=[""], chunksize=chunk)
                parts = [convert(part) for part in reader]
            else:
                cur = raw.cursor()
                try:
                    cur.execute(sql, params)
                    while rows := cur.fetchmany(chunk):
                        parts.append(convert(pd.DataFrame.from_records(rows, columns=columns)))
                finally:
                    cur.close()
        if not parts:
            return convert(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def load_steps(self, source: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """Processing steps that can matter for [start, end]: started by its end and not done before it
        (`metrics.steps_can_matter`). Columns: officer, at (done), step_due, started_at."""
        sql = "SELECT {columns} FROM processing_steps WHERE source = :source"
        params: dict = {"source": source}
        if end is not None:
            sql += " AND (started_at IS NULL OR started_at < :end_excl)"
            params["end_excl"] = datetime.combine(end + timedelta(days=1), datetime.min.time())
        if start is not None:
            sql += " AND (done_at IS NULL OR done_at >= :start)"
            params["start"] = datetime.combine(start, datetime.min.time())
        frame = self._frame(sql, params, [("officer", "label"), ("done_at", "time"), ("step_due", "time"),
                                          ("started_at", "time")], _typed_steps)
        return frame.rename(columns={"done_at": "at"})

    # --- reminders (issue 12) ----------------------------------------------------------------
    def reminder_dossiers(self, source: str, finished_since: date | None = None) -> pd.DataFrame:
        """What the daily reminders read, never the whole store: the OPEN dossiers of `source`
        (`OPEN_STATUSES`) and, with `finished_since`, those finished (`FINISHED_STATUSES`) since that
        day AFTER their due day without an apology slip (the only finished dossiers a rule names:
        `no_apology`; the period's late rate counts the others in SQL, `finished_standings`). One row
        per dossier: code, procedure_name, unit_code, status, due (effective due, else the original),
        finished_at, apology, supplement_since (start of the pending supplement request), officer,
        step_due (of the current processing step: the last one; its deadline only while not done;
        for open dossiers only — no rule sends a finished dossier to its officer).

        Two index searches in one statement (`ix_dossiers_status_source` for the open ones, whose row
        carries its current step: `step_officer`, `step_due_open`, kept at ingestion; `ix_dossiers_ended`
        for the finished ones in the window), not a pass over the whole table nor a search of the steps
        per dossier (on PostgreSQL at a million dossiers, 28 thousand searches of the steps' key took
        0.2 s, five times the rest of the open ones' read). SQLite, without statistics, would rather
        take the source's index for the finished window (every row of the source): `INDEXED BY` names
        the window's. PostgreSQL: through the columnar path (`_reminder_frame_columnar`), else, as on
        SQLite, the driver's tuples with the times and the supplements as text (no `datetime` or JSON
        decoding per value in the driver), typed per column."""
        cols = [name for name, _ in _REMINDER_COLUMNS]
        if self.dialect == "postgresql":
            frame = self._reminder_frame_columnar(source, finished_since)
            if frame is not None:
                return frame
        sql, params = self._reminder_sql(source, finished_since, times_as_text=self.dialect == "postgresql")
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).fetchall()
        # column by column from the driver's tuples: the dates parsed from the raw values, the
        # supplements (NULL unless one is pending) looked at only where present
        values = dict(zip(cols, zip(*rows, strict=True), strict=True)) if rows else {c: () for c in cols}
        frame = pd.DataFrame({c: pd.Series(values[c], dtype=object) for c in
                              ("code", "procedure_name", "unit_code", "officer")})
        frame.insert(3, "status", np.asarray(values["status"], dtype="int64"))
        for at, c in ((4, "due"), (5, "finished_at")):
            frame.insert(at, c, _dates_of(values[c]))
        frame.insert(6, "apology", _bool(pd.Series(values["apology"], dtype=object), False))
        frame["step_due"] = _dates_of(values["step_due"])
        frame["supplement_since"] = [None if v is None else _pending_since(v) for v in values["supplements"]]
        return frame

    def _reminder_sql(self, source: str, finished_since: date | None, times_as_text: bool) -> tuple[str, dict]:
        """The statement of `reminder_dossiers`: the times as text (`times_as_text`, for the DB-API
        path on PostgreSQL) or as stored; the supplements always as text."""
        ended = "COALESCE(d.finished_at, d.returned_at)"
        due = "COALESCE(d.effective_due_at, d.due_at)"
        as_text = (lambda e: f"CAST({e} AS TEXT)") if self.dialect == "postgresql" else (lambda e: e)
        time = as_text if times_as_text else (lambda e: e)
        common = f"d.code, d.procedure_name, d.unit_code, d.status, {time(due)}, {time(ended)}, d.apology"
        sql = (f"SELECT {common}, {as_text('CASE WHEN d.supplement_pending THEN d.supplements END')}, "
               f"d.step_officer, {time('d.step_due_open')} FROM dossiers d WHERE d.source = :source "
               f"AND d.status IN ({sql_in(OPEN_STATUSES)})")
        params: dict = {"source": source}
        if finished_since is not None:
            pin = " INDEXED BY ix_dossiers_ended" if self.dialect == "sqlite" else ""
            sql += (f" UNION ALL SELECT {common}, NULL, NULL, NULL FROM dossiers d{pin} WHERE d.source = :source "
                    f"AND {ended} >= :since AND d.status IN ({sql_in(FINISHED_STATUSES)}) AND NOT d.apology "
                    f"AND {self._day(ended)} > {self._day(due)}")
            params["since"] = self._since(finished_since)
        return sql, params

    def _reminder_frame_columnar(self, source: str, finished_since: date | None) -> pd.DataFrame | None:
        """`reminder_dossiers` through the columnar path (PostgreSQL: binary COPY into Arrow on a
        kept connection, 0.08-0.13 s instead of 0.17-0.27 s for 30 thousand rows at a million
        dossiers): the same frame, or None when that path is not available."""
        typed, params = self._reminder_sql(source, finished_since, times_as_text=False)
        f = read_frame(self.engine, typed, params, _REMINDER_COLUMNS)
        if f is None:
            return None
        frame = pd.DataFrame({c: f[c].astype(object) for c in ("code", "procedure_name", "unit_code")})
        frame["status"] = f["status"].to_numpy(dtype="int64")
        frame["due"] = f["due"].astype("datetime64[us]")
        frame["finished_at"] = f["finished_at"].astype("datetime64[us]")
        frame["apology"] = f["apology"].to_numpy(dtype=bool)
        officer = f["officer"].astype(object)
        frame["officer"] = officer.where(officer != "", None)  # text NULL comes as "": no officer either way
        frame["step_due"] = f["step_due"].astype("datetime64[us]")
        frame["supplement_since"] = [_pending_since(v) if v else None for v in f["supplements"].tolist()]
        return frame

    def finished_standings(self, source: str, since: date) -> pd.DataFrame:
        """Per stored unit, the dossiers of `source` finished (`FINISHED_STATUSES`) since `since`:
        `finished` (all of them), `resolved` (done or result returned) and `late` (resolved on a
        day after their due day: effective due, else the original). One GROUP BY over the window's
        index (`ix_dossiers_ended`), as `reminder_dossiers` reads it; units with none are absent."""
        ended = "COALESCE(d.finished_at, d.returned_at)"
        due = "COALESCE(d.effective_due_at, d.due_at)"
        resolved = f"d.status IN ({sql_in((Status.DONE, Status.RETURNED))})"
        pin = " INDEXED BY ix_dossiers_ended" if self.dialect == "sqlite" else ""
        sql = (f"SELECT d.unit_code, COUNT(*), SUM(CASE WHEN {resolved} THEN 1 ELSE 0 END), "
               f"SUM(CASE WHEN {resolved} AND {self._day(ended)} > {self._day(due)} THEN 1 ELSE 0 END) "
               f"FROM dossiers d{pin} WHERE d.source = :source AND {ended} >= :since "
               f"AND d.status IN ({sql_in(FINISHED_STATUSES)}) GROUP BY d.unit_code")
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), {"source": source, "since": self._since(since)}).fetchall()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["unit_code", "finished", "resolved", "late"])
        return frame.astype({"finished": "int64", "resolved": "int64", "late": "int64"})

    def _day(self, expr: str) -> str:
        """The calendar day of a stored (naive, local) time, comparable between two columns."""
        return f"date({expr})" if self.dialect == "sqlite" else f"CAST({expr} AS DATE)"

    def _since(self, day: date):
        since = datetime.combine(day, datetime.min.time())
        return since.isoformat(sep=" ") if self.dialect == "sqlite" else since


_LABEL_COLUMNS = ("unit_code", "procedure_code", "procedure_name", "field_code", "field_name")


def _fact_kind(column: str) -> str:
    if column in Store.DATE_COLUMNS:
        return "time"
    if column in Store.BOOL_COLUMNS:
        return "bool"
    if column in ("status", "channel", "supplement_count"):
        return "int"
    if column in ("online_level", "evaluation"):
        return "float"
    if column in _LABEL_COLUMNS:
        return "label"
    return "text"


def _typed_steps(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("done_at", "step_due", "started_at"):
        df[c] = _to_datetime(df[c]).astype("datetime64[us]")
    df["officer"] = _label(df["officer"])
    return df


def _pending_since(supplements) -> datetime | None:
    """When the pending supplement request (no completion time) of a stored `supplements` list began."""
    if isinstance(supplements, str):
        supplements = orjson.loads(supplements)
    for s in reversed(supplements or []):
        if s and s[0] and not s[1]:
            at = datetime.fromisoformat(s[0])
            return at.astimezone(VN).replace(tzinfo=None) if at.tzinfo else at
    return None


def _quarantine_upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(quarantine)
    return stmt.on_conflict_do_update(
        index_elements=["source", "raw_hash"],
        set_={"last_seen": stmt.excluded.last_seen, "run_id": stmt.excluded.run_id,
              "reason": stmt.excluded.reason, "field": stmt.excluded.field,
              "retry_from": stmt.excluded.retry_from, "retry_to": stmt.excluded.retry_to},
    )


def _dates_of(values: Sequence) -> pd.Series:
    """Driver values (ISO text on SQLite, datetimes on PostgreSQL, None) as datetime64."""
    if not len(values):
        return pd.Series(pd.NaT, index=pd.RangeIndex(0), dtype="datetime64[ns]")
    return _to_datetime(pd.Series(values, dtype=object))


def _to_datetime(s: pd.Series) -> pd.Series:
    if _textual(s):
        return pd.to_datetime(s, format="ISO8601", errors="coerce")
    return pd.to_datetime(s)


_BOOL_TEXT = {"t": True, "f": False, "1": True, "0": False, 1: True, 0: False}  # 1 == True, 0 == False


def _textual(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _bool(col: pd.Series, default: bool) -> pd.Series:
    if _textual(col):
        col = col.map(_BOOL_TEXT)
    known = col.notna().to_numpy()
    out = np.full(len(col), default, dtype=bool)
    out[known] = col[known].astype(bool).to_numpy()
    return pd.Series(out, index=col.index)


def _typed_facts(df: pd.DataFrame) -> pd.DataFrame:
    cols = set(df.columns)
    for c in Store.DATE_COLUMNS:
        if c in cols:
            df[c] = _to_datetime(df[c]).astype("datetime64[us]")
    for c in Store.BOOL_COLUMNS:
        if c in cols:
            df[c] = _bool(df[c], False)
    for c in ("status", "channel", "supplement_count"):
        if c in cols:
            df[c] = pd.to_numeric(df[c]).fillna(0).astype("int16")
    for c in ("online_level", "evaluation"):
        if c in cols:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    if "code" in cols and (df["code"].dtype == object or df["code"].isna().any()):
        df["code"] = df["code"].fillna("").astype(str)
    for c in _LABEL_COLUMNS:
        if c in cols:
            df[c] = _label(df[c])
    return df


def _label(col: pd.Series) -> pd.Series:
    """Text with few distinct values as a Categorical with sorted categories ("" for NULL)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col
    return sorted_categories(col.fillna("").astype(str))


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite_file(path: Path) -> None:
    """A SQLite URL naming an existing file that is not a SQLite database (or a folder): one clear
    StoreError, before anything opens or writes it."""
    if path.is_dir():
        raise StoreError(f"{path}: là một thư mục, không phải tệp cơ sở dữ liệu SQLite (a directory)")
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as e:
        raise StoreError(f"{path}: không đọc được tệp cơ sở dữ liệu ({e.strerror or type(e).__name__})") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{path}: tệp này không phải cơ sở dữ liệu SQLite (not a SQLite database file); "
                         "hãy kiểm tra database_url / CCHC_DATABASE_URL")


#: how long a connection waits for a lock (ms), and for switching a new file to WAL (s, see below)
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WAL_SWITCH_S = 30.0


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL, NORMAL sync, a 30 s busy timeout. Several processes opening a file that does not exist yet
    (two `cchc demo` started together) each switch it to WAL at once: SQLite answers one of them
    "database is locked" without waiting (waiting could deadlock), 1 connection in 20 when four
    start on a barrier. The switch is retried until the first one's is done."""
    import sqlite3
    import time

    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    deadline, pause = time.monotonic() + _WAL_SWITCH_S, 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
