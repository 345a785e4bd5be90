"""Columnar reads: a query's rows straight into Arrow columns (ADBC), then one pandas frame.

For a million dossiers the Python DB-API (a tuple per row, an object per value) costs several
times the query itself; the ADBC drivers for SQLite and PostgreSQL build Arrow buffers in C
(PostgreSQL through binary COPY). Text timestamps (SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff`)
are parsed by Arrow, text stays Arrow-backed in pandas.

`read_frame` returns None when the columnar path cannot serve the engine (an in-memory SQLite
database, another dialect, the driver not installed); the caller then reads through the DB-API.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)
_PARAM = re.compile(r"(?<![:\w]):(\w+)")

#: Column kinds understood by `read_frame`; "label" is text with few distinct values (unit,
#: procedure, field, officer), read as a pandas Categorical with sorted categories.
KINDS = ("text", "label", "time", "int", "float", "bool")


def _connect(engine: Engine):
    url = engine.url
    if engine.dialect.name == "sqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None, None
        try:
            import adbc_driver_sqlite.dbapi as driver
        except ImportError:
            return None, None
        return driver.connect(path), "?"
    if engine.dialect.name == "postgresql":
        try:
            import adbc_driver_postgresql.dbapi as driver
        except ImportError:
            return None, None
        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return driver.connect(uri), "$"
    return None, None


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


_TYPES = {"text": pa.string(), "label": pa.dictionary(pa.int32(), pa.string()), "time": pa.timestamp("us"), "int": pa.int16(), "float": pa.float64(),
          "bool": pa.bool_()}
_STR = pd.StringDtype("pyarrow", na_value=float("nan"))  # pandas' own `str` dtype


def _pandas_type(t: pa.DataType):
    return _STR if t == pa.string() else None


def _column(arr: pa.Array, kind: str) -> pa.Array:
    t = arr.type
    if kind in ("text", "label"):
        text = pc.fill_null(arr.cast(pa.string()) if not pa.types.is_string(t) else arr, "")
        return pc.dictionary_encode(text) if kind == "label" else text
    if kind == "time":
        if pa.types.is_timestamp(t):
            if t.tz is None:
                return arr.cast(pa.timestamp("us"))
            return pc.local_timestamp(arr.cast(pa.timestamp("us", tz="Asia/Ho_Chi_Minh")))
        if pa.types.is_null(t) or pa.types.is_integer(t):  # all NULL: SQLite reports int64
            return pa.nulls(len(arr), pa.timestamp("us"))
        text = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        return text.cast(pa.timestamp("us"))
    if kind == "int":
        return pc.fill_null(arr, 0).cast(pa.int16())
    if kind == "float":
        return arr.cast(pa.float64())
    if kind == "bool":
        if pa.types.is_boolean(t):
            return pc.fill_null(arr, False)
        return pc.not_equal(pc.fill_null(arr, 0), 0)
    raise ValueError(f"unknown column kind {kind!r}; expected one of {', '.join(KINDS)}")


def _owned(result: pa.Array, source: pa.Array) -> pa.Array:
    """`result` with buffers of its own. An imported batch is freed only when no array uses any of
    its buffers: a column kept as is (text without NULLs) would keep the whole batch, every other
    column's raw text included, alive until the end of the read."""
    src = {b.address for b in source.buffers() if b is not None}
    if any(b is not None and b.address in src for b in result.buffers()):
        return pa.concat_arrays([result, pa.array([], type=result.type)])  # concatenation copies
    return result


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
    bool NULL -> False, float and time NULL -> NaN / NaT; times naive (local wall clock).
    None when the columnar path is not available for this engine."""
    for _, kind in columns:
        if kind not in _TYPES:
            raise ValueError(f"unknown column kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        conn, style = _connect(engine)
    except Exception as e:  # noqa: BLE001 - an optimisation: the DB-API path still works
        log.warning("columnar read unavailable (%s); reading through the DB-API", e)
        return None
    if conn is None:
        return None
    try:
        query, values = _positional(sql, params, style)
        with conn.cursor() as cur:
            if style == "?":
                # SQLite has no column types: the driver infers them from the first batch.
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            cur.execute(query, values)
            # Batch by batch, typed as it arrives: memory holds the typed columns and one batch.
            parts: list[list[pa.Array]] = [[] for _ in columns]
            for batch in cur.fetch_record_batch():
                for i, (_, kind) in enumerate(columns):
                    parts[i].append(_owned(_column(batch.column(i), kind), batch.column(i)))
                del batch
    except Exception as e:  # noqa: BLE001 - same rows through the DB-API rather than no report
        log.warning("columnar read failed (%s); reading through the DB-API", e)
        return None
    finally:
        conn.close()
    arrays = {}
    for i, (n, kind) in enumerate(columns):
        arrays[n] = pa.chunked_array(parts[i], type=_TYPES[kind])
        parts[i] = []
    table = pa.table(arrays).unify_dictionaries()
    del arrays
    frame = table.to_pandas(types_mapper=_pandas_type, self_destruct=True, split_blocks=True)
    for n, kind in columns:
        if kind == "label":
            frame[n] = sorted_categories(frame[n])
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
