"""Shared fixtures: databases (SQLite and the PostgreSQL at 127.0.0.1:5432), the simulator, and ONE
session-scoped Prefect test harness (it takes ~15 s to start)."""

from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PG_ADMIN_URL = os.environ.get("CCHC_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL server. Missing -> the test FAILS (never skips): CI has it, so must we."""
    from sqlalchemy import text

    eng = _pg_admin_engine()
    try:
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as e:  # pragma: no cover - only when the service is down
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} for the store tests: {e}")
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import text

    name = f"cchc_t_{uuid.uuid4().hex[:10]}"
    with pg_server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from sqlalchemy import create_engine

    create_engine(url).dispose()
    from cchc.connectors.arrow_table import close_idle

    close_idle()  # the columnar reads' kept connections
    with pg_server.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/cchc.sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cchc.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def filled(db_url):
    """(store, config): a scratch store of 800 simulated dossiers with their national copies, steps and
    catalogue, filled as the indicators bench fills its store (the real ingestion path)."""
    from datetime import timedelta

    from cchc.bench.indicators import populate
    from cchc.bench.measure import AS_OF, bench_config
    from cchc.connectors.store import Store

    store = Store(db_url)
    store.migrate()
    store.clear_dossiers()
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    populate(store, cfg, 800)
    yield store, cfg
    store.dispose()
