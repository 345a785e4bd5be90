"""Several processes opening a SQLite store that does not exist yet, at the same moment (two `cchc demo`
started together in a new folder): each connection switches the new file to WAL, and SQLite answers
one of them "database is locked" without waiting (1 connection in 20 when four start on a barrier,
before the switch was retried). Every one must open."""

from __future__ import annotations

import multiprocessing as mp


def _open(path: str, barrier, results) -> None:
    import sqlite3

    from cchc.connectors.store.repository import _sqlite_pragmas

    barrier.wait()
    try:
        conn = sqlite3.connect(path)
        _sqlite_pragmas(conn, None)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.execute("SELECT name FROM sqlite_master").fetchall()
        conn.close()
        results.put(mode)
    except Exception as e:  # noqa: BLE001 — reported to the test
        results.put(f"{type(e).__name__}: {e}")


def test_processes_opening_a_new_store_at_once_all_open_in_wal(tmp_path):
    ctx = mp.get_context("forkserver")  # clean children (no threads of the test process), cheap to start
    ctx.set_forkserver_preload(["cchc.connectors.store.repository"])
    outcomes = []
    for i in range(50):
        path = str(tmp_path / f"moi-{i}.sqlite")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        outcomes += [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    assert outcomes == ["wal"] * 200, sorted(set(outcomes))
