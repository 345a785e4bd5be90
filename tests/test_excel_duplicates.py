"""A code read twice in one Excel import: the later row is quarantined saying which row has it
first, the first row's data is what is stored, and the run goes on — found through the store's
record of the rows read so far (`import_rows`), a page at a time, on SQLite and PostgreSQL, so
the import holds no index of every code in memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlalchemy import func, select

from cchc.config import load_config
from cchc.connectors import excel_import
from cchc.connectors.excel_import import iter_export, read_export
from cchc.connectors.store import Store
from cchc.connectors.store.schema import import_rows
from cchc.pipeline.sync import import_excel_file, make_context, run_sources

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["Mã hồ sơ", "Tên TTHC", "Ngày tiếp nhận", "Trạng thái", "Số lần bổ sung"]


def _ctx(tmp_path: Path, url: str):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = url
    path = tmp_path / "ward.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    store = Store(url)
    store.migrate()
    return make_context(load_config(path, env={}), store)


def _export(tmp_path: Path, codes: list[str], name: str = "dup.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i, code in enumerate(codes):  # row i + 2; the supplement count tells the copies apart
        ws.append([code, "Thủ tục", "02/03/2026", 10, i])
    path = tmp_path / name
    wb.save(path)
    return path


def _claims(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(import_rows)).scalar()


#        row: 2    3    4    5    6    7    8    9    10   11
CODES = ["A", "B", "C", "A", "D", "D", "E", "B", "F", "A"]


@pytest.mark.parametrize("page", [3, 2000])  # repeats across pages, and all in one page
def test_a_repeated_code_says_its_first_row_and_the_first_row_is_stored(tmp_path, db_url, page, monkeypatch):
    ctx = _ctx(tmp_path, db_url)
    path = _export(tmp_path, CODES)
    streams = []
    real = excel_import.iter_export
    monkeypatch.setattr(excel_import, "iter_export", lambda *a, **k: streams.append(real(*a, **k)) or streams[-1])
    counts = import_excel_file(ctx, str(path), batch_size=page)["counts"]
    assert [s._codes for s in streams] == [None]  # the stream kept no index of the codes: the store did
    errors = counts["errors"]
    assert errors == [
        "dup.xlsx, dòng 5, cột 'Mã hồ sơ': mã hồ sơ trùng với dòng 2",
        "dup.xlsx, dòng 7, cột 'Mã hồ sơ': mã hồ sơ trùng với dòng 6",
        "dup.xlsx, dòng 9, cột 'Mã hồ sơ': mã hồ sơ trùng với dòng 3",
        "dup.xlsx, dòng 11, cột 'Mã hồ sơ': mã hồ sơ trùng với dòng 2",
    ]
    # the same words as the stream's own check (`read_export`, which holds the whole file anyway)
    assert [f"dup.xlsx, dòng {e.row}, cột '{e.column}': {e.reason}" for e in read_export(path).errors] == errors
    store = ctx.store
    assert store.count_dossiers("excel") == 6
    frame = store.load_facts("excel")
    assert dict(zip(frame["code"], frame["supplement_count"], strict=True)) == {
        "A": 0, "B": 1, "C": 2, "D": 4, "E": 6, "F": 8}  # the first row's copy
    quarantined = {(q["record_key"], q["raw"]["row"]) for q in store.quarantine_rows("excel")}
    assert quarantined == {("A", 5), ("D", 7), ("B", 9), ("A", 11)}
    total = {k: sum(r[k] for r in counts["rows"]) for k in ("fetched", "inserted", "quarantined")}
    assert total == {"fetched": 10, "inserted": 6, "quarantined": 4}
    assert _claims(store) == 0  # the record of the rows read is the import's own: gone when it ends


def test_a_second_import_of_the_same_file_repeats_nothing(tmp_path, db_url):
    ctx = _ctx(tmp_path, db_url)
    path = _export(tmp_path, ["A", "B", "C", "D"])
    counts, errors = run_sources(ctx, date(2026, 3, 20), excel_file=str(path))
    assert errors == [] and counts.errors == [] and counts.total()["inserted"] == 4
    again = make_context(ctx.cfg, ctx.store)  # a new run
    counts, errors = run_sources(again, date(2026, 3, 20), excel_file=str(path))
    assert errors == [] and counts.errors == []
    assert counts.total()["unchanged"] == 4 and counts.total()["quarantined"] == 0


def test_a_killed_import_leaves_nothing_that_reads_as_a_repeat(tmp_path, db_url, monkeypatch):
    ctx = _ctx(tmp_path, db_url)
    ctx.store.claim_import_rows("an-import-killed-before", {"A": 7})
    path = _export(tmp_path, ["A", "B"])
    counts = import_excel_file(ctx, str(path))["counts"]
    assert counts["errors"] == [] and ctx.store.count_dossiers("excel") == 2
    assert _claims(ctx.store) == 0


def test_an_import_that_fails_half_way_forgets_its_rows(tmp_path, db_url, monkeypatch):
    ctx = _ctx(tmp_path, db_url)
    path = _export(tmp_path, [f"K{i}" for i in range(10)])
    calls = []
    real = Store.upsert_page

    def failing(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(self, *a, **k)

    monkeypatch.setattr(Store, "upsert_page", failing)
    with pytest.raises(RuntimeError):
        import_excel_file(ctx, str(path), batch_size=4)
    assert _claims(ctx.store) == 0 and ctx.store.count_dossiers("excel") == 4


def test_claims_say_only_the_earlier_rows_of_the_same_import(db_url):
    store = Store(db_url)
    store.migrate()
    assert store.claim_import_rows("r1", {"A": 2, "B": 3}) == {}
    assert store.claim_import_rows("r2", {"A": 9}) == {}  # another import: its own record
    assert store.claim_import_rows("r1", {"B": 40, "C": 41, "A": 42}) == {"A": 2, "B": 3}
    assert store.claim_import_rows("r1", {"C": 50}) == {"C": 41}  # recorded once, at its first row
    store.forget_import_rows("r1")
    assert store.claim_import_rows("r1", {"A": 60}) == {}
    assert store.claim_import_rows("r2", {"A": 61}) == {"A": 9}


def test_the_import_stream_can_leave_repeats_to_its_caller(tmp_path):
    path = _export(tmp_path, ["A", "A"])
    with iter_export(path) as rows:
        assert [type(item).__name__ for _, item in rows] == ["Dossier", "RowError"]
    with iter_export(path, duplicates=False) as rows:
        assert [type(item).__name__ for _, item in rows] == ["Dossier", "Dossier"]
