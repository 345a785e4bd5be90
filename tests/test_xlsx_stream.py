"""The streaming .xlsx reader (issue 14) reads what openpyxl reads: workbooks openpyxl writes (shared
strings, inline strings, dates, booleans, numbers) and hand-made sheets in the shapes other writers
produce (a namespace prefix, cells without a reference, rich text, formulas, error cells, gaps, a
1904 workbook, a chart sheet before the data); .xls files are read through python-calamine; the
Excel-import bench runs at a tiny N and prints its keys."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from cchc.connectors import xlsx_stream
from cchc.connectors.excel_import import read_export
from cchc.connectors.xlsx_stream import XlsxBook


def _trim(row) -> tuple:
    row = list(row)
    while row and row[-1] is None:
        row.pop()
    return tuple(row)


def _openpyxl_rows(path: Path, index: int = 0) -> list[tuple]:
    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[index]
    ws.reset_dimensions()
    rows = [_trim(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _stream_rows(path: Path, index: int = 0) -> list[tuple]:
    with XlsxBook(path) as book:
        rows = [_trim(r) for r in book.rows(index)]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def test_a_workbook_openpyxl_writes_reads_the_same(tmp_path):
    wb = Workbook()  # the normal mode writes shared strings
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["Mã hồ sơ", "Ngày tiếp nhận", "Số", "Có", "Ghi chú <&> \"x\""])
    ws.append(["HS-1", datetime(2026, 3, 1, 8, 30, 15), 3, True, "Đăng ký khai sinh & kết hôn"])
    ws.append(["HS-2", datetime(2026, 3, 2), 2.5, False, None])
    ws.append([None, None, None, None, None])
    ws.append(["HS-3", 46082.75, -1, "0", "  có khoảng trắng  "])
    ws.cell(row=8, column=7, value="xa")  # a gap, then a far cell
    ws["B2"].number_format = "dd/mm/yyyy hh:mm:ss"
    ws["B5"].number_format = "dd/mm/yyyy"
    path = tmp_path / "openpyxl.xlsx"
    wb.save(path)
    assert _stream_rows(path) == _openpyxl_rows(path)
    assert _stream_rows(path)[1][1] == datetime(2026, 3, 1, 8, 30, 15)
    assert _stream_rows(path)[4][1] == datetime(2026, 3, 1, 18, 0)


def test_the_write_only_export_reads_the_same_across_small_chunks(tmp_path, monkeypatch):
    """Inline strings with character references, cut anywhere by the reader's chunks."""
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách hồ sơ")
    ws.append(["Mã hồ sơ", "Tên TTHC", "Ngày tiếp nhận"])
    for i in range(40):
        c = WriteOnlyCell(ws, value=datetime(2026, 1, 1, 7) + timedelta(hours=i * 5, seconds=i))
        c.number_format = "dd/mm/yyyy hh:mm:ss"
        ws.append([f"HS{i:03d}", "Chứng thực bản sao từ bản chính giấy tờ, văn bản ★", c])
    path = tmp_path / "write-only.xlsx"
    wb.save(path)
    expected = _openpyxl_rows(path)
    for size in (7, 64, 1000):
        monkeypatch.setattr(xlsx_stream, "_CHUNK", size)
        assert _stream_rows(path) == expected, size


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _hand_made(path: Path, sheet_xml: str, *, shared: str = "", date1904: bool = False,
               chart_first: bool = False) -> Path:
    """A minimal workbook, written part by part as other spreadsheet software writes them."""
    sheets = '<sheet name="Danh sách" sheetId="1" r:id="rId1"/>'
    epoch = ' date1904="1"' if date1904 else ""
    rels = (f'<Relationship Id="rId1" Type="{R_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{R_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{R_NS}/sharedStrings" Target="sharedStrings.xml"/>')
    overrides = ('<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                 'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    if chart_first:
        sheets = '<sheet name="Biểu đồ" sheetId="2" r:id="rId4"/>' + sheets
        rels += f'<Relationship Id="rId4" Type="{R_NS}/chartsheet" Target="chartsheets/sheet1.xml"/>'
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' + overrides + '</Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{R_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{NS}" xmlns:r="{R_NS}"><workbookPr{epoch}/>'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            '</Relationships>'),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/>'
            '</numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs>'
            '</styleSheet>'),
        "xl/sharedStrings.xml": f'<sst xmlns="{NS}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


SHARED = ('<si><t>Mã hồ sơ</t></si>'
          '<si><r><t>Trạng </t></r><r><rPr><b/></rPr><t>thái</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>'
          '<si><t xml:space="preserve"> Ngày tiếp nhận </t></si>')


def test_hand_made_sheets_in_other_writers_shapes(tmp_path):
    sheet = (
        f'<worksheet xmlns="{NS}"><dimension ref="A1:B2"/><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"/>'
        '<row r="3" spans="1:4"><c r="A3" t="inlineStr"><is><r><t>HS</t></r><r><t>-01</t></r></is></c>'
        '<c r="B3" t="str"><f>CONCAT("a","b")</f><v>a&amp;b &lt;c&gt;</v></c><c r="C3" s="1"><v>46082.5</v></c>'
        '<c r="D3" t="b"><v>1</v></c></row>'
        '<row r="6"><c t="s"><v>0</v></c><c><v>12</v></c><c t="e"><v>#N/A</v></c><c r="F6" s="2"><v>46082</v></c>'
        '</row>'
        '<row r="7"><c r="A7" t="n" s="0"><v>1.5E3</v></c><c s="1" r="B7"><v>10</v></c></row>'
        '</sheetData></worksheet>')
    path = _hand_made(tmp_path / "hand.xlsx", sheet, shared=SHARED)
    rows = _stream_rows(path)
    assert rows == _openpyxl_rows(path)
    assert rows[0] == ("Mã hồ sơ", "Trạng thái", " Ngày tiếp nhận ")
    assert rows[2] == ("HS-01", "a&b <c>", datetime(2026, 3, 1, 12, 0), True)
    assert rows[5][:3] == ("Mã hồ sơ", 12, "#N/A") and len(rows) == 7


def test_a_namespace_prefix_a_1904_workbook_and_a_chart_sheet_first(tmp_path):
    sheet = (
        f'<x:worksheet xmlns:x="{NS}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Mã hồ sơ</x:t></x:is></x:c>'
        '<x:c r="B1" s="1"><x:v>45000.25</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2"><x:v>7</x:v></x:c></x:row>'
        '</x:sheetData></x:worksheet>')
    path = _hand_made(tmp_path / "prefix.xlsx", sheet, date1904=True, chart_first=True)
    with XlsxBook(path) as book:
        assert book.sheetnames == ["Danh sách"] and book.active == 0
        rows = [_trim(r) for r in book.rows(0)]
    assert rows == [("Mã hồ sơ", datetime(1904, 1, 1) + timedelta(days=45000.25)), (7,)]


def test_an_xls_export_imports_with_rows_and_columns_as_excel_shows_them(tmp_path):
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Danh sach")
    ws.write(0, 0, "DANH SÁCH HỒ SƠ")
    for j, h in enumerate(["Mã hồ sơ", "Tên TTHC", "Trạng thái", "Ngày tiếp nhận"]):
        ws.write(2, j + 1, h)
    when = xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm")
    ws.write(3, 1, "HS-1")
    ws.write(3, 2, "Đăng ký khai sinh")
    ws.write(3, 3, "Đã trả kết quả")
    ws.write(3, 4, datetime(2026, 3, 1, 8, 30), when)
    ws.write(4, 1, "HS-2")
    ws.write(4, 3, "Đã trả kết quả")
    ws.write(4, 4, "31/02/2026")
    path = tmp_path / "cu.xls"
    wb.save(str(path))
    result = read_export(path)
    assert result.header_row == 3 and result.rows_read == 2
    [d] = result.dossiers
    assert d.code == "HS-1" and d.received_at.replace(tzinfo=None) == datetime(2026, 3, 1, 8, 30)
    [e] = result.errors
    assert (e.row, e.column, e.code) == (5, "Ngày tiếp nhận", "HS-2")


def test_bench_import_excel_reports_the_named_keys(tmp_path):
    from cchc.bench.import_excel import bench_import_excel

    out = bench_import_excel(300, f"sqlite:///{tmp_path}/bench.sqlite", directory=tmp_path)
    for key in ("rows_per_s", "baseline_rows_per_s", "ratio", "peak_rss_mb"):
        assert out[key] > 0, key
    assert out["rows"] == out["imported"] >= 290 and out["quarantined"] == 0
    assert out["export_write_seconds"] > 0
    again = bench_import_excel(300, f"sqlite:///{tmp_path}/bench.sqlite", directory=tmp_path)
    assert again["export_write_seconds"] == 0 and again["imported"] == out["imported"]  # the export is reused


@pytest.mark.parametrize("bad", [b"not a zip", b"PK\x03\x04broken"])
def test_a_broken_file_is_a_user_error_naming_it(tmp_path, bad):
    from cchc.connectors.excel_import import ExcelFormatError

    path = tmp_path / "hong.xlsx"
    path.write_bytes(bad)
    with pytest.raises(ExcelFormatError, match="hong.xlsx"):
        read_export(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_the_stream_tells_how_far_it_has_read(tmp_path, monkeypatch, suffix):
    from cchc.connectors.excel_import import iter_export

    monkeypatch.setattr(xlsx_stream, "_CHUNK", 4096)
    path = tmp_path / f"dai{suffix}"
    rows = [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"]] + [
        [f"HS{i:05d}", "Đã trả kết quả", "01/03/2026"] for i in range(3000)]
    if suffix == ".csv":
        path.write_text("".join(";".join(r) + "\n" for r in rows), encoding="utf-8")
    else:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Danh sách")
        for r in rows:
            ws.append(r)
        wb.save(path)
    seen = []
    with iter_export(path) as stream:
        for n, _ in stream:
            if n % 500 == 0:
                seen.append(stream.fraction_read())
        assert stream.fraction_read() == 1.0
    assert seen == sorted(seen) and 0 < seen[0] < 0.5 < seen[-1] <= 1.0, seen
