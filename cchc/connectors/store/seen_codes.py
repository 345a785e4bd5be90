"""The codes an Excel import has read so far, with the row each was first read on (table `import_rows`),
kept in the store rather than in memory: a million-row export is checked for repeated codes ("mã hồ
sơ trùng với dòng N") with memory flat in the number of rows.

Each page is one statement to look its codes up and one to record the new ones, whatever its size
(a JSON array on SQLite, arrays on PostgreSQL), so the check costs two round trips a page.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.types import Integer, String

from cchc.connectors.store.schema import import_rows

_SQLITE_LOOKUP = text("SELECT code, source_row FROM import_rows WHERE run_id = :run "
                      "AND code IN (SELECT value FROM json_each(:codes))")
_SQLITE_RECORD = text("INSERT INTO import_rows (run_id, code, source_row) "
                      "SELECT :run, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)")
# one primary-key probe per code of the page, whatever the planner's statistics say of the table
_PG_LOOKUP = text("SELECT i.code, i.source_row FROM unnest(:codes) AS k(code) CROSS JOIN LATERAL "
                  "(SELECT code, source_row FROM import_rows WHERE run_id = :run AND code = k.code LIMIT 1) AS i"
                  ).bindparams(bindparam("codes", type_=ARRAY(String)))
_PG_RECORD = text("INSERT INTO import_rows (run_id, code, source_row) SELECT :run, c, r FROM unnest(:codes, :rows) AS t(c, r)"
                  ).bindparams(bindparam("codes", type_=ARRAY(String)), bindparam("rows", type_=ARRAY(Integer)))


def claim(engine: Engine, run_id: str, rows: Mapping[str, int]) -> dict[str, int]:
    """Record `rows` (code -> row, codes distinct) as read by the import `run_id`, except the codes it
    recorded before: those are returned with the row they were first read on (and not recorded again)."""
    if not rows:
        return {}
    codes = list(rows)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            seen = dict(conn.execute(_SQLITE_LOOKUP, {"run": run_id, "codes": orjson.dumps(codes).decode()}).all())
        else:
            seen = dict(conn.execute(_PG_LOOKUP, {"run": run_id, "codes": codes}).all())
        new = [c for c in codes if c not in seen] if seen else codes
        if new:
            if sqlite:
                pairs = orjson.dumps([(c, rows[c]) for c in new] if seen else list(rows.items())).decode()
                conn.execute(_SQLITE_RECORD, {"run": run_id, "pairs": pairs})
            else:
                conn.execute(_PG_RECORD, {"run": run_id, "codes": new, "rows": [rows[c] for c in new]})
    return seen


def forget(engine: Engine, run_id: str | None = None) -> None:
    """Delete what the import `run_id` recorded; None: every import's (a killed import's leftovers),
    on PostgreSQL by TRUNCATE, which gives the space back at once (a DELETE leaves a million dead
    rows for autovacuum, if it runs)."""
    with engine.begin() as conn:
        if run_id is None and engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE import_rows"))
            return
        stmt = delete(import_rows)
        if run_id is not None:
            stmt = stmt.where(import_rows.c.run_id == run_id)
        conn.execute(stmt)
