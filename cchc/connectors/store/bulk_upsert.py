"""A page of rows upserted by the database driver itself: the values converted a column at a time (as
SQLAlchemy's own bind processors convert them, one pass over each column), then one `executemany`
(SQLite) or multi-row VALUES statements (PostgreSQL, psycopg2's `execute_values`, 1,000 rows each,
as SQLAlchemy's "insertmanyvalues" sends them). SQLAlchemy's Core `executemany` spends most of a
page's time building and processing the parameters of each row one by one; the stored values are
the same (tests/test_bulk_upsert.py compares the two on SQLite and PostgreSQL).

Errors of the driver are raised as SQLAlchemy's (`DBAPIError.instance`), so callers tell a refused
value (`DataError`) from anything else as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from operator import itemgetter

from sqlalchemy import JSON, Boolean, DateTime, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

PG_PAGE = 1000


@cache
def _plan(table: Table, keys: tuple[str, ...], dialect_name: str, dialect) -> tuple[str, list]:
    """(the statement, one converter per column or None) for `table` on `dialect`, worked out once."""
    quote = dialect.identifier_preparer.quote
    names = [c.name for c in table.columns]
    cols = ", ".join(quote(n) for n in names)
    updates = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in names if n not in keys)
    conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    if dialect_name == "sqlite":
        sql = f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({', '.join('?' * len(names))}) {conflict}"
    else:
        sql = f"INSERT INTO {quote(table.name)} ({cols}) VALUES %s {conflict}"
    return sql, [_converter(c.type, dialect) for c in table.columns]


def _converter(type_, dialect) -> Callable[[list], list] | None:
    """What turns a column of Python values into the driver's values, None when nothing does."""
    proc = type_.dialect_impl(dialect).bind_processor(dialect)
    if proc is None:
        return None
    if isinstance(type_, DateTime) and dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME format, "%04d-%02d-%02d %02d:%02d:%02d.%06d": isoformat's for a
        # naive datetime (the store's are all naive); anything else goes through SQLAlchemy's processor
        def dates(values: list) -> list:
            return [v.isoformat(" ", "microseconds") if v.__class__ is datetime and v.tzinfo is None
                    else proc(v) for v in values]

        return dates
    if isinstance(type_, Boolean):
        # SQLAlchemy checks the value is a bool (or 0/1) and sends it as is (PostgreSQL) or as an int
        # (SQLite, whose driver writes a bool as 1/0 itself)
        def flags(values: list) -> list:
            return values if all(v.__class__ is bool for v in values) else list(map(proc, values))

        return flags
    if isinstance(type_, JSON):
        null = proc(None)

        def documents(values: list) -> list:
            return [null if v is None else proc(v) for v in values]

        return documents
    return lambda values: list(map(proc, values))


def upsert(conn: Connection, table: Table, keys: Sequence[str], rows: list[dict]) -> None:
    """Insert `rows` (dicts with every column of `table`) into `table`, replacing the row of the same
    `keys`, in `conn`'s transaction."""
    if not rows:
        return
    dialect = conn.dialect
    sql, converters = _plan(table, tuple(keys), dialect.name, dialect)
    columns = []
    for col, convert in zip(table.columns, converters, strict=True):
        values = list(map(itemgetter(col.name), rows))
        columns.append(values if convert is None else convert(values))
    params = list(zip(*columns, strict=True))
    if dialect.name == "sqlite":
        conn.exec_driver_sql(sql, params)
        return
    from psycopg2.extras import execute_values

    dbapi = dialect.dbapi
    cursor = conn.connection.cursor()
    try:
        execute_values(cursor, sql, params, page_size=PG_PAGE)
    except dbapi.Error as e:
        raise DBAPIError.instance(sql, None, e, dbapi.Error, dialect=dialect) from e
    finally:
        cursor.close()
