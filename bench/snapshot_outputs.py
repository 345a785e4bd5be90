"""Snapshot what users read, to check that a refactor changes none of it.

    PYTHONPATH=$PWD python bench/snapshot_outputs.py sqlite:////tmp/ref.sqlite /tmp/before
    ... refactor ...
    PYTHONPATH=$PWD python bench/snapshot_outputs.py sqlite:////tmp/ref.sqlite /tmp/after
    diff -r /tmp/before /tmp/after

The store is a demo store (`cchc demo --dossiers 3000 --as-of 2026-11-20 --db URL`, made once if it
does not exist). Captured: `cchc stats` (text and --json for every --by, --xlsx), `cchc reconcile`,
`cchc score766` (text and --json), the compute_indicators flow's artifacts, result and Biểu 06
workbook, and the demo's own output on a fresh store. Clock times and today's date are masked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

PERIOD, AS_OF = "2026-10", "2026-11-20"
BYS = ("unit", "officer", "procedure", "field", "channel")


def mask(text: str) -> str:
    text = re.sub(r"\b\d{1,2}:\d{2}(:\d{2})?(\.\d+)?\b", "HH:MM", text)
    text = text.replace(f"{date.today():%d/%m/%Y}", "TODAY").replace(date.today().isoformat(), "TODAY")
    return re.sub(r"/tmp/[^\s'\"]+", "/tmp/X", text)


def cli(args: list[str], env: dict) -> str:
    p = subprocess.run([sys.executable, "-m", "cchc.cli", *args], capture_output=True, text=True, env=env)
    return f"exit {p.returncode}\n--- stdout\n{p.stdout}--- stderr\n{p.stderr}"


def workbook(path: str) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    out = []
    for ws in wb.worksheets:
        out.append(f"== {ws.title} {ws.dimensions} merged={sorted(str(r) for r in ws.merged_cells.ranges)}")
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    out.append(f"{c.coordinate}\t{c.value!r}\t{c.number_format}\t{c.font.b}")
    return "\n".join(out)


def flow_outputs(out: Path, db: str) -> None:
    """Run compute_indicators in this process, recording its artifacts instead of publishing them."""
    os.environ["CCHC_DATABASE_URL"] = db
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    reports = tempfile.mkdtemp()
    os.environ["CCHC_REPORTS_DIR"] = reports
    import cchc.tasks.artifacts as art
    from cchc.flows.compute_indicators import compute_indicators

    seen: dict[str, dict] = {}
    art.create_table_artifact = lambda table, key, description: seen.__setitem__(
        key, {"table": table, "description": description})
    art.create_markdown_artifact = lambda markdown, key, description: seen.__setitem__(
        key, {"markdown": markdown, "description": description})
    result = compute_indicators(period=PERIOD, today=AS_OF)
    (out / "flow_result.txt").write_text(mask(json.dumps(result, ensure_ascii=False, indent=1, default=str)))
    for key, value in seen.items():
        (out / f"artifact_{key}.txt").write_text(mask(json.dumps(value, ensure_ascii=False, indent=1, default=str)))
    for f in Path(reports).glob("*.xlsx"):
        (out / f"flow_{f.name}.txt").write_text(mask(workbook(str(f))))


def main(db: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CCHC_DATABASE_URL=db, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    path = db.removeprefix("sqlite:///")
    if not os.path.exists(path):
        subprocess.run([sys.executable, "-m", "cchc.cli", "demo", "--dossiers", "3000", "--as-of", AS_OF,
                        "--db", db], check=True, env=env, capture_output=True)
    tmp = tempfile.mkdtemp()
    for by in BYS:
        (out / f"stats_{by}.json").write_text(mask(cli(["stats", "--period", PERIOD, "--by", by, "--json"], env)))
        xlsx = f"{tmp}/stats_{by}.xlsx"
        (out / f"stats_{by}.txt").write_text(mask(cli(["stats", "--period", PERIOD, "--by", by, "--xlsx", xlsx], env)))
        (out / f"stats_{by}.xlsx.txt").write_text(mask(workbook(xlsx)))
    (out / "stats_quarter.json").write_text(mask(cli(["stats", "--period", "2026-Q3", "--json"], env)))
    (out / "stats_bad_period.txt").write_text(mask(cli(["stats", "--period", "2026-13"], env)))
    (out / "stats_from_only.txt").write_text(mask(cli(["stats", "--from", "2026-10-01"], env)))
    for cmd in ("reconcile", "score766"):
        (out / f"{cmd}.json").write_text(mask(cli([cmd, "--period", PERIOD, "--json"], env)))
        (out / f"{cmd}.txt").write_text(mask(cli([cmd, "--period", PERIOD], env)))
    xlsx = f"{tmp}/reconcile.xlsx"
    cli(["reconcile", "--period", PERIOD, "--xlsx", xlsx], env)
    (out / "reconcile.xlsx.txt").write_text(mask(workbook(xlsx)))
    (out / "import_missing.txt").write_text(mask(cli(["import-excel", "/nonexistent/x.xlsx"], env)))
    (out / "config_missing.txt").write_text(mask(cli(["--config", "/nonexistent/ward.yaml", "stats"], env)))
    (out / "faults_bad.txt").write_text(mask(cli(["simulate", "--faults", "5xx=abc"], env)))
    (out / "quarantine.txt").write_text(mask(cli(["quarantine"], env)))
    fresh = f"sqlite:///{tmp}/demo.sqlite"
    (out / "demo.txt").write_text(mask(cli(["demo", "--dossiers", "800", "--as-of", AS_OF, "--db", fresh],
                                           dict(env, CCHC_REPORTS_DIR=tmp))))
    flow_outputs(out, db)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
