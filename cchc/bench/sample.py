"""`cchc bench sample`: selecting and sampling one inspection wave (`cchc.pipeline.inspections`:
the pool's risk figures from the months' cells and a per-unit count of dossiers missing on the
national portal, the weighted RFC 3797 draw, storage, then the chosen units' dossier samples from
their rows of the period), against one SQL query counting the same units' dossiers of the period,
measured in the same run on the same store. The store is filled and its cells refreshed (what the
sync flow leaves) untimed."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import text

from cchc.bench.indicators import populate
from cchc.bench.measure import AS_OF, BENCH_DIR, TreeMemory, bench_config, peak_rss_mb
from cchc.connectors.store import Store
from cchc.domain.records import EXCLUDED_STATUSES, sql_in
from cchc.pipeline import inspections as pi
from cchc.pipeline import period_cells

SOURCES = ["9319", "2 5 12 8 10"]  # fixed: the bench draws the same units every run
RUNS = 3  # each side's time is the fastest of this many runs (a loaded machine slows single runs)

BASELINE_SQL = """
SELECT COUNT(*) FROM dossiers d
WHERE d.source = 'provincial' AND d.status NOT IN ({excluded}) AND d.received_at < :after
  AND (COALESCE(d.finished_at, d.returned_at) IS NULL OR COALESCE(d.finished_at, d.returned_at) >= :start)
  AND ({units})
"""


def baseline_count(store: Store, unit_ids: list[str], start, end) -> list:
    # a unit and its sub-units (identifier prefix), as the sample's lot counts them
    units = " OR ".join(f"d.unit_code = :u{i} OR d.unit_code LIKE :p{i}" for i in range(len(unit_ids)))
    q = text(BASELINE_SQL.format(excluded=sql_in(EXCLUDED_STATUSES), units=units))
    params = {"start": datetime.combine(start, datetime.min.time()),
              "after": datetime.combine(end + timedelta(days=1), datetime.min.time())}
    for i, nid in enumerate(unit_ids):
        params[f"u{i}"], params[f"p{i}"] = nid, nid + ".%"
    with store.engine.connect() as conn:
        return conn.execute(q, params).fetchall()


def one_wave(store: Store, cfg, wave: int = 2) -> dict:
    """What `cchc plan --wave 2` computes and stores, documents aside: the selection, then the samples."""
    planned = pi.make_plan(store, cfg, cfg.inspection.year, SOURCES, wave=wave)
    samples = pi.sample_wave(store, cfg, planned, 0, SOURCES)
    return {"units": [s.unit_code for s in samples], "period": planned.windows[planned.plan.waves[0].wave.number],
            "lot": sum(s.sample.lot_size for s in samples), "sampled": sum(len(s.sample.rows) for s in samples)}


def prepare(n: int, db_url: str) -> str | None:
    """The store as the wave finds it, untimed: N simulated dossiers (once; kept for the next run),
    then the last 13 months' cells current, as the sync flow's last step leaves a synced store.
    Returns a note when it filled the store."""
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    store = Store(db_url)
    store.migrate()
    marker = {"dossiers": n, "seed": 1, "as_of": AS_OF.isoformat()}
    done = None
    if store.get_cursor("bench-populate") != marker:
        store.clear_dossiers()
        t0 = time.perf_counter()
        populate(store, cfg, n)
        store.save_cursor("bench-populate", marker)
        done = f"(populated {n} dossiers in {time.perf_counter() - t0:.0f} s)"
    period_cells.refresh(store, cfg, today=AS_OF)
    store.dispose()
    return done


def bench_sample(n: int, db_url: str | None = None, note: Callable[[str], None] | None = None) -> dict:
    db_url = db_url or f"sqlite:///{BENCH_DIR / f'indicators-{n}.sqlite'}"  # the indicators bench's fill
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    # in a child process: the fill's and the refresh's memory is not the wave's (peak RSS below)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        filled = pool.submit(prepare, n, db_url).result()
    if filled and note is not None:
        note(filled)
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    store = Store(db_url)
    runs, info = [], {}
    with TreeMemory() as tree:
        for _ in range(RUNS):  # the fastest of RUNS (the first is cold)
            t0 = time.perf_counter()
            info = one_wave(store, cfg)
            runs.append(time.perf_counter() - t0)
    ids = [cfg.unit_by_code(c).national_id for c in info["units"]]
    period = info["period"]
    baseline_count(store, ids, period.start, period.end)  # warm
    base_s = float("inf")
    for _ in range(RUNS):  # the same for the baseline
        t0 = time.perf_counter()
        counted = baseline_count(store, ids, period.start, period.end)
        base_s = min(base_s, time.perf_counter() - t0)
    seconds = min(runs)
    return {"dossiers": store.count_dossiers("provincial"), "period": period.slug, "units": info["units"],
            "lot": info["lot"], "sampled": info["sampled"], "baseline_counted": int(counted[0][0]),
            "seconds": round(seconds, 2), "first_run_seconds": round(runs[0], 2),
            "baseline_seconds": round(base_s, 4), "ratio": round(seconds / base_s, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1), "peak_rss_with_helpers_mb": round(max(tree.peak_mb, peak_rss_mb()), 1),
            "database": store.dialect}
