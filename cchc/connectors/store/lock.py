"""One sync at a time per store.

Two syncs writing the same dossiers at once would race on their processing steps (each deletes and
re-inserts them). The sync holds this lock for its whole run; a second one waits (bounded) and then
says in one line that a sync is running.

- PostgreSQL: a session-level advisory lock on a connection held for the run. The server releases
  it when the connection ends, so a holder killed with -9 never blocks the next run.
- SQLite: a lease row in `sync_lock`, taken with one atomic conditional upsert and kept alive by a
  heartbeat thread. A lease whose heartbeat is older than `lease_s`, or whose holder process (same
  host) is gone, is taken over.

The `sync_lock` row (holder run id, process, host, since when) is written on both engines so the
"sync running" message can say who holds it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine

from cchc.connectors.store.schema import sync_lock, sync_runs
from cchc.domain.calendar import VN_TZ as VN

LOCK_NAME = "sync"
_PG_KEY = zlib.crc32(b"cchc.sync") & 0x7FFFFFFF


def _now() -> datetime:
    return datetime.now(VN).replace(tzinfo=None, microsecond=0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@contextmanager
def hold(engine: Engine, run_id: str, busy_error: type[Exception], *, wait_s: float = 60.0, lease_s: float = 30.0,
         poll_s: float = 0.25) -> Iterator[None]:
    """Hold the store's sync lock for the `with` block, waiting at most `wait_s` seconds for it;
    then `busy_error` (message: who holds it)."""
    me = {"holder": run_id, "pid": os.getpid(), "host": socket.gethostname()[:255]}
    deadline = time.monotonic() + max(0.0, wait_s)
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar():
                conn.rollback()
                if time.monotonic() >= deadline:
                    raise busy_error(_busy_message(engine, wait_s))
                time.sleep(poll_s)
            conn.commit()
            _write_row(engine, me)
            _mark_stale_runs(engine, run_id)
            try:
                yield
            finally:
                _release_row(engine, run_id)
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
                conn.commit()
        finally:
            conn.close()
        return

    while not _try_lease(engine, me, lease_s):
        if time.monotonic() >= deadline:
            raise busy_error(_busy_message(engine, wait_s))
        time.sleep(poll_s)
    _mark_stale_runs(engine, run_id)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(engine, run_id, lease_s / 3, stop), daemon=True,
                            name="cchc-sync-lock")
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=5)
        _release_row(engine, run_id)


def _try_lease(engine: Engine, me: dict, lease_s: float) -> bool:
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(select(sync_lock).where(sync_lock.c.name == LOCK_NAME)).mappings().first()
        if row is not None and row["host"] == me["host"] and row["holder"] != me["holder"] \
                and not _pid_alive(row["pid"]):
            # its holder died (kill -9) on this machine: no need to wait for the lease to run out
            conn.execute(delete(sync_lock).where(sync_lock.c.name == LOCK_NAME,
                                                 sync_lock.c.holder == row["holder"]))
    stale = now - timedelta(seconds=lease_s)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sync_lock (name, holder, pid, host, acquired_at, heartbeat_at) "
            "VALUES (:name, :holder, :pid, :host, :now, :now) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, "
            "acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at "
            "WHERE sync_lock.heartbeat_at < :stale OR sync_lock.holder = excluded.holder"),
            {"name": LOCK_NAME, **me, "now": now, "stale": stale})
        holder = conn.execute(select(sync_lock.c.holder).where(sync_lock.c.name == LOCK_NAME)).scalar()
    return holder == me["holder"]


def _heartbeat(engine: Engine, run_id: str, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(every_s):
        try:
            with engine.begin() as conn:
                conn.execute(sync_lock.update().where(sync_lock.c.name == LOCK_NAME, sync_lock.c.holder == run_id)
                             .values(heartbeat_at=_now()))
        except Exception:  # noqa: BLE001 — a busy database now and then: the next beat tries again
            continue


def _write_row(engine: Engine, me: dict) -> None:
    now = _now()
    with engine.begin() as conn:
        conn.execute(delete(sync_lock).where(sync_lock.c.name == LOCK_NAME))
        conn.execute(sync_lock.insert().values(name=LOCK_NAME, acquired_at=now, heartbeat_at=now, **me))


def _release_row(engine: Engine, run_id: str) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(delete(sync_lock).where(sync_lock.c.name == LOCK_NAME, sync_lock.c.holder == run_id))
    except Exception:  # noqa: BLE001 — the lease runs out by itself (SQLite); PostgreSQL's lock is released anyway
        pass


def _mark_stale_runs(engine: Engine, run_id: str) -> None:
    """Runs still "running" while we hold the lock were killed before they could say so."""
    with engine.begin() as conn:
        conn.execute(sync_runs.update().where(sync_runs.c.status == "running", sync_runs.c.run_id != run_id)
                     .values(status="interrupted", finished_at=_now(),
                             error="lần chạy bị dừng đột ngột (tiến trình bị tắt) / the process was killed"))


def _busy_message(engine: Engine, wait_s: float) -> str:
    try:
        with engine.connect() as conn:
            row = conn.execute(select(sync_lock).where(sync_lock.c.name == LOCK_NAME)).mappings().first()
    except Exception:  # noqa: BLE001
        row = None
    who = ""
    if row is not None:
        who = f" (lần chạy {row['holder']}, tiến trình {row['pid']} trên {row['host']}, từ {row['acquired_at']:%H:%M:%S %d/%m/%Y})"
    return (f"Một lần đồng bộ khác đang chạy trên kho dữ liệu này{who}; đã chờ {wait_s:g} giây — hãy thử lại sau "
            "/ another sync is running on this store")
