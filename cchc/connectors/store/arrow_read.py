"""Columnar reads: a query's rows straight into Arrow columns (ADBC), then one pandas frame.

For a million dossiers the Python DB-API (a tuple per row, an object per value) costs several
times the query itself; the ADBC drivers for SQLite and PostgreSQL build Arrow buffers in C
(PostgreSQL through binary COPY). Text timestamps (SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff`)
are parsed by Arrow, text stays Arrow-backed in pandas, units, procedures, fields and officers
become Categoricals.

SQLite reads run in a helper process (`python -m cchc.connectors.arrow_table`, Arrow IPC on its
stdout): the ADBC SQLite driver links its own copy of SQLite, and two copies in one process
silently release each other's POSIX locks on the database file; in a separate process the ordinary
file locking between processes applies. A plain subprocess, not multiprocessing: nothing of the
caller's main module is re-run. The period's reads, each in its process, run on both cores.

`read_frame` returns None when the columnar path cannot serve the engine (an in-memory SQLite
database, another dialect, the driver not installed, the helper failing); the caller then reads
through the DB-API, to the same frame.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Engine

from cchc.connectors.arrow_table import KINDS, PEAK_KEY, check_kinds, close_idle, collect, read_table

__all__ = ["KINDS", "close_reads", "helper_peak_mb", "read_frame", "select_list", "sorted_categories",
           "warm_helper"]

log = logging.getLogger(__name__)
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_STR = pd.StringDtype("pyarrow", na_value=float("nan"))  # pandas' own `str` dtype


def _start_helper() -> tuple[int, subprocess.Popen, object]:
    """A helper process (it imports pyarrow and the driver, then waits for its spec on stdin):
    (the starting process's pid, the process, its stderr file)."""
    errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty helper cannot block on a full stderr pipe
    proc = subprocess.Popen([sys.executable, "-m", "cchc.connectors.arrow_table"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=errors)
    return os.getpid(), proc, errors


_spare: list[tuple[int, subprocess.Popen, object]] = []  # started ahead by `warm_helper`, at most one


def warm_helper(engine: Engine) -> bool:
    """For a SQLite file read through helper processes: start the next read's helper now, so that
    the read does not wait for the interpreter and its imports (about half a second) while the
    caller goes on with other work. At most one waits; one left unused ends when this process
    does. False (nothing started) for another engine."""
    target = _target(engine)
    if target is None or target[0] != "sqlite":
        return False
    if not any(pid == os.getpid() and proc.poll() is None for pid, proc, _ in _spare):
        _spare.append(_start_helper())
    return True


def _take_helper() -> tuple[subprocess.Popen, object]:
    """The helper started ahead by this process, if it is still waiting, else a new one."""
    while _spare:
        try:
            pid, proc, errors = _spare.pop()
        except IndexError:  # another thread took it
            break
        if pid == os.getpid() and proc.poll() is None:  # not a forked parent's, not dead
            return proc, errors
        if pid == os.getpid():
            errors.close()
    return _start_helper()[1:]


@atexit.register
def _drop_spare() -> None:
    """An unused helper gets end-of-file on its stdin and exits (reaped here)."""
    while _spare:
        pid, proc, errors = _spare.pop()
        if pid != os.getpid():
            continue
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
        errors.close()


def _read_in_helper(driver: str, target: str, query: str, columns, batch_rows: int) -> pa.Table:
    """`typed_batches` in a child process, streamed back as Arrow IPC and collected here."""
    spec = json.dumps({"driver": driver, "target": target, "query": query,
                       "columns": [list(c) for c in columns], "batch_rows": batch_rows})
    proc, errors = _take_helper()
    with errors, proc:
        proc.stdin.write(spec.encode())
        proc.stdin.close()
        try:
            reader = pa.ipc.open_stream(proc.stdout)
            table = collect((batch.columns for batch in reader), columns)
        except pa.ArrowInvalid:
            table = None
        code = proc.wait()
        errors.seek(0)
        lines = errors.read().decode(errors="replace").strip().splitlines()
    if code != 0 or table is None:
        raise RuntimeError(lines[-1] if lines else f"helper exited with code {code}")
    global _helper_peak_kb
    for line in lines[-1:]:
        if line.startswith(PEAK_KEY + "="):
            _helper_peak_kb = max(_helper_peak_kb, int(line.split("=", 1)[1]))
    return table


_helper_peak_kb = 0


def helper_peak_mb() -> float:
    """The largest peak resident memory of any helper process so far (MB)."""
    return _helper_peak_kb / 1024.0


def close_reads(engine: Engine) -> None:
    """Close the connections the columnar reads keep for `engine` (PostgreSQL)."""
    target = _target(engine)
    if target is not None and target[0] == "postgresql":
        close_idle(target[1])


def _target(engine: Engine) -> tuple[str, str] | None:
    """(driver, target) for the columnar path, or None."""
    url = engine.url
    if engine.dialect.name == "sqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return "sqlite", path
    if engine.dialect.name == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _inline(sql: str, params: Mapping, dialect: str) -> str:
    """`:name` parameters written into the query as SQL literals. PostgreSQL: the ADBC driver streams
    a query's rows with COPY only when nothing is bound; with bound parameters it returns the whole
    result as one batch, a gigabyte for a million dossiers. SQLite: the helper then converts no Python
    value (`arrow_table._scalar`); times are the stored text's form, compared as text."""

    def sub(m: re.Match) -> str:
        value = params[m.group(1)]
        cast = None
        if isinstance(value, datetime):  # SQLite compares the stored text; PostgreSQL casts it
            value, cast = value.isoformat(sep=" "), "TIMESTAMP"
        elif isinstance(value, date):
            value, cast = value.isoformat(), "DATE"
        literal = _literal(value, dialect)
        return f"CAST({literal} AS {cast})" if cast and dialect == "postgresql" else literal

    return _PARAM.sub(sub, sql)


def _literal(value, dialect: str) -> str:
    """A literal for the store's own parameters (text, integers, None)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if dialect == "postgresql" else str(int(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        if "\x00" in value or "$cchc$" in value:
            raise ValueError("query parameter cannot be quoted")
        if dialect == "postgresql":
            return f"$cchc${value}$cchc$"  # dollar quoting: no escapes, whatever the server settings
        return "'" + value.replace("'", "''") + "'"  # SQLite: standard quoting, no backslash escapes
    raise TypeError(f"unsupported query parameter type {type(value).__name__}")


def select_list(columns: Sequence[tuple[str, str]], dialect: str, alias: str = "") -> str:
    """The SELECT list for `read_frame`: on SQLite, text and time columns are COALESCEd to ''
    so that the driver's type inference never meets a NULL-only first batch."""
    prefix = f"{alias}." if alias else ""
    out = []
    for name, kind in columns:
        expr = prefix + name
        if dialect == "sqlite" and kind in ("text", "label", "time"):
            expr = f"COALESCE({expr}, '')"
        out.append(expr)
    return ", ".join(out)


def read_frame(engine: Engine, sql: str, params: Mapping, columns: Sequence[tuple[str, str]],
               batch_rows: int = 65_536) -> pd.DataFrame | None:
    """Run `sql` (named `:params`) and return its rows as a typed frame: `columns` are
    (name, kind) pairs in select order, kind one of KINDS. Text NULL -> "", int NULL -> 0,
    bool NULL -> False, float and time NULL -> NaN / NaT; times naive (local wall clock); "label"
    columns as Categoricals with sorted categories. None when the columnar path is not available."""
    check_kinds(columns)
    target = _target(engine)
    if target is None:
        return None
    driver, where = target
    query = _inline(sql, params, driver)
    try:
        if driver == "sqlite":
            table = _read_in_helper(driver, where, query, columns, batch_rows)
        else:
            table = read_table(driver, where, query, columns, batch_rows)
    except Exception as e:  # noqa: BLE001 - an optimisation: the same rows come through the DB-API
        reason = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        log.warning("Đọc theo cột từ %s không được (%s); đọc qua DB-API / columnar read from %s failed (%s); "
                    "reading through the DB-API", *(engine.url.render_as_string(hide_password=True), reason) * 2)
        return None
    frame = table.to_pandas(types_mapper=lambda t: _STR if t == pa.string() else None, self_destruct=True,
                            split_blocks=True)
    del table
    pa.default_memory_pool().release_unused()  # the Arrow pool's freed pages back to the system
    for name, kind in columns:
        if kind == "label":
            frame[name] = sorted_categories(frame[name])
    return frame


def sorted_categories(s: pd.Series) -> pd.Series:
    """A Categorical of text whose categories are sorted (so grouping by codes sorts like text)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype("category")
    cats = s.cat.categories
    ordered = sorted(str(c) for c in cats)
    if list(cats) != ordered:
        s = s.cat.rename_categories([str(c) for c in cats]).cat.reorder_categories(ordered)
    return s
