"""Benchmarks (`cchc bench sync|indicators`): the real path against a near-physical baseline measured
in the same run, reported as a ratio. Figures go to bench/RESULTS.md."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import Column, MetaData, Table, text

from cchc.connectors.store import Store
from cchc.connectors.store.schema import dossiers as dossiers_table
from cchc.connectors.store.schema import processing_steps as steps_table

AS_OF = date(2026, 11, 20)
BENCH_DIR = Path("var/bench")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class TreeMemory:
    """Samples the resident memory of this process plus its child processes (the SQLite read
    helpers) every few milliseconds, from /proc: the peak of what the work holds at one time."""

    def __init__(self, every_s: float = 0.02):
        import threading

        self.peak_mb = 0.0
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cchc-memory", daemon=True)

    def _children(self) -> list[str]:
        out = []
        for task in Path("/proc/self/task").glob("*/children"):
            try:
                out += task.read_text().split()
            except OSError:
                pass
        return out

    def sample(self) -> None:
        from cchc.connectors.arrow_table import proc_status_kb

        kb = proc_status_kb("VmRSS") + sum(proc_status_kb("VmRSS", pid) for pid in self._children())
        self.peak_mb = max(self.peak_mb, kb / 1024.0)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.sample()

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimulatorProcess:
    """The simulator in its own process, so the benchmark's memory is the sync's alone."""

    def __init__(self, n: int, seed: int = 1):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cchc.cli", "simulate", "--port", str(self.port), "--dossiers", str(n),
             "--seed", str(seed), "--as-of", AS_OF.isoformat()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the simulator did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _bench_config(url: str, db_url: str, start: date):
    from cchc.config import load_config

    env = {"CCHC_DATABASE_URL": db_url, "CCHC_PROVINCIAL_URL": url, "CCHC_NATIONAL_URL": url}
    cfg = load_config(Path(__file__).resolve().parent.parent / "config" / "demo.yaml", env=env)
    prov = cfg.sources.provincial.model_copy(update={"start_date": start})
    return cfg.model_copy(update={"sources": cfg.sources.model_copy(update={"provincial": prov})})


def _default_db(name: str) -> str:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    return f"sqlite:///{path}"


def _reset(store: Store) -> None:
    """Empty the store's dossier tables (the benchmark database is a scratch database)."""
    store.clear_dossiers()


# --- sync ----------------------------------------------------------------------------------------
def _baseline_tables(meta: MetaData) -> tuple[Table, Table]:
    d = Table("bench_baseline_dossiers", meta, *[Column(c.name, c.type) for c in dossiers_table.columns])
    s = Table("bench_baseline_steps", meta, *[Column(c.name, c.type) for c in steps_table.columns])
    return d, s


def _dt(s: str):
    # no validation at all: the fastest correct conversion of a well-formed wire date
    if not s:
        return None
    return datetime(int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:14]))


def baseline_sync(url: str, store: Store, cfg, start: date) -> int:
    """Fetch the same pages, parse the JSON and bulk-insert the same rows without validation."""
    meta = MetaData()
    bd, bs = _baseline_tables(meta)
    meta.drop_all(store.engine)
    meta.create_all(store.engine)
    src = cfg.sources.provincial
    fmap = src.field_map
    sess = requests.Session()
    now = datetime.now()
    n, page = 0, 1
    while True:
        r = sess.get(url + src.list_path, params={"TiepNhanFrom": start.isoformat(), "TiepNhanTo": AS_OF.isoformat(),
                                                  "GroupCode": cfg.ward.national_id, "PageNumber": page,
                                                  "PageSize": src.page_size}, timeout=60)
        body = r.json()
        rows, steps = [], []
        for raw in body["Data"]:
            rec = {fmap.get(k, k): v for k, v in raw.items()}
            code = rec.get("MaHoSo")
            fees = rec.get("DanhSachLePhi") or []
            rows.append({
                "source": "provincial", "code": code, "procedure_code": rec.get("MaTTHC", ""),
                "procedure_name": rec.get("TenTTHC", ""), "field_code": rec.get("MaLinhVuc", ""),
                "field_name": rec.get("TenLinhVuc", ""), "unit_code": rec.get("DonViXuLy", ""),
                "status": rec.get("TrangThaiHoSo"), "channel": rec.get("KenhThucHien") or 1,
                "online_level": rec.get("MucDo") or None, "submitted_at": _dt(rec.get("NgayNopHoSo")),
                "received_at": _dt(rec.get("NgayTiepNhan")), "due_at": _dt(rec.get("NgayHenTra")),
                "effective_due_at": _dt(rec.get("NgayHenTra")), "finished_at": _dt(rec.get("NgayKetThucXuLy")),
                "returned_at": _dt(rec.get("NgayTra")), "refused_at": _dt(rec.get("NgayTuChoi")),
                "fee_total": sum(int(f.get("Gia") or 0) for f in fees), "owes_fee": bool(fees),
                "paid_online": rec.get("DuocThanhToanTrucTuyen") in (1, 2), "digitized_component": False,
                "reused_component": False, "e_result": bool(rec.get("CoKetQuaDienTu")),
                "supplement_count": len(rec.get("DanhSachHoSoBoSung") or []), "supplement_pending": False,
                "supplements": None, "apology": "PhieuXinLoi" in rec, "apology_at": None, "apology_new_due": None,
                "evaluation": rec.get("DanhGiaHaiLong") or None, "vneid_verified": False, "applicant_hash": None,
                "row_hash": "", "synced_at": now,
            })
            for i, s in enumerate(rec.get("QuaTrinhXuLy") or []):
                steps.append({"source": "provincial", "code": code, "seq": i, "officer": s.get("NguoiXuLy", ""),
                              "title": s.get("ChucDanh", ""), "department": s.get("PhongBanXuLy", ""),
                              "done_at": _dt(s.get("ThoiDiemXuLy")), "started_at": _dt(s.get("NgayBatDau")),
                              "step_due": _dt(s.get("NgayKetThucTheoQuyDinh"))})
        with store.engine.begin() as conn:
            if rows:
                conn.execute(bd.insert(), rows)
            if steps:
                conn.execute(bs.insert(), steps)
        n += len(rows)
        if not body.get("HasNextPage") or not body["Data"]:
            break
        page += 1
    meta.drop_all(store.engine)
    return n


def bench_sync(n: int, db_url: str | None = None) -> dict:
    from cchc.pipeline.sync import make_context, run_sources

    db_url = db_url or _default_db("sync")
    sim = SimulatorProcess(n)
    try:
        start = AS_OF - timedelta(days=400)
        cfg = _bench_config(sim.url, db_url, start)
        store = Store(db_url)
        store.migrate()
        _reset(store)
        os.environ.setdefault("CCHC_NATIONAL_USERNAME", "bench")
        os.environ.setdefault("CCHC_NATIONAL_PASSWORD", "bench")

        t0 = time.perf_counter()
        base_n = baseline_sync(sim.url, store, cfg, start)
        base_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        counts, errors = run_sources(make_context(cfg, store), AS_OF, sources=["provincial"])
        sync_s = time.perf_counter() - t0
        if errors:
            raise RuntimeError("; ".join(errors))
        stored = store.count_dossiers("provincial")
    finally:
        sim.stop()
    return {
        "dossiers": stored,
        "baseline_dossiers": base_n,
        "seconds": round(sync_s, 2),
        "baseline_seconds": round(base_s, 2),
        "dossiers_per_s": round(stored / sync_s, 1),
        "baseline_per_s": round(base_n / base_s, 1),
        "ratio": round((stored / sync_s) / (base_n / base_s), 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "database": store.dialect,
    }


# --- indicators ----------------------------------------------------------------------------------
def populate(store: Store, cfg, n: int, batch: int = 2000) -> None:
    """Fill the store with N simulated dossiers through the real ingestion path (no HTTP)."""
    from cchc.pipeline.ingest import store_page
    from cchc.simulator.ward import SyntheticWard

    ward = SyntheticWard(seed=1, n_dossiers=n, as_of=AS_OF)
    cal = cfg.make_calendar()
    idx = ward.all_indices()
    for lo in range(0, len(idx), batch):
        raws = [ward.canonical(i) for i in idx[lo:lo + batch]]
        store_page(store, "provincial", raws, None, cal, None)
        nat = [r for r in (ward.national(i) for i in idx[lo:lo + batch]) if r is not None]
        store_page(store, "national", nat, None, cal, None)
    rows = []
    for p in ward.procedures():
        w = p.to_wire()
        rows.append({"code": w["MaTTHC"], "name": w["TenTTHC"], "field_code": w["MaLinhVuc"],
                     "field_name": w["TenLinhVuc"], "online_level": w.get("MucDo"), "has_fee": bool(w.get("CoPhi")),
                     "result_paper": bool(w.get("KetQuaGiay")), "working_days": None})
    store.upsert_procedures(rows)


BASELINE_SQL = """
SELECT d.field_code,
  SUM(CASE WHEN d.received_at >= :start THEN 1 ELSE 0 END) AS received_in_period,
  SUM(CASE WHEN d.received_at >= :start AND d.channel = 2 THEN 1 ELSE 0 END) AS online,
  SUM(CASE WHEN d.received_at < :start THEN 1 ELSE 0 END) AS carried_over,
  SUM(CASE WHEN d.status IN (7, 9, 10) AND {end_} < :after AND {end_day} < {due_day} THEN 1 ELSE 0 END) AS early,
  SUM(CASE WHEN d.status IN (7, 9, 10) AND {end_} < :after AND {end_day} = {due_day} THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN d.status IN (7, 9, 10) AND {end_} < :after AND {end_day} > {due_day} THEN 1 ELSE 0 END) AS late,
  SUM(CASE WHEN NOT (d.status IN (7, 9, 10) AND {end_} < :after) AND {due_day} >= :end_day THEN 1 ELSE 0 END)
    AS pending_in_time,
  SUM(CASE WHEN NOT (d.status IN (7, 9, 10) AND {end_} < :after) AND {due_day} < :end_day THEN 1 ELSE 0 END)
    AS pending_overdue
FROM dossiers d
WHERE d.source = 'provincial' AND d.status NOT IN (1, 3) AND d.received_at < :after
  AND (COALESCE(d.finished_at, d.returned_at) IS NULL OR COALESCE(d.finished_at, d.returned_at) >= :start)
GROUP BY d.field_code
"""


def baseline_indicators(store: Store, start: date, end: date) -> list:
    if store.dialect == "sqlite":
        day = "date({})"
    else:
        day = "CAST({} AS DATE)"
    end_ = "COALESCE(d.finished_at, d.returned_at)"
    sql = BASELINE_SQL.format(end_=end_, end_day=day.format(end_), due_day=day.format("d.effective_due_at"))
    params = {"start": datetime.combine(start, datetime.min.time()),
              "after": datetime.combine(end + timedelta(days=1), datetime.min.time()),
              "end_day": end.isoformat() if store.dialect == "sqlite" else end}
    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).fetchall()


def full_indicator_set(store: Store, cfg, period) -> dict:
    """The issue's full set: every grouping, Biểu 06 (by field and by unit, identities checked) and
    the 766 scores, for `period`, as `compute_indicators` computes them (reconciliation aside: it
    compares rows with the national copies and is timed on its own)."""
    from cchc.pipeline import indicators as ti

    data = ti.load_period(store, cfg, period, with_national=False)
    tables = {by: ti.group_table(data, cfg, by, nested=(by == "unit"))
              for by in ("unit", "officer", "procedure", "field", "channel")}
    by_field, by_unit = ti.bieu06(data, cfg)
    scores = ti.scores(ti.unit_table_766(data, cfg), None, cfg)
    return {"tables": len(tables), "bieu06_rows": len(by_field) + len(by_unit), "scores": len(scores),
            "received": int(tables["unit"]["received"].iloc[-1])}


def reconciliation_run(store: Store, cfg, period) -> dict:
    from cchc.pipeline import indicators as ti

    data = ti.load_period(store, cfg, period, with_national=True)
    summary, mismatches = ti.reconciliation(data, cfg)
    return {"reconciled_units": len(summary), "mismatches": len(mismatches)}


def bench_indicators(n: int, db_url: str | None = None) -> dict:
    from cchc.connectors.store.schema import period_cells
    from cchc.domain.periods import Period, period_of
    from cchc.pipeline.period_cells import refresh

    db_url = db_url or f"sqlite:///{BENCH_DIR / f'indicators-{n}.sqlite'}"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cfg = _bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    store = Store(db_url)
    store.migrate()
    marker = {"dossiers": n, "seed": 1, "as_of": AS_OF.isoformat()}
    if store.get_cursor("bench-populate") != marker:  # the fill is reused by later runs with the same N
        _reset(store)
        t0 = time.perf_counter()
        populate(store, cfg, n)
        store.save_cursor("bench-populate", marker)
        print(f"(populated {n} dossiers in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    # One year: the twelve whole months before AS_OF's month (reports are for months and their sums).
    last = period_of(AS_OF, "month").previous()
    period = Period.custom(period_of(last.start - timedelta(days=330), "month").start, last.end)
    # The ingest side: the sync flow's last step keeps the months' cells current; here every month
    # is recomputed from the rows (what a sync that touched the whole year costs).
    with store.engine.begin() as conn:
        conn.execute(period_cells.delete())
    t0 = time.perf_counter()
    refreshed = refresh(store, cfg, months=13, today=AS_OF)
    refresh_s = time.perf_counter() - t0
    baseline_indicators(store, period.start, period.end)  # warm the page cache for both sides alike
    base_s = float("inf")
    for _ in range(2):  # the faster of two runs: the baseline at its best
        t0 = time.perf_counter()
        base_rows = baseline_indicators(store, period.start, period.end)
        base_s = min(base_s, time.perf_counter() - t0)
    runs = []
    with TreeMemory() as tree:
        for _ in range(2):  # the same for the measured side: the faster of two runs (the first is cold)
            t0 = time.perf_counter()
            info = full_indicator_set(store, cfg, period)
            runs.append(time.perf_counter() - t0)
    full_s = min(runs)
    t0 = time.perf_counter()
    rec = reconciliation_run(store, cfg, period)
    rec_s = time.perf_counter() - t0
    from cchc.connectors.store.arrow_read import helper_peak_mb

    helper_mb = helper_peak_mb()  # SQLite reads run in helper processes (at most three at a time)
    return {
        "dossiers": store.count_dossiers("provincial"),
        "period": period.slug,
        "seconds": round(full_s, 2),
        "first_run_seconds": round(runs[0], 2),
        "baseline_seconds": round(base_s, 2),
        "ratio": round(full_s / base_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "helper_peak_rss_mb": round(helper_mb, 1),
        "peak_rss_with_helpers_mb": round(max(tree.peak_mb, peak_rss_mb()), 1),
        "baseline_groups": len(base_rows),
        "cells_refresh_seconds": round(refresh_s, 2),
        "cells_refreshed_months": len(refreshed["computed"]),
        "reconciliation_seconds": round(rec_s, 2),
        **info,
        **rec,
        "database": store.dialect,
    }


def main(what: str, n: int, db_url: str | None) -> int:
    result = bench_sync(n, db_url) if what == "sync" else bench_indicators(n, db_url)
    print(json.dumps(result, ensure_ascii=False))
    return 0
