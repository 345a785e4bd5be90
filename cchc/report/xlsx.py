"""Excel (.xlsx) exports: the official Biểu số 06/VPCP/KSTT and plain indicator tables (openpyxl).

    write_bieu06_xlsx("out/bieu06_2025-03.xlsx", ward_name="Phường Hòa An", province="Thành phố Đà Nẵng",
                      period_label="Tháng 3/2025", period_from=date(2025, 2, 15), period_to=date(2025, 3, 14),
                      rows_by_field=rows, rows_by_unit=unit_rows, simulated=False)
    write_table_xlsx("out/chi_so.xlsx", {"Chỉ số": [{"Chỉ số": "Tỷ lệ đúng hạn", "Giá trị": "95,25%"}]})

Biểu 06 (DOMAIN.md §6, Thông tư 01/2020/TT-VPCP): one sheet "Biểu 06 (lĩnh vực)" with the rows by
field and, when `rows_by_unit` is given, one sheet "Biểu 06a (đơn vị)". A row is any object (or
mapping) with the fields of `cchc.domain.bieu06.Bieu06Row` (e.g. the output of `bieu06_rows`): stt, label, received_total,
received_online, received_in_person_postal, carried_over, resolved_total, early, on_time, late,
pending_total, pending_in_time, pending_overdue. The last element of the list is the total row when
its label is "TOTAL" / "Tổng cộng" (printed "Tổng cộng", bold); when there is none, a total is summed
from the rows and appended, so the printed form always ends with "Tổng cộng".

Layout of each Biểu 06 sheet (13 columns A..M, numbered (1)..(13) as in the official form):
form number and legal basis top left, reporting unit and receiving body ("Đơn vị nhận báo cáo")
top right, centered title, reporting period, optional red "simulated data" banner, unit of
measure, three header rows with merged cells (received: Tổng số | Trong kỳ: Trực tuyến, Trực
tiếp, dịch vụ bưu chính | Từ kỳ trước), a row of column numbers, the data rows, the total row, the
signature block ("Người lập biểu" left; "<place>, ngày … tháng … năm …" and "Thủ trưởng đơn vị"
right) and "Ngày xuất: dd/mm/yyyy HH:MM". Times New Roman, thin borders, A4 landscape, fit to one
page wide, header rows repeated on every printed page, "Trang n/N" centred in the footer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from numbers import Number
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from cchc.domain import bieu06 as b06
from cchc.domain import outline
from cchc.domain.text import fold
from cchc.domain.wire import VN_TZ

FONT_NAME = "Times New Roman"
BODY_SIZE = 12
TITLE_SIZE = 13
NUMBER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
NOT_APPLICABLE = "không phát sinh"

FORM_NUMBER = b06.FORM_CODE  # "Biểu số 06/VPCP/KSTT"
FORM_NUMBER_BY_UNIT = b06.FORM_CODE_BY_UNIT  # "Biểu số 06a/VPCP/KSTT"
FORM_BASIS = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP"
BIEU06_TITLE = b06.TITLE
SIMULATED_BANNER = "DỮ LIỆU MÔ PHỎNG — không dùng để báo cáo"
UNIT_OF_MEASURE = "Đơn vị tính: Số hồ sơ TTHC"
TOTAL_LABEL = b06.TOTAL_LABEL  # "Tổng cộng"
SHEET_BY_FIELD = "Biểu 06 (lĩnh vực)"
SHEET_BY_UNIT = "Biểu 06a (đơn vị)"
LABEL_BY_FIELD = "Lĩnh vực giải quyết"
LABEL_BY_UNIT = "Đơn vị"
SHEET_OUTLINE = "Đề cương báo cáo"
OUTLINE_TITLE = "SỐ LIỆU THEO ĐỀ CƯƠNG BÁO CÁO KẾT QUẢ GIẢI QUYẾT TTHC CỦA ĐƠN VỊ"
OUTLINE_NOTE = ("Hồ sơ trả lại (không giải quyết) sau khi đã tiếp nhận được tính là đã giải quyết, đúng hạn, "
                "như hồ sơ rút; số hóa thành phần tính trên hồ sơ tiếp nhận trong kỳ, số hóa kết quả trên hồ sơ "
                "đã giải quyết có kết quả; đánh giá, hài lòng trên hồ sơ đã giải quyết.")

REPORTING_UNIT = "Đơn vị báo cáo"
RECEIVING_UNIT = "Đơn vị nhận báo cáo"
#: The "Trong kỳ" level of the received columns (its own header row, as in the official form).
HEADER_IN_PERIOD = "Trong kỳ"
HEADER_ONLINE_LEAF = "Trực tuyến"
HEADER_IN_PERSON_POSTAL_LEAF = "Trực tiếp, dịch vụ bưu chính"
DATE_LINE = "ngày … tháng … năm …"
SIGNER_PREPARER = "Người lập biểu"
SIGNER_HEAD = "Thủ trưởng đơn vị"
SIGN_HINT_PREPARER = "(Ký, ghi rõ họ tên)"
SIGN_HINT_HEAD = "(Ký tên, đóng dấu)"
PAGE_NUMBERS = "Trang &P/&N"
SIGN_FIRST_COL = "H"
_SIGN_COL = 8

GROUP_RECEIVED = b06.GROUP_RECEIVED
GROUP_RESOLVED = b06.GROUP_RESOLVED
GROUP_PENDING = b06.GROUP_PENDING

#: The numeric fields of a Biểu 06 row, in column order C..M (form columns (3)..(13)).
NUMERIC_FIELDS: tuple[str, ...] = tuple(name for name, _, _ in b06.COLUMNS)
N_COLUMNS = 2 + len(NUMERIC_FIELDS)  # STT, label, 11 numbers

_TOTAL_LABELS = {"total", "tong cong", "tong so", "tong"}
_THIN = Side(style="thin", color="FF000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_EXCEL_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _font(
    size: int = BODY_SIZE, *, bold: bool = False, italic: bool = False, color: str | None = None
) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic, color=color)


def _get(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _is_total(row: Any) -> bool:
    label = _get(row, "label")
    return label is not None and fold(str(label)) in _TOTAL_LABELS


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _local(dt: datetime) -> datetime:
    """Aware -> Vietnam local time, naive; naive is taken as already local."""
    return dt.astimezone(VN_TZ).replace(tzinfo=None) if dt.tzinfo is not None else dt


def _export_stamp(generated_at: datetime | None) -> str:
    when = _local(generated_at or datetime.now(VN_TZ))
    return f"Ngày xuất: {when:%d/%m/%Y %H:%M}"


def _number(value: Any) -> Any:
    """Counts of a Biểu 06 row: int stays int, None stays empty."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------------------------------
# Biểu 06
# --------------------------------------------------------------------------------------------------


def write_bieu06_xlsx(
    path: str | Path,
    *,
    ward_name: str,
    province: str,
    period_label: str,
    period_from: date,
    period_to: date,
    rows_by_field: Sequence[Any],
    rows_by_unit: Sequence[Any] | None = None,
    generated_at: datetime | None = None,
    simulated: bool = False,
    place: str | None = None,
    receiving_body: str | None = None,
    notes: Sequence[str] = (),
    outline_rows: Sequence[Mapping[str, Any]] | None = None,
    source_label: str | None = None,
) -> Path:
    """Write Biểu số 06/VPCP/KSTT to `path` (parent folders created) and return the path.

    `rows_by_field` / `rows_by_unit`: Bieu06Row-like objects, the total row last (label "TOTAL" or
    "Tổng cộng"); see the module docstring. `generated_at` (default: now, Vietnam time) is printed as
    "Ngày xuất: dd/mm/yyyy HH:MM". `simulated=True` adds the red "DỮ LIỆU MÔ PHỎNG" banner.
    `place` is the place name of the signature date line ("Hòa An, ngày … tháng … năm …"; default:
    the ward's name), `receiving_body` the "Đơn vị nhận báo cáo" (default: "Ủy ban nhân dân " +
    the province). `notes` (e.g. "kỳ chưa kết thúc, số liệu tạm tính") are printed in red under the
    reporting period.
    `outline_rows` (`cchc.domain.outline.outline_rows`) adds the sheet "Đề cương báo cáo".
    `source_label` a line "Nguồn dữ liệu: ..." under the period.
    """
    if period_from > period_to:
        raise ValueError(f"period_from {period_from} is after period_to {period_to}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = _export_stamp(generated_at)

    wb = Workbook()
    wb.remove(wb.active)
    sheets: list[tuple[str, str, str, Sequence[Any]]] = [
        (SHEET_BY_FIELD, FORM_NUMBER, LABEL_BY_FIELD, rows_by_field)
    ]
    if rows_by_unit is not None:
        sheets.append((SHEET_BY_UNIT, FORM_NUMBER_BY_UNIT, LABEL_BY_UNIT, rows_by_unit))
    for sheet_name, form_number, label_header, rows in sheets:
        ws = wb.create_sheet(sheet_name)
        _write_bieu06_sheet(
            ws,
            form_number=form_number,
            ward_name=ward_name,
            province=province,
            period_label=period_label,
            period_from=period_from,
            period_to=period_to,
            label_header=label_header,
            rows=list(rows),
            stamp=stamp,
            simulated=simulated,
            place=place or ward_name,
            receiving_body=receiving_body or f"Ủy ban nhân dân {province}".strip(),
            notes=list(notes),
            source_label=source_label,
        )
    if outline_rows is not None:
        _write_outline_sheet(wb.create_sheet(SHEET_OUTLINE), ward_name=ward_name, province=province,
                             period_label=period_label, period_from=period_from, period_to=period_to,
                             rows=list(outline_rows), stamp=stamp, simulated=simulated)
    wb.properties.title = f"{FORM_NUMBER} — {ward_name} — {period_label}"
    wb.properties.creator = "cchc"
    wb.save(path)
    return path


def _with_total(rows: list[Any]) -> tuple[list[Any], Any]:
    """(data rows, total row); a missing total row is summed from the data rows."""
    if rows and _is_total(rows[-1]):
        return rows[:-1], rows[-1]
    total: dict[str, Any] = {"stt": None, "label": TOTAL_LABEL}
    for name in NUMERIC_FIELDS:
        total[name] = sum(_number(_get(r, name)) or 0 for r in rows)
    return rows, total


def _write_bieu06_sheet(
    ws: Worksheet,
    *,
    form_number: str,
    ward_name: str,
    province: str,
    period_label: str,
    period_from: date,
    period_to: date,
    label_header: str,
    rows: list[Any],
    stamp: str,
    simulated: bool,
    place: str,
    receiving_body: str,
    notes: list[str],
    source_label: str | None = None,
) -> None:
    last_col = get_column_letter(N_COLUMNS)
    unit = ", ".join(p for p in (ward_name.strip(), province.strip()) if p)

    # Top left: form number and legal basis; top right, as in the official form: the reporting unit
    # and the receiving body.
    for r, (text, bold) in enumerate(((form_number, True), (FORM_BASIS, False)), start=1):
        ws.merge_cells(f"A{r}:F{r}")
        c = ws.cell(r, 1, text)
        c.font = _font(bold=bold, italic=not bold)
        c.alignment = Alignment(horizontal="left", vertical="center")
    for r, text in enumerate((f"{REPORTING_UNIT}: {unit}", f"{RECEIVING_UNIT}: {receiving_body}"), start=1):
        ws.merge_cells(f"{SIGN_FIRST_COL}{r}:{last_col}{r}")
        c = ws.cell(r, _SIGN_COL, text)
        c.font = _font(bold=True)
        c.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
        ws.row_dimensions[r].height = 16 * max(1, math.ceil(len(text) / 60))
    r = 4  # row 3 stays blank

    def banner(text: str, font: Font, horizontal: str = "center", height: float | None = None) -> None:
        nonlocal r
        ws.merge_cells(f"A{r}:{last_col}{r}")
        c = ws.cell(r, 1, text)
        c.font = font
        c.alignment = Alignment(horizontal=horizontal, vertical="center", wrap_text=True)
        if height:
            ws.row_dimensions[r].height = height
        r += 1

    banner(BIEU06_TITLE, _font(TITLE_SIZE, bold=True), height=22)
    dates = f"từ {_dmy(period_from)} đến {_dmy(period_to)}"
    same = fold(period_label) == fold(dates)  # a custom range is its dates already
    banner(f"Kỳ báo cáo: {dates}" if same else f"Kỳ báo cáo: {period_label} ({dates})", _font(italic=False, bold=False))
    if source_label:
        banner(f"Nguồn dữ liệu: {source_label}", _font(italic=True))
    for note in notes:
        banner(f"Lưu ý: {note}.", _font(bold=True, italic=True, color="FFFF0000"))
    if simulated:
        banner(SIMULATED_BANNER, _font(TITLE_SIZE, bold=True, color="FFFF0000"))
    banner(UNIT_OF_MEASURE, _font(italic=True), horizontal="right")

    # Header: three rows with merged cells, then the row of column numbers.
    h1, h2, h3, hn = r, r + 1, r + 2, r + 3
    headers: list[tuple[str, str]] = [
        (f"A{h1}:A{h3}", b06.HEADER_STT),
        (f"B{h1}:B{h3}", label_header),
        (f"C{h1}:F{h1}", GROUP_RECEIVED),
        (f"C{h2}:C{h3}", b06.HEADER_TOTAL),
        (f"D{h2}:E{h2}", HEADER_IN_PERIOD),
        (f"D{h3}", HEADER_ONLINE_LEAF),
        (f"E{h3}", HEADER_IN_PERSON_POSTAL_LEAF),
        (f"F{h2}:F{h3}", b06.HEADER_CARRIED_OVER),
        (f"G{h1}:J{h1}", GROUP_RESOLVED),
        (f"G{h2}:G{h3}", b06.HEADER_TOTAL),
        (f"H{h2}:H{h3}", b06.HEADER_EARLY),
        (f"I{h2}:I{h3}", b06.HEADER_ON_TIME),
        (f"J{h2}:J{h3}", b06.HEADER_LATE),
        (f"K{h1}:M{h1}", GROUP_PENDING),
        (f"K{h2}:K{h3}", b06.HEADER_TOTAL),
        (f"L{h2}:L{h3}", b06.HEADER_IN_TIME),
        (f"M{h2}:M{h3}", b06.HEADER_OVERDUE),
    ]
    for ref, text in headers:
        if ":" in ref:
            ws.merge_cells(ref)
        ws[ref.split(":")[0]] = text
    for col in range(1, N_COLUMNS + 1):
        for row in (h1, h2, h3):
            c = ws.cell(row, col)
            c.font = _font(bold=True)
            c.alignment = _CENTER
        c = ws.cell(hn, col, f"({col})")
        c.font = _font(italic=True)
        c.alignment = _CENTER
    ws.row_dimensions[h1].height = 33
    ws.row_dimensions[h2].height = 33
    ws.row_dimensions[h3].height = 66

    # Data rows, then the total row.
    data, total = _with_total(rows)
    r = hn + 1
    for i, row in enumerate(data, start=1):
        stt = _get(row, "stt")
        if stt is None or str(stt).strip() == "":
            stt = i
        elif str(stt).strip().isdigit():
            stt = int(str(stt).strip())  # "1" -> 1, so the column holds numbers
        _write_bieu06_row(ws, r, stt, _get(row, "label"), row, bold=False)
        r += 1
    _write_bieu06_row(ws, r, None, TOTAL_LABEL, total, bold=True)
    last_row = r

    for row_cells in ws.iter_rows(min_row=h1, max_row=last_row, min_col=1, max_col=N_COLUMNS):
        for c in row_cells:
            c.border = _BORDER

    # Signature block below the table: the preparer on the left, the head of the unit on the
    # right under the place and date line; the export stamp at the bottom.
    r = last_row + 2
    _side(ws, r, _SIGN_COL, f"{place}, {DATE_LINE}", italic=True)
    _side(ws, r + 1, 1, SIGNER_PREPARER, bold=True)
    _side(ws, r + 1, _SIGN_COL, SIGNER_HEAD, bold=True)
    _side(ws, r + 2, 1, SIGN_HINT_PREPARER, italic=True)
    _side(ws, r + 2, _SIGN_COL, SIGN_HINT_HEAD, italic=True)
    r += 7  # room to sign
    ws.merge_cells(f"A{r}:F{r}")
    c = ws.cell(r, 1, stamp)
    c.font = _font(italic=True)

    # Column widths, freeze panes, print setup.
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 45
    for col in range(3, N_COLUMNS + 1):
        ws.column_dimensions[get_column_letter(col)].width = 11
    ws.freeze_panes = f"C{hn + 1}"
    ws.print_title_rows = f"{h1}:{hn}"
    ws.print_area = f"A1:{last_col}{r}"
    _page_setup(ws, landscape=True)
    ws.oddFooter.left.text = stamp
    ws.oddFooter.left.font = FONT_NAME
    ws.oddFooter.left.size = 9
    ws.oddFooter.center.text = PAGE_NUMBERS
    ws.oddFooter.center.font = FONT_NAME
    ws.oddFooter.center.size = 9


def _side(ws: Worksheet, r: int, col: int, text: str, *, bold: bool = False, italic: bool = False) -> None:
    """One line of the signature block: columns A..F (col 1) or H..M (col 8), centred."""
    last = "F" if col == 1 else get_column_letter(N_COLUMNS)
    ws.merge_cells(f"{get_column_letter(col)}{r}:{last}{r}")
    c = ws.cell(r, col, text)
    c.font = _font(bold=bold, italic=italic)
    c.alignment = Alignment(horizontal="center", vertical="center")


def _write_bieu06_row(ws: Worksheet, r: int, stt: Any, label: Any, row: Any, *, bold: bool) -> None:
    c = ws.cell(r, 1, stt)
    c.font = _font(bold=bold)
    c.alignment = Alignment(horizontal="center", vertical="center")
    text = "" if label is None else str(label)
    c = ws.cell(r, 2, text)
    c.data_type = "s"  # a label starting with "=" is text, not a formula
    c.font = _font(bold=bold)
    c.alignment = Alignment(horizontal="center" if bold else "left", vertical="center", wrap_text=True)
    lines = max(1, math.ceil(len(text) / 42))
    if lines > 1:
        ws.row_dimensions[r].height = 16 * lines
    for j, name in enumerate(NUMERIC_FIELDS, start=3):
        c = ws.cell(r, j, _number(_get(row, name)))
        c.font = _font(bold=bold)
        c.number_format = NUMBER_FORMAT
        c.alignment = Alignment(horizontal="right", vertical="center")


def _page_setup(ws: Worksheet, *, landscape: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.25, footer=0.3)


# --------------------------------------------------------------------------------------------------
# The unit report outline (đề cương báo cáo): one row per unit, the total last
# --------------------------------------------------------------------------------------------------


def _write_outline_sheet(
    ws: Worksheet,
    *,
    ward_name: str,
    province: str,
    period_label: str,
    period_from: date,
    period_to: date,
    rows: list[Mapping[str, Any]],
    stamp: str,
    simulated: bool,
) -> None:
    n_cols = 2 + len(outline.FIELDS)
    last_col = get_column_letter(n_cols)
    unit = ", ".join(p for p in (ward_name.strip(), province.strip()) if p)
    lines = [
        (OUTLINE_TITLE, _font(TITLE_SIZE, bold=True)),
        (f"Đơn vị báo cáo: {unit}", _font(bold=True)),
        (f"Kỳ báo cáo: {period_label} (từ {_dmy(period_from)} đến {_dmy(period_to)})", _font()),
    ]
    if simulated:
        lines.append((SIMULATED_BANNER, _font(TITLE_SIZE, bold=True, color="FFFF0000")))
    lines.append((OUTLINE_NOTE, _font(italic=True)))
    r = 1
    for text, font in lines:
        ws.merge_cells(f"A{r}:{last_col}{r}")
        c = ws.cell(r, 1, text)
        c.font = font
        c.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
        r += 1
    ws.row_dimensions[r - 1].height = 30
    r += 1
    header = r
    for j, text in enumerate([b06.HEADER_STT, LABEL_BY_UNIT, *(h for _, h in outline.FIELDS)], start=1):
        c = ws.cell(r, j, text)
        c.font = _font(bold=True)
        c.alignment = _CENTER
        c.border = _BORDER
    ws.row_dimensions[r].height = 66
    for row in rows:
        r += 1
        total = str(row.get("stt") or "") == ""
        stt = str(row.get("stt") or "")
        c = ws.cell(r, 1, int(stt) if stt.isdigit() else None)
        c.alignment = Alignment(horizontal="center", vertical="center")
        c = ws.cell(r, 2, str(row.get("label") or ""))
        c.data_type = "s"
        c.alignment = Alignment(horizontal="center" if total else "left", vertical="center", wrap_text=True)
        for j, (key, _) in enumerate(outline.FIELDS, start=3):
            c = ws.cell(r, j, _number(row.get(key)))
            c.number_format = NUMBER_FORMAT
            c.alignment = Alignment(horizontal="right", vertical="center")
        for j in range(1, n_cols + 1):
            ws.cell(r, j).font = _font(bold=total)
            ws.cell(r, j).border = _BORDER
    c = ws.cell(r + 2, 1, stamp)
    c.font = _font(italic=True)
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 40
    for j in range(3, n_cols + 1):
        ws.column_dimensions[get_column_letter(j)].width = 11
    ws.freeze_panes = f"C{header + 1}"
    ws.print_title_rows = f"{header}:{header}"
    _page_setup(ws, landscape=True)


# --------------------------------------------------------------------------------------------------
# General indicator tables
# --------------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | Decimal):
        return value != value  # NaN
    if isinstance(value, str | bytes | Mapping) or isinstance(value, Sequence):
        return False
    try:  # pandas.NA, NaT, numpy.nan
        res = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(res) if getattr(res, "shape", ()) == () else False


def _table_value(value: Any) -> tuple[Any, str | None]:
    """(cell value, number format) for one table cell."""
    if _is_missing(value):
        return NOT_APPLICABLE, None
    if isinstance(value, bool):
        return ("Có" if value else "Không"), None
    if isinstance(value, str):
        return value, None
    if isinstance(value, datetime):
        return _local(value), "dd/mm/yyyy hh:mm"
    if isinstance(value, date):
        return value, "dd/mm/yyyy"
    if isinstance(value, Number):
        if hasattr(value, "item"):  # numpy scalar -> Python scalar
            value = value.item()
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, int):
            return value, NUMBER_FORMAT
        if isinstance(value, float):
            if math.isinf(value):
                return NOT_APPLICABLE, None
            return value, NUMBER_FORMAT if value.is_integer() else DECIMAL_FORMAT
        return str(value), None
    return str(value), None


def _display_len(value: Any, fmt: str | None) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:,.0f}" if fmt == NUMBER_FORMAT else f"{value:,.2f}"
    elif isinstance(value, datetime):
        text = "dd/mm/yyyy hh:mm"
    elif isinstance(value, date):
        text = "dd/mm/yyyy"
    else:
        text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def _sheet_title(name: str, used: set[str]) -> str:
    base = _EXCEL_SHEET_FORBIDDEN.sub("-", str(name)).strip("'").strip() or "Sheet"
    base = base[:31]
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


def write_table_xlsx(
    path: str | Path, sheets: Mapping[str, Sequence[Mapping[str, Any]]], title: str | None = None
) -> Path:
    """Write indicator tables to `path` (parent folders created), one sheet per entry, and return it.

    Each sheet: optional bold `title` line, then a bold header row (the union of the rows' keys, in
    order of first appearance) and one row per dict. Strings (percentages already formatted by the
    caller, e.g. "95,25%") are written as text, numbers as numbers (`#,##0`), dates as dates;
    None / NaN / NA -> "không phát sinh". Sheet names are made valid for Excel (31 characters, no
    []:*?/\\, unique).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    if not sheets:
        sheets = {"Sheet": []}
    for name, rows in sheets.items():
        ws = wb.create_sheet(_sheet_title(name, used))
        rows = list(rows)
        columns: list[str] = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
        n_cols = max(1, len(columns))
        widths = [len(str(col)) for col in columns] or [len(NOT_APPLICABLE)]

        r = 1
        if title:
            if n_cols > 1:
                ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n_cols)
            c = ws.cell(1, 1, title)
            c.data_type = "s"
            c.font = _font(TITLE_SIZE, bold=True)
            c.alignment = Alignment(horizontal="left", vertical="center")
            r = 3
        header_row = r
        if not columns:
            ws.cell(r, 1, NOT_APPLICABLE).font = _font(italic=True)
        for j, col in enumerate(columns, start=1):
            c = ws.cell(r, j, str(col))
            c.data_type = "s"
            c.font = _font(bold=True)
            c.alignment = _CENTER
            c.border = _BORDER
        for row in rows:
            r += 1
            for j, col in enumerate(columns, start=1):
                value, fmt = _table_value(row.get(col))
                c = ws.cell(r, j, value)
                if isinstance(value, str):
                    c.data_type = "s"
                if fmt:
                    c.number_format = fmt
                c.font = _font()
                c.border = _BORDER
                c.alignment = Alignment(vertical="top", wrap_text=True)
                widths[j - 1] = max(widths[j - 1], _display_len(value, fmt))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, w + 2))
        if columns:
            ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate
            ws.print_title_rows = f"{header_row}:{header_row}"
        _page_setup(ws, landscape=n_cols > 6)
    if title:
        wb.properties.title = title
    wb.properties.creator = "cchc"
    wb.save(path)
    return path
