"""Columnar reads: a query's rows straight into Arrow columns (ADBC), then one pandas frame.

For a million dossiers the Python DB-API (a tuple per row, an object per value) costs several
times the query itself; the ADBC drivers for SQLite and PostgreSQL build Arrow buffers in C
(PostgreSQL through binary COPY). Text timestamps (SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff`)
are parsed by Arrow, text stays Arrow-backed in pandas, units, procedures, fields and officers
become Categoricals.

SQLite reads run in a helper process (`arrow_table.read_table`): the ADBC SQLite driver links its
own copy of SQLite, and two copies in one process silently release each other's POSIX locks on
the database file; in a separate process the ordinary file locking between processes applies.
The helper processes (two, spawned on first use) also let the period's reads run on both cores.

`read_frame` returns None when the columnar path cannot serve the engine (an in-memory SQLite
database, another dialect, the driver not installed, the helper failing); the caller then reads
through the DB-API, to the same frame.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Engine

from cchc.connectors.store.arrow_table import KINDS, check_kinds, read_table

__all__ = ["KINDS", "read_frame", "select_list", "sorted_categories"]

log = logging.getLogger(__name__)
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_STR = pd.StringDtype("pyarrow", na_value=float("nan"))  # pandas' own `str` dtype

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _helpers() -> ProcessPoolExecutor:
    """The helper processes for SQLite reads (spawned, not forked: the parent has threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            import multiprocessing

            _pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(shutdown_helpers)
        return _pool


def shutdown_helpers() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


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


def _positional(sql: str, params: Mapping, style: str) -> tuple[str, list]:
    """`:name` parameters to `?` (SQLite) or `$n` (PostgreSQL), values in order."""
    values: list = []

    def sub(m: re.Match) -> str:
        value = params[m.group(1)]
        if isinstance(value, datetime):
            value = value.isoformat(sep=" ")
        elif isinstance(value, date):
            value = value.isoformat()
        values.append(value)
        return "?" if style == "?" else f"${len(values)}"

    return _PARAM.sub(sub, sql), values


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
    query, values = _positional(sql, params, "?" if driver == "sqlite" else "$")
    try:
        if driver == "sqlite":
            table = _helpers().submit(read_table, driver, where, query, values, list(columns), batch_rows).result()
        else:
            table = read_table(driver, where, query, values, columns, batch_rows)
    except Exception as e:  # noqa: BLE001 - an optimisation: the same rows come through the DB-API
        log.warning("columnar read failed (%s); reading through the DB-API", str(e).splitlines()[0][:300]
                    if str(e) else type(e).__name__)
        if driver == "sqlite":
            shutdown_helpers()  # a broken helper is not reused
        return None
    frame = table.to_pandas(types_mapper=lambda t: _STR if t == pa.string() else None, self_destruct=True,
                            split_blocks=True)
    del table
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
