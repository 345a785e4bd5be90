"""Importing one-stop "Xuất Excel danh sách hồ sơ" exports and CSV (cchc.connectors.excel_import).

Every workbook is built here with openpyxl, in tmp_path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from cchc.connectors.excel_import import (
    ExcelFormatError,
    ImportResult,
    RowError,
    iter_export,
    parse_cell_datetime,
    read_export,
)
from cchc.domain.records import STATUS_NAMES_VI, Channel, Dossier, Status
from cchc.domain.wire import VN_TZ

CANONICAL = [
    "Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Lĩnh vực", "Mã đơn vị", "Kênh nộp", "Ngày tiếp nhận",
    "Ngày hẹn trả", "Ngày kết thúc xử lý", "Ngày trả kết quả", "Trạng thái", "Số lần bổ sung",
    "Có phí", "Thanh toán trực tuyến", "Số hóa thành phần", "Số hóa kết quả", "Phiếu xin lỗi",
]


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=VN_TZ)


def write_xlsx(path: Path, rows: list[list], title_rows: list[list] = (), sheet_title: str = "Sheet") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_title
    for r in title_rows:
        ws.append(r)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def by_code(result: ImportResult) -> dict[str, Dossier]:
    return {d.code: d for d in result.dossiers}


# ------------------------------------------------------------------------------- canonical headers


def test_canonical_headers_all_fields(tmp_path: Path) -> None:
    row = [
        "000.00.01.H22-260315-0001", "1.001234", "Đăng ký khai sinh", "Hộ tịch", "000.00.01.H22",
        "Trực tuyến", datetime(2026, 3, 15, 8, 30), datetime(2026, 3, 20, 17, 0),
        datetime(2026, 3, 19, 10, 15), datetime(2026, 3, 20, 9, 0), 10, 1, "Có", "Có", "x", "Có", "Không",
    ]
    path = write_xlsx(tmp_path / "ho_so.xlsx", [CANONICAL, row])

    result = read_export(path)

    assert result.errors == []
    assert result.rows_read == 1
    assert result.header_row == 1
    assert result.columns_mapped == {h: h for h in CANONICAL}
    [d] = result.dossiers
    assert d == Dossier(
        source="excel",
        code="000.00.01.H22-260315-0001",
        status=Status.RETURNED,
        procedure_code="1.001234",
        procedure_name="Đăng ký khai sinh",
        field_code="ho-tich",  # no "Mã lĩnh vực" column: a key made from the name
        field_name="Hộ tịch",
        unit_code="000.00.01.H22",
        channel=Channel.ONLINE,
        received_at=vn(2026, 3, 15, 8, 30),
        due_at=vn(2026, 3, 20, 17, 0),
        finished_at=vn(2026, 3, 19, 10, 15),
        returned_at=vn(2026, 3, 20, 9, 0),
        has_fee=True,
        paid_online=1,
        digitized_component=True,
        e_result=True,
        supplement_count=1,
        apology=False,
    )
    assert d.received_at.tzinfo is not None and d.received_at.utcoffset() == timedelta(hours=7)


def test_only_required_columns_give_defaults(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "min.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"],
        ["HS1", 4, "15/03/2026"],
    ])
    [d] = read_export(path).dossiers
    assert d.channel == Channel.IN_PERSON  # missing channel means in person
    assert d.has_fee is None and d.paid_online is None and d.supplement_count is None
    assert d.received_at == vn(2026, 3, 15)
    assert d.source == "excel"


def test_returned_after_reception_is_read_from_its_column(tmp_path: Path) -> None:
    """"Ngày trả lại" / "Ngày từ chối" (returned without resolution after reception) reaches the
    record, so an Excel-only ward counts returns (resolved, and on their own) like the API path."""
    from cchc.domain import metrics as m
    from cchc.domain.periods import parse_period

    path = write_xlsx(tmp_path / "tra-lai.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày từ chối"],
        ["HS1", 4, "02/03/2026", "06/03/2026", "04/03/2026"],
        ["HS2", 4, "02/03/2026", "06/03/2026", ""],
    ])
    d1, d2 = read_export(path).dossiers
    assert d1.refused_at == vn(2026, 3, 4) and d2.refused_at is None
    c = m.classify(m.facts_from_dossiers([d1, d2]), parse_period("2026-03"))
    t = m.indicator_table(c, by=None)
    total = t[t["group"] == m.TOTAL].iloc[0]
    assert (total["resolved"], total["returned_unresolved"], total["pending"]) == (1, 1, 1)


def test_source_is_passed_through(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"], ["HS1", 2, "01/03/2026"]])
    assert read_export(path, source="excel-phuong-a").dossiers[0].source == "excel-phuong-a"


# -------------------------------------------------------------------------------- aliases and case


def test_aliases_case_and_missing_diacritics(tmp_path: Path) -> None:
    headers = [
        "SO HO SO", "ma thu tuc", "Thủ tục", "TÊN LĨNH VỰC", "Đơn vị xử lý", "hinh thuc nop",
        "  Ngày   tiếp nhận ", "Hẹn trả", "Ngay xu ly xong", "ngày trả", "trang thai", "SỐ LẦN BỔ SUNG",
        "co phi", "Thanh toan truc tuyen", "So hoa thanh phan", "Số hoá kết quả", "phieu xin loi",
    ]
    row = ["HS-01", "2.000001", "Chứng thực bản sao", "Chứng thực", "UBND phường", "Bưu chính công ích",
           "01/04/2026 07:45", "03/04/2026", "02/04/2026 16:00", "", "9", "0", "Không", "", "", "", "x"]
    path = write_xlsx(tmp_path / "alias.xlsx", [headers, row])

    result = read_export(path)

    assert result.errors == []
    assert result.columns_mapped["Mã hồ sơ"] == "SO HO SO"
    assert result.columns_mapped["Ngày tiếp nhận"] == "Ngày tiếp nhận"  # spaces collapsed
    assert result.columns_mapped["Số hóa kết quả"] == "Số hoá kết quả"
    assert len(result.columns_mapped) == 17
    [d] = result.dossiers
    assert (d.code, d.procedure_code, d.procedure_name, d.field_name, d.unit_code) == (
        "HS-01", "2.000001", "Chứng thực bản sao", "Chứng thực", "UBND phường")
    assert d.channel == Channel.POSTAL
    assert d.status == Status.DONE
    assert d.received_at == vn(2026, 4, 1, 7, 45)
    assert d.due_at == vn(2026, 4, 3)
    assert d.finished_at == vn(2026, 4, 2, 16, 0)
    assert d.returned_at is None
    assert d.supplement_count == 0
    assert d.has_fee is False and d.paid_online is None
    assert d.digitized_component is False and d.e_result is False
    assert d.apology is True


def test_other_short_aliases(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "short.xlsx", [
        ["Mã HS", "Tên thủ tục", "Mã ĐV", "Kênh", "Ngày tiếp nhận", "Ngày hoàn thành", "Trạng thái"],
        ["A1", "Thủ tục X", "DV01", "Online", "02/03/2026", "05/03/2026", "Đã trả kết quả"],
    ])
    result = read_export(path)
    assert result.errors == []
    [d] = result.dossiers
    assert (d.code, d.procedure_name, d.unit_code, d.channel) == ("A1", "Thủ tục X", "DV01", Channel.ONLINE)
    assert d.finished_at == vn(2026, 3, 5)


@pytest.mark.parametrize(
    ("value", "channel"),
    [
        ("Trực tiếp", Channel.IN_PERSON), ("truc tiep", Channel.IN_PERSON), (1, Channel.IN_PERSON),
        ("", Channel.IN_PERSON), ("Trực tuyến", Channel.ONLINE), ("ONLINE", Channel.ONLINE), (2, Channel.ONLINE),
        ("2", Channel.ONLINE), ("Bưu chính", Channel.POSTAL), ("Bưu chính công ích", Channel.POSTAL),
        ("Qua bưu chính", Channel.POSTAL), (3, Channel.POSTAL),
    ],
)
def test_channel_values(tmp_path: Path, value, channel: Channel) -> None:
    path = write_xlsx(tmp_path / "k.xlsx", [
        ["Mã hồ sơ", "Kênh nộp", "Trạng thái", "Ngày tiếp nhận"], ["HS1", value, 4, "01/03/2026"]])
    result = read_export(path)
    assert result.errors == []
    assert result.dossiers[0].channel == channel


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Có", True), ("có", True), ("CO", True), ("x", True), ("X", True), (1, True), ("1", True), ("Yes", True),
     (True, True), ("Không", False), ("khong", False), ("", False), (None, False), (0, False), ("0", False),
     ("No", False), (False, False)],
)
def test_yes_no_values(tmp_path: Path, value, expected: bool) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Số hóa thành phần", "Thanh toán trực tuyến", "Mã TTHC"],
        ["HS1", 10, "01/03/2026", value, value, "1.1"],
    ])
    result = read_export(path)
    assert result.errors == []
    d = result.dossiers[0]
    assert d.digitized_component is expected
    assert d.paid_online == (1 if expected else None)


# ------------------------------------------------------------------------------------- title rows


def test_title_rows_above_the_header(tmp_path: Path) -> None:
    titles = [
        ["UBND PHƯỜNG HÒA AN"],
        ["DANH SÁCH HỒ SƠ"],
        ["Từ ngày 01/03/2026 đến ngày 31/03/2026"],
        [],
    ]
    path = write_xlsx(tmp_path / "title.xlsx", [
        ["STT", "Mã hồ sơ", "Tên thủ tục", "Ngày tiếp nhận", "Trạng thái"],
        [1, "HS1", "Thủ tục A", "05/03/2026", "Đang xử lý"],
        [],
        [2, "HS2", "Thủ tục B", "06/03/2026", "Đã xử lý xong"],
    ], title_rows=titles)

    result = read_export(path)

    assert result.header_row == 5
    assert result.errors == []
    assert result.rows_read == 2  # the empty row is skipped silently
    assert [d.code for d in result.dossiers] == ["HS1", "HS2"]
    assert [d.status for d in result.dossiers] == [Status.PROCESSING, Status.DONE]


def test_header_beyond_row_20_is_not_found(tmp_path: Path) -> None:
    titles = [[f"dòng {i}"] for i in range(20)]
    path = write_xlsx(tmp_path / "deep.xlsx", [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"]], title_rows=titles)
    with pytest.raises(ExcelFormatError, match="deep.xlsx"):
        read_export(path)


def test_header_found_on_a_second_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Ghi chú"
    wb.active.append(["Xuất từ hệ thống một cửa"])
    ws = wb.create_sheet("Hồ sơ")
    ws.append(["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"])
    ws.append(["HS1", 10, "01/03/2026"])
    path = tmp_path / "two.xlsx"
    wb.save(path)

    result = read_export(path)
    assert result.sheet == "Hồ sơ"
    assert [d.code for d in result.dossiers] == ["HS1"]
    assert read_export(path, sheet="Hồ sơ").dossiers[0].code == "HS1"
    with pytest.raises(ExcelFormatError, match="Không có|không có"):
        read_export(path, sheet="Không có")


# ------------------------------------------------------------------------------------------ dates


def test_excel_dates_and_text_dates_agree(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Ngày hẹn trả"])
    ws.append(["real-datetime", 4, datetime(2026, 3, 15, 8, 30), date(2026, 3, 20)])
    ws.append(["text-dmy-hm", 4, "15/03/2026 08:30", "20/03/2026"])
    ws.append(["text-dmy-hms", 4, "15/03/2026 08:30:00", "20-03-2026"])
    ws.append(["text-iso", 4, "2026-03-15 08:30", "2026-03-20"])
    ws.append(["text-iso-seconds", 4, "2026-03-15 08:30:00", "2026-03-20T00:00:00"])
    ws.append(["serial", 4, 46096 + (8 * 60 + 30) / 1440, 46101])  # 46096 = 15/03/2026
    ws.append(["time-first", 4, "08:30 15/03/2026", "20.03.2026"])
    ws.append(["aware-utc", 4, "2026-03-15T01:30:00+00:00", "2026-03-20"])
    ws.cell(row=2, column=3).number_format = "dd/mm/yyyy hh:mm"
    path = tmp_path / "dates.xlsx"
    wb.save(path)

    result = read_export(path)

    assert result.errors == []
    assert len(result.dossiers) == 8
    for d in result.dossiers:
        assert d.received_at == vn(2026, 3, 15, 8, 30), d.code
        assert d.due_at == vn(2026, 3, 20), d.code
        assert str(d.received_at.tzinfo) == "Asia/Ho_Chi_Minh"


def test_parse_cell_datetime_directly() -> None:
    assert parse_cell_datetime(None) is None
    assert parse_cell_datetime("  ") is None
    assert parse_cell_datetime("5/3/2026") == vn(2026, 3, 5)
    assert parse_cell_datetime("20260315083000") == vn(2026, 3, 15, 8, 30)
    assert parse_cell_datetime(datetime(2026, 3, 15, 1, 30, tzinfo=UTC)) == vn(2026, 3, 15, 8, 30)
    # Excel float drift: 08:29:59.9996 is 08:30:00
    assert parse_cell_datetime(datetime(2026, 3, 15, 8, 29, 59, 999600)) == vn(2026, 3, 15, 8, 30)
    for bad in ("31/02/2026", "15/13/2026", "hôm qua", "15/03/26", "25:00 15/03/2026", -5, True):
        with pytest.raises(ValueError):
            parse_cell_datetime(bad)


# ----------------------------------------------------------------------------------------- status


def test_status_by_code_and_by_name(tmp_path: Path) -> None:
    rows = [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"]]
    expected = {}
    for st in Status:
        rows.append([f"code-{int(st)}", int(st), "01/03/2026"])
        rows.append([f"text-code-{int(st)}", str(int(st)), "01/03/2026"])
        rows.append([f"name-{int(st)}", STATUS_NAMES_VI[st], "01/03/2026"])
        rows.append([f"folded-{int(st)}", STATUS_NAMES_VI[st].upper().replace("Đ", "D"), "01/03/2026"])
        for prefix in ("code", "text-code", "name", "folded"):
            expected[f"{prefix}-{int(st)}"] = st
    variants = {"Đã trả kết quả": Status.RETURNED, "đang xử lý": Status.PROCESSING, "Đã rút": Status.WITHDRAWN,
                "Từ chối": Status.NOT_ACCEPTED, "Da xu ly xong": Status.DONE, "10 - Đã trả kết quả": Status.RETURNED}
    for i, (text, st) in enumerate(variants.items()):
        rows.append([f"variant-{i}", text, "01/03/2026"])
        expected[f"variant-{i}"] = st
    path = write_xlsx(tmp_path / "status.xlsx", rows)

    result = read_export(path)

    assert result.errors == []
    assert {d.code: d.status for d in result.dossiers} == expected


# -------------------------------------------------------------------------------------- bad rows


def test_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    header = ["STT", "Mã hồ sơ", "Kênh nộp", "Ngày tiếp nhận", "Trạng thái", "Số lần bổ sung"]
    rows = [
        [1, "OK-1", "Trực tiếp", "02/03/2026", 10, 0],            # row 3
        [2, "BAD-DATE", "Trực tiếp", "31/02/2026", 10, 0],         # row 4
        [3, "BAD-STATUS", "Trực tuyến", "02/03/2026", "abc", 0],  # row 5
        [4, "BAD-CHANNEL", "Fax", "02/03/2026", 4, 0],             # row 6
        [5, "", "Trực tiếp", "02/03/2026", 4, 0],                  # row 7
        [6, "BAD-COUNT", "Trực tiếp", "02/03/2026", 5, -1],        # row 8
        [7, "OK-2", "Bưu chính", "03/03/2026", 4, 2],              # row 9
        [8, "NO-STATUS", None, None, None, None],                  # row 10
        [9, "NO-RECEIVED", "Trực tiếp", "", 10, None],             # row 11
        [10, "OK-1", "Trực tiếp", "02/03/2026", 10, 0],           # row 12: duplicate code
    ]
    path = write_xlsx(tmp_path / "bad.xlsx", [header, *rows], title_rows=[["DANH SÁCH HỒ SƠ"]])

    result = read_export(path)

    assert [d.code for d in result.dossiers] == ["OK-1", "OK-2"]
    assert result.rows_read == 10
    got = [(e.row, e.column, e.reason, e.code) for e in result.errors]
    assert got == [
        (4, "Ngày tiếp nhận", "ngày không hợp lệ: '31/02/2026'", "BAD-DATE"),
        (5, "Trạng thái", "trạng thái không nhận biết: 'abc'", "BAD-STATUS"),
        (6, "Kênh nộp", "kênh nộp không nhận biết: 'Fax'", "BAD-CHANNEL"),
        (7, "Mã hồ sơ", "thiếu mã hồ sơ", None),
        (8, "Số lần bổ sung", "số lần bổ sung không được âm: '-1'", "BAD-COUNT"),
        (10, "Trạng thái", "thiếu trạng thái hồ sơ", "NO-STATUS"),
        (11, "Ngày tiếp nhận", "thiếu ngày tiếp nhận", "NO-RECEIVED"),
        (12, "Mã hồ sơ", "mã hồ sơ trùng với dòng 3", "OK-1"),
    ]
    assert result.bad_rows == [4, 5, 6, 7, 8, 10, 11, 12]
    assert str(result.errors[0]) == "Dòng 4, cột 'Ngày tiếp nhận': ngày không hợp lệ: '31/02/2026' (hồ sơ BAD-DATE)"


def test_every_bad_cell_of_a_row_is_reported_with_the_header_as_written(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "multi.xlsx", [
        ["Số hồ sơ", "NGAY TIEP NHAN", "Tình trạng", "Có phí"],
        ["HS1", "hôm qua", "???", "có lẽ"],
    ])
    result = read_export(path)
    assert result.dossiers == []
    assert [(e.row, e.column) for e in result.errors] == [(2, "NGAY TIEP NHAN"), (2, "Tình trạng"), (2, "Có phí")]
    assert result.bad_rows == [2]


def test_not_accepted_without_received_date_is_kept(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "na.xlsx", [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"], ["HS1", 3, None]])
    result = read_export(path)
    assert result.errors == []
    assert result.dossiers[0].status == Status.NOT_ACCEPTED and result.dossiers[0].received_at is None


# ---------------------------------------------------------------------------------- file errors


def test_missing_required_column_is_a_clear_message(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "thieu_cot.xlsx", [
        ["Mã hồ sơ", "Tên thủ tục", "Ngày tiếp nhận", "Ngày hẹn trả", "Người nộp"],
        ["HS1", "Thủ tục A", "01/03/2026", "05/03/2026", "Nguyễn Văn An"],
    ])
    with pytest.raises(ExcelFormatError) as exc:
        read_export(path)
    msg = str(exc.value)
    assert "thieu_cot.xlsx" in msg
    assert "Trạng thái" in msg
    assert "Mã hồ sơ, Tên thủ tục, Ngày tiếp nhận, Ngày hẹn trả, Người nộp" in msg  # headers found
    assert "Nguyễn Văn An" not in msg
    assert exc.value.missing == ("Trạng thái",)
    assert exc.value.__cause__ is None


def test_two_missing_required_columns_are_both_named(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", [["Mã hồ sơ", "Tên TTHC", "Lĩnh vực"], ["HS1", "A", "B"]])
    with pytest.raises(ExcelFormatError, match="Trạng thái, Ngày tiếp nhận") as exc:
        read_export(path)
    assert exc.value.missing == ("Trạng thái", "Ngày tiếp nhận")


def test_no_header_at_all(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "rong.xlsx", [["Nguyễn Văn An", "0912345678"]])
    with pytest.raises(ExcelFormatError) as exc:
        read_export(path)
    assert "rong.xlsx" in str(exc.value)
    assert "0912345678" not in str(exc.value)


def test_non_excel_file_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "hong.xlsx"
    path.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ExcelFormatError, match="hong.xlsx") as exc:
        read_export(path)
    assert exc.value.__cause__ is None


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ExcelFormatError, match="zip.xlsx"):
        read_export(path)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "ho_so.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(ExcelFormatError, match="ho_so.pdf"):
        read_export(path)
    with pytest.raises(ExcelFormatError, match="cu.xls"):
        (tmp_path / "cu.xls").write_bytes(b"\xd0\xcf\x11\xe0")
        read_export(tmp_path / "cu.xls")
    with pytest.raises(ExcelFormatError, match="khong_co.xlsx"):
        read_export(tmp_path / "khong_co.xlsx")


# -------------------------------------------------------------------------------- personal data


def test_personal_columns_never_reach_the_result(tmp_path: Path) -> None:
    personal = {
        "Người nộp": "Nguyễn Thị Bích Ngọc",
        "Chủ hồ sơ": "Trần Văn Khoa",
        "Số CCCD": "001203004567",
        "Số điện thoại": "0987654321",
        "Địa chỉ": "12 ngõ 34 phố Hàng Bông",
        "Email": "ngoc.nguyen@example.vn",
    }
    header = ["Mã hồ sơ", *personal, "Ngày tiếp nhận", "Trạng thái", "Kênh nộp"]
    values = list(personal.values())
    path = write_xlsx(tmp_path / "pii.xlsx", [
        header,
        ["HS1", *values, "01/03/2026", 10, "Trực tiếp"],
        ["HS2", *values, "31/02/2026", 10, "Trực tiếp"],      # bad date
        ["HS3", *values, "01/03/2026", "không rõ", "Trực tiếp"],  # bad status
        ["", *values, "01/03/2026", 10, "Trực tiếp"],          # missing code
        ["HS5", *values, "01/03/2026", None, "Fax"],           # missing status, bad channel
        [None, *values, None, None, None],                     # only personal cells: skipped
    ])

    result = read_export(path)

    assert [d.code for d in result.dossiers] == ["HS1"]
    assert len(result.errors) == 5
    everything = repr(result.dossiers) + repr(result.errors) + " ".join(str(e) for e in result.errors)
    everything += repr(result.columns_mapped) + repr([d.extra for d in result.dossiers])
    for value in values:
        assert value not in everything
    assert not set(personal) & set(result.columns_mapped.values())

    streamed = repr(list(iter_export(path)))
    for value in values:
        assert value not in streamed


# ------------------------------------------------------------------------------------------- CSV


def test_csv_with_semicolons_and_bom(tmp_path: Path) -> None:
    text = (
        "DANH SÁCH HỒ SƠ;;;;\n"
        "Mã hồ sơ;Tên thủ tục;Ngày tiếp nhận;Trạng thái;Kênh nộp;Người nộp\n"
        "HS1;Cấp bản sao trích lục, hộ tịch;15/03/2026 08:30;Đã trả kết quả;Trực tuyến;Lê Văn Tám\n"
        ";;;;;\n"
        "HS2;Đăng ký kết hôn;16/03/2026;4;1;Lê Văn Tám\n"
        "HS3;Đăng ký kết hôn;32/03/2026;4;1;Lê Văn Tám\n"
    )
    path = tmp_path / "ho_so.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    result = read_export(path)

    assert result.header_row == 2
    assert result.sheet is None
    assert result.columns_mapped["Mã hồ sơ"] == "Mã hồ sơ"  # the BOM is not part of any header
    d1, d2 = result.dossiers
    assert (d1.code, d1.procedure_name, d1.status, d1.channel) == (
        "HS1", "Cấp bản sao trích lục, hộ tịch", Status.RETURNED, Channel.ONLINE)
    assert d1.received_at == vn(2026, 3, 15, 8, 30)
    assert (d2.code, d2.status, d2.channel) == ("HS2", Status.PROCESSING, Channel.IN_PERSON)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (6, "Ngày tiếp nhận", "ngày không hợp lệ: '32/03/2026'")]
    assert "Lê Văn Tám" not in repr(result)


def test_csv_with_commas_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'Mã hồ sơ,Tên TTHC,Ngày tiếp nhận,Trạng thái\nHS1,"Thủ tục A; B",2026-03-15,10\n', encoding="utf-8")
    result = read_export(path)
    assert result.errors == []
    [d] = result.dossiers
    assert (d.code, d.procedure_name, d.received_at) == ("HS1", "Thủ tục A; B", vn(2026, 3, 15))


def test_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cp.csv"
    path.write_bytes("Mã hô so;Trang thái;Ngày tiêp nhân\nHS1;10;01/03/2026\n".encode("cp1252"))
    with pytest.raises(ExcelFormatError, match="cp.csv.*UTF-8 .*UTF-16 có BOM"):
        read_export(path)
    path.write_bytes("Mã hồ sơ;Trạng thái;Ngày tiếp nhận\nHS1;10;01/03/2026\n".encode("utf-16"))  # with a BOM
    assert [d.code for d in read_export(path).dossiers] == ["HS1"]


# -------------------------------------------------------------------------------------- streaming


def test_iter_export_streams_rows_with_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"],
        ["HS1", 10, "01/03/2026"],
        ["HS2", "abc", "01/03/2026"],
        [],
        ["HS3", 4, "02/03/2026"],
    ], title_rows=[["DANH SÁCH HỒ SƠ"], []])
    with iter_export(path) as rows:
        assert rows.header_row == 3
        assert rows.columns_mapped == {"Mã hồ sơ": "Mã hồ sơ", "Trạng thái": "Trạng thái",
                                       "Ngày tiếp nhận": "Ngày tiếp nhận"}
        items = list(rows)
    assert [n for n, _ in items] == [4, 5, 7]
    assert isinstance(items[0][1], Dossier) and isinstance(items[1][1], RowError)
    assert items[2][1].code == "HS3"


def test_iter_export_raises_format_errors_at_once(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", [["Mã hồ sơ", "Tên TTHC", "Lĩnh vực"]])
    with pytest.raises(ExcelFormatError):
        iter_export(path)


def test_wrong_dimension_tag_still_reads_every_row(tmp_path: Path) -> None:
    """Some exporters write <dimension ref="A1"/>: read-only mode must not stop at row 1."""
    import zipfile

    src = write_xlsx(tmp_path / "src.xlsx", [["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"],
                                             ["HS1", 10, "01/03/2026"], ["HS2", 4, "02/03/2026"]])
    dst = tmp_path / "dim.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[A-Z0-9:]+"\s*/>', b'<dimension ref="A1"/>', data)
                assert b'<dimension ref="A1"/>' in data
            zout.writestr(item, data)
    assert [d.code for d in read_export(dst).dossiers] == ["HS1", "HS2"]


def test_large_file_streams(tmp_path: Path) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Kênh nộp"])
    start = datetime(2026, 1, 1, 8, 0)
    for i in range(5000):
        ws.append([f"HS{i:06d}", 1 + i % 10, start + timedelta(hours=i), 1 + i % 3])
    path = tmp_path / "big.xlsx"
    wb.save(path)

    result = read_export(path)
    assert result.errors == []
    assert len(result.dossiers) == result.rows_read == 5000
    assert result.dossiers[-1].received_at == vn(2026, 1, 1, 8) + timedelta(hours=4999)


# ------------------------------------------------------------------- round trip with the simulator


def test_round_trip_with_the_simulated_export(tmp_path: Path) -> None:
    from cchc.domain.wire import parse_dossier
    from cchc.simulator.excel_export import export_excel
    from cchc.simulator.ward import SyntheticWard

    ward = SyntheticWard(seed=3, n_dossiers=2000, as_of=date(2026, 3, 13))
    path = tmp_path / "mo_phong.xlsx"
    assert export_excel(ward, path, limit=500) == 500

    result = read_export(path)

    assert result.errors == []
    assert result.rows_read == len(result.dossiers) == 500
    assert result.header_row == 1 and result.sheet == "Danh sách hồ sơ"
    imported = by_code(result)
    indices = list(ward.all_indices())[:500]
    assert set(imported) == {ward.code(i) for i in indices}
    for i in indices:
        want = parse_dossier(ward.canonical(i), "excel")
        got = imported[want.code]
        for attr in ("status", "procedure_code", "procedure_name", "field_code", "field_name", "unit_code",
                     "channel", "received_at", "finished_at", "returned_at", "n_supplements", "is_paid_online",
                     "digitized_component", "e_result", "apology", "owes_fee"):
            assert getattr(got, attr) == getattr(want, attr), (want.code, attr)
        # the export's "Ngày hẹn trả" is the current appointment: moved by every answered supplement
        answered = [s for s in want.supplements if s.completed_at is not None]
        assert got.due_at == (answered[-1].due_after if answered else want.due_at), want.code
    moved = [i for i in indices if any(s.get("NgayTiepNhanBoSung") for s in ward.canonical(i)["DanhSachHoSoBoSung"])]
    assert moved  # the sample has dossiers whose appointment was moved


def test_fields_known_only_by_name_stay_apart(tmp_path: Path) -> None:
    long_a = "Lĩnh vực " + "rất dài " * 6 + "A"
    long_b = "Lĩnh vực " + "rất dài " * 6 + "B"
    path = write_xlsx(tmp_path / "lv.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Lĩnh vực"],
        ["HS1", 4, "15/03/2026", "Hộ tịch"],
        ["HS2", 4, "15/03/2026", "Chứng thực"],
        ["HS3", 4, "15/03/2026", "hộ  TỊCH"],
        ["HS4", 4, "15/03/2026", long_a],
        ["HS5", 4, "15/03/2026", long_b],
        ["HS6", 4, "15/03/2026", None],
    ])
    d = by_code(read_export(path))
    assert d["HS1"].field_code == d["HS3"].field_code == "ho-tich"
    assert d["HS2"].field_code == "chung-thuc"
    assert d["HS4"].field_code != d["HS5"].field_code and len(d["HS4"].field_code) <= 32
    assert d["HS6"].field_code == ""
    # a file with field codes keeps them
    path = write_xlsx(tmp_path / "lv2.xlsx", [
        ["Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận", "Mã lĩnh vực", "Lĩnh vực"],
        ["HS1", 4, "15/03/2026", "G09-HT", "Hộ tịch"],
    ])
    assert read_export(path).dossiers[0].field_code == "G09-HT"
