"""Import one-stop "Xuất Excel danh sách hồ sơ" exports (.xlsx, .xls) and CSV files into `Dossier` records.

Wards that cannot reach an API export the dossier list from the one-stop system as a spreadsheet
with Vietnamese headers (DOMAIN.md §2). This module finds the header row (title rows above it are
allowed), maps the headers it knows through aliases (case-, diacritics- and space-insensitive, via
`fold`) and builds a `Dossier` from each row's typed cells as `parse_dossier` builds one from the
canonical wire dict (the reference path, `_row_via_wire`, reads the rare row the typed path leaves:
a date before year 1000; tests/test_excel_typed_path.py holds the two paths equal).

    result = read_export("ho_so_thang_3.xlsx")
    result.dossiers      # list[Dossier]
    result.errors        # list[RowError]: row number as Excel shows it, header as written, reason

    with iter_export("ho_so.xlsx") as rows:       # streaming: a million-row sheet is never held whole
        for row_number, item in rows:             # item: Dossier | RowError
            ...                                   # rows.fraction_read(): how far through the file

Sheets: .xlsx through `xlsx_stream.XlsxBook` (streamed from the zip), .xls through python-calamine
(a sheet holds at most 65,536 rows). Each known column has its own converter (`_converter`).

Rules:

- Required columns: Mã hồ sơ, Trạng thái, Ngày tiếp nhận. A missing one -> `ExcelFormatError`
  naming the file, the missing header(s) and the headers found.
- One bad cell makes its row an error (one `RowError` per bad cell); other rows are still imported.
  A row whose known columns are all empty is skipped silently. A code seen twice: the later row
  is an error (`duplicates=False`: left to the caller; the import asks the store, which keeps the
  codes read so far, so its memory stays flat in the rows).
- Columns not listed in `COLUMNS` are never read. Applicant columns (Người nộp, Chủ hồ sơ, Số CCCD,
  Số điện thoại, Địa chỉ, Email, ...) therefore never reach a record, an error or a message; error
  reasons quote only cells of the known (non-personal) columns.
- Dates: real Excel dates/datetimes (naive = Vietnam local time), Excel serial numbers, or text
  `dd/mm/yyyy[ HH:MM[:SS]]`, `dd-mm-yyyy`, `dd.mm.yyyy`, `HH:MM dd/mm/yyyy`, ISO
  `yyyy-mm-dd[ HH:MM[:SS]]`, wire `yyyyMMdd[HHmmss]`. Results are aware, in `VN_TZ`. A year must
  have four digits ('01/03/26' is rejected, saying so); an unknown format names the accepted ones.
- CSV encodings: UTF-8 (with or without BOM) and UTF-16 with a BOM, recognised by the BOM; any
  other encoding (Windows-1258/1252, UTF-16 without BOM...) is rejected with a message saying
  which ones are accepted, unless `encoding=` names it (`cchc import-excel --encoding cp1258`).
- "Ngày hẹn trả" is the CURRENT appointment date, as one-stop software exports it: already moved
  by each answered supplement request. An export lists no supplement requests (only their count),
  so the date is the due date timeliness is judged against, as it is, never extended again.
- A file without "Mã lĩnh vực" groups fields by name: the field code is then a key made from the
  name (`field_key`), so two fields never fall into one group.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from cchc.domain.records import STATUS_NAMES_VI, Channel, Dossier, RecordError, Status, check_dossier
from cchc.domain.text import fold, slugify
from cchc.domain.wire import VN_TZ, check_received, format_wire_datetime, parse_dossier, quote_value
from cchc.errors import UserError

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "ExcelFormatError",
    "ExportStream",
    "ImportResult",
    "RowError",
    "iter_export",
    "parse_cell_datetime",
    "read_export",
]

#: How many rows from the top are searched for the header row.
HEADER_SEARCH_ROWS = 20
#: A row is the header row when at least this many known headers match.
HEADER_MIN_MATCHES = 3

#: Said when a date cell is not in a known format.
DATE_FORMATS_VI = "dd/mm/yyyy [HH:MM[:SS]], yyyy-mm-dd [HH:MM[:SS]] hoặc yyyyMMddHHmmss"
_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}(?:\s.*)?$")
#: The CSV encodings recognised without being told (by their BOM; no BOM: UTF-8).
CSV_ENCODINGS_VI = "UTF-8 (có hoặc không có BOM) hoặc UTF-16 có BOM"

_EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm"})
_CSV_SUFFIXES = frozenset({".csv"})


@dataclass(frozen=True, slots=True)
class Column:
    """A known column: its canonical header, the wire field it fills, accepted aliases, its kind."""

    header: str
    wire: str
    kind: str  # "text" | "date" | "status" | "channel" | "flag" | "count" | "paid"
    aliases: tuple[str, ...] = ()

    @property
    def field(self) -> str:
        """The `Dossier` field the column fills (CoPhi: `has_fee`, None when the column is absent)."""
        return _FIELD_OF_WIRE[self.wire]


#: The Dossier field each wire field of an export fills (what `parse_dossier` reads it into).
_FIELD_OF_WIRE = {
    "MaHoSo": "code", "MaTTHC": "procedure_code", "TenTTHC": "procedure_name", "TenLinhVuc": "field_name",
    "MaLinhVuc": "field_code", "DonViXuLy": "unit_code", "KenhThucHien": "channel", "NgayNopHoSo": "submitted_at",
    "NgayTiepNhan": "received_at", "NgayHenTra": "due_at", "NgayKetThucXuLy": "finished_at", "NgayTra": "returned_at",
    "NgayTuChoi": "refused_at", "TrangThaiHoSo": "status", "SoLanBoSung": "supplement_count", "CoPhi": "has_fee",
    "DuocThanhToanTrucTuyen": "paid_online", "HoSoCoThanhPhanSoHoa": "digitized_component",
    "CoKetQuaDienTu": "e_result", "CoPhieuXinLoi": "apology",
}


#: The known columns, canonical header first. Anything else in the file is ignored.
COLUMNS: tuple[Column, ...] = (
    Column("Mã hồ sơ", "MaHoSo", "text", ("Số hồ sơ", "Mã HS", "Mã số hồ sơ")),
    Column("Mã TTHC", "MaTTHC", "text", ("Mã thủ tục", "Mã thủ tục hành chính")),
    Column("Tên TTHC", "TenTTHC", "text", ("Tên thủ tục", "Thủ tục", "Tên thủ tục hành chính",
                                           "Thủ tục hành chính")),
    Column("Lĩnh vực", "TenLinhVuc", "text", ("Tên lĩnh vực",)),
    Column("Mã lĩnh vực", "MaLinhVuc", "text"),
    Column("Mã đơn vị", "DonViXuLy", "text", ("Đơn vị xử lý", "Đơn vị", "Mã ĐV", "Mã đơn vị xử lý")),
    Column("Kênh nộp", "KenhThucHien", "channel", ("Kênh", "Hình thức nộp", "Kênh thực hiện",
                                                    "Hình thức nộp hồ sơ")),
    Column("Ngày nộp", "NgayNopHoSo", "date", ("Ngày nộp hồ sơ",)),
    Column("Ngày tiếp nhận", "NgayTiepNhan", "date", ("Ngày nhận",)),
    Column("Ngày hẹn trả", "NgayHenTra", "date", ("Hẹn trả", "Ngày hẹn trả kết quả")),
    Column("Ngày kết thúc xử lý", "NgayKetThucXuLy", "date", ("Ngày xử lý xong", "Ngày hoàn thành")),
    Column("Ngày trả kết quả", "NgayTra", "date", ("Ngày trả",)),
    # returned without resolution after reception (DOMAIN §6: counted as resolved, and on its own)
    Column("Ngày trả lại", "NgayTuChoi", "date", ("Ngày từ chối", "Ngày trả lại hồ sơ")),
    Column("Trạng thái", "TrangThaiHoSo", "status", ("Trạng thái hồ sơ", "Tình trạng")),
    Column("Số lần bổ sung", "SoLanBoSung", "count"),
    Column("Có phí", "CoPhi", "flag"),
    Column("Thanh toán trực tuyến", "DuocThanhToanTrucTuyen", "paid"),
    Column("Số hóa thành phần", "HoSoCoThanhPhanSoHoa", "flag"),
    Column("Số hóa kết quả", "CoKetQuaDienTu", "flag", ("Kết quả điện tử",)),
    Column("Phiếu xin lỗi", "CoPhieuXinLoi", "flag"),
)

REQUIRED_COLUMNS: tuple[str, ...] = ("Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận")

_BY_HEADER = {c.header: c for c in COLUMNS}
_BY_WIRE = {c.wire: c for c in COLUMNS}


def _header_key(text: str) -> str:
    """Folded header without decorations: 'Mã hồ sơ (*):' -> 'ma ho so'."""
    s = fold(text)
    s = re.sub(r"\(\s*\*\s*\)|\*", " ", s)
    return " ".join(s.strip(" :.").split())


_ALIASES: dict[str, Column] = {}
for _c in COLUMNS:
    for _name in (_c.header, *_c.aliases):
        _ALIASES[_header_key(_name)] = _c
del _c, _name


# ------------------------------------------------------------------------------------------ results


class ExcelFormatError(UserError, ValueError):
    """The file as a whole cannot be imported: unknown type, corrupt, or required columns missing.

    The message is meant for the user (Vietnamese), names the file and never quotes cell values
    other than header texts.
    """

    def __init__(self, message: str, path: str | Path | None = None, missing: tuple[str, ...] = (),
                 found: tuple[str, ...] = ()):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.missing = tuple(missing)
        self.found = tuple(found)


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad cell (or row): `row` as Excel shows it, `column` the header as written in the file."""

    row: int
    column: str
    reason: str  # Vietnamese
    code: str | None = None  # MaHoSo, when known

    def __str__(self) -> str:
        s = f"Dòng {self.row}, cột '{self.column}': {self.reason}"
        return s + (f" (hồ sơ {self.code})" if self.code else "")


@dataclass(slots=True)
class ImportResult:
    dossiers: list[Dossier]
    errors: list[RowError]
    rows_read: int  # non-empty data rows below the header (imported + rejected)
    header_row: int  # 1-based
    columns_mapped: dict[str, str]  # canonical header -> header as found in the file
    sheet: str | None = None  # the worksheet read (None for CSV)

    @property
    def bad_rows(self) -> list[int]:
        """Row numbers that produced at least one error (and no dossier)."""
        return sorted({e.row for e in self.errors})


# ------------------------------------------------------------------------------------ cell parsing


class _CellError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Unusual(Exception):
    """A cell the typed path does not build a record from (a date before year 1000): the row is read
    the reference way instead, through the wire dict and `parse_dossier`, which says what it says."""


def _quote(value) -> str:
    return quote_value(_as_text(value), limit=40)


def field_key(name: str) -> str:
    """A stable field code (at most 32 characters) for a field known only by name:
    'Hộ tịch' -> 'ho-tich'; a long name keeps a prefix and a short hash of the whole name."""
    import hashlib

    key = slugify(name) or "linh-vuc"
    if len(key) <= 32:
        return key
    return key[:23] + "-" + hashlib.md5(fold(name).encode(), usedforsecurity=False).hexdigest()[:8]


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def _text_cell(value) -> str:
    """A text cell's value: a string stripped (the usual cell, without a call to `_as_text`)."""
    return value.strip() if value.__class__ is str else _as_text(value)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_DMY = re.compile(
    r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})(?:(?:\s+|\s*[T,]\s*)(\d{1,2})[:hH](\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)
_TIME_DMY = re.compile(r"^(\d{1,2})[:hH](\d{2})(?::(\d{2}))?\s*[,\-]?\s*(\d{1,2})([/.\-])(\d{1,2})\5(\d{4})$")
_YMD = re.compile(
    r"^(\d{4})([/\-])(\d{1,2})\2(\d{1,2})(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)
_WIRE = re.compile(r"^\d{8}(?:\d{4}(?:\d{2})?)?$")

#: Excel's largest serial (31/12/9999).
_MAX_SERIAL = 2958465


def _local(dt: datetime) -> datetime:
    """Naive -> Vietnam local; aware -> converted; rounded to the second (Excel floats drift)."""
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1 if dt.microsecond >= 500_000 else 0)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=VN_TZ)
    return dt.astimezone(VN_TZ)


def _mk(y, mo, d, h=None, mi=None, s=None) -> datetime:
    return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=VN_TZ)


def parse_cell_datetime(value, epoch: datetime | None = None) -> datetime | None:
    """A spreadsheet cell -> aware Vietnam datetime, None when blank; ValueError when not a date."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=VN_TZ)
    if isinstance(value, bool) or isinstance(value, time):
        raise ValueError("not a date")
    if isinstance(value, (int, float)):
        if isinstance(value, int) and _WIRE.match(str(value)) and value > _MAX_SERIAL:
            return _parse_text_date(str(value))
        if not 1 <= value <= _MAX_SERIAL:
            raise ValueError("serial out of range")
        from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

        dt = from_excel(value, epoch or CALENDAR_WINDOWS_1900)
        if not isinstance(dt, datetime):
            raise ValueError("not a date")
        return _local(dt)
    return _parse_text_date(str(value).strip())


def _parse_text_date(s: str) -> datetime:
    if m := _DMY.match(s):
        d, _, mo, y, h, mi, sec = m.groups()
        return _mk(y, mo, d, h, mi, sec)
    if m := _TIME_DMY.match(s):
        h, mi, sec, d, _, mo, y = m.groups()
        return _mk(y, mo, d, h, mi, sec)
    if m := _YMD.match(s):
        y, _, mo, d, h, mi, sec = m.groups()
        return _mk(y, mo, d, h, mi, sec)
    if _WIRE.match(s):
        return _mk(s[0:4], s[4:6], s[6:8], s[8:10] or 0, s[10:12] or 0, s[12:14] or 0)
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", s):  # ISO with a UTC offset
        return _local(datetime.fromisoformat(s))
    raise ValueError("unknown date format")


def _int_value(value) -> int | None:
    """An integral number from a cell (int, integral float, or such text); None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    s = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(?:[.,]0+)?", s):
        return int(re.split(r"[.,]", s)[0])
    return None


_STATUS_VARIANTS: dict[str, Status] = {
    "moi": Status.NEW,
    "dang ky moi": Status.NEW,
    "cho tiep nhan": Status.NEW,
    "da tiep nhan": Status.RECEIVED,
    "tiep nhan": Status.RECEIVED,
    "moi tiep nhan": Status.RECEIVED,
    "khong tiep nhan": Status.NOT_ACCEPTED,
    "tu choi": Status.NOT_ACCEPTED,
    "tu choi tiep nhan": Status.NOT_ACCEPTED,
    "da tu choi": Status.NOT_ACCEPTED,
    "dang giai quyet": Status.PROCESSING,
    "dang thu ly": Status.PROCESSING,
    "yeu cau bo sung": Status.SUPPLEMENT,
    "bo sung": Status.SUPPLEMENT,
    "bo sung ho so": Status.SUPPLEMENT,
    "cho bo sung": Status.SUPPLEMENT,
    "yeu cau bo sung ho so": Status.SUPPLEMENT,
    "nghia vu tai chinh": Status.FINANCIAL,
    "cho thuc hien nghia vu tai chinh": Status.FINANCIAL,
    "rut ho so": Status.WITHDRAWN,
    "da rut": Status.WITHDRAWN,
    "da rut ho so": Status.WITHDRAWN,
    "cong dan rut ho so": Status.WITHDRAWN,
    "tam dung": Status.STOPPED,
    "dung": Status.STOPPED,
    "da xu ly": Status.DONE,
    "xu ly xong": Status.DONE,
    "da giai quyet": Status.DONE,
    "da giai quyet xong": Status.DONE,
    "hoan thanh": Status.DONE,
    "da hoan thanh": Status.DONE,
    "da tra": Status.RETURNED,
    "tra ket qua": Status.RETURNED,
    "da tra ket qua cho cong dan": Status.RETURNED,
}
_STATUS_NAMES: dict[str, Status] = {fold(v): k for k, v in STATUS_NAMES_VI.items()} | _STATUS_VARIANTS


@lru_cache(maxsize=512)
def _status_from_text(s: str) -> Status | None:
    key = fold(s).strip(" .")
    if key in _STATUS_NAMES:
        return _STATUS_NAMES[key]
    m = re.fullmatch(r"(\d{1,2})\s*[-.:)]\s*([a-z].*)", key)  # "10 - Đã trả kết quả"
    if m:
        try:
            return Status(int(m.group(1)))
        except ValueError:
            return None
    return None


def _status(value) -> int:
    n = _int_value(value)
    if n is not None:
        if n in Status._value2member_map_:
            return n
        raise _CellError(f"trạng thái không nhận biết: {_quote(value)}")
    st = _status_from_text(str(value))
    if st is None:
        raise _CellError(f"trạng thái không nhận biết: {_quote(value)}")
    return int(st)


_CHANNELS: dict[str, Channel] = {
    "truc tiep": Channel.IN_PERSON,
    "nop truc tiep": Channel.IN_PERSON,
    "tai quay": Channel.IN_PERSON,
    "offline": Channel.IN_PERSON,
    "truc tuyen": Channel.ONLINE,
    "nop truc tuyen": Channel.ONLINE,
    "online": Channel.ONLINE,
    "qua mang": Channel.ONLINE,
    "dich vu cong truc tuyen": Channel.ONLINE,
    "buu chinh": Channel.POSTAL,
    "buu chinh cong ich": Channel.POSTAL,
    "qua buu chinh": Channel.POSTAL,
    "qua buu chinh cong ich": Channel.POSTAL,
    "dich vu buu chinh": Channel.POSTAL,
    "dich vu buu chinh cong ich": Channel.POSTAL,
    "bcci": Channel.POSTAL,
}


def _channel(value) -> int:
    n = _int_value(value)
    if n is not None and n in Channel._value2member_map_:
        return n
    ch = _CHANNELS.get(fold(str(value)).strip(" ."))
    if ch is None:
        raise _CellError(f"kênh nộp không nhận biết: {_quote(value)}")
    return int(ch)


_YES = frozenset({"co", "x", "1", "yes", "y", "true", "da", "dung"})
_NO = frozenset({"khong", "0", "no", "n", "false", "chua", "k"})


def _flag(value) -> bool:
    if _blank(value):
        return False
    if isinstance(value, bool):
        return value
    key = fold(_as_text(value)).strip(" .")
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise _CellError(f"giá trị Có/Không không hợp lệ: {_quote(value)}")


def _paid(value) -> int | None:
    n = _int_value(value) if not _blank(value) else None
    if n == 2:  # paid on a provincial gateway (DuocThanhToanTrucTuyen = 2)
        return 2
    return 1 if _flag(value) else None


def _count(value) -> int | None:
    if _blank(value):
        return None
    n = _int_value(value)
    if n is None:
        raise _CellError(f"số lần bổ sung không hợp lệ: {_quote(value)}")
    if n < 0:
        raise _CellError(f"số lần bổ sung không được âm: {_quote(value)}")
    return n


def _remembered(convert: Callable) -> Callable:
    """`convert` with its answers (values and _CellError reasons) kept per (type, value): 1, 1.0
    and True are different cells."""
    cache: dict = {}

    def remembered(v):
        key = (v.__class__, v)
        hit = cache.get(key)
        if hit is None:
            try:
                hit = (True, convert(v))
            except _CellError as e:
                hit = (False, e.reason)
            if len(cache) >= 10_000:  # bounded: memory stays flat whatever the file
                cache.clear()
            cache[key] = hit
        if hit[0]:
            return hit[1]
        raise _CellError(hit[1])

    return remembered


# ------------------------------------------------------------------------------------- the reader


def _header_matches(row) -> dict[str, tuple[int, str]]:
    """Known columns in one row: canonical header -> (0-based index, header as written). First wins."""
    out: dict[str, tuple[int, str]] = {}
    for i, cell in enumerate(row):
        if _blank(cell):
            continue
        text = _as_text(cell)
        col = _ALIASES.get(_header_key(text))
        if col is not None and col.header not in out:
            out[col.header] = (i, " ".join(text.split()))
    return out


@dataclass(slots=True)
class _Layout:
    header_row: int
    mapping: dict[str, tuple[int, str]]  # canonical -> (index, header as written)
    found: tuple[str, ...]  # all non-blank header texts of the header row


def _find_header(head: list[tuple]) -> tuple[_Layout | None, _Layout | None]:
    """(the header row with >= HEADER_MIN_MATCHES known headers, the best candidate otherwise)."""
    best: _Layout | None = None
    for n, row in enumerate(head, start=1):
        m = _header_matches(row)
        if not m:
            continue
        layout = _Layout(n, m, tuple(" ".join(_as_text(c).split()) for c in row if not _blank(c)))
        if len(m) >= HEADER_MIN_MATCHES:
            return layout, layout
        if best is None or len(m) > len(best.mapping):
            best = layout
    return None, best


class ExportStream:
    """Rows of an export as `(row_number, Dossier | RowError)`, read lazily.

    Opening finds the header row (raising `ExcelFormatError` at once if the file is unusable);
    iterating reads the data rows. Use as a context manager, or exhaust it, to close the file.
    """

    def __init__(self, path: str | Path, source: str = "excel", sheet: str | int | None = None,
                 encoding: str | None = None, duplicates: bool = True):
        self.path = Path(path)
        self.source = source
        self.encoding = encoding  # CSV only; None: recognised by the BOM
        self.sheet: str | None = None
        self.rows_read = 0
        self._wb = None
        self._epoch = None
        # the codes read so far and their first row; None: the caller checks repeated codes itself
        # (`cchc.pipeline.sync.import_excel_file` asks the store, so memory stays flat in the rows)
        self._codes: dict[str, int] | None = {} if duplicates else None
        self._field_keys: dict[str, str] = {}
        suffix = self.path.suffix.lower()
        if suffix in _CSV_SUFFIXES:
            rows, head = self._open_csv()
        elif suffix in _EXCEL_SUFFIXES:
            rows, head = self._open_excel(sheet)
        elif suffix == ".xls":
            rows, head = self._open_excel(sheet, xls=True)
        else:
            raise ExcelFormatError(
                f"Tệp '{self.path.name}': phần mở rộng '{self.path.suffix}' không được hỗ trợ "
                "(chỉ nhận .xlsx, .xls hoặc .csv).", self.path)
        self._rows = rows
        self._head = head
        self._layout = self._layout_or_raise(head)
        self.header_row = self._layout.header_row
        self.columns_mapped: dict[str, str] = {k: v[1] for k, v in self._layout.mapping.items()}
        self._indices = [idx for idx, _ in self._layout.mapping.values()]
        self._cells = itemgetter(*self._indices)  # the required columns: always 3 or more
        self._reach = max(self._indices) + 1
        self._converters = [(_BY_HEADER[k].wire, self._converter(_BY_HEADER[k]), written)
                            for k, (_, written) in self._layout.mapping.items()]
        self._typed = [(_BY_HEADER[k].field, self._typed_converter(_BY_HEADER[k]), written)
                       for k, (_, written) in self._layout.mapping.items()]
        self._header_of_wire = {_BY_HEADER[k].wire: written for k, (_, written) in self._layout.mapping.items()}
        self._code_header = self.columns_mapped["Mã hồ sơ"]
        self._status_header = self.columns_mapped["Trạng thái"]
        self._iter = self._generate()

    # -- opening

    def _open_excel(self, sheet, xls: bool = False) -> tuple[Iterator[tuple], list[tuple]]:
        from cchc.connectors.xlsx_stream import XlsBook, XlsxBook

        kind = ".xls" if xls else ".xlsx"
        try:
            self._wb = XlsBook(self.path) if xls else XlsxBook(self.path)
        except FileNotFoundError:
            raise ExcelFormatError(f"Tệp '{self.path.name}': không tìm thấy tệp.", self.path) from None
        except Exception as e:  # zipfile.BadZipFile, KeyError, XML errors, CalamineError...
            raise ExcelFormatError(
                f"Tệp '{self.path.name}': không đọc được như một tệp Excel {kind} ({type(e).__name__}); "
                "tệp hỏng hoặc không phải Excel.", self.path) from None
        self._epoch = self._wb.epoch
        try:
            first = None
            for index in self._pick_sheets(sheet):
                rows = self._wb.rows(index)
                head = [next(rows, None) for _ in range(HEADER_SEARCH_ROWS)]
                head = [r for r in head if r is not None]
                if first is None:
                    first = (index, rows, head)
                if _find_header(head)[0] is not None:
                    self.sheet = self._wb.sheetnames[index]
                    return rows, head
            index, rows, head = first
            self.sheet = self._wb.sheetnames[index]
            return rows, head
        except ExcelFormatError:
            self.close()
            raise
        except Exception as e:
            self.close()
            raise ExcelFormatError(
                f"Tệp '{self.path.name}': nội dung bảng tính bị hỏng ({type(e).__name__}).", self.path
            ) from None

    def _pick_sheets(self, sheet) -> list[int]:
        """The sheets to look for the header in: the one asked for, else the active one, then the rest."""
        names = self._wb.sheetnames
        if sheet is None:
            active = self._wb.active
            return [active] + [i for i in range(len(names)) if i != active]
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if 0 <= sheet < len(names):
                return [sheet]
        elif str(sheet) in names:
            return [names.index(str(sheet))]
        raise ExcelFormatError(
            f"Tệp '{self.path.name}': không có trang tính {sheet!r}; các trang tính: {', '.join(names)}.",
            self.path)

    def _open_csv(self) -> tuple[Iterator[tuple], list[tuple]]:
        try:
            with open(self.path, "rb") as f:
                sample = f.read(64 * 1024)
        except FileNotFoundError:
            raise ExcelFormatError(f"Tệp '{self.path.name}': không tìm thấy tệp.", self.path) from None
        except OSError as e:
            raise ExcelFormatError(f"Tệp '{self.path.name}': không đọc được ({e.strerror}).", self.path) from None
        encoding = self._csv_encoding(sample)
        try:
            # Incremental: a multi-byte character cut at the sample's end is not an error.
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError as e:
            raise self._encoding_error(encoding, sample, e) from None
        if "\x00" in text:
            raise ExcelFormatError(
                f"Tệp '{self.path.name}': không phải tệp CSV văn bản (có ký tự NUL: tệp nhị phân, hoặc UTF-16 "
                f"không có BOM). Chỉ nhận CSV mã hóa {CSV_ENCODINGS_VI}.", self.path)
        delimiter = _sniff_delimiter(text.removeprefix("\ufeff"))
        fh = open(self.path, encoding=encoding, newline="")  # closed by close() or at the end
        self._fh = fh
        reader = csv.reader(fh, delimiter=delimiter)

        def rows() -> Iterator[tuple]:
            try:
                for r in reader:
                    yield tuple(r)
            except UnicodeDecodeError:
                raise ExcelFormatError(
                    f"Tệp '{self.path.name}': dòng {_bad_byte_line(self.path, encoding)} có byte không đọc được theo mã "
                    f"{encoding}. Chỉ nhận CSV mã hóa {CSV_ENCODINGS_VI}; tệp mã hóa khác: dùng --encoding "
                    "(ví dụ cp1258) hoặc lưu lại với \"CSV UTF-8 (Comma delimited)\".", self.path) from None
            except csv.Error as e:
                raise ExcelFormatError(
                    f"Tệp '{self.path.name}': CSV hỏng quanh dòng {reader.line_num} ({type(e).__name__}).",
                    self.path) from None

        it = rows()
        try:
            head = [r for r in (next(it, None) for _ in range(HEADER_SEARCH_ROWS)) if r is not None]
        except ExcelFormatError:
            self.close()
            raise
        return it, head

    def _csv_encoding(self, sample: bytes) -> str:
        """The codec to read the CSV with: the one given, else by the BOM (none: UTF-8)."""
        if self.encoding:
            try:
                name = codecs.lookup(self.encoding).name
                return "utf-8-sig" if name == "utf-8" and sample.startswith(codecs.BOM_UTF8) else name
            except LookupError:
                raise ExcelFormatError(
                    f"Tệp '{self.path.name}': không biết bảng mã '{self.encoding}' (ví dụ hợp lệ: utf-8, "
                    "utf-16, cp1258, cp1252).", self.path) from None
        if sample.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        return "utf-8"

    def _encoding_error(self, encoding: str, sample: bytes, e: UnicodeDecodeError) -> ExcelFormatError:
        line = sample[: e.start].count(b"\n") + 1
        return ExcelFormatError(
            f"Tệp '{self.path.name}': không đọc được theo mã {encoding} (byte 0x{sample[e.start]:02x}, dòng {line}). "
            f"Chỉ nhận CSV mã hóa {CSV_ENCODINGS_VI}; tệp Windows-1258/1252 hay mã khác: dùng --encoding "
            "(ví dụ cp1258) hoặc mở bằng Excel và lưu lại với \"CSV UTF-8 (Comma delimited)\".", self.path)

    def _layout_or_raise(self, head: list[tuple]) -> _Layout:
        name = self.path.name
        layout, best = _find_header(head)
        if layout is None:
            layout = best
        if layout is None:
            self.close()
            raise ExcelFormatError(
                f"Tệp '{name}': không tìm thấy dòng tiêu đề trong {HEADER_SEARCH_ROWS} dòng đầu "
                f"(cần các cột {', '.join(REQUIRED_COLUMNS)}).", self.path, missing=REQUIRED_COLUMNS)
        missing = tuple(h for h in REQUIRED_COLUMNS if h not in layout.mapping)
        if missing:
            self.close()
            raise ExcelFormatError(
                f"Tệp '{name}': thiếu cột bắt buộc {', '.join(missing)}. "
                f"Các cột tìm thấy (dòng {layout.header_row}): {', '.join(layout.found)}.",
                self.path, missing=missing, found=layout.found)
        return layout

    # -- iteration

    def fraction_read(self) -> float:
        """How far through the file the rows read so far are (0..1): for a progress bar, so a caller
        needs no row count in advance (an export's own row count is often wrong)."""
        if self._wb is not None:
            return self._wb.fraction_read()
        fh = getattr(self, "_fh", None)
        if fh is None:
            return 1.0
        try:
            return min(fh.buffer.tell() / max(self.path.stat().st_size, 1), 1.0)
        except (OSError, ValueError):
            return 1.0

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> tuple[int, Dossier | RowError]:
        return next(self._iter)

    def __enter__(self) -> ExportStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        it = getattr(self, "_iter", None)
        if it is not None:
            it.close()
        self._release()

    def _release(self) -> None:
        """Close the workbook and the file handle (idempotent)."""
        if self._wb is not None:
            self._wb.close()
            self._wb = None
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()
            self._fh = None

    def _generate(self) -> Iterator[tuple[int, Dossier | RowError]]:
        try:
            n = self.header_row
            row_items = self._row
            for row in self._head[self.header_row:]:
                n += 1
                yield from row_items(n, row)
            self._head = []
            for row in self._rows:
                n += 1
                items = row_items(n, row)
                if items:
                    yield from items
        except ExcelFormatError:
            raise
        except Exception as e:  # corrupt sheet XML half-way: a file error, not a traceback
            raise ExcelFormatError(
                f"Tệp '{self.path.name}': lỗi đọc tệp sau dòng {self.header_row + self.rows_read} "
                f"({type(e).__name__}).", self.path) from None
        finally:
            self._release()

    def _row(self, n: int, row: tuple) -> list[tuple[int, Dossier | RowError]]:
        """What one data row gives: nothing (a blank row), a dossier, or its errors. The dossier is
        built from the typed cells (`_typed_converter`) as `parse_dossier` would build it from the
        wire dict (`_row_via_wire`, the reference, which reads the rows the typed path leaves)."""
        values = self._cells(row) if len(row) >= self._reach else [row[i] if i < len(row) else None
                                                                     for i in self._indices]
        for v in values:
            if v is not None and (v.__class__ is not str or v.strip()):
                break
        else:
            return []
        self.rows_read += 1
        return self._row_typed(n, values)

    def _row_typed(self, n: int, values) -> list[tuple[int, Dossier | RowError]]:
        """A non-blank row's dossier built from its typed cells, or its errors."""
        cells: dict = {}
        errors: list[tuple[str, str]] = []  # (header as written, reason)
        try:
            for (name, convert, written), value in zip(self._typed, values, strict=True):
                try:
                    cells[name] = convert(value)
                except _CellError as e:
                    errors.append((written, e.reason))
        except _Unusual:
            return self._row_via_wire(n, values)
        text = cells.get("code") or None  # the code as written (stripped), for the messages
        if text is None:
            errors.insert(0, (self._code_header, "thiếu mã hồ sơ"))
        status = cells.get("status", Status.NEW)  # absent: its cell was bad, and is reported
        if status is None:
            errors.append((self._status_header, "thiếu trạng thái hồ sơ"))
        if errors:
            return [(n, RowError(n, written, reason, text)) for written, reason in errors]
        if not cells.get("field_code") and (name := cells.get("field_name")):
            key = self._field_keys.get(name)
            if key is None:
                if len(self._field_keys) >= 10_000:  # bounded: memory stays flat whatever the file
                    self._field_keys.clear()
                key = self._field_keys[name] = field_key(name)
            cells["field_code"] = key
        cells["code"] = text if text.isascii() else unicodedata.normalize("NFC", text)
        if cells.get("channel", False) is None:  # a blank cell: in person, as on the wire
            del cells["channel"]
        try:
            check_received(status, cells.get("received_at"))
            dossier = check_dossier(Dossier(source=self.source, **cells))
        except RecordError as e:
            return [(n, RowError(n, self._header_of_wire.get(e.field, e.field), e.reason, text))]
        return self._first_read(n, dossier, text)

    def _first_read(self, n: int, dossier: Dossier, text: str) -> list[tuple[int, Dossier | RowError]]:
        """The row's dossier, or the error saying which earlier row has its code."""
        if self._codes is not None:
            first = self._codes.setdefault(dossier.code, n)
            if first != n:
                return [(n, RowError(n, self._code_header, f"mã hồ sơ trùng với dòng {first}", text))]
        return [(n, dossier)]

    def _row_via_wire(self, n: int, values) -> list[tuple[int, Dossier | RowError]]:
        """The row read the reference way: cells to the wire dict, parsed by `parse_dossier`."""
        raw: dict = {}
        errors: list[tuple[str, str]] = []  # (header as written, reason)
        for (wire, convert, written), value in zip(self._converters, values, strict=True):
            try:
                raw[wire] = convert(value)
            except _CellError as e:
                errors.append((written, e.reason))
        if not raw.get("MaLinhVuc") and raw.get("TenLinhVuc"):
            raw["MaLinhVuc"] = field_key(raw["TenLinhVuc"])
        code = raw.get("MaHoSo") or None
        if code is None:
            errors.insert(0, (self._code_header, "thiếu mã hồ sơ"))
        if "TrangThaiHoSo" in raw and raw["TrangThaiHoSo"] == "":
            errors.append((self._status_header, "thiếu trạng thái hồ sơ"))
        if errors:
            return [(n, RowError(n, written, reason, code)) for written, reason in errors]
        try:
            dossier = parse_dossier(raw, self.source)
        except RecordError as e:
            return [(n, RowError(n, self._header_of_wire.get(e.field, e.field), e.reason, code))]
        return self._first_read(n, dossier, code)

    def _typed_converter(self, col: Column) -> Callable:
        """The function turning a cell of `col` into the value of its `Dossier` field, as `parse_dossier`
        reads the wire value `_converter` gives (raising _CellError with the reason; _Unusual for a
        cell the reference path must read)."""
        kind = col.kind
        if kind == "text":
            return _text_cell
        if kind == "date":
            epoch = self._epoch

            def date_cell(v):
                if v.__class__ is datetime and v.tzinfo is None and not v.microsecond and v.year >= 1000:
                    return v.replace(tzinfo=VN_TZ)  # naive = Vietnam local time, as _local reads it
                try:
                    dt = parse_cell_datetime(v, epoch)
                except (ValueError, OverflowError, TypeError) as e:
                    raise _CellError(_date_reason(v, e)) from None
                if dt is not None and dt.year < 1000:  # the wire's yyyy has no such year
                    raise _Unusual
                return dt

            return date_cell
        plain = {
            "status": lambda v: None if _blank(v) else Status(_status(v)),
            "channel": lambda v: None if _blank(v) else Channel(_channel(v)),
            "flag": _flag,
            "paid": _paid,
            "count": _count,
        }[kind]
        return _remembered(plain)

    def _converter(self, col: Column) -> Callable:
        """The function turning a cell of `col` into its wire value (raising _CellError with the reason).
        Texts and dates take a fast path for the usual cell; the other kinds hold few distinct
        values in a file, so each converter remembers its answers (a bounded cache)."""
        kind = col.kind
        if kind == "text":
            return _text_cell
        if kind == "date":
            epoch = self._epoch

            def date_cell(v):
                if v.__class__ is datetime and v.tzinfo is None and not v.microsecond:
                    return v.strftime("%Y%m%d%H%M%S")  # naive = Vietnam local time, as _local reads it
                try:
                    return format_wire_datetime(parse_cell_datetime(v, epoch))
                except (ValueError, OverflowError, TypeError) as e:
                    raise _CellError(_date_reason(v, e)) from None

            return date_cell
        plain = {
            "status": lambda v: "" if _blank(v) else _status(v),
            "channel": lambda v: "" if _blank(v) else _channel(v),
            "flag": lambda v: int(_flag(v)),
            "paid": lambda v: "" if (p := _paid(v)) is None else p,
            "count": lambda v: "" if (c := _count(v)) is None else c,
        }[kind]
        return _remembered(plain)

def _bad_byte_line(path: Path, encoding: str) -> int:
    """The 1-based line of the first byte `encoding` cannot decode (for the error message)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(path, "rb") as f:
        while chunk := f.read(64 * 1024):
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as e:
                return line + chunk[: max(e.start, 0)].count(b"\n")
    return line


def _date_reason(value, e: Exception) -> str:
    """Why a date cell is rejected, saying which formats are accepted when the format is unknown."""
    if isinstance(value, str) and _TWO_DIGIT_YEAR.match(value.strip()):
        return f"ngày không hợp lệ: {_quote(value)} — năm phải đủ 4 chữ số (dd/mm/yyyy)"
    if str(e) == "unknown date format":
        return f"ngày không hợp lệ: {_quote(value)} — định dạng nhận: {DATE_FORMATS_VI}"
    return f"ngày không hợp lệ: {_quote(value)}"


def _sniff_delimiter(text: str) -> str:
    """The delimiter (';', ',' or tab) under which the first lines show the most known headers."""
    lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    best, best_score = None, (-1, -1)
    for d in (";", ",", "\t"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=d))
        except csv.Error:
            continue
        matches = max((len(_header_matches(r)) for r in rows), default=0)
        score = (matches, sum(r.count(d) for r in lines))
        if score > best_score:
            best, best_score = d, score
    return best or ","


# ----------------------------------------------------------------------------------------- the API


def iter_export(path: str | Path, source: str = "excel", sheet: str | int | None = None,
                encoding: str | None = None, duplicates: bool = True) -> ExportStream:
    """Stream an export: `(row_number, Dossier | RowError)` per non-empty data row (several errors
    for a row with several bad cells). Raises `ExcelFormatError` at once for an unusable file.
    `encoding`: a CSV's encoding when it is not UTF-8/UTF-16 with a BOM. `duplicates=False`: a code
    read twice is not reported (the caller checks, without the stream's index of every code read).
    """
    return ExportStream(path, source=source, sheet=sheet, encoding=encoding, duplicates=duplicates)


def read_export(path: str | Path, source: str = "excel", sheet: str | int | None = None,
                encoding: str | None = None) -> ImportResult:
    """Read a whole export (.xlsx or .csv) into dossiers and row errors."""
    dossiers: list[Dossier] = []
    errors: list[RowError] = []
    with iter_export(path, source=source, sheet=sheet, encoding=encoding) as stream:
        for _, item in stream:
            if isinstance(item, RowError):
                errors.append(item)
            else:
                dossiers.append(item)
        return ImportResult(
            dossiers=dossiers,
            errors=errors,
            rows_read=stream.rows_read,
            header_row=stream.header_row,
            columns_mapped=dict(stream.columns_mapped),
            sheet=stream.sheet,
        )

