"""The progress bar of long syncs and imports: the pipeline reports (`cchc.pipeline.progress`), the
CLI draws (`cchc.cli.progress`) only for a person at a terminal — never with --json, never when the
output goes to a pipe or a file, and then nothing at all is written."""

from __future__ import annotations

import argparse
import os
import pty
import select
import sys

from test_sync import AS_OF, START, make_cfg

from cchc.cli.progress import terminal_progress, wanted
from cchc.pipeline import progress
from cchc.pipeline.sync import make_context, run_sources
from cchc.simulator.server import running
from cchc.simulator.ward import SyntheticWard


def test_reports_reach_the_listener_and_a_failing_listener_fails_nothing():
    seen = []

    def broken(*_):
        raise RuntimeError("the screen is gone")

    progress.report(1, 2, label="no one listens")  # nothing to tell: no error
    with progress.listening(lambda *a: seen.append(a)), progress.listening(broken):
        progress.report(3, 10, label="Nhập Excel", unit="dòng")
        progress.report(4, None, label="Nhập Excel", unit="dòng")
    progress.report(5, 10, label="after")
    assert seen == [("Nhập Excel", 3, 10, "dòng"), ("Nhập Excel", 4, None, "dòng")]


def test_no_bar_with_json_or_without_a_terminal(capfd, monkeypatch):
    assert not wanted(argparse.Namespace(json=False))  # pytest's captured output is not a terminal
    master, slave = pty.openpty()
    read_end, write_end = os.pipe()
    tty, pipe = os.fdopen(slave, "w"), os.fdopen(write_end, "w")
    try:
        monkeypatch.setattr(sys, "stdout", tty)
        monkeypatch.setattr(sys, "stderr", tty)
        assert wanted(argparse.Namespace(json=False))
        assert not wanted(argparse.Namespace(json=True))
        monkeypatch.setattr(sys, "stdout", pipe)  # `cchc sync > file`: stderr still a terminal
        assert not wanted(argparse.Namespace(json=False))
    finally:
        monkeypatch.undo()
        for f in (tty, pipe):
            f.close()
        os.close(master)
        os.close(read_end)
    capfd.readouterr()
    with terminal_progress(wanted(argparse.Namespace(json=False))):
        progress.report(250, 500, label="Hệ thống TTHC tỉnh")
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""  # not a single extra byte


def test_bar_on_a_pseudo_terminal_shows_done_total_and_label():
    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w")
    try:
        with terminal_progress(True, file=tty):
            progress.report(100, 400, label="Hệ thống TTHC tỉnh")
            progress.report(400, 400, label="Hệ thống TTHC tỉnh")
        tty.flush()
        chunks = []
        while select.select([master], [], [], 0.5)[0]:  # everything the bar wrote, however many writes
            chunks.append(os.read(master, 65536))
        text = b"".join(chunks).decode("utf-8", "replace")
    finally:
        tty.close()
        os.close(master)
    assert "Hệ thống TTHC tỉnh" in text and "400/400" in text


def test_sync_reports_each_page_up_to_the_window_total(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    monkeypatch.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau")
    ward = SyntheticWard(seed=5, n_dossiers=600, as_of=AS_OF, months=12)
    seen = []
    with running(ward) as url:
        cfg, _ = make_cfg(tmp_path, url, sqlite_url, page_size=40)
        from cchc.connectors.store import Store

        store = Store(cfg.database_url)
        store.migrate()
        with progress.listening(lambda *a: seen.append(a)):
            counts, errors = run_sources(make_context(cfg, store), AS_OF, sources=["provincial"])
    assert errors == []
    want = len(ward.select(START, AS_OF, unit="H99.99"))
    assert len(seen) == -(-want // 40) > 2  # one report per page
    assert {(label, total, unit) for label, _, total, unit in seen} == {("Hệ thống TTHC tỉnh", want, "hồ sơ")}
    done = [d for _, d, _, _ in seen]
    assert done == sorted(done) and done[-1] == want == counts.total("provincial")["fetched"]


def test_import_reports_rows_done_and_ends_at_the_file_total(tmp_path, sqlite_url):
    """An Excel import reports after each batch: rows done rising, a total estimated from how far
    through the file it is, and at the end done == total == the rows of the file."""
    from datetime import date

    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.sync import import_excel_file
    from cchc.simulator.excel_export import export_excel

    ward = SyntheticWard(seed=3, n_dossiers=900, as_of=date(2026, 11, 20), months=6)
    path = tmp_path / "xuat.xlsx"
    rows = export_excel(ward, str(path))
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parent.parent / "config" / "demo.yaml",
                      env={"CCHC_DATABASE_URL": sqlite_url})
    store = Store(sqlite_url)
    store.migrate()
    seen = []
    with progress.listening(lambda *a: seen.append(a)):
        import_excel_file(make_context(cfg, store), str(path), batch_size=200)
    assert len(seen) >= 4 and {(label, unit) for label, _, _, unit in seen} == {("Nhập xuat.xlsx", "dòng")}
    done = [d for _, d, _, _ in seen]
    assert done == sorted(done) and seen[-1][1] == seen[-1][2] == rows
    assert all(total is not None and total >= d for _, d, total, _ in seen)
    store.dispose()
