"""The Excel import builds each `Dossier` from the typed cells (no wire strings, dates not formatted
and parsed back); the wire dict read by `parse_dossier` is the reference. On the simulator's export
and on a sheet of awkward cells the two paths give the same dossiers and the same errors."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl

from cchc.connectors import excel_import
from cchc.connectors.excel_import import ExportStream, read_export
from cchc.simulator.excel_export import export_excel
from cchc.simulator.ward import SyntheticWard


def _both(path: Path, monkeypatch):
    typed = read_export(path)
    with monkeypatch.context() as m:
        m.setattr(ExportStream, "_row_typed", ExportStream._row_via_wire)
        wire = read_export(path)
    return typed, wire


def _same(typed, wire) -> None:
    assert typed.rows_read == wire.rows_read
    assert typed.errors == wire.errors
    assert typed.dossiers == wire.dossiers
    # equal and of the same kinds (an IntEnum equals its int; a tz-aware time its UTC twin)
    for a, b in zip(typed.dossiers, wire.dossiers, strict=True):
        for name in a.__slots__:
            x, y = getattr(a, name), getattr(b, name)
            assert type(x) is type(y), name
            if isinstance(x, datetime):
                assert x.tzinfo is y.tzinfo, name


def test_the_simulated_export_reads_the_same_by_both_paths(tmp_path, monkeypatch):
    ward = SyntheticWard(seed=3, n_dossiers=1500, as_of=date(2026, 11, 20), months=11)
    path = tmp_path / "ds.xlsx"
    export_excel(ward, path)
    typed, wire = _both(path, monkeypatch)
    assert len(typed.dossiers) > 1000 and typed.errors == []
    _same(typed, wire)


def test_awkward_cells_read_the_same_by_both_paths(tmp_path, monkeypatch):
    header = ["Mã hồ sơ", "Tên TTHC", "Lĩnh vực", "Mã đơn vị", "Kênh nộp", "Ngày nộp", "Ngày tiếp nhận",
              "Ngày hẹn trả", "Ngày kết thúc xử lý", "Trạng thái", "Số lần bổ sung", "Có phí",
              "Thanh toán trực tuyến", "Số hóa kết quả", "Phiếu xin lỗi"]
    rows = [
        ["A-1", " Thủ tục ", "Hộ tịch", "U1", "", None, datetime(2026, 3, 2, 8, 0), "10/03/2026", None, 10, "", "",
         "", "", ""],
        ["A-2", "T", "", "U1", "Trực tuyến", "01/03/2026 07:30", "02/03/2026 08:15:09", 46090.5, "2026-03-05 10:00",
         "Đã trả kết quả", 2, "Có", 2, "x", "Không"],
        ["A-3", "T", "Lĩnh vực rất dài " * 4, "U1", 3, None, "20260302081500", "2026-03-09", None, 4, None, "Không",
         "Có", "", ""],
        [1234.0, "T", "Hộ tịch", "U2", "Bưu chính", None, datetime(2026, 3, 2, 8, 0, 0, 600_000), None, None,
         "Mới đăng ký", 0, None, None, None, None],
        ["A-5", "T", None, None, None, None, None, None, None, 1, None, None, None, None, None],  # new: no reception
        ["A-6", "T", None, None, None, None, None, None, None, 10, None, None, None, None, None],  # no reception
        ["A-7", "T", None, None, "Fax", None, "31/02/2026", None, None, "abc", -1, "có lẽ", None, None, None],
        ["A-8", "T", None, None, None, None, "0005-03-02", "01/03/0999", None, 10, None, None, None, None, None],
        ["x" * 70, "T", None, None, None, None, "02/03/2026", None, None, 10, None, None, None, None, None],
        ["Ho\u0300-9", "T", None, None, None, None, "02/03/2026", None, None, 10, None, None, None, None, None],
        ["A-10", "T", None, "U" * 80, None, None, "02/03/2026", None, None, 10, None, None, None, None, None],
        ["A-11", "T", None, None, None, None, "2026-03-02T08:00:00+02:00", None, None, 10, None, None, None, None,
         None],
        ["A-12", "T", None, None, None, None, "02/03/2026", None, None, None, None, None, None, None, None],
        ["", "T", None, None, None, None, "02/03/2026", None, None, 10, None, None, None, None, None],
        [None] * len(header),  # a blank row: skipped
        ["A-1", "T", None, None, None, None, "02/03/2026", None, None, 10, None, None, None, None, None],  # repeated
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    path = tmp_path / "awkward.xlsx"
    wb.save(path)
    typed, wire = _both(path, monkeypatch)
    assert len(typed.dossiers) >= 6
    assert {e.row for e in typed.errors} == {7, 8, 9, 10, 12, 14, 15, 17}
    _same(typed, wire)
    # the year-5 cell took the reference path, which says what the wire says of it
    assert any(e.row == 9 and e.column == "Ngày tiếp nhận" for e in typed.errors)


def test_the_rows_of_a_csv_read_the_same_by_both_paths(tmp_path, monkeypatch):
    path = tmp_path / "ds.csv"
    path.write_text("Mã hồ sơ;Mã lĩnh vực;Ngày tiếp nhận;Trạng thái;Có phí\n"
                    "C1;;02/03/2026;10;1\nC2;LV;02-03-2026 08:00;Đã tiếp nhận;0\nC3;;hôm qua;10;\n"
                    "C4;LV;;3;\n", encoding="utf-8")
    typed, wire = _both(path, monkeypatch)
    assert [d.code for d in typed.dossiers] == ["C1", "C2", "C4"]
    _same(typed, wire)


def test_field_keys_of_names_are_remembered_boundedly(tmp_path, monkeypatch):
    """Fields known only by name get the same key on every row (worked out once per name)."""
    calls = []
    real = excel_import.field_key
    monkeypatch.setattr(excel_import, "field_key", lambda name: calls.append(name) or real(name))
    path = tmp_path / "names.csv"
    path.write_text("Mã hồ sơ;Lĩnh vực;Ngày tiếp nhận;Trạng thái\n"
                    + "".join(f"N{i};{'Hộ tịch' if i % 2 else 'Đất đai'};02/03/2026;10\n" for i in range(50)),
                    encoding="utf-8")
    result = read_export(path)
    assert {d.field_code for d in result.dossiers} == {real("Hộ tịch"), real("Đất đai")}
    assert sorted(calls) == ["Hộ tịch", "Đất đai"]
