"""`cchc bench report` at a tiny N: the command prints one JSON line with the keys the issue names,
the summary's three files written and one message per recipient queued in each run (no timing
asserted)."""

import json

from cchc.cli import main
from cchc.connectors.store import Store


def test_bench_report_prints_the_named_keys(tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/bench.sqlite"
    assert main(["bench", "report", "--dossiers", "300", "--db", db]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("seconds", "baseline_seconds", "ratio", "peak_rss_mb"):
        assert key in out, key
    assert out["seconds"] > 0 and out["baseline_seconds"] >= 0 and out["peak_rss_mb"] > 0
    assert out["first_run_seconds"] >= out["seconds"]
    assert out["dossiers"] >= 290 and out["database"] == "sqlite"
    assert out["period"] == "2026-10" and out["trend_months"] == 12
    assert out["files"] == ["chart", "docx", "xlsx"] and out["bytes"] > 10_000
    # the 13 months' cells were computed apart, before the runs, and kept
    store = Store(db)
    assert len({e["period_start"] for e in store.kept_cells("provincial")}) == 13 and out["cells_refresh_seconds"] > 0
    # the second run found a fresh outbox: it queued its messages again, and they were not sent
    kept = store.engine.connect().exec_driver_sql("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    assert out["queued"] > 0 and dict(kept) == {"queued": out["queued"]}
