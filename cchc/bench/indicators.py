"""`cchc bench indicators`: the full indicator set of a year as compute_indicators computes it
(`cchc.pipeline.indicators`), against one SQL GROUP BY computing the Biểu 06 counts, measured in the
same run; plus the cold refresh of 13 months' cells and the year's reconciliation."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import text

from cchc.bench.measure import AS_OF, BENCH_DIR, TreeMemory, bench_config, timings
from cchc.connectors.store import Store
from cchc.connectors.store.arrow_read import helper_peak_mb
from cchc.domain.catalogue import procedure_rows
from cchc.domain.periods import Period, period_of
from cchc.domain.records import EXCLUDED_STATUSES, FINISHED_STATUSES, sql_in
from cchc.pipeline import indicators as ti
from cchc.pipeline.ingest import store_page
from cchc.pipeline.period_cells import refresh
from cchc.simulator.ward import SyntheticWard


# --- indicators ----------------------------------------------------------------------------------
def populate(store: Store, cfg, n: int, batch: int = 2000) -> None:
    """Fill the store with N simulated dossiers through the real ingestion path (no HTTP)."""
    ward = SyntheticWard(seed=1, n_dossiers=n, as_of=AS_OF)
    cal = cfg.make_calendar()
    idx = ward.all_indices()
    for lo in range(0, len(idx), batch):
        raws = [ward.canonical(i) for i in idx[lo:lo + batch]]
        store_page(store, "provincial", raws, None, cal, None)
        nat = [r for r in (ward.national(i) for i in idx[lo:lo + batch]) if r is not None]
        store_page(store, "national", nat, None, cal, None)
    store.upsert_procedures(procedure_rows(p.to_wire() for p in ward.procedures()))


BASELINE_SQL = """
SELECT d.field_code,
  SUM(CASE WHEN d.received_at >= :start THEN 1 ELSE 0 END) AS received_in_period,
  SUM(CASE WHEN d.received_at >= :start AND d.channel = 2 THEN 1 ELSE 0 END) AS online,
  SUM(CASE WHEN d.received_at < :start THEN 1 ELSE 0 END) AS carried_over,
  SUM(CASE WHEN d.status IN ({finished}) AND {end_} < :after AND {end_day} < {due_day} THEN 1 ELSE 0 END) AS early,
  SUM(CASE WHEN d.status IN ({finished}) AND {end_} < :after AND {end_day} = {due_day} THEN 1 ELSE 0 END) AS on_time,
  SUM(CASE WHEN d.status IN ({finished}) AND {end_} < :after AND {end_day} > {due_day} THEN 1 ELSE 0 END) AS late,
  SUM(CASE WHEN NOT (d.status IN ({finished}) AND {end_} < :after) AND {due_day} >= :end_day THEN 1 ELSE 0 END)
    AS pending_in_time,
  SUM(CASE WHEN NOT (d.status IN ({finished}) AND {end_} < :after) AND {due_day} < :end_day THEN 1 ELSE 0 END)
    AS pending_overdue
FROM dossiers d
WHERE d.source = 'provincial' AND d.status NOT IN ({excluded}) AND d.received_at < :after
  AND (COALESCE(d.finished_at, d.returned_at) IS NULL OR COALESCE(d.finished_at, d.returned_at) >= :start)
GROUP BY d.field_code
"""


def baseline_indicators(store: Store, start: date, end: date) -> list:
    if store.dialect == "sqlite":
        day = "date({})"
    else:
        day = "CAST({} AS DATE)"
    end_ = "COALESCE(d.finished_at, d.returned_at)"
    sql = BASELINE_SQL.format(end_=end_, end_day=day.format(end_), due_day=day.format("d.effective_due_at"),
                              finished=sql_in(FINISHED_STATUSES), excluded=sql_in(EXCLUDED_STATUSES))
    params = {"start": datetime.combine(start, datetime.min.time()),
              "after": datetime.combine(end + timedelta(days=1), datetime.min.time()),
              "end_day": end.isoformat() if store.dialect == "sqlite" else end}
    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).fetchall()


def best_baseline(store: Store, start: date, end: date) -> tuple[float, list]:
    """(seconds, rows) of `baseline_indicators` at its best: the page cache warmed by a first run
    (for both sides alike), then the faster of two."""
    baseline_indicators(store, start, end)
    best, rows = float("inf"), []
    for _ in range(2):
        t0 = time.perf_counter()
        rows = baseline_indicators(store, start, end)
        best = min(best, time.perf_counter() - t0)
    return best, rows


def full_indicator_set(store: Store, cfg, period) -> dict:
    """The issue's full set: every grouping, Biểu 06 (by field and by unit, identities checked) and
    the 766 scores, for `period`, as `compute_indicators` computes them (reconciliation aside: it
    compares rows with the national copies and is timed on its own)."""
    data = ti.load_period(store, cfg, period, with_national=False)
    tables = {by: ti.group_table(data, cfg, by, nested=(by == "unit"))
              for by in ("unit", "officer", "procedure", "field", "channel")}
    by_field, by_unit = ti.bieu06(data, cfg)
    scores = ti.scores(ti.unit_table_766(data, cfg), None, cfg)
    return {"tables": len(tables), "bieu06_rows": len(by_field) + len(by_unit), "scores": len(scores),
            "received": int(tables["unit"]["received"].iloc[-1])}


def reconciliation_run(store: Store, cfg, period) -> dict:
    data = ti.load_period(store, cfg, period, with_national=True)
    summary, mismatches = ti.reconciliation(data, cfg)
    return {"reconciled_units": len(summary), "mismatches": len(mismatches)}


def fill_config(db_url: str):
    """The bench configuration on the shared fill's store (no source is reached)."""
    return bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))


def filled_store(n: int, db_url: str | None, note: Callable[[str], None] | None = None) -> tuple[Store, object]:
    """The store of N simulated dossiers the indicators, sample and report benches share (default:
    var/bench/indicators-N.sqlite) and the bench configuration on it. The fill (`populate`, not
    timed; `note` is told how long it took) is made once and reused by later runs with the same N."""
    db_url = db_url or f"sqlite:///{BENCH_DIR / f'indicators-{n}.sqlite'}"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cfg = fill_config(db_url)
    store = Store(db_url)
    store.migrate()
    marker = {"dossiers": n, "seed": 1, "as_of": AS_OF.isoformat()}
    if store.get_cursor("bench-populate") != marker:
        store.clear_dossiers()  # a scratch database
        t0 = time.perf_counter()
        populate(store, cfg, n)
        store.save_cursor("bench-populate", marker)
        if note is not None:
            note(f"(populated {n} dossiers in {time.perf_counter() - t0:.0f} s)")
    return store, cfg


def bench_indicators(n: int, db_url: str | None = None, note: Callable[[str], None] | None = None) -> dict:
    """`note` is told what is not timed (the fill), for the person running the bench."""
    store, cfg = filled_store(n, db_url, note)
    # One year: the twelve whole months before AS_OF's month (reports are for months and their sums).
    last = period_of(AS_OF, "month").previous()
    period = Period.custom(period_of(last.start - timedelta(days=330), "month").start, last.end)
    # The ingest side: the sync flow's last step keeps the months' cells current; here every month
    # is recomputed from the rows (what a sync that touched the whole year costs).
    store.drop_kept_cells()
    t0 = time.perf_counter()
    refreshed = refresh(store, cfg, months=13, today=AS_OF)
    refresh_s = time.perf_counter() - t0
    base_s, base_rows = best_baseline(store, period.start, period.end)
    runs = []
    with TreeMemory() as tree:
        for _ in range(2):  # the same for the measured side: the faster of two runs (the first is cold)
            t0 = time.perf_counter()
            info = full_indicator_set(store, cfg, period)
            runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    rec = reconciliation_run(store, cfg, period)
    rec_s = time.perf_counter() - t0
    helper_mb = helper_peak_mb()  # SQLite reads run in helper processes (at most three at a time)
    return {
        "dossiers": store.count_dossiers("provincial"),
        "period": period.slug,
        **timings(runs, base_s, tree),
        "helper_peak_rss_mb": round(helper_mb, 1),
        "baseline_groups": len(base_rows),
        "cells_refresh_seconds": round(refresh_s, 2),
        "cells_refreshed_months": len(refreshed["computed"]),
        "reconciliation_seconds": round(rec_s, 2),
        **info,
        **rec,
        "database": store.dialect,
    }
