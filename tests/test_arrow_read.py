"""The columnar read path (ADBC) gives the same typed frames as the DB-API path, on both databases."""

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

from cchc.connectors.store import Store
from cchc.connectors.store import repository as repo
from cchc.connectors.store.arrow_read import read_frame, select_list
from cchc.domain.calendar import WorkCalendar
from cchc.pipeline.ingest import store_page

AS_OF = date(2026, 11, 20)


def _filled(url: str, n: int = 400) -> Store:
    from cchc.simulator.ward import SyntheticWard

    s = Store(url)
    s.migrate()
    ward = SyntheticWard(seed=3, n_dossiers=n, as_of=AS_OF)
    idx = list(ward.all_indices())
    cal = WorkCalendar()
    store_page(s, "provincial", [ward.canonical(i) for i in idx], None, cal, None)
    store_page(s, "national", [r for r in (ward.national(i) for i in idx) if r is not None], None, cal, None)
    return s


def _both_paths(s: Store, monkeypatch, read):
    calls = []

    def recorded(*a, **k):
        frame = read_frame(*a, **k)
        calls.append(frame is not None)
        return frame

    monkeypatch.setattr(repo, "read_frame", recorded)
    columnar = read()
    assert calls and all(calls), "the columnar path was not taken"
    monkeypatch.setattr(repo, "read_frame", lambda *a, **k: None)
    dbapi = read()
    monkeypatch.undo()
    return columnar, dbapi


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    a = a.sort_values(list(a.columns[:1])).reset_index(drop=True)
    b = b.sort_values(list(b.columns[:1])).reset_index(drop=True)
    for c in a.columns:
        if pd.api.types.is_string_dtype(a[c]) or a[c].dtype == object:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c
        else:
            assert a[c].dtype == b[c].dtype or (a[c].dtype.kind == b[c].dtype.kind), (c, a[c].dtype, b[c].dtype)
            pd.testing.assert_series_equal(a[c], b[c], check_dtype=False, check_names=False, obj=c)


def test_columnar_path_is_used_and_agrees_with_dbapi(db_url, monkeypatch):
    s = _filled(db_url)
    kinds = [("code", "text"), ("status", "int")]
    assert read_frame(s.engine, "SELECT " + select_list(kinds, s.dialect) + " FROM dossiers", {}, kinds) is not None
    start, end = date(2026, 1, 1), date(2026, 10, 31)
    facts, facts_dbapi = _both_paths(s, monkeypatch, lambda: s.load_facts("provincial", start, end))
    assert len(facts) > 100
    assert facts["finished_at"].isna().any() and facts["finished_at"].notna().any()
    _same(facts, facts_dbapi)
    nat, nat_dbapi = _both_paths(s, monkeypatch, lambda: s.load_facts(
        "national", start, end, scope_source="provincial", columns=s.NATIONAL_COLUMNS))
    _same(nat, nat_dbapi)
    steps, steps_dbapi = _both_paths(s, monkeypatch, lambda: s.load_steps("provincial", start, end))
    assert list(steps.columns) == ["officer", "at", "step_due", "started_at"]
    _same(steps.sort_values(["officer", "at"]), steps_dbapi.sort_values(["officer", "at"]))


def test_null_first_rows_do_not_break_sqlite_type_inference(sqlite_url):
    # The SQLite driver infers a column's type from its first batch: a time column NULL in the
    # whole first batch and text later must still come back as times.
    s = _filled(sqlite_url, 60)
    with s.engine.begin() as c:
        c.execute(text("UPDATE dossiers SET finished_at = NULL WHERE code IN "
                       "(SELECT code FROM dossiers ORDER BY code LIMIT 5)"))
    kinds = [("code", "text"), ("finished_at", "time"), ("online_level", "float")]
    sql = "SELECT " + select_list(kinds, s.dialect) + " FROM dossiers ORDER BY code"
    frame = read_frame(s.engine, sql, {}, kinds, batch_rows=2)
    assert frame is not None
    assert frame["finished_at"].iloc[:5].isna().all()
    assert str(frame["finished_at"].dtype) == "datetime64[us]"
    assert frame["finished_at"].notna().any()


def test_in_memory_sqlite_falls_back_to_dbapi():
    s = Store("sqlite://")
    assert read_frame(s.engine, "SELECT 1 AS x", {}, [("x", "int")]) is None


def test_parameters_bind_by_name_in_order(db_url):
    s = _filled(db_url, 50)
    kinds = [("code", "text")]
    sql = ("SELECT " + select_list(kinds, s.dialect) + " FROM dossiers WHERE source = :src AND status >= :lo"
           " AND status <= :hi AND source = :src")
    got = read_frame(s.engine, sql, {"src": "provincial", "lo": 2, "hi": 10}, kinds)
    with s.engine.connect() as c:
        want = c.execute(text("SELECT count(*) FROM dossiers WHERE source = 'provincial' AND status BETWEEN 2 AND 10")
                         ).scalar()
    assert len(got) == want > 0


@pytest.mark.parametrize("kind", ["nope"])
def test_unknown_kind_is_named(sqlite_url, kind):
    s = _filled(sqlite_url, 5)
    with pytest.raises(ValueError, match="nope"):
        read_frame(s.engine, "SELECT code FROM dossiers", {}, [("code", kind)])


def test_sqlite_read_waits_for_a_lock_instead_of_falling_back(sqlite_url):
    # The lock is held by this process's own sqlite3 module. The ADBC driver links another copy of
    # SQLite; in this process it would not even see the lock (two copies do not share POSIX lock
    # state), which is why SQLite reads run in a helper process: there the lock holds, and the
    # reader waits for it (busy_timeout) rather than failing over to the slow path.
    import sqlite3
    import threading
    import time

    s = _filled(sqlite_url, 30)
    s.engine.dispose()
    path = sqlite_url[len("sqlite:///"):]
    locker = sqlite3.connect(path, check_same_thread=False, timeout=10)
    locker.execute("PRAGMA journal_mode = DELETE")  # (in WAL mode a writer never blocks readers)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, lambda: (locker.commit(), locker.close()))
    release.start()
    t0 = time.perf_counter()
    kinds = [("code", "text")]
    got = read_frame(s.engine, "SELECT " + select_list(kinds, s.dialect) + " FROM dossiers", {}, kinds)
    release.join()
    assert got is not None, "the columnar read gave up on a lock held for a second"
    assert len(got) >= 30 and time.perf_counter() - t0 >= 0.5


def test_a_failing_helper_is_reported_and_the_caller_falls_back(sqlite_url, caplog):
    s = _filled(sqlite_url, 5)
    kinds = [("code", "text")]
    with caplog.at_level("WARNING"):
        got = read_frame(s.engine, "SELECT COALESCE(code, '') FROM no_such_table", {}, kinds)
    assert got is None
    assert "no_such_table" in caplog.text and "DB-API" in caplog.text
    assert "cchc.sqlite" in caplog.text  # which database


def test_parameters_with_quotes_and_backslashes_are_values_not_sql(db_url):
    s = _filled(db_url, 5)
    kinds = [("code", "text")]
    sql = "SELECT " + select_list(kinds, s.dialect) + " FROM dossiers WHERE source = :src"
    for tricky in ("it's", "a\\'b", "x'; DROP TABLE dossiers; --", "$1"):
        got = read_frame(s.engine, sql, {"src": tricky}, kinds)
        assert got is not None and len(got) == 0, tricky
    assert s.count_dossiers() > 0


def _helpers_running() -> int:
    """This process's children running the read helper (from /proc)."""
    import os
    from pathlib import Path

    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        n += int(fields[1]) == os.getpid() and b"cchc.connectors.arrow_table" in cmd
    return n


def test_a_helper_started_ahead_serves_the_next_read(db_url):
    """`Store.warm_reads` starts one SQLite helper ahead (never two); the next read uses it and gets
    the same frame; on PostgreSQL (read in-process) nothing starts."""
    s = _filled(db_url, 20)
    kinds = [("code", "text"), ("received_at", "time")]
    sql = "SELECT " + select_list(kinds, s.dialect) + " FROM dossiers WHERE source = :src"
    cold = read_frame(s.engine, sql, {"src": "provincial"}, kinds)
    assert _helpers_running() == 0
    s.warm_reads()
    s.warm_reads()
    assert _helpers_running() == (1 if s.dialect == "sqlite" else 0)
    warm = read_frame(s.engine, sql, {"src": "provincial"}, kinds)
    assert _helpers_running() == 0  # the helper started ahead served the read and was reaped
    _same(warm, cold)
    assert len(warm) > 0


def test_the_sqlite_helper_never_imports_pandas(sqlite_url):
    """The helper process (`arrow_table.main`, in a fresh interpreter) types every kind of column,
    NULLs and empty text included, without pyarrow's Python conversions, which import pandas: ~50 MB
    and a fifth of a second for every SQLite read."""
    import json
    import subprocess
    import sys

    import pyarrow as pa

    s = _filled(sqlite_url, 40)
    kinds = [("code", "text"), ("unit_code", "label"), ("name", "text"), ("finished_at", "time"),
             ("received_at", "time"), ("n", "int"), ("apology", "bool"), ("online_level", "float")]
    first = "(SELECT code FROM dossiers WHERE source = 'provincial' ORDER BY code LIMIT 7)"  # NULLs in these
    sql = (f"SELECT code, unit_code, CASE WHEN code IN {first} THEN NULL ELSE procedure_name END, "
           f"CASE WHEN code IN {first} THEN '' ELSE COALESCE(finished_at, '') END, received_at, "
           f"CASE WHEN code IN {first} THEN NULL ELSE supplement_count END, "
           f"CASE WHEN code IN {first} THEN NULL ELSE apology END, online_level "
           "FROM dossiers WHERE source = 'provincial' ORDER BY code")
    spec = {"driver": "sqlite", "target": sqlite_url[len("sqlite:///"):], "query": sql,
            "columns": [list(k) for k in kinds], "batch_rows": 8}
    probe = ("import sys\nfrom cchc.connectors import arrow_table as at\ncode = at.main()\n"
             "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', file=sys.stderr)\n"
             "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe], input=json.dumps(spec).encode(), capture_output=True,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().strip().splitlines()[-1] == "no pandas"
    table = pa.ipc.open_stream(done.stdout).read_all()
    frame = read_frame(s.engine, sql, {}, kinds)
    assert table.num_rows == len(frame) == 40
    assert table.column("finished_at").null_count >= 7 and table.column("n").null_count == 0
    assert table.column("name").to_pylist()[:7] == [""] * 7 and all(table.column("name").to_pylist()[7:])
    assert table.column("n").to_pylist()[:7] == [0] * 7 and table.column("apology").to_pylist()[:7] == [False] * 7
    assert frame["finished_at"].isna().sum() >= 7 and str(frame["received_at"].dtype) == "datetime64[us]"


def test_postgresql_reads_keep_a_connection_and_replace_a_dead_one(pg_url):
    """A PostgreSQL read leaves its connection for the next (one backend for two reads, without JIT);
    a kept connection the server has ended is replaced, and the read still takes the columnar path."""
    s = _filled(pg_url, 20)
    kinds = [("code", "text"), ("jit", "text"), ("pid", "text")]
    sql = "SELECT code, current_setting('jit'), pg_backend_pid()::text FROM dossiers WHERE source = :src"
    first = read_frame(s.engine, sql, {"src": "provincial"}, kinds)
    second = read_frame(s.engine, sql, {"src": "provincial"}, kinds)
    assert first is not None and second is not None and len(first) == len(second) > 0
    assert set(first["jit"]) == {"off"}
    assert set(first["pid"]) == set(second["pid"])  # the same backend: the connection was kept
    with s.engine.begin() as c:
        c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": int(first["pid"].iloc[0])})
    third = read_frame(s.engine, sql, {"src": "provincial"}, kinds)
    assert third is not None, "a dead kept connection made the read fall back"
    assert len(third) == len(first) and set(third["pid"]) != set(first["pid"])
    s.dispose()  # closes the kept connections
    with s.engine.connect() as c:
        left = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid()")).scalar()
    assert left == 0
