"""Excel exports (cchc.report.xlsx): Biểu số 06/VPCP/KSTT and plain indicator tables.

Every workbook is written in tmp_path and reopened with openpyxl.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from types import SimpleNamespace

import openpyxl
import pytest

from cchc.domain.bieu06 import Bieu06Row, check_identities
from cchc.report.xlsx import (
    BIEU06_TITLE,
    NOT_APPLICABLE,
    SHEET_BY_FIELD,
    SHEET_BY_UNIT,
    SIMULATED_BANNER,
    write_bieu06_xlsx,
    write_table_xlsx,
)

FIELDS = (
    "received_total",
    "received_online",
    "received_in_person_postal",
    "carried_over",
    "resolved_total",
    "early",
    "on_time",
    "late",
    "pending_total",
    "pending_in_time",
    "pending_overdue",
)


def _row(stt, label, online, in_person, carried, early, on_time, late, pend_in, pend_over) -> Bieu06Row:
    resolved = early + on_time + late
    pending = pend_in + pend_over
    row = Bieu06Row(
        stt=stt,
        label=label,
        received_total=online + in_person + carried,
        received_online=online,
        received_in_person_postal=in_person,
        carried_over=carried,
        resolved_total=resolved,
        early=early,
        on_time=on_time,
        late=late,
        pending_total=pending,
        pending_in_time=pend_in,
        pending_overdue=pend_over,
    )
    check_identities(row)
    return row


def _total(rows, label="Tổng cộng") -> Bieu06Row:
    return Bieu06Row(stt="", label=label, **{f: sum(getattr(r, f) for r in rows) for f in FIELDS})


FIELD_ROWS = [
    _row("1", "Hộ tịch", 120, 30, 5, 100, 40, 3, 10, 2),
    _row("2", "Chứng thực", 1500, 200, 0, 1600, 90, 0, 10, 0),
    _row("3", "Đất đai", 4, 6, 7, 2, 5, 4, 3, 3),
]
UNIT_ROWS = [
    _row("1", "Bộ phận Một cửa phường", 1624, 236, 12, 1702, 135, 7, 23, 5),
]

KW = dict(
    ward_name="Phường Hòa An",
    province="Thành phố Đà Nẵng",
    period_label="Tháng 3/2025",
    period_from=date(2025, 2, 15),
    period_to=date(2025, 3, 14),
    generated_at=datetime(2025, 3, 15, 8, 5),
)


def _find(ws, text):
    """(row, column) of the first cell whose value is exactly `text`, or None."""
    for row in ws.iter_rows():
        for c in row:
            if c.value == text:
                return c.row, c.column
    return None


def _texts(ws) -> list[str]:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def _merged_at(ws, row, col):
    for rng in ws.merged_cells.ranges:
        if rng.min_row == row and rng.min_col == col:
            return rng
    return None


@pytest.fixture
def bieu06_path(tmp_path):
    rows = FIELD_ROWS + [_total(FIELD_ROWS, "TOTAL")]
    units = UNIT_ROWS + [_total(UNIT_ROWS)]
    out = write_bieu06_xlsx(
        tmp_path / "nested" / "dir" / "bieu06.xlsx", rows_by_field=rows, rows_by_unit=units, **KW
    )
    return out


def test_bieu06_sheets_title_and_period(bieu06_path):
    assert bieu06_path.exists() and bieu06_path.parent.name == "dir"
    wb = openpyxl.load_workbook(bieu06_path)
    assert wb.sheetnames == [SHEET_BY_FIELD, SHEET_BY_UNIT] == ["Biểu 06 (lĩnh vực)", "Biểu 06a (đơn vị)"]
    ws = wb[SHEET_BY_FIELD]
    assert ws["A1"].value == "Biểu số 06/VPCP/KSTT"
    texts = _texts(ws)
    assert any("Phường Hòa An" in t and "Thành phố Đà Nẵng" in t for t in texts)
    r, c = _find(ws, BIEU06_TITLE)
    assert BIEU06_TITLE == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
    assert ws.cell(r, c).alignment.horizontal == "center"
    assert ws.cell(r, c).font.bold and ws.cell(r, c).font.size == 13
    rng = _merged_at(ws, r, c)
    assert rng is not None and (rng.min_col, rng.max_col) == (1, 13)
    assert "Kỳ báo cáo: Tháng 3/2025 (từ 15/02/2025 đến 14/03/2025)" in texts
    assert "Đơn vị tính: Số hồ sơ TTHC" in texts
    assert "Ngày xuất: 15/03/2025 08:05" in texts
    assert SIMULATED_BANNER not in texts
    assert wb[SHEET_BY_UNIT]["A1"].value.startswith("Biểu số 06")


def test_bieu06_merged_headers(bieu06_path):
    wb = openpyxl.load_workbook(bieu06_path)
    ws = wb[SHEET_BY_FIELD]
    h1, c = _find(ws, "Số hồ sơ nhận giải quyết")
    assert c == 3
    rng = _merged_at(ws, h1, 3)
    assert (rng.min_col, rng.max_col, rng.min_row, rng.max_row) == (3, 6, h1, h1)  # spans 4 columns
    rng = _merged_at(ws, h1, 7)
    assert ws.cell(h1, 7).value == "Số hồ sơ đã giải quyết" and (rng.min_col, rng.max_col) == (7, 10)
    rng = _merged_at(ws, h1, 11)
    assert ws.cell(h1, 11).value == "Số hồ sơ đang giải quyết" and (rng.min_col, rng.max_col) == (11, 13)
    # STT and the label column span the three header rows.
    assert ws.cell(h1, 1).value == "STT" and _merged_at(ws, h1, 1).max_row == h1 + 2
    assert ws.cell(h1, 2).value == "Lĩnh vực giải quyết" and _merged_at(ws, h1, 2).max_row == h1 + 2
    assert wb[SHEET_BY_UNIT].cell(h1, 2).value == "Đơn vị"
    # Second level, as in the official form: Tổng số | Trong kỳ (its own level over Trực tuyến and
    # Trực tiếp, dịch vụ bưu chính) | Từ kỳ trước; Tổng số and Từ kỳ trước are two rows tall.
    assert ws.cell(h1 + 1, 3).value == "Tổng số" and _merged_at(ws, h1 + 1, 3).max_row == h1 + 2
    rng = _merged_at(ws, h1 + 1, 4)
    assert ws.cell(h1 + 1, 4).value == "Trong kỳ" and (rng.min_col, rng.max_col, rng.max_row) == (4, 5, h1 + 1)
    assert [ws.cell(h1 + 2, c).value for c in (4, 5)] == ["Trực tuyến", "Trực tiếp, dịch vụ bưu chính"]
    rng = _merged_at(ws, h1 + 1, 6)
    assert ws.cell(h1 + 1, 6).value == "Từ kỳ trước" and (rng.min_row, rng.max_row) == (h1 + 1, h1 + 2)
    assert [ws.cell(h1 + 1, c).value for c in range(7, 14)] == [
        "Tổng số",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "Tổng số",
        "Trong hạn",
        "Quá hạn",
    ]
    assert ws.cell(h1, 3).alignment.wrap_text
    # Column numbers row (1)..(13).
    assert [ws.cell(h1 + 3, c).value for c in range(1, 14)] == [f"({i})" for i in range(1, 14)]


def test_bieu06_data_and_total_rows(bieu06_path):
    ws = openpyxl.load_workbook(bieu06_path)[SHEET_BY_FIELD]
    h1, _ = _find(ws, "Số hồ sơ nhận giải quyết")
    first = h1 + 4
    hr = FIELD_ROWS[1]
    values = [ws.cell(first + 1, c).value for c in range(1, 14)]
    assert values == [2, "Chứng thực", *[getattr(hr, f) for f in FIELDS]]
    assert values[2:5] == [1700, 1500, 200]
    assert ws.cell(first + 1, 3).number_format == "#,##0"
    total_r, total_c = _find(ws, "Tổng cộng")
    assert total_c == 2 and total_r == first + 3  # directly after the 3 data rows
    assert _find(ws, "TOTAL") is None
    assert ws.cell(total_r, 1).value is None
    assert ws.cell(total_r, 2).font.bold and ws.cell(total_r, 3).font.bold
    assert [ws.cell(total_r, c).value for c in range(3, 14)] == [
        sum(getattr(r, f) for r in FIELD_ROWS) for f in FIELDS
    ]
    assert not ws.cell(first, 2).font.bold
    # Borders on the table, not the title.
    assert ws.cell(total_r, 13).border.left.style == "thin"
    assert ws.cell(h1, 13).border.top.style == "thin"  # a merged header cell
    assert ws.cell(1, 1).border.left.style is None
    # Widths and frozen headers.
    assert 40 <= ws.column_dimensions["B"].width <= 50
    assert 9 <= ws.column_dimensions["D"].width <= 14
    assert ws.freeze_panes == f"C{first}"
    # 06a rows
    ws_u = openpyxl.load_workbook(bieu06_path)[SHEET_BY_UNIT]
    assert [ws_u.cell(first, c).value for c in (1, 2, 3)] == [1, "Bộ phận Một cửa phường", 1872]
    assert ws_u.cell(first + 1, 2).value == "Tổng cộng"


def test_bieu06_fonts_and_print_setup(bieu06_path):
    wb = openpyxl.load_workbook(bieu06_path)
    for ws in wb.worksheets:
        fonts = {c.font.name for row in ws.iter_rows() for c in row if c.value is not None}
        assert fonts == {"Times New Roman"}
        sizes = {c.font.size for row in ws.iter_rows() for c in row if c.value is not None}
        assert sizes == {12, 13}
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
        h1, _ = _find(ws, "Số hồ sơ nhận giải quyết")
        assert ws.print_title_rows == f"${h1}:${h1 + 3}"
        assert ws.page_margins.left <= 0.5 and ws.page_margins.right <= 0.5
        assert "Ngày xuất: 15/03/2025 08:05" in ws.oddFooter.left.text


def test_bieu06_signature_block_receiving_body_and_page_numbers(tmp_path):
    rows = FIELD_ROWS + [_total(FIELD_ROWS)]
    out = write_bieu06_xlsx(tmp_path / "ky.xlsx", rows_by_field=rows, rows_by_unit=UNIT_ROWS, place="Hòa An",
                            receiving_body="Văn phòng UBND thành phố Đà Nẵng", **KW)
    for ws in openpyxl.load_workbook(out).worksheets:
        total_r, _ = _find(ws, "Tổng cộng")
        # top right, as in the form: who reports and who receives
        r, c = _find(ws, "Đơn vị nhận báo cáo: Văn phòng UBND thành phố Đà Nẵng")
        assert r <= 3 and c >= 8
        assert _find(ws, "Đơn vị báo cáo: Phường Hòa An, Thành phố Đà Nẵng")[1] == c
        # the signature block below the table: preparer left, head of unit right under the date line
        date_r, date_c = _find(ws, "Hòa An, ngày … tháng … năm …")
        assert date_r > total_r and date_c >= 8 and ws.cell(date_r, date_c).font.italic
        prep_r, prep_c = _find(ws, "Người lập biểu")
        head_r, head_c = _find(ws, "Thủ trưởng đơn vị")
        assert prep_r == head_r == date_r + 1 and prep_c < 7 <= head_c
        assert ws.cell(head_r, head_c).font.bold and ws.cell(prep_r, prep_c).font.bold
        assert _find(ws, "(Ký, ghi rõ họ tên)")[0] == _find(ws, "(Ký tên, đóng dấu)")[0] == head_r + 1
        stamp_r, _ = _find(ws, "Ngày xuất: 15/03/2025 08:05")
        assert stamp_r > head_r + 3  # room to sign
        assert ws.print_area.endswith(f"$M${stamp_r}")
        # page numbers centred in the footer
        assert ws.oddFooter.center.text == "Trang &P/&N"


def test_bieu06_custom_period_once_and_provisional_note(tmp_path):
    kw = KW | {"period_label": "Từ 01/03/2025 đến 10/03/2025", "period_from": date(2025, 3, 1),
               "period_to": date(2025, 3, 10)}
    out = write_bieu06_xlsx(tmp_path / "tam.xlsx", rows_by_field=FIELD_ROWS,
                            notes=["kỳ chưa kết thúc, số liệu tạm tính"], **kw)
    ws = openpyxl.load_workbook(out)[SHEET_BY_FIELD]
    texts = _texts(ws)
    assert "Kỳ báo cáo: từ 01/03/2025 đến 10/03/2025" in texts
    r, c = _find(ws, "Lưu ý: kỳ chưa kết thúc, số liệu tạm tính.")
    assert ws.cell(r, c).font.color.rgb.endswith("FF0000") and r < _find(ws, "Số hồ sơ nhận giải quyết")[0]


def test_bieu06_default_place_and_receiving_body(tmp_path):
    out = write_bieu06_xlsx(tmp_path / "mac-dinh.xlsx", rows_by_field=FIELD_ROWS, **KW)
    texts = _texts(openpyxl.load_workbook(out)[SHEET_BY_FIELD])
    assert "Đơn vị nhận báo cáo: Ủy ban nhân dân Thành phố Đà Nẵng" in texts
    assert "Phường Hòa An, ngày … tháng … năm …" in texts


def test_bieu06_simulated_banner_only_when_simulated(tmp_path):
    rows = FIELD_ROWS + [_total(FIELD_ROWS)]
    out = write_bieu06_xlsx(tmp_path / "sim.xlsx", rows_by_field=rows, simulated=True, **KW)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET_BY_FIELD]  # no 06a sheet without rows_by_unit
    ws = wb[SHEET_BY_FIELD]
    r, c = _find(ws, "DỮ LIỆU MÔ PHỎNG — không dùng để báo cáo")
    assert ws.cell(r, c).font.color.rgb.endswith("FF0000")
    # The banner sits between the title and the table header.
    assert _find(ws, BIEU06_TITLE)[0] < r < _find(ws, "Số hồ sơ nhận giải quyết")[0]

    out2 = write_bieu06_xlsx(tmp_path / "real.xlsx", rows_by_field=rows, simulated=False, **KW)
    assert SIMULATED_BANNER not in _texts(openpyxl.load_workbook(out2)[SHEET_BY_FIELD])


def test_bieu06_duck_typed_rows_and_missing_total(tmp_path):
    rows = [
        SimpleNamespace(stt=None, label="Hộ tịch", **{f: 1 for f in FIELDS}),
        {"stt": 7, "label": "Đất đai", **{f: 2 for f in FIELDS}},
    ]
    out = write_bieu06_xlsx(tmp_path / "duck.xlsx", rows_by_field=rows, **KW)
    ws = openpyxl.load_workbook(out)[SHEET_BY_FIELD]
    h1, _ = _find(ws, "Số hồ sơ nhận giải quyết")
    first = h1 + 4
    assert [ws.cell(first, c).value for c in (1, 2, 3)] == [1, "Hộ tịch", 1]
    assert [ws.cell(first + 1, c).value for c in (1, 2, 3)] == [7, "Đất đai", 2]
    assert ws.cell(first + 2, 2).value == "Tổng cộng"  # summed when the caller gave no total row
    assert [ws.cell(first + 2, c).value for c in range(3, 14)] == [3] * 11


def test_bieu06_rejects_reversed_period(tmp_path):
    with pytest.raises(ValueError):
        write_bieu06_xlsx(tmp_path / "x.xlsx", rows_by_field=[], **{**KW, "period_from": date(2025, 4, 1)})


def test_write_table_xlsx(tmp_path):
    np = pytest.importorskip("numpy")
    sheets = {
        "Chỉ số": [
            {"Chỉ số": "Tỷ lệ đúng hạn", "Giá trị": "95,25%", "Số hồ sơ": 1234},
            {"Chỉ số": "Tỷ lệ trực tuyến", "Giá trị": None, "Số hồ sơ": float("nan")},
            {"Chỉ số": "Điểm", "Giá trị": "=1+1", "Số hồ sơ": np.int64(7), "Ghi chú": 2.5},
        ],
        "Theo lĩnh vực": [{"Lĩnh vực": "Hộ tịch", "Số hồ sơ": math.nan}],
    }
    out = write_table_xlsx(tmp_path / "a" / "chi_so.xlsx", sheets, title="Chỉ số CCHC tháng 3/2025")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Chỉ số", "Theo lĩnh vực"]
    ws = wb["Chỉ số"]
    assert ws["A1"].value == "Chỉ số CCHC tháng 3/2025" and ws["A1"].font.bold
    assert [c.value for c in ws[3]] == ["Chỉ số", "Giá trị", "Số hồ sơ", "Ghi chú"]
    assert all(c.font.bold and c.font.name == "Times New Roman" for c in ws[3])
    assert [c.value for c in ws[4]] == ["Tỷ lệ đúng hạn", "95,25%", 1234, NOT_APPLICABLE]
    assert ws["B4"].data_type == "s" and ws["C4"].data_type == "n" and ws["C4"].number_format == "#,##0"
    assert [c.value for c in ws[5]] == [
        "Tỷ lệ trực tuyến",
        "không phát sinh",
        "không phát sinh",
        "không phát sinh",
    ]
    assert [c.value for c in ws[6]] == ["Điểm", "=1+1", 7, 2.5]
    assert ws["B6"].data_type == "s"  # text, never a formula
    assert ws["A4"].font.name == "Times New Roman"
    assert ws.column_dimensions["A"].width >= len("Tỷ lệ trực tuyến")
    assert ws.column_dimensions["B"].width >= len("không phát sinh")
    ws2 = wb["Theo lĩnh vực"]
    assert [c.value for c in ws2[4]] == ["Hộ tịch", "không phát sinh"]
    for ws in wb.worksheets:
        values = [c.value for row in ws.iter_rows() for c in row]
        assert not any(isinstance(v, float) and math.isnan(v) for v in values)


def test_write_table_xlsx_without_title_and_odd_sheet_names(tmp_path):
    out = write_table_xlsx(tmp_path / "t.xlsx", {"Tỷ lệ/đơn vị [%]": [{"A": 1}], "x" * 40: []})
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Tỷ lệ-đơn vị -%-" and len(wb.sheetnames[1]) == 31
    ws = wb.worksheets[0]
    assert ws["A1"].value == "A" and ws["A1"].font.bold and ws["A2"].value == 1
