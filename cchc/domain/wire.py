"""Parse the national wire format (DOMAIN.md §2) into `Dossier` records.

The canonical record is a dict with the national portal's field names. Provincial systems use
other names: their connector renames fields (configured mapping) before calling `parse_dossier`.

Canonical fields read here (unknown fields are ignored):

    MaHoSo*, MaTTHC, TenTTHC, MaLinhVuc, TenLinhVuc, DonViXuLy, TrangThaiHoSo* (1..10),
    KenhThucHien (1..3, missing = 1), MucDo (3|4),
    NgayNopHoSo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra, NgayTuChoi
        (yyyyMMddHHmmss, Vietnam time, "" when absent),
    DuocThanhToanTrucTuyen (1|2 = paid online), DanhSachLePhi[{MaPhiLePhi, TenPhiLePhi, Gia}],
    MienLePhi (0|1), CoPhi (0|1, overrides the fee list when present),
    TaiLieuNop[{MaThanhPhanHoSo, DuocSoHoa, DuocTaiSuDung, DuocLayTuKhoDMQG}], HoSoCoThanhPhanSoHoa,
    DanhSachGiayToKetQua[{TenGiayTo, DuongDanTepTinKetQua}], CoKetQuaDienTu (0|1),
    DanhSachHoSoBoSung[{NgayBoSung, NgayTiepNhanBoSung, NgayHenTraTruoc, NgayHenTraMoi}],
    SoLanBoSung (count, when the list is not given),
    QuaTrinhXuLy[{NguoiXuLy, ChucDanh, PhongBanXuLy, NoiDungXuLy, ThoiDiemXuLy, NgayBatDau,
                  NgayKetThucTheoQuyDinh}],
    PhieuXinLoi {NgayXinLoi, NgayHenTraMoi} or CoPhieuXinLoi (0|1),
    DanhGiaHaiLong (1 hài lòng, 2 chấp nhận được, 3 không hài lòng), TaiKhoanDuocXacThucVoiVNeID.

(* required.) Personal data is kept out by an ALLOW-LIST, `WIRE_ALLOW_LIST`: the fields above are
the only ones the rules read, and the only ones ever kept — in a parsed record and in quarantine
(`allowed_fields`). Everything else is dropped whatever its name: applicant fields under the
national names (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email, DiaChi...) or any other (HoTenNguoiNop,
CCCD, SDT...), and free text (QuaTrinhXuLy[].NoiDungXuLy, which may name the citizen, is never
read). `applicant_hash` keeps a salted hash of the ID number if a salt is given. A provincial
`field_map` renames fields BEFORE the allow-list applies, so mapped fields are kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

import numpy as np

from cchc.domain.calendar import VN_TZ
from cchc.domain.records import (
    Channel,
    Dossier,
    Evaluation,
    Fee,
    ProcessingStep,
    RecordError,
    Status,
    Supplement,
    check_dossier,
)

#: Stands for a value the rules read only for its presence (a result file's link may name the
#: citizen): `allowed_fields` keeps the fact that there is one, not the value.
PRESENT = "(có)"

#: THE ALLOW-LIST (DOMAIN.md §2): the only wire fields kept anywhere — by the parser, in the store
#: and in quarantine. Top-level field -> None (a scalar), or the allowed keys of its object / of
#: each object of its list. Keys in `PRESENCE_ONLY` keep only "there is a value". A new rule that
#: reads a new field adds it here (tests/test_privacy_scan.py checks that the parser reads nothing
#: else). Free text (NoiDungXuLy, TenGiayTo, GhiChu...) and applicant fields are never listed.
WIRE_ALLOW_LIST: Mapping[str, frozenset[str] | None] = MappingProxyType(
    {
        # identity and catalogue
        "MaHoSo": None,
        "MaTTHC": None,
        "TenTTHC": None,
        "MaLinhVuc": None,
        "TenLinhVuc": None,
        "DonViXuLy": None,
        # state and channel
        "TrangThaiHoSo": None,
        "KenhThucHien": None,
        "MucDo": None,
        # dates (yyyyMMddHHmmss)
        "NgayNopHoSo": None,
        "NgayTiepNhan": None,
        "NgayHenTra": None,
        "NgayKetThucXuLy": None,
        "NgayTra": None,
        "NgayTuChoi": None,
        # fees and payment
        "DuocThanhToanTrucTuyen": None,
        "MienLePhi": None,
        "CoPhi": None,
        "DanhSachLePhi": frozenset({"MaPhiLePhi", "TenPhiLePhi", "Gia"}),
        # digitization, reuse, electronic results
        "HoSoCoThanhPhanSoHoa": None,
        "TaiLieuNop": frozenset({"MaThanhPhanHoSo", "DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG"}),
        "CoKetQuaDienTu": None,
        "DanhSachGiayToKetQua": frozenset({"DuongDanTepTinKetQua"}),
        # supplements
        "DanhSachHoSoBoSung": frozenset({"NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"}),
        "SoLanBoSung": None,
        # processing steps: the officer's username, title and department, and the times
        "QuaTrinhXuLy": frozenset(
            {"NguoiXuLy", "ChucDanh", "PhongBanXuLy", "ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh"}
        ),
        # apology slips, evaluation, identity verification (a flag)
        "PhieuXinLoi": frozenset({"NgayXinLoi", "NgayHenTraMoi"}),
        "CoPhieuXinLoi": None,
        "DanhGiaHaiLong": None,
        "TaiKhoanDuocXacThucVoiVNeID": None,
    }
)
#: Allowed keys whose value is replaced by `PRESENT` (the rules only ask whether there is one).
PRESENCE_ONLY = frozenset({"DuongDanTepTinKetQua"})
#: Read by `applicant_hash` only when a salt is configured; never kept (only its salted hash is).
HASHED_FIELD = "SoGiayToChuHoSo"

#: Applicant fields under their usual names. NOT the filter (the allow-list is): kept for the
#: simulator's and the tests' vocabulary of what must never be stored.
PERSONAL_FIELDS = frozenset(
    {
        "ChuHoSo",
        "TenChuHoSo",
        "SoGiayToChuHoSo",
        "SoCMND",
        "SoCCCD",
        "SoDienThoai",
        "SoDienThoaiChuHoSo",
        "Email",
        "EmailChuHoSo",
        "DiaChi",
        "DiaChiChuHoSo",
        "DiaChiThuongTru",
        "NgaySinh",
        "NguoiNop",
        "TenNguoiNop",
        "SoGiayToNguoiNop",
        "SoDienThoaiNguoiNop",
        "EmailNguoiNop",
    }
)


def parse_wire_datetime(value, field: str, tz=VN_TZ) -> datetime | None:
    """`yyyyMMddHHmmss` (or `yyyyMMdd`) Vietnam local time -> aware datetime; "" -> None."""
    if value.__class__ is str and len(value) == 14 and value.isdigit():  # the usual case, first
        try:
            return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                            int(value[10:12]), int(value[12:14]), tzinfo=tz)
        except ValueError:
            pass  # said below, with the value quoted
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        raise RecordError(field, f"ngày giờ không đúng định dạng yyyyMMddHHmmss: {quote_value(value)}")
    s = str(value).strip()
    if not s:
        return None
    if len(s) not in (8, 12, 14) or not s.isdigit():
        raise RecordError(field, f"ngày giờ không đúng định dạng yyyyMMddHHmmss: {quote_value(s)}")
    try:
        return datetime(
            int(s[0:4]),
            int(s[4:6]),
            int(s[6:8]),
            int(s[8:10] or 0),
            int(s[10:12] or 0),
            int(s[12:14] or 0),
            tzinfo=tz,
        )
    except ValueError as e:
        raise RecordError(field, f"ngày giờ không hợp lệ {quote_value(s)} ({e})") from None


def format_wire_datetime(dt: datetime | None) -> str:
    if dt is None:
        return ""
    return dt.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def _allowed_value(value, keys: frozenset[str] | None):
    if keys is None:  # a scalar field: a nested object or list here is not what the rules read
        return value if value is None or isinstance(value, (str, int, float, bool)) else "(không hợp lệ)"
    if isinstance(value, dict):
        return _allowed_object(value, keys)
    if isinstance(value, list):
        return [_allowed_object(v, keys) if isinstance(v, dict) else "(không hợp lệ)" for v in value]
    return value if value is None or value == "" else "(không hợp lệ)"


def _allowed_object(obj: dict, keys: frozenset[str]) -> dict:
    out = {}
    for k in keys:
        if k in obj:
            v = obj[k]
            if k in PRESENCE_ONLY:
                v = PRESENT if v not in (None, "") else ""
            elif not (v is None or isinstance(v, (str, int, float, bool))):
                v = "(không hợp lệ)"
            out[k] = v
    return out


def allowed_fields(raw) -> dict | None:
    """The ALLOW-LISTED part of a raw record (`WIRE_ALLOW_LIST`), at any depth: what quarantine may
    keep of a record it rejects. Anything that is not a JSON object gives None (nothing kept)."""
    if not isinstance(raw, dict):
        return None
    return {k: _allowed_value(raw[k], keys) for k, keys in WIRE_ALLOW_LIST.items() if k in raw}


#: Kept for callers of the old deny-list filter: it is the allow-list now.
strip_personal = allowed_fields

#: Besides allow-listed fields, quarantine keeps where a rejected row came from (Excel imports).
QUARANTINE_ORIGIN_KEYS = ("file", "row")


def quarantine_payload(raw) -> dict | None:
    """What the store keeps in `quarantine.raw`: the allow-listed fields of the record (string
    values scrubbed) plus its origin (file, row); None when nothing is left."""
    if not isinstance(raw, dict):
        return None
    out = _scrub_deep(allowed_fields(raw) or {})
    for k in QUARANTINE_ORIGIN_KEYS:
        v = raw.get(k)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            out[k] = v
    return out or None


_MARKER = re.compile(r"^\((?:có|không hợp lệ|một chuỗi có chữ, \d+ ký tự)\)$")


def _scrub_deep(v, key: str = ""):
    if isinstance(v, str):
        if key in _IDENTITY_FIELDS or _MARKER.match(v):
            return v
        if sum(c.isalpha() for c in v) > 3:  # a date, number or flag field holding words
            return f"(một chuỗi có chữ, {len(v)} ký tự)"
        return scrub_text(v)
    if isinstance(v, dict):
        return {k: _scrub_deep(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [_scrub_deep(x, key) for x in v]
    return v

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_LONG_DIGITS = re.compile(r"(?<![\w.+])\+?\d[\d .]{7,}\d(?![\w.])")
#: Identity and catalogue values: stored in the dossiers table as they are, never scrubbed.
_IDENTITY_FIELDS = frozenset({"MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "DonViXuLy", "MaPhiLePhi",
                              "TenPhiLePhi", "MaThanhPhanHoSo", "NguoiXuLy", "ChucDanh", "PhongBanXuLy"})


def _plausible_wire_datetime(digits: str) -> bool:
    if len(digits) not in (8, 12, 14) or not 1900 <= int(digits[:4]) <= 2200:
        return False
    try:
        datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10] or 0),
                 int(digits[10:12] or 0), int(digits[12:14] or 0))
    except ValueError:
        return False
    return True


def scrub_text(text: str) -> str:
    """A reason or value fit for quarantine and messages: e-mail addresses and phone- or ID-shaped
    digit runs (9+ digits that are not a wire date) replaced by '***'."""
    s = _EMAIL.sub("***", str(text))

    def digits(m: re.Match) -> str:
        d = re.sub(r"\D", "", m.group(0))
        return m.group(0) if len(d) < 9 or _plausible_wire_datetime(d) else "***"

    return _LONG_DIGITS.sub(digits, s)


def applicant_hash(raw: dict, salt: bytes | None) -> str | None:
    ident = raw.get(HASHED_FIELD)
    if not salt or not ident:
        return None
    return hashlib.sha256(salt + str(ident).strip().encode()).hexdigest()[:32]


def parse_flag(value, default: bool | None = False) -> bool | None:
    """A yes/no value as the provincial system and the national portal send it (1, "1", true, "có",
    "x", "yes"...); blank -> `default`. The one parser of machine-written flags (a person's "Có/Không"
    in an Excel export is read strictly by `connectors.excel_import`, which rejects what it cannot read)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1
    return str(value).strip().lower() in ("1", "true", "co", "có", "x", "yes")


_flag = parse_flag


def quote_value(value, limit: int = 20) -> str:
    """A bad value as an error reason (and so quarantine, logs and screens) may quote it: a short
    scalar with at most 3 letters (a date, a number, a code such as 'abc'), scrubbed of phone- and
    ID-shaped digits and e-mails. Anything else — a name typed where a date belongs, an object —
    only by its shape."""
    if isinstance(value, dict):
        return "(một đối tượng)"
    if isinstance(value, list):
        return "(một danh sách)"
    s = str(value).strip()
    if sum(c.isalpha() for c in s) > 3:
        return f"(một chuỗi có chữ, {len(s)} ký tự)"
    s = scrub_text(s)
    return f"'{s[:limit]}…'" if len(s) > limit else f"'{s}'"



def _int_or_none(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and not value.is_integer():  # 2.7 is not status 2; inf/nan neither
        raise RecordError(field, f"không phải số nguyên: {str(value)[:20]!r}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise RecordError(field, f"không phải số nguyên: {quote_value(value)}") from None


def _text(raw: dict, key: str) -> str:
    v = raw.get(key)
    if v.__class__ is str:  # the usual case, first
        return v.strip()
    if isinstance(v, (dict, list)):
        raise RecordError(key, f"phải là một chuỗi, nhận {quote_value(v)}")
    return "" if v is None else str(v).strip()


def _list(raw: dict, key: str) -> list:
    v = raw.get(key)
    if v is None or v == "":
        return []
    if not isinstance(v, list):
        raise RecordError(key, "phải là một danh sách")
    return v


#: Where the wire's times are (top level, each processing step, each supplement request).
_TIMES = ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi")
_STEP_TIMES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
_SUPPLEMENT_TIMES = ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi")
#: The value of each digit of `yyyyMMddHHmmss` in its part (year, month, day, hour, minute, second).
_PLACES = np.array([[1000, 100, 10, 1] + [0] * 10, [0] * 4 + [10, 1] + [0] * 8, [0] * 6 + [10, 1] + [0] * 6,
                    [0] * 8 + [10, 1] + [0] * 4, [0] * 10 + [10, 1, 0, 0], [0] * 12 + [10, 1]], dtype=np.int64).T


def page_dates(raws: list, tz=VN_TZ) -> dict:
    """The well-formed `yyyyMMddHHmmss` times of a page of raw records, read together: their digits
    in one numpy pass, then one datetime each. A memo for `dates_memo` (so `parse_dossier` finds them
    read); a value not read here (another length, other characters, a day that does not exist) is
    left to `parse_wire_datetime`, which reads or rejects it naming its field, as always."""
    values: set = set()
    add = values.update
    for raw in raws:
        if raw.__class__ is not dict:
            continue
        add(v for k in _TIMES if (v := raw.get(k)).__class__ is str)  # strings only: a list here is hashable by no one
        for key, names in (("QuaTrinhXuLy", _STEP_TIMES), ("DanhSachHoSoBoSung", _SUPPLEMENT_TIMES)):
            items = raw.get(key)
            if items.__class__ is list:
                for item in items:
                    if item.__class__ is dict:
                        add(v for k in names if (v := item.get(k)).__class__ is str)
    strs = [v for v in values if len(v) == 14 and v.isascii()]
    if not strs:
        return {}
    digits = np.frombuffer("".join(strs).encode("ascii"), dtype=np.uint8).reshape(-1, 14) - 48
    ok = (digits <= 9).all(axis=1).tolist()  # a character below "0" wraps around above 9
    parts = (digits.astype(np.int64) @ _PLACES).tolist()
    out = {}
    for value, good, (y, mo, d, h, mi, sec) in zip(strs, ok, parts, strict=True):
        if good:
            try:
                out[value] = datetime(y, mo, d, h, mi, sec, tzinfo=tz)
            except ValueError:
                pass  # not a date: parse_wire_datetime says so, naming the field
    return out


def dates_memo(memo: dict) -> Callable[[object, str], datetime | None]:
    """`parse_wire_datetime` remembering in `memo` what it read (a page's records share many of their
    times: a step starts when the one before ended). Only good values are kept, so a bad one still
    raises naming its own field."""

    def pdt(value, field: str) -> datetime | None:
        if value.__class__ is str:
            hit = memo.get(value)
            if hit is not None:
                return hit
            out = parse_wire_datetime(value, field)
            if out is not None:
                if len(memo) >= 50_000:  # a bound, whatever the caller feeds it
                    memo.clear()
                memo[value] = out
            return out
        return parse_wire_datetime(value, field)

    return pdt


#: The statuses a dossier may have without a reception time (not received yet, or refused at the desk).
UNRECEIVED_STATUSES = frozenset({Status.NEW, Status.NOT_ACCEPTED})


def check_received(status: Status, received_at: datetime | None) -> None:
    """RecordError when a dossier past reception has no reception time (every reader applies it)."""
    if received_at is None and status not in UNRECEIVED_STATUSES:
        raise RecordError("NgayTiepNhan", "thiếu ngày tiếp nhận")


def parse_dossier(raw: dict, source: str, salt: bytes | None = None, dates: dict | None = None) -> Dossier:
    """One canonical wire record -> Dossier, or RecordError naming the field and the reason.
    `dates`: a dict kept across the records of a page, to read each distinct time once."""
    if not isinstance(raw, dict):
        raise RecordError("(bản ghi)", "không phải một đối tượng JSON")
    code = unicodedata.normalize("NFC", _text(raw, "MaHoSo"))
    if not code:
        raise RecordError("MaHoSo", "thiếu mã hồ sơ")
    try:
        return _parse(raw, code, source, salt, parse_wire_datetime if dates is None else dates_memo(dates))
    except RecordError as e:
        e.code = code
        raise


def _parse(raw: dict, code: str, source: str, salt: bytes | None, pdt) -> Dossier:
    st = _int_or_none(raw.get("TrangThaiHoSo"), "TrangThaiHoSo")
    if st is None:
        raise RecordError("TrangThaiHoSo", "thiếu trạng thái hồ sơ")
    try:
        status = Status(st)
    except ValueError:
        raise RecordError("TrangThaiHoSo", f"mã trạng thái không hợp lệ: {st}") from None
    ch = _int_or_none(raw.get("KenhThucHien"), "KenhThucHien")
    try:
        channel = Channel(ch) if ch is not None else Channel.IN_PERSON
    except ValueError:
        raise RecordError("KenhThucHien", f"mã kênh không hợp lệ: {ch}") from None

    received_at = pdt(raw.get("NgayTiepNhan"), "NgayTiepNhan")
    check_received(status, received_at)

    fees = []
    for i, f in enumerate(_list(raw, "DanhSachLePhi")):
        if not isinstance(f, dict):
            raise RecordError(f"DanhSachLePhi[{i}]", "không phải một đối tượng")
        amount = _int_or_none(f.get("Gia"), f"DanhSachLePhi[{i}].Gia") or 0
        fees.append(Fee(_text(f, "MaPhiLePhi"), _text(f, "TenPhiLePhi"), amount))

    digitized = _flag(raw.get("HoSoCoThanhPhanSoHoa"))
    reused = False
    for i, t in enumerate(_list(raw, "TaiLieuNop")):
        if not isinstance(t, dict):
            raise RecordError(f"TaiLieuNop[{i}]", "không phải một đối tượng")
        digitized = digitized or _flag(t.get("DuocSoHoa"))
        reused = reused or _flag(t.get("DuocTaiSuDung")) or _flag(t.get("DuocLayTuKhoDMQG"))

    e_result = _flag(raw.get("CoKetQuaDienTu"))
    for r in _list(raw, "DanhSachGiayToKetQua"):
        if isinstance(r, dict) and _text(r, "DuongDanTepTinKetQua"):
            e_result = True

    supplements = []
    for i, s in enumerate(_list(raw, "DanhSachHoSoBoSung")):
        if not isinstance(s, dict):
            raise RecordError(f"DanhSachHoSoBoSung[{i}]", "không phải một đối tượng")
        requested = pdt(s.get("NgayBoSung"), f"DanhSachHoSoBoSung[{i}].NgayBoSung")
        if requested is None:
            raise RecordError(f"DanhSachHoSoBoSung[{i}].NgayBoSung", "thiếu ngày yêu cầu bổ sung")
        supplements.append(
            Supplement(
                requested_at=requested,
                completed_at=pdt(s.get("NgayTiepNhanBoSung"), f"DanhSachHoSoBoSung[{i}].NgayTiepNhanBoSung"),
                due_before=pdt(s.get("NgayHenTraTruoc"), f"DanhSachHoSoBoSung[{i}].NgayHenTraTruoc"),
                due_after=pdt(s.get("NgayHenTraMoi"), f"DanhSachHoSoBoSung[{i}].NgayHenTraMoi"),
            )
        )

    steps = []
    for i, s in enumerate(_list(raw, "QuaTrinhXuLy")):
        if not isinstance(s, dict):
            raise RecordError(f"QuaTrinhXuLy[{i}]", "không phải một đối tượng")
        steps.append(
            ProcessingStep(
                officer=_text(s, "NguoiXuLy"),
                title=_text(s, "ChucDanh"),
                department=_text(s, "PhongBanXuLy"),
                at=pdt(s.get("ThoiDiemXuLy"), f"QuaTrinhXuLy[{i}].ThoiDiemXuLy"),
                started_at=pdt(s.get("NgayBatDau"), f"QuaTrinhXuLy[{i}].NgayBatDau"),
                step_due=pdt(s.get("NgayKetThucTheoQuyDinh"), f"QuaTrinhXuLy[{i}].NgayKetThucTheoQuyDinh"),
            )
        )

    apology = _flag(raw.get("CoPhieuXinLoi"))
    apology_at = apology_new_due = None
    slip = raw.get("PhieuXinLoi")
    if isinstance(slip, dict) and slip:
        apology = True
        apology_at = pdt(slip.get("NgayXinLoi"), "PhieuXinLoi.NgayXinLoi")
        apology_new_due = pdt(slip.get("NgayHenTraMoi"), "PhieuXinLoi.NgayHenTraMoi")

    ev = _int_or_none(raw.get("DanhGiaHaiLong"), "DanhGiaHaiLong")
    try:
        evaluation = Evaluation(ev) if ev else None
    except ValueError:
        raise RecordError("DanhGiaHaiLong", f"mã đánh giá không hợp lệ: {ev}") from None

    paid = _int_or_none(raw.get("DuocThanhToanTrucTuyen"), "DuocThanhToanTrucTuyen")
    has_fee = raw.get("CoPhi")
    n_supp = _int_or_none(raw.get("SoLanBoSung"), "SoLanBoSung")
    if n_supp is not None and n_supp < 0:
        raise RecordError("SoLanBoSung", "không được âm")

    return check_dossier(Dossier(
        source=source,
        code=code,
        status=status,
        procedure_code=_text(raw, "MaTTHC"),
        procedure_name=_text(raw, "TenTTHC"),
        field_code=_text(raw, "MaLinhVuc"),
        field_name=_text(raw, "TenLinhVuc"),
        unit_code=_text(raw, "DonViXuLy"),
        channel=channel,
        online_level=_int_or_none(raw.get("MucDo"), "MucDo"),
        submitted_at=pdt(raw.get("NgayNopHoSo"), "NgayNopHoSo"),
        received_at=received_at,
        due_at=pdt(raw.get("NgayHenTra"), "NgayHenTra"),
        finished_at=pdt(raw.get("NgayKetThucXuLy"), "NgayKetThucXuLy"),
        returned_at=pdt(raw.get("NgayTra"), "NgayTra"),
        refused_at=pdt(raw.get("NgayTuChoi"), "NgayTuChoi"),
        fees=tuple(fees),
        fee_exempt=_flag(raw.get("MienLePhi")),
        has_fee=None if has_fee is None or has_fee == "" else _flag(has_fee),
        paid_online=paid,
        digitized_component=digitized,
        reused_component=reused,
        e_result=e_result,
        supplements=tuple(supplements),
        supplement_count=n_supp if not supplements else None,
        steps=tuple(steps),
        apology=apology,
        apology_at=apology_at,
        apology_new_due=apology_new_due,
        evaluation=evaluation,
        vneid_verified=_flag(raw.get("TaiKhoanDuocXacThucVoiVNeID")),
        applicant_hash=applicant_hash(raw, salt),
    ))


def dossier_to_wire(d: Dossier) -> dict:
    """The inverse of `parse_dossier` (no personal fields): used by the simulator and tests."""
    f = format_wire_datetime
    out = {
        "MaHoSo": d.code,
        "MaTTHC": d.procedure_code,
        "TenTTHC": d.procedure_name,
        "MaLinhVuc": d.field_code,
        "TenLinhVuc": d.field_name,
        "DonViXuLy": d.unit_code,
        "TrangThaiHoSo": int(d.status),
        "KenhThucHien": int(d.channel),
        "MucDo": d.online_level if d.online_level is not None else "",
        "NgayNopHoSo": f(d.submitted_at),
        "NgayTiepNhan": f(d.received_at),
        "NgayHenTra": f(d.due_at),
        "NgayKetThucXuLy": f(d.finished_at),
        "NgayTra": f(d.returned_at),
        "NgayTuChoi": f(d.refused_at),
        "DuocThanhToanTrucTuyen": d.paid_online if d.paid_online is not None else "",
        "DanhSachLePhi": [{"MaPhiLePhi": x.code, "TenPhiLePhi": x.name, "Gia": x.amount} for x in d.fees],
        "MienLePhi": int(d.fee_exempt),
        "TaiLieuNop": [{"MaThanhPhanHoSo": "TP1", "DuocSoHoa": int(d.digitized_component),
                        "DuocTaiSuDung": int(d.reused_component), "DuocLayTuKhoDMQG": 0}],
        "CoKetQuaDienTu": int(d.e_result),
        "DanhSachHoSoBoSung": [
            {"NgayBoSung": f(s.requested_at), "NgayTiepNhanBoSung": f(s.completed_at),
             "NgayHenTraTruoc": f(s.due_before), "NgayHenTraMoi": f(s.due_after)}
            for s in d.supplements
        ],
        "QuaTrinhXuLy": [
            {"NguoiXuLy": s.officer, "ChucDanh": s.title, "PhongBanXuLy": s.department,
             "ThoiDiemXuLy": f(s.at), "NgayBatDau": f(s.started_at),
             "NgayKetThucTheoQuyDinh": f(s.step_due)}
            for s in d.steps
        ],
        "DanhGiaHaiLong": int(d.evaluation) if d.evaluation else "",
        "TaiKhoanDuocXacThucVoiVNeID": int(d.vneid_verified),
    }
    if d.has_fee is not None:
        out["CoPhi"] = int(d.has_fee)
    if d.apology:
        out["PhieuXinLoi"] = {"NgayXinLoi": f(d.apology_at), "NgayHenTraMoi": f(d.apology_new_due)}
    return out
