"""`cchc bench report`: the monthly summary for one period (the month before AS_OF) as the
monthly_report flow makes it (`cchc.pipeline.monthly`: the figures, the 12-month trend and the
reconciliation with the national copies from the months' cells, the chart PNG, the Biểu 06 .xlsx
and the Word report written to a temporary folder, one message per recipient put into the outbox;
nothing sent) over the indicators bench's store with the months' cells in place — every kind, the
reconciliation's too — (refreshed beforehand in a process of its own, not timed), against the
indicators bench's baseline query (one SQL GROUP BY computing the Biểu 06 counts) for the same
month, measured in the same run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

from cchc.bench.indicators import best_baseline, fill_config, filled_store
from cchc.bench.measure import AS_OF, TreeMemory, clear_outbox, timings
from cchc.connectors.store import Store
from cchc.pipeline import monthly as pm
from cchc.pipeline.indicators import choose_source
from cchc.pipeline.period_cells import refresh


def one_summary(store, cfg, period, folder: Path, now: datetime) -> dict:
    """What the flow does for `period` (its Prefect artifacts aside): files and the outbox."""
    source = choose_source(store, cfg, None)
    result = pm.prepare_monthly(store, cfg, period, source, AS_OF, folder)
    pm.enqueue_monthly(store, cfg, result, now)
    return {"queued": result.queued, "files": sorted(result.files),
            "bytes": sum(Path(p).stat().st_size for p in result.files.values()),
            "trend_months": len(result.figures.trend)}


def refresh_cells(db_url: str) -> dict:
    """The last 13 months' cells (every kind) brought up to date, as the sync flow's last step does."""
    return refresh(Store(db_url), fill_config(db_url), months=13, today=AS_OF)


def refresh_apart(db_url: str) -> float:
    """`refresh_cells` in a process of its own (`python -m cchc.bench.report URL`), so that its
    memory (up to a year's rows) is not counted as the summary's; returns its seconds."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cchc.bench.report", db_url], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bench_report(n: int, db_url: str | None = None, note: Callable[[str], None] | None = None) -> dict:
    store, cfg = filled_store(n, db_url, note)
    period = pm.monthly_period(cfg, None, AS_OF)
    # The cells as the sync flow's last step leaves them: the last 13 months current (not timed).
    refresh_s = refresh_apart(store.engine.url.render_as_string(hide_password=False))
    base_s, base_rows = best_baseline(store, period.start, period.end)
    now = datetime.combine(AS_OF, dtime(7, 0))
    folder = Path(tempfile.mkdtemp(prefix="cchc-bench-report-"))
    runs, info = [], {}
    try:
        with TreeMemory() as tree:
            for i in range(2):  # the faster of two runs (the first is cold); a fresh outbox each time
                clear_outbox(store)
                t0 = time.perf_counter()
                info = one_summary(store, cfg, period, folder / str(i), now)
                runs.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "dossiers": store.count_dossiers("provincial"),
        "period": period.slug,
        **timings(runs, base_s, tree),
        "baseline_groups": len(base_rows),
        "cells_refresh_seconds": round(refresh_s, 2),
        **info,
        "database": store.dialect,
    }


if __name__ == "__main__":  # the untimed refresh, apart (see `refresh_apart`)
    refresh_cells(sys.argv[1])
