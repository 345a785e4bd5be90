"""`cchc bench reminders`: one day's reminders over a store of N simulated dossiers as the
daily_reminders flow runs them (`cchc.pipeline.reminders`: read the open dossiers and those finished
in the period, plan, render, write the outbox, send to a local SMTP server on loopback), against one
SQL query selecting the open dossiers due within the lead time, measured in the same run."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime

from sqlalchemy import text

from cchc.bench.indicators import filled_store
from cchc.bench.measure import AS_OF, HelperProcess, clear_outbox, peak_rss_mb
from cchc.connectors.mail import SmtpSettings
from cchc.connectors.store import Store
from cchc.domain.records import EXCLUDED_STATUSES, FINISHED_STATUSES, OPEN_STATUSES, sql_in
from cchc.pipeline import reminders as pr

BASELINE_SQL = """
SELECT d.code, d.procedure_name, d.unit_code, COALESCE(d.effective_due_at, d.due_at) AS due
FROM dossiers d
WHERE d.source = 'provincial' AND d.status NOT IN ({closed})
  AND COALESCE(d.effective_due_at, d.due_at) < :horizon
"""


#: The same selection written so that it can search ix_dossiers_status_source (migration 0007), which
#: the measured side uses: reported beside the baseline (`baseline_indexed_seconds`), not in `ratio`.
INDEXED_BASELINE_SQL = BASELINE_SQL.replace("d.status NOT IN ({closed})", "d.status IN ({open})")
RUNS = 3  # each side's time is the fastest of this many runs (a loaded machine slows single runs)


def baseline(store: Store, horizon: datetime, indexed: bool = False) -> int:
    sql = (INDEXED_BASELINE_SQL.format(open=sql_in(OPEN_STATUSES)) if indexed
           else BASELINE_SQL.format(closed=sql_in(EXCLUDED_STATUSES | FINISHED_STATUSES)))
    params = {"horizon": horizon.isoformat(sep=" ") if store.dialect == "sqlite" else horizon}
    with store.engine.connect() as conn:
        return len(conn.execute(text(sql), params).fetchall())


class MailboxProcess(HelperProcess):
    """`cchc mailbox` in its own process (as the simulator in the sync bench): what it costs to receive
    and store the messages is not the measured side's. Counts the .eml files it wrote."""

    def __init__(self, directory: str):
        self.directory = directory
        super().__init__("cchc.cli", "mailbox", "--dir", directory, "--port", what="the local mailbox")

    def ready(self) -> bool:  # an SMTP server: it accepts connections
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def received(self) -> int:
        from pathlib import Path

        return len(list(Path(self.directory).glob("*.eml")))


def bench_reminders(n: int, db_url: str | None = None, note: Callable[[str], None] | None = None) -> dict:
    """On the store the indicators, sample and report benches share (`filled_store`, default
    var/bench/indicators-N.sqlite): its provincial rows are this bench's (seed 1, the same `as_of`),
    and both sides select `source = 'provincial'` only, so the national copies change no result. They
    do change the cost of a pass over the table: on PostgreSQL the baseline is a sequential scan,
    which reads them too (1.7-1.8 times as long as on a store of the provincial rows alone; SQLite's
    baseline goes through the source's index and takes as long on either). See bench/RESULTS.md."""
    store, cfg = filled_store(n, db_url, note)
    if store.dialect == "postgresql":  # a live server's autovacuum keeps statistics; a fresh fill has none yet
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE dossiers, processing_steps"))
    day = AS_OF
    cal = cfg.make_calendar()
    horizon = datetime.combine(cal.add_working_days(day, cfg.reminders.due_soon_days) + timedelta(days=1), dtime())
    baseline(store, horizon)  # warm the page cache for both sides alike
    base_s, base_rows, indexed_s = float("inf"), 0, float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        base_rows = baseline(store, horizon)
        base_s = min(base_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        if baseline(store, horizon, indexed=True) != base_rows:
            raise RuntimeError("the indexed baseline does not select the same dossiers")
        indexed_s = min(indexed_s, time.perf_counter() - t0)
    mail_dir = tempfile.mkdtemp(prefix="cchc-bench-mail-")
    now = datetime.combine(day, dtime(7, 30))
    runs, info = [], {}
    box = MailboxProcess(mail_dir)
    try:
        settings = SmtpSettings.resolve(cfg.smtp.model_copy(update={"host": "127.0.0.1", "port": box.port,
                                                                    "tls": "none", "username": None}), env={})
        for _ in range(RUNS):  # the fastest of RUNS (the first is cold); a fresh outbox each time
            clear_outbox(store)
            t0 = time.perf_counter()
            plan = pr.plan_day(store, cfg, day, "provincial")
            rendered = pr.render(cfg, plan)
            ob = pr.outbox_of(store, cfg)
            new, _ = pr.enqueue(ob, rendered, now)
            report = pr.send(ob, settings, now, cfg.smtp.batch_size, cfg.smtp.connections)
            runs.append(time.perf_counter() - t0)
            info = {"messages": report.sent, "enqueued": new, "items": len(plan.items),
                    "received_by_mailbox": box.received()}
    finally:
        box.stop()
        shutil.rmtree(mail_dir, ignore_errors=True)
    seconds = min(runs)
    return {
        "dossiers": store.count_dossiers("provincial"),
        "day": day.isoformat(),
        "seconds": round(seconds, 3),
        "first_run_seconds": round(runs[0], 3),
        "baseline_seconds": round(base_s, 4),
        "baseline_indexed_seconds": round(indexed_s, 4),
        "ratio": round(seconds / base_s, 2) if base_s > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "baseline_rows": base_rows,
        **info,
        "database": store.dialect,
    }
