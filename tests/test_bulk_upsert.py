"""The page upsert by the driver (`cchc.connectors.store.bulk_upsert`) stores exactly what
SQLAlchemy's Core upsert stores — the same values as the driver reads them back (SQLite's text of a
datetime, the JSON of a supplement list or of no list) — inserting and replacing, on SQLite and
PostgreSQL, and a value the database refuses is SQLAlchemy's DataError as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, StatementError

from cchc.connectors.store import Store, bulk_upsert
from cchc.connectors.store import repository as repo
from cchc.connectors.store.schema import dossiers
from cchc.domain.wire import parse_dossier
from cchc.simulator.ward import SyntheticWard

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 8, 30, 15)


@pytest.fixture(scope="module")
def page():
    ward = SyntheticWard(seed=4, n_dossiers=300, as_of=AS_OF, months=12)
    ds = [parse_dossier(ward.canonical(i), "provincial") for i in range(300)]
    assert any(d.supplements for d in ds) and any(not d.supplements for d in ds)
    # microseconds and a time without a reception: what a row may hold
    ds[0] = replace(ds[0], received_at=ds[0].received_at.replace(microsecond=123456))
    ds[1] = replace(ds[1], received_at=None)
    return ds


def _rows(ds, source):
    return [repo.dossier_row(replace(d, source=source), d.due_at, NOW) for d in ds]


def _stored(store, source):
    cols = ", ".join(c.name for c in dossiers.columns if c.name not in ("source", "row_hash"))  # the hash has the source
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {cols} FROM dossiers WHERE source = '{source}' ORDER BY code")]


def test_the_driver_upsert_stores_what_sqlalchemy_stores(db_url, page):
    store = Store(db_url)
    store.migrate()
    core = store._upsert_stmt(dossiers, ("source", "code"))
    with store.engine.begin() as conn:
        conn.execute(core, _rows(page, "core"))
        bulk_upsert.upsert(conn, dossiers, ("source", "code"), _rows(page, "bulk"))
    first = _stored(store, "bulk")
    assert len(first) == 300 and first == _stored(store, "core")
    # replacing: every column of the stored row is the new one
    changed = [replace(d, procedure_name=d.procedure_name + " (sửa)", supplements=()) for d in page[:100]]
    with store.engine.begin() as conn:
        conn.execute(core, _rows(changed, "core"))
        bulk_upsert.upsert(conn, dossiers, ("source", "code"), _rows(changed, "bulk"))
    second = _stored(store, "bulk")
    assert second == _stored(store, "core") and second != first
    assert sum(r[2].endswith(" (sửa)") for r in second) == 100  # procedure_name
    assert store.count_dossiers("bulk") == 300


def test_a_value_the_database_refuses_is_a_data_error(db_url, page):
    store = Store(db_url)
    store.migrate()
    rows = _rows(page[:3], "bulk")
    rows[1]["status"] = 2**70  # beyond any integer column
    with pytest.raises((DataError, StatementError, OverflowError)) as exc, store.engine.begin() as conn:
        bulk_upsert.upsert(conn, dossiers, ("source", "code"), rows)
    assert repo._data_error(exc.value) is not None  # the store's safety net recognises it
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM dossiers")).scalar() == 0  # the page rolled back


def test_a_page_the_database_refuses_is_stored_record_by_record(db_url, page, monkeypatch):
    """The store's safety net still works through the driver path: a value only the database
    refuses (the screen waved it through) quarantines its record, the rest of the page is stored."""
    store = Store(db_url)
    store.migrate()
    real = repo.dossier_row

    def row(d, due, now):
        r = real(d, due, now)
        if d.code == page[5].code:
            r["status"] = 2**70
        return r

    monkeypatch.setattr(repo, "dossier_row", row)
    monkeypatch.setattr(repo, "_suspects", lambda table, rows: set())
    result = store.upsert_page("provincial", page[:20])
    assert result.refused_codes == {page[5].code} and result.inserted == 19
    assert store.count_dossiers("provincial") == 19 and store.count_quarantine("provincial") == 1


def test_a_page_s_stored_versions_are_found_by_the_primary_key_whatever_the_statistics(db_url, page):
    """A first import on PostgreSQL: the statistics are those of the empty table (autovacuum may be
    off), so an IN list of the page's codes was planned as a read of every row of the source, each
    page. The lookup probes the primary key once per code, and finds what is stored."""
    store = Store(db_url)
    store.migrate()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE dossiers")  # the planner sees an empty table
        rows = [repo.dossier_row(replace(page[i % 300], code=f"K{i:06d}"), None, NOW) for i in range(6000)]
        bulk_upsert.upsert(conn, dossiers, ("source", "code"), rows)
    codes = [f"K{i:06d}" for i in range(0, 6000, 3)] + ["not-stored"]
    with store.engine.connect() as conn:
        found = store._stored_versions(conn, "provincial", codes)
        if store.dialect == "postgresql":
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + repo._pg_by_code(("row_hash", "received_at")).text),
                                                        {"source": "provincial", "codes": codes}))
            assert "dossiers_pkey" in plan and "Bitmap" not in plan and "Seq Scan on dossiers" not in plan
        else:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT row_hash FROM dossiers WHERE source = 'provincial' "
                                        "AND code IN ('K000001', 'K000002')").all()
            assert "(source=? AND code=?)" in plan[0][-1]
    assert set(found) == set(codes[:-1]) and all(h for h, _ in found.values())
