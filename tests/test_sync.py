"""Sync from the simulator into the store, without Prefect orchestration (`run_sources` runs the
same task functions): idempotence on SQLite and PostgreSQL, interruptions, faults, privacy."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.pipeline.sync import make_context, run_sources
from cchc.simulator.server import Faults, running
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
START = date(2026, 5, 1)
N = 1500


@pytest.fixture(autouse=True)
def _national_credentials(monkeypatch):
    monkeypatch.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    monkeypatch.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau-bi-mat-123")


def make_cfg(tmp_path: Path, url: str, db_url: str, page_size: int = 50, retries: int = 8):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    prov = data["sources"]["provincial"]
    prov.update(base_url=url, page_size=page_size, start_date=START.isoformat(), backoff_s=0.01,
                max_retries=retries, timeout_s=5)
    data["sources"]["national"].update(base_url=url, backoff_s=0.01, max_retries=retries, timeout_s=5)
    data["database_url"] = db_url
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(p, env={}), p


def sync(cfg, today=AS_OF, **kw):
    store = Store(cfg.database_url)
    store.migrate()
    counts, errors = run_sources(make_context(cfg, store), today, **kw)
    return store, counts, errors


def expected_codes(ward: SyntheticWard, today=AS_OF) -> set[str]:
    return {ward.code(i) for i in ward.select(START, today, unit="H99.99")}


def stored_codes(store: Store, source="provincial") -> set[str]:
    return {c for batch in store.iter_codes(source) for c in batch}


def test_sync_twice_identical_counts_no_duplicates(tmp_path, db_url):
    ward = SyntheticWard(seed=3, n_dossiers=N, as_of=AS_OF, months=12)
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url)
        store, c1, e1 = sync(cfg)
        assert e1 == []
        want = expected_codes(ward)
        assert stored_codes(store) == want
        first = (store.count_dossiers("provincial"), store.count_dossiers("national"), store.count_steps())
        # looked up on the national portal: every received dossier (refused/new ones have no reception)
        on_national = {ward.code(i) for i in ward.select(START, AS_OF, unit="H99.99")
                       if ward.national(i) is not None and ward.canonical(i)["NgayTiepNhan"]}
        assert stored_codes(store, "national") == on_national
        assert c1.total("provincial")["inserted"] == len(want)

        _, c2, e2 = sync(cfg)
        assert e2 == []
        second = (store.count_dossiers("provincial"), store.count_dossiers("national"), store.count_steps())
        assert second == first
        assert c2.total()["inserted"] == 0 and c2.total()["updated"] == 0

        _, c3, _ = sync(cfg, full=True)  # a full re-pull changes nothing either
        assert c3.total()["inserted"] == 0 and c3.total()["updated"] == 0
        assert store.count_dossiers("provincial") == first[0]


def test_incremental_sync_catches_late_status_changes(tmp_path, sqlite_url):
    before = SyntheticWard(seed=4, n_dossiers=N, as_of=AS_OF, months=12)
    later_day = AS_OF + timedelta(days=10)
    later = SyntheticWard(seed=4, n_dossiers=N, as_of=later_day, months=12, timeline_end=AS_OF)
    with running(before) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, _, errors = sync(cfg, sources=["provincial"])
        assert errors == []
    open_before = store.load_facts("provincial")
    open_codes = set(open_before.loc[open_before["status"].isin([2, 4, 5, 6]), "code"])
    assert open_codes, "the simulated ward must have open dossiers at as_of"
    with running(later) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, counts, errors = sync(cfg, today=later_day, sources=["provincial"])
        assert errors == []
    assert counts.total()["updated"] > 0
    after = store.load_facts("provincial").set_index("code")
    # every dossier that was open is now exactly as the later simulator reports it
    for code in sorted(open_codes)[:200]:
        i = later.index_of(code)
        assert int(after.loc[code, "status"]) == int(later.canonical(i)["TrangThaiHoSo"]), code
    assert stored_codes(store) == expected_codes(later, later_day)


def test_server_dies_mid_run_then_resume_loses_and_doubles_nothing(tmp_path, db_url):
    ward = SyntheticWard(seed=5, n_dossiers=N, as_of=AS_OF, months=12)
    with running(ward, faults=Faults.parse("fail_after_pages=3")) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url, retries=1)
        store, counts, errors = sync(cfg, sources=["provincial"])
    assert len(errors) == 1
    assert "127.0.0.1" in errors[0] and "/api/v1/hoso" in errors[0]
    cursor = store.get_cursor("provincial")
    assert cursor["next_page"] == 4  # pages 1..3 are safe, page 4 is where to resume
    assert store.count_dossiers("provincial") == 3 * 50
    run = store.runs(1)[0]  # the audit trail says what happened
    assert run["source"] == "provincial" and run["status"] == "failed" and "/api/v1/hoso" in run["error"]
    assert run["inserted"] == 150
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url)
        store, counts, errors = sync(cfg, sources=["provincial"])
    assert errors == []
    assert stored_codes(store) == expected_codes(ward)
    assert store.get_cursor("provincial")["next_page"] is None
    assert store.get_cursor("provincial")["high_water"] == AS_OF.isoformat()


KILLABLE = textwrap.dedent(
    """
    import sys
    from datetime import date
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.sync import make_context, run_sources
    cfg = load_config(sys.argv[1], env={})
    store = Store(cfg.database_url); store.migrate()
    run_sources(make_context(cfg, store), date.fromisoformat(sys.argv[2]), sources=["provincial"],
                pages_per_task=1)
    """
)


def test_process_killed_mid_run_then_rerun_loses_and_doubles_nothing(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=6, n_dossiers=N, as_of=AS_OF, months=12)
    with running(ward, faults=Faults.parse("slow=1,slow_s=0.15")) as url:
        _, path = make_cfg(tmp_path, url, sqlite_url, page_size=20)
        env = {**os.environ, "CCHC_NATIONAL_USERNAME": "x", "CCHC_NATIONAL_PASSWORD": "y"}
        proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(path), AS_OF.isoformat()], env=env,
                                cwd=ROOT, start_new_session=True)
        store = Store(sqlite_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if store.count_dossiers("provincial") >= 100:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    partial = store.count_dossiers("provincial")
    assert 100 <= partial < len(expected_codes(ward)), "the run must have been killed mid-way"
    assert store.get_cursor("provincial")["next_page"] > 1
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, page_size=20)
        store, _, errors = sync(cfg, sources=["provincial"])
    assert errors == []
    assert stored_codes(store) == expected_codes(ward)


def test_transient_faults_are_retried_to_success(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=7, n_dossiers=N, as_of=AS_OF, months=12)
    spec = "5xx=0.2,429=0.15,retry_after=0,slow=0.05,slow_s=0.05,duplicate=0.3,seed=11"
    with running(ward, faults=Faults.parse(spec)) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, retries=12)
        store, counts, errors = sync(cfg)
    assert errors == []
    assert stored_codes(store) == expected_codes(ward)
    assert counts.total("provincial")["fetched"] > len(expected_codes(ward))  # duplicates were served
    assert store.count_quarantine() == 0


def test_malformed_records_are_quarantined_and_the_rest_stored(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=8, n_dossiers=N, as_of=AS_OF, months=12)
    with running(ward, faults=Faults.parse("malformed=0.05,seed=2")) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, counts, errors = sync(cfg, sources=["provincial"])
    assert errors == []
    q = store.quarantine_rows(limit=10000)
    assert counts.total()["quarantined"] == len(q) > 0
    for row in q:
        assert row["reason"] and row["field"]
    want = expected_codes(ward)
    stored = stored_codes(store)
    assert stored <= want
    # nothing lost: every expected dossier is either stored or quarantined with its code
    quarantined_codes = {r["record_key"] for r in q if r["record_key"]}
    missing_keys = sum(1 for r in q if not r["record_key"])
    assert len(want - stored - quarantined_codes) <= missing_keys
    # the next clean run stores them all
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, _, errors = sync(cfg, sources=["provincial"], full=True)
    assert stored_codes(store) == want


def test_permanent_failure_ends_with_clear_error_and_cursor_unchanged(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=9, n_dossiers=300, as_of=AS_OF, months=12)
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, _, errors = sync(cfg, sources=["provincial"])
    assert errors == []
    before = store.get_cursor("provincial")
    with running(ward, faults=Faults.parse("5xx=1")) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, retries=2)
        store, _, errors = sync(cfg, sources=["provincial"], today=AS_OF + timedelta(days=1))
    assert len(errors) == 1
    assert url + "/api/v1/hoso" in errors[0]
    assert "3 lần" in errors[0] or "3 attempts" in errors[0]
    assert store.get_cursor("provincial") == before


def test_unreachable_server_is_one_clear_error(tmp_path, sqlite_url):
    cfg, _ = make_cfg(tmp_path, "http://127.0.0.1:9", sqlite_url, retries=1)
    store, _, errors = sync(cfg)
    assert len(errors) == 2  # provincial and national, each named
    assert errors[0].startswith("Hệ thống TTHC tỉnh: ") and "http://127.0.0.1:9" in errors[0]
    assert errors[1].startswith("Cổng DVCQG: ")
    assert store.get_cursor("provincial") is None


def test_no_personal_data_in_store_or_logs(tmp_path, sqlite_url, caplog):
    ward = SyntheticWard(seed=10, n_dossiers=600, as_of=AS_OF, months=12)
    caplog.set_level(logging.DEBUG)
    with running(ward, faults=Faults.parse("malformed=0.1,5xx=0.1,retry_after=0,seed=4")) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, _, errors = sync(cfg)
    assert errors == []
    assert store.count_quarantine() > 0  # quarantined raw records are kept, minus personal fields
    dump = store.dump_text()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    secrets = {v for i in ward.select(START, AS_OF) for v in ward.personal_values(i)}
    assert secrets
    leaked = [s for s in secrets if s in dump or s in logs]
    assert leaked == []
    assert "mat-khau-bi-mat-123" not in logs
