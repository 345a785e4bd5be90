"""The simulated ward's dossiers as a one-stop system's Excel export ("Xuất Excel danh sách hồ sơ").

One sheet "Danh sách hồ sơ", row 1 = headers (no title row), dates as real Excel datetimes in naive
Vietnam local time. No personal column. "Có phí" is "Có" when the dossier owes a fee (a fee
procedure and the applicant not exempt), since the export has no fee-exemption column.
"Ngày hẹn trả" is the current appointment date, as one-stop software exports it: the original one
moved by every answered supplement request (`current_due`), so that the export and the API give
the same timeliness for the same dossiers (tests/test_excel_paths_agree.py).
"""

from __future__ import annotations

from datetime import datetime
from os import PathLike

from cchc.domain.records import CHANNEL_NAMES_VI, STATUS_NAMES_VI, Channel, Status
from cchc.simulator.ward import SyntheticWard

__all__ = ["EXCEL_HEADERS", "SHEET_NAME", "export_excel"]

SHEET_NAME = "Danh sách hồ sơ"

EXCEL_HEADERS = (
    "Mã hồ sơ",
    "Mã TTHC",
    "Tên TTHC",
    "Mã lĩnh vực",
    "Lĩnh vực",
    "Mã đơn vị",
    "Kênh nộp",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Ngày kết thúc xử lý",
    "Ngày trả kết quả",
    "Trạng thái",
    "Số lần bổ sung",
    "Có phí",
    "Thanh toán trực tuyến",
    "Số hóa thành phần",
    "Số hóa kết quả",
    "Phiếu xin lỗi",
)

#: Applicant columns a real export may carry; written when the ward has `extra_personal` (the
#: import must never keep them: tests/test_privacy_scan.py).
PERSONAL_HEADERS = ("Người nộp", "Số CCCD", "Số điện thoại", "Email", "Địa chỉ", "Ghi chú")

_DATE_FORMAT = "dd/mm/yyyy hh:mm:ss"


def _dt(s: str) -> datetime | None:
    if not s:
        return None
    return datetime(int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:14]))


def current_due(r: dict) -> str:
    """The appointment date a one-stop system shows today: the original NgayHenTra moved by each
    supplement request already answered (its NgayHenTraMoi); a request still open has not moved it."""
    due = r["NgayHenTra"]
    for s in r["DanhSachHoSoBoSung"]:
        if s.get("NgayTiepNhanBoSung") and s.get("NgayHenTraMoi"):
            due = s["NgayHenTraMoi"]
    return due


def _yes(flag) -> str:
    return "Có" if flag else "Không"


def export_excel(ward: SyntheticWard, path: str | PathLike, limit: int | None = None,
                 personal_columns: bool | None = None) -> int:
    """Write the dossiers visible at the ward's as_of (received order) to `path`; returns the number
    of data rows (the header row not counted). `personal_columns` (default: the ward's
    `extra_personal`) adds the applicant columns PERSONAL_HEADERS."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_NAME)
    personal = ward.extra_personal if personal_columns is None else personal_columns
    ws.append(list(EXCEL_HEADERS) + (list(PERSONAL_HEADERS) if personal else []))

    def date_cell(s: str):
        v = _dt(s)
        if v is None:
            return None
        c = WriteOnlyCell(ws, value=v)
        c.number_format = _DATE_FORMAT
        return c

    n = 0
    for i in ward.all_indices():
        if limit is not None and n >= limit:
            break
        r = ward.canonical(i)
        owes = any(int(f.get("Gia") or 0) > 0 for f in r["DanhSachLePhi"]) and not r["MienLePhi"]
        extra = []
        if personal:
            name, ident, phone, email, addr = ward.personal_values(i)
            extra = [name, ident, phone, email, addr, f"Liên hệ ông/bà {name} qua số {phone}"]
        ws.append(
            [
                r["MaHoSo"],
                r["MaTTHC"],
                r["TenTTHC"],
                r["MaLinhVuc"],
                r["TenLinhVuc"],
                r["DonViXuLy"],
                CHANNEL_NAMES_VI[Channel(r["KenhThucHien"])],
                date_cell(r["NgayTiepNhan"]),
                date_cell(current_due(r)),
                date_cell(r["NgayKetThucXuLy"]),
                date_cell(r["NgayTra"]),
                STATUS_NAMES_VI[Status(r["TrangThaiHoSo"])],
                len(r["DanhSachHoSoBoSung"]),
                _yes(owes),
                _yes(r["DuocThanhToanTrucTuyen"] in (1, 2)),
                _yes(r["HoSoCoThanhPhanSoHoa"]),
                _yes(r["CoKetQuaDienTu"]),
                _yes("PhieuXinLoi" in r),
                *extra,
            ]
        )
        n += 1
    wb.save(path)
    return n
