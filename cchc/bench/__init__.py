"""Benchmarks (`cchc bench sync|indicators|sample|reminders|report|import-excel`): the real path
against a near-physical baseline measured in the same run, reported as a ratio. They call the public functions the flows' tasks call
(`cchc.pipeline`), never a flow's internals. Figures go to bench/RESULTS.md.

  measure.py      shared: AS_OF, scratch stores, the bench configuration, simulator process, memory
  sync.py         `cchc bench sync`
  indicators.py   `cchc bench indicators`
  sample.py       `cchc bench sample` (one inspection wave: selection and dossier samples)
  reminders.py    `cchc bench reminders`
  report.py       `cchc bench report` (the monthly summary for leadership)
  import_excel.py `cchc bench import-excel --rows N`
"""

from __future__ import annotations

from collections.abc import Callable


def run(what: str, n: int, db_url: str | None, note: Callable[[str], None] | None = None) -> dict:
    """The result of one benchmark (a flat dict the command line prints as one JSON line)."""
    if what == "sync":
        from cchc.bench.sync import bench_sync

        return bench_sync(n, db_url)
    if what == "sample":
        from cchc.bench.sample import bench_sample
        return bench_sample(n, db_url, note=note)
    if what == "import-excel":
        from cchc.bench.import_excel import bench_import_excel

        return bench_import_excel(n, db_url, note=note)
    if what == "reminders":
        from cchc.bench.reminders import bench_reminders

        return bench_reminders(n, db_url, note=note)
    if what == "report":
        from cchc.bench.report import bench_report

        return bench_report(n, db_url, note=note)
    from cchc.bench.indicators import bench_indicators

    return bench_indicators(n, db_url, note=note)
