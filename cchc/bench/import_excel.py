"""`cchc bench import-excel --rows N`: importing a one-stop Excel export of N rows as `cchc import-excel`
does (`cchc.pipeline.sync.run_sources(..., excel_file=...)`: the streaming sheet reader, every cell
checked, rows parsed by the domain rules, bad rows quarantined by row and column, upserted page by
page), against a near-physical baseline measured in the same run: the same sheet read by
python-calamine (Rust) and the same rows bulk-inserted without validation.

The export is written once by the simulator's Excel export (`cchc simulate --export-excel`, in its
own process so its memory is not the import's) and kept under var/bench/ for the next run; writing
is not timed. `peak_rss_mb` is the process's peak after the import, before the baseline runs (the
baseline reader holds the whole sheet; `baseline_peak_rss_mb` shows what that costs)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, MetaData, Table

from cchc.bench.measure import AS_OF, BENCH_DIR, bench_config, default_db, peak_rss_mb
from cchc.connectors.store import Store
from cchc.connectors.store.schema import dossiers as dossiers_table
from cchc.domain.records import CHANNEL_NAMES_VI, STATUS_NAMES_VI
from cchc.pipeline.sync import make_context, run_sources
from cchc.simulator.excel_export import EXCEL_HEADERS, SHEET_NAME

BATCH = 2000


def write_export(n: int, note: Callable[[str], None] | None = None, directory: Path = BENCH_DIR):
    """The export of a simulated ward of N dossiers (seed 1, as of AS_OF), written once and reused."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"import-excel-{n}.xlsx"
    marker = path.with_suffix(".json")
    want = {"dossiers": n, "seed": 1, "as_of": AS_OF.isoformat(), "headers": list(EXCEL_HEADERS)}
    if path.exists() and marker.exists() and json.loads(marker.read_text(encoding="utf-8")) == want:
        return path, 0.0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cchc.cli", "simulate", "--dossiers", str(n), "--seed", "1",
                    "--as-of", AS_OF.isoformat(), "--export-excel", str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    marker.write_text(json.dumps(want), encoding="utf-8")
    seconds = time.perf_counter() - t0
    if note is not None:
        note(f"(wrote {path} in {seconds:.0f} s)")
    return path, seconds


_STATUS = {v: int(k) for k, v in STATUS_NAMES_VI.items()}
_CHANNEL = {v: int(k) for k, v in CHANNEL_NAMES_VI.items()}


def baseline_import(path, store: Store) -> int:
    """Read the sheet with python-calamine and bulk-insert the same rows, no validation at all."""
    from python_calamine import CalamineWorkbook

    meta = MetaData()
    table = Table("bench_baseline_excel", meta, *[Column(c.name, c.type) for c in dossiers_table.columns])
    meta.drop_all(store.engine)
    meta.create_all(store.engine)
    now = datetime.now()
    n = 0
    with CalamineWorkbook.from_path(str(path)) as wb:
        rows = wb.get_sheet_by_name(SHEET_NAME).iter_rows()
        col = {h: i for i, h in enumerate(next(rows))}
        (code, proc, proc_name, field, field_name, unit, channel, received, due, finished, returned, status,
         supplements, fee, paid, digitized, e_result, apology) = (col[h] for h in EXCEL_HEADERS)

        def dt(v):
            return v if isinstance(v, datetime) else None

        batch: list[dict] = []
        for r in rows:
            batch.append({
                "source": "excel", "code": r[code], "procedure_code": r[proc], "procedure_name": r[proc_name],
                "field_code": r[field], "field_name": r[field_name], "unit_code": r[unit],
                "status": _STATUS.get(r[status]), "channel": _CHANNEL.get(r[channel], 1), "online_level": None,
                "submitted_at": None, "received_at": dt(r[received]), "due_at": dt(r[due]),
                "effective_due_at": dt(r[due]), "finished_at": dt(r[finished]), "returned_at": dt(r[returned]),
                "refused_at": None, "fee_total": 0, "owes_fee": r[fee] == "Có", "fee_unstated": False,
                "paid_online": r[paid] == "Có", "digitized_component": r[digitized] == "Có",
                "reused_component": False, "e_result": r[e_result] == "Có",
                "supplement_count": int(r[supplements] or 0), "supplement_pending": False, "supplements": None,
                "apology": r[apology] == "Có", "apology_at": None, "apology_new_due": None, "evaluation": None,
                "vneid_verified": False, "applicant_hash": None, "row_hash": "", "synced_at": now,
            })
            if len(batch) >= BATCH:
                with store.engine.begin() as conn:
                    conn.execute(table.insert(), batch)
                n += len(batch)
                batch = []
        if batch:
            with store.engine.begin() as conn:
                conn.execute(table.insert(), batch)
            n += len(batch)
    meta.drop_all(store.engine)
    return n


def bench_import_excel(n: int, db_url: str | None = None, note: Callable[[str], None] | None = None,
                       directory: Path = BENCH_DIR) -> dict:
    path, written_s = write_export(n, note, directory)
    db_url = db_url or default_db("import-excel")
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    store = Store(db_url)
    store.migrate()
    store.clear_dossiers()  # a scratch database: every row is new, as at a ward's first import

    t0 = time.perf_counter()
    counts, errors = run_sources(make_context(cfg, store), AS_OF, excel_file=str(path))
    seconds = time.perf_counter() - t0
    if errors:
        raise RuntimeError("; ".join(errors))
    peak = peak_rss_mb()
    total = counts.total("excel")
    stored = store.count_dossiers("excel")

    t0 = time.perf_counter()
    base_rows = baseline_import(path, store)
    base_s = time.perf_counter() - t0
    rows = total["fetched"]
    return {
        "rows": rows,
        "imported": stored,
        "quarantined": int(total["quarantined"]),
        "seconds": round(seconds, 2),
        "baseline_seconds": round(base_s, 2),
        "rows_per_s": round(rows / seconds, 1),
        "baseline_rows_per_s": round(base_rows / base_s, 1),
        "ratio": round((rows / seconds) / (base_rows / base_s), 3),
        "peak_rss_mb": round(peak, 1),
        "baseline_peak_rss_mb": round(peak_rss_mb(), 1),
        "export_mb": round(path.stat().st_size / 2**20, 1),
        "export_write_seconds": round(written_s, 1),
        "database": store.dialect,
    }
