"""Fault injection against the sync, on SQLite and PostgreSQL: kill -9 at seeded points of both
phases, poison records, quarantine recovery, overlapping runs, a dripping server, SIGTERM.

The killed syncs are real processes: children of a fork server that has the code imported once
(`multiprocessing` "forkserver"), so each kill point costs milliseconds, not an interpreter start."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import func, select

from cchc.config import load_config
from cchc.connectors.store import Store, SyncBusy
from cchc.connectors.store import repository as repo
from cchc.connectors.store.schema import dossiers, processing_steps
from cchc.domain.records import (
    MAX_CODE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STEP_LENGTH,
    Dossier,
    Fee,
    ProcessingStep,
    Status,
)
from cchc.pipeline.sync import make_context, national_batch, run_sources
from cchc.simulator.server import POISON_KINDS, Faults, running
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
START = date(2026, 5, 1)
VN_NOW = datetime(2026, 11, 20, 9, 0)
CODES_PER_TASK = 40
CREDENTIALS = {"CCHC_NATIONAL_USERNAME": "kiemtra", "CCHC_NATIONAL_PASSWORD": "mat-khau-bi-mat-123"}


@pytest.fixture(autouse=True)
def _national_credentials(monkeypatch):
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)


def make_cfg(tmp_path: Path, url: str, db_url: str, page_size: int = 20, retries: int = 3, timeout_s: float = 5,
             **source_extra):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"]["provincial"].update(base_url=url, page_size=page_size, start_date=START.isoformat(),
                                         backoff_s=0.01, max_retries=retries, timeout_s=timeout_s, **source_extra)
    data["sources"]["national"].update(base_url=url, backoff_s=0.01, max_retries=retries, timeout_s=timeout_s,
                                       batch_size=20, **source_extra)
    data["database_url"] = db_url
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(p, env={}), p


def sync(cfg, today=AS_OF, migrate=True, **kw):
    store = Store(cfg.database_url)
    if migrate:  # (Alembic's command API is not thread-safe: the threads of one test skip it)
        store.migrate()
    counts, errors = run_sources(make_context(cfg, store), today, codes_per_task=CODES_PER_TASK, **kw)
    return store, counts, errors


def stored(store: Store, source: str) -> set[str]:
    return {c for batch in store.iter_codes(source) for c in batch}


def want_provincial(ward: SyntheticWard) -> set[str]:
    return {ward.code(i) for i in ward.select(START, AS_OF, unit="H99.99")}


def want_national(ward: SyntheticWard) -> set[str]:
    return {ward.code(i) for i in ward.select(START, AS_OF, unit="H99.99")
            if ward.national(i) is not None and ward.canonical(i)["NgayTiepNhan"]}


def simulator_total_count(url: str) -> int:
    """The simulator's own TotalCount for the window the sync asks for."""
    r = requests.get(f"{url}/api/v1/hoso", params={"TiepNhanFrom": START.isoformat(), "TiepNhanTo": AS_OF.isoformat(),
                                                     "GroupCode": "H99.99", "PageSize": 1}, timeout=10)
    return int(r.json()["TotalCount"])


def assert_no_duplicates(store: Store) -> None:
    with store.engine.connect() as conn:
        for table, key in ((dossiers, ("source", "code")), (processing_steps, ("source", "code", "seq"))):
            cols = [table.c[k] for k in key]
            dup = conn.execute(select(*cols).group_by(*cols).having(func.count() > 1).limit(1)).first()
            assert dup is None, (table.name, dup)


# ------------------------------------------------------------------ kill -9 at seeded points


def _child_sync(cfg_path: str) -> None:
    """The killable sync (in a forked child): both phases, one page / a few codes per step."""
    cfg = load_config(cfg_path, env={})
    store = Store(cfg.database_url)
    store.migrate()
    run_sources(make_context(cfg, store), AS_OF, pages_per_task=1, codes_per_task=CODES_PER_TASK)


_FORKS = None


def forks():
    global _FORKS
    if _FORKS is None:
        _FORKS = multiprocessing.get_context("forkserver")
        _FORKS.set_forkserver_preload(["cchc.flows.sync_dossiers", __name__])
    return _FORKS


def _kill_when(store: Store, proc, source: str, threshold: int, jitter: float) -> int:
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline and proc.is_alive():
        try:
            n = store.count_dossiers(source)
        except Exception:  # noqa: BLE001 — the child holds a write lock for a moment
            n = 0
        if n >= threshold:
            break
        time.sleep(0.01)
    assert proc.is_alive(), f"the sync ended before {threshold} {source} dossiers (had {n})"
    time.sleep(jitter)  # a seeded point inside a page, not just between pages
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    return store.count_dossiers(source)


def test_kill9_at_seeded_points_of_both_phases_then_rerun(tmp_path, db_url):
    rng = random.Random(20261120)
    ward = SyntheticWard(seed=21, n_dossiers=900, as_of=AS_OF, months=12)
    prov, nat = want_provincial(ward), want_national(ward)
    store = Store(db_url)
    store.migrate()
    with running(ward, faults=Faults.parse("slow=1,slow_s=0.01")) as url:
        _, path = make_cfg(tmp_path, url, db_url)
        total = simulator_total_count(url)
        assert total == len(prov)
        points = [("provincial", t) for t in sorted(rng.sample(range(len(prov) // 10, len(prov) * 9 // 10), 5))]
        points += [("national", t) for t in sorted(rng.sample(range(len(nat) // 10, len(nat) * 9 // 10), 5))]
        for source, threshold in points:
            proc = forks().Process(target=_child_sync, args=(str(path),))
            proc.start()
            after = _kill_when(store, proc, source, threshold, rng.uniform(0, 0.03))
            assert proc.exitcode == -signal.SIGKILL
            expected = prov if source == "provincial" else nat
            assert after < len(expected), f"killed at {threshold} {source} dossiers, too late to be mid-phase"
        assert store.get_cursor("national")["after_code"], "the last kill must leave a national pass half done"
        cfg, _ = make_cfg(tmp_path, url, db_url)
        store, _, errors = sync(cfg)
    assert errors == []
    assert store.count_dossiers("provincial") == total
    assert stored(store, "provincial") == prov
    assert stored(store, "national") == nat  # the interrupted national pass was finished
    assert_no_duplicates(store)
    assert not [r for r in store.runs(100) if r["status"] == "running"]  # the killed runs say so
    assert {r["status"] for r in store.runs(100)} == {"interrupted", "ok"}


def test_interrupted_national_pass_is_finished_when_the_window_changes(tmp_path, sqlite_url):
    """The issue's reproduction, in process: a national pass stopped half-way, then a run whose
    provincial window starts later must still look up the dossiers the first pass did not reach."""
    ward = SyntheticWard(seed=22, n_dossiers=600, as_of=AS_OF, months=12)
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, page_size=100)
        store, _, errors = sync(cfg, sources=["provincial"])
        assert errors == []
        window_from = store.get_cursor("provincial")["window"]["from"]
        # the first national pass stopped after 40 codes (what a kill -9 leaves)
        res = national_batch(make_context(cfg, store), window_from, None, 40, "2026-11-20T08:00:00")
        assert not res["done"] and store.get_cursor("national")["after_code"] == res["after_code"]
        assert store.count_dossiers("national") > 0
        store, _, errors = sync(cfg)  # the provincial window is now incremental: it starts later
        assert errors == []
        assert store.get_cursor("provincial")["window"]["from"] > window_from
    assert stored(store, "national") == want_national(ward)


# ------------------------------------------------------------------ poison records


POISON_FIELDS = {"fee": "DanhSachLePhi[0].Gia", "long_code": "MaHoSo", "nul": "TenTTHC", "smallint": "MucDo",
                 "float_status": "TrangThaiHoSo", "long_unit": "DonViXuLy"}


def test_poison_records_are_quarantined_then_recovered_when_served_correctly(tmp_path, db_url):
    ward = SyntheticWard(seed=23, n_dossiers=400, as_of=AS_OF, months=12)
    faults = Faults.parse("poison_every=9")
    prov, nat = want_provincial(ward), want_national(ward)
    in_window = set(ward.select(START, AS_OF, unit="H99.99"))
    poisoned = {ward.code(i): faults.poison_kind(i) for i in in_window if faults.poison_kind(i)}
    assert set(poisoned.values()) == set(POISON_KINDS)
    with running(ward, faults=faults) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url, page_size=25)
        store, counts, errors = sync(cfg)
    assert errors == []  # the run went on
    assert stored(store, "provincial") == prov - set(poisoned)  # the rest of each page is stored
    assert stored(store, "national") == nat - set(poisoned)
    rows = store.quarantine_rows("provincial", limit=1000)
    by_key = {r["record_key"]: r for r in rows}
    for code, kind in poisoned.items():
        key = code + "-" + "X" * 80 if kind == "long_code" else code
        row = by_key[key[:64]]
        assert row["field"] == POISON_FIELDS[kind], (kind, row)
    assert counts.total("provincial")["quarantined"] == len(poisoned)
    assert store.get_cursor("provincial")["next_page"] is None  # the cursor went past the poison
    assert {r["status"] for r in store.runs()} == {"ok"}

    with running(ward) as url:  # the source now serves them correctly: an incremental sync recovers them
        cfg, _ = make_cfg(tmp_path, url, db_url, page_size=25)
        store, _, errors = sync(cfg)
    assert errors == []
    assert stored(store, "provincial") == prov
    assert stored(store, "national") == nat
    assert store.quarantine_rows(limit=1000) == []  # `cchc quarantine` no longer lists them


def test_national_poison_is_looked_up_again_and_leaves_quarantine(tmp_path, db_url):
    ward = SyntheticWard(seed=27, n_dossiers=400, as_of=AS_OF, months=12)
    faults = Faults.parse("poison_every=7,poison_in=national")
    nat = want_national(ward)
    poisoned = {ward.code(i) for i in ward.select(START, AS_OF, unit="H99.99") if faults.poison_kind(i, "national")}
    assert poisoned & nat
    with running(ward, faults=faults) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url, page_size=50)
        store, _, errors = sync(cfg)
    assert errors == []
    assert stored(store, "provincial") == want_provincial(ward)
    assert stored(store, "national") == nat - poisoned
    assert store.count_quarantine("national") == len(poisoned & nat)
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url, page_size=50)
        store, _, errors = sync(cfg, today=AS_OF)
    assert errors == []
    assert stored(store, "national") == nat
    assert store.quarantine_rows() == []


def _dossier(code: str, **kw) -> Dossier:
    at = datetime(2026, 10, 1, 8, 0)
    return Dossier(source="provincial", code=code, status=Status.RECEIVED, received_at=at, due_at=at, **kw)


def _poisoned_page() -> tuple[list[Dossier], dict[str, str]]:
    """Records built directly (the domain check skipped): what only the store can catch."""
    bad = {
        "P-FEE": ("DanhSachLePhi", _dossier("P-FEE", fees=(Fee("LP", "Lệ phí", 10**30),))),
        "P-" + "C" * 70: ("MaHoSo", _dossier("P-" + "C" * 70)),
        "P-NUL": ("TenTTHC", _dossier("P-NUL", procedure_name="Cấp\x00bản sao")),
        "P-SMALL": ("MucDo", _dossier("P-SMALL", online_level=40000)),
        "P-STEP": ("QuaTrinhXuLy[0].NguoiXuLy", _dossier("P-STEP", steps=(ProcessingStep("u" * 200),))),
    }
    page = [_dossier("G-1"), *(d for _, d in bad.values()), _dossier("G-2", steps=(ProcessingStep("cb.a"),))]
    return page, {code: fld for code, (fld, _) in bad.items()}


def test_store_quarantines_what_it_cannot_hold_and_stores_the_rest(db_url):
    store = Store(db_url)
    store.migrate()
    page, bad = _poisoned_page()
    res = store.upsert_page("provincial", page, cursor={"next_page": 2})
    assert res.refused_codes == set(bad)
    assert stored(store, "provincial") == {"G-1", "G-2"}
    assert store.get_cursor("provincial") == {"next_page": 2}
    fields = {r["record_key"]: r["field"] for r in store.quarantine_rows()}
    assert fields == {code[:64]: fld for code, fld in bad.items()}


def test_database_refusal_is_retried_record_by_record(db_url, monkeypatch):
    """The safety net: should a value reach the database and be refused there, the page's other
    records and its cursor are still stored, the refused one quarantined with the database's own
    words (never the statement or the values)."""
    monkeypatch.setattr(repo, "_misfit", lambda table, row, prefix="": None)
    store = Store(db_url)
    store.migrate()
    page, bad = _poisoned_page()
    res = store.upsert_page("provincial", page, cursor={"next_page": 2})
    assert "P-FEE" in res.refused_codes  # too big for any engine's integers
    if store.dialect == "postgresql":  # PostgreSQL also refuses long texts, NUL and small-int overflow
        assert res.refused_codes == set(bad)
    assert {"G-1", "G-2"} <= stored(store, "provincial")
    assert not res.refused_codes & stored(store, "provincial")
    assert store.get_cursor("provincial") == {"next_page": 2}
    for r in store.quarantine_rows():
        assert r["reason"].startswith("kho dữ liệu không lưu được: ")
        assert "[SQL" not in r["reason"] and "INSERT" not in r["reason"] and "Lệ phí" not in r["reason"]


def test_domain_limits_are_the_store_columns():
    for name, limit in {**MAX_CODE_LENGTH, **MAX_NAME_LENGTH}.items():
        assert dossiers.c[name].type.length == limit, name
    for name, limit in MAX_STEP_LENGTH.items():
        assert processing_steps.c[name].type.length == limit, name


# ------------------------------------------------------------------ overlapping runs


def test_two_concurrent_syncs_end_with_correct_counts(tmp_path, db_url):
    ward = SyntheticWard(seed=24, n_dossiers=400, as_of=AS_OF, months=12)
    results: list = []
    with running(ward, faults=Faults.parse("slow=1,slow_s=0.005")) as url:
        cfg, _ = make_cfg(tmp_path, url, db_url, page_size=25)
        Store(db_url).migrate()

        def one():
            try:
                results.append(sync(cfg, migrate=False))
            except BaseException as e:  # noqa: BLE001 — the test reports it
                results.append(e)

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(results) == 2 and all(isinstance(r, tuple) for r in results), results
    assert [r[2] for r in results] == [[], []]
    store = results[0][0]
    assert stored(store, "provincial") == want_provincial(ward)
    assert stored(store, "national") == want_national(ward)
    # one did the work, the other (after waiting for the lock) found nothing new
    inserted = sorted(r[1].total("provincial")["inserted"] for r in results)
    assert inserted == [0, len(want_provincial(ward))]
    assert_no_duplicates(store)


def test_a_sync_while_another_holds_the_store_says_so_in_one_line(tmp_path, db_url):
    cfg, _ = make_cfg(tmp_path, "http://127.0.0.1:9", db_url)
    store = Store(db_url)
    store.migrate()
    with store.sync_lock("20261120080000-aaaaaa"):
        with pytest.raises(SyncBusy) as e:
            run_sources(make_context(cfg, Store(db_url)), AS_OF, lock_wait_s=0.3)
    msg = str(e.value)
    assert "\n" not in msg and "đang chạy" in msg and "20261120080000-aaaaaa" in msg
    # released: the next one gets it at once
    with Store(db_url).sync_lock("next", wait_s=0):
        pass


def test_lease_of_a_killed_holder_is_taken_over(sqlite_url):
    """SQLite: a holder killed with -9 (its process gone) does not block the next sync."""
    store = Store(sqlite_url)
    store.migrate()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    now = datetime.now().replace(microsecond=0)
    with store.engine.begin() as conn:
        conn.execute(repo.sync_runs.insert().values(run_id="dead", source="provincial", started_at=now,
                                                    status="running"))
        conn.execute(repo.metadata.tables["sync_lock"].insert().values(
            name="sync", holder="dead", pid=proc.pid, host=socket.gethostname(), acquired_at=now, heartbeat_at=now))
    t0 = time.monotonic()
    with store.sync_lock("alive", wait_s=5):
        assert time.monotonic() - t0 < 2
    assert store.runs()[0]["status"] == "interrupted"


# ------------------------------------------------------------------ a server that drips


class _Drip(threading.Thread):
    """Answers every request with headers, then its body one byte every `every_s` seconds."""

    def __init__(self, every_s: float):
        super().__init__(daemon=True)
        self.every_s = every_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.recv(65536)
            body = b'{"Data": [], "TotalPages": 1, "TotalCount": 0}' + b" " * 200
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            for i in range(len(body)):
                conn.sendall(body[i : i + 1])
                time.sleep(self.every_s)
        except OSError:
            pass
        finally:
            conn.close()


def test_dripping_server_ends_within_the_deadline_cursor_unchanged(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=25, n_dossiers=300, as_of=AS_OF, months=12)
    with running(ward, faults=Faults.parse("fail_after_pages=2")) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, retries=0)
        store, _, errors = sync(cfg, sources=["provincial"])
    assert len(errors) == 1
    before = store.get_cursor("provincial")
    assert before["next_page"] == 3
    drip = _Drip(every_s=0.3)  # each byte well within the 1 s read timeout: only a deadline ends it
    drip.start()
    cfg, _ = make_cfg(tmp_path, drip.url, sqlite_url, retries=3, timeout_s=1, deadline_s=1.5)
    t0 = time.monotonic()
    store, _, errors = sync(cfg, sources=["provincial"])
    elapsed = time.monotonic() - t0
    drip.sock.close()
    assert elapsed < 6
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "1.5 giây" in errors[0] and drip.url in errors[0]
    assert store.get_cursor("provincial") == before
    assert store.runs()[0]["status"] == "failed"


# ------------------------------------------------------------------ SIGTERM and kill -9 of the command


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_cli(path: Path, tmp_path: Path):
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.Popen([sys.executable, "-m", "cchc.cli", "--config", str(path), "sync", "--today",
                             AS_OF.isoformat()], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_started(proc, store: Store) -> set[int]:
    """Wait until the command has stored 20 more dossiers; its children then."""
    baseline = store.count_dossiers("provincial")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if store.count_dossiers("provincial") >= baseline + 20:
                return _children(proc.pid)
        except Exception:  # noqa: BLE001 — not migrated yet
            pass
        time.sleep(0.1)
    raise AssertionError("the sync did not start storing")


def test_sigterm_and_kill9_stop_cleanly_without_orphans(tmp_path, sqlite_url):
    ward = SyntheticWard(seed=26, n_dossiers=900, as_of=AS_OF, months=12)
    with running(ward, faults=Faults.parse("slow=1,slow_s=0.2")) as url:
        _, path = make_cfg(tmp_path, url, sqlite_url)
        store = Store(sqlite_url)
        store.migrate()
        # SIGTERM to the process group, as `timeout` and a worker shutting down send it
        proc = _start_cli(path, tmp_path)
        children = _wait_started(proc, store)
        assert children, "Prefect's temporary server runs as a child process"
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 6, err
        assert "SIGTERM" in err.strip().splitlines()[-1]
        assert store.runs()[0]["status"] == "interrupted"
        deadline = time.monotonic() + 15
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "no process outlives the command"

        # kill -9: no clean-up runs, yet the temporary server goes with us
        proc = _start_cli(path, tmp_path)
        children = _wait_started(proc, store)
        assert children
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "no process outlives the command"
        assert store.runs()[0]["status"] == "running"  # nobody could say otherwise...
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url)
        store, _, errors = sync(cfg)
    assert errors == [] and stored(store, "provincial") == want_provincial(ward)
    statuses = [r["status"] for r in store.runs()]  # ...until the next run took the lock
    assert statuses.count("interrupted") == 2 and "running" not in statuses
