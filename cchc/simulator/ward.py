"""A deterministic synthetic ward: every dossier is a pure function of (seed, index).

SIMULATED DATA: fictional ward, procedures' timings and people. Nothing here is real.

Model
-----
* Dossier ``i`` is received at office time ``(i + u_i) * step`` (``u_i`` in [0, 1) is the first draw
  of the dossier's own ``random.Random``), counted in office seconds (8 h a working day, 07:00–11:30
  and 13:30–17:00, weekends and ``holidays.VN`` skipped, make-up Saturdays worked) from the first
  working day of the timeline. ``step`` spreads ``n_dossiers`` over the ``months`` months ending on
  ``timeline_end`` (default: ``as_of``). Received times are therefore non-decreasing in ``i`` and
  ``index_range`` is arithmetic. Indices ``>= n_dossiers`` continue at the same rate after
  ``timeline_end``: keep ``timeline_end`` fixed and move ``as_of`` forward to watch new arrivals and
  late status changes.
* A dossier's whole lifecycle (receipt, steps, supplements, finish, return, apology, evaluation)
  is drawn independently of ``as_of``; the wire record shows the state at the end of the ``as_of``
  day (23:59:59 Vietnam time): later events are not yet visible.
* Online dossiers submitted after hours (NgayNopHoSo in the evening/weekend) are received the next
  working morning, and a few wait in the online queue since the previous working day: those
  submitted before the cut-off but received after it are status 1 (NgayTiepNhan "").
* Applicant fields (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email, DiaChiChuHoSo) are fake but look
  real; `personal_values(i)` gives them so tests can prove they never leak.
"""

from __future__ import annotations

import bisect
import random
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import holidays

from cchc.domain.wire import VN_TZ

__all__ = [
    "DEFAULT_OFFICERS",
    "DEFAULT_PROCEDURES",
    "DEFAULT_UNITS",
    "PERSONAL_KEYS",
    "PROVINCIAL_FIELD_MAP",
    "IndexSeq",
    "Officer",
    "Procedure",
    "SyntheticWard",
    "Unit",
]

# ---------------------------------------------------------------- reference data


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    national_id: str
    parent: str | None = None  # parent unit code
    weight: int = 1  # share of dossiers (entries in the unit pattern)


@dataclass(frozen=True, slots=True)
class Officer:
    username: str
    name: str
    unit: str  # unit code


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str  # MaTTHC
    name: str  # TenTTHC
    field_code: str  # MaLinhVuc
    field_name: str  # TenLinhVuc
    unit: str  # handling unit code
    days: float  # statutory working days
    fee: int  # VND, 0 = free
    fee_name: str
    level: int  # MucDo: 4 toàn trình, 3 một phần
    paper_result: bool  # KetQuaGiay: the result is a paper document
    weight: int  # relative frequency within its unit
    online_share: float  # share of dossiers submitted online
    financial: bool = False  # may wait for a financial obligation (status 6) before finishing
    unit_id: str = ""  # handling unit's national id (filled in by SyntheticWard)

    def to_wire(self) -> dict:
        """The national portal's LayThuTuc shape."""
        return {
            "MaTTHC": self.code,
            "TenTTHC": self.name,
            "MaLinhVuc": self.field_code,
            "TenLinhVuc": self.field_name,
            "MucDo": self.level,
            "CoPhi": int(self.fee > 0),
            "KetQuaGiay": int(self.paper_result),
            "SoNgayGiaiQuyet": self.days,
        }


DEFAULT_UNITS: tuple[Unit, ...] = (
    Unit("VP", "Văn phòng HĐND và UBND", "H99.99.01", None, 1),
    Unit("VHXH", "Phòng Văn hóa - Xã hội", "H99.99.02", None, 3),
    Unit("KTHTDT", "Phòng Kinh tế - Hạ tầng và Đô thị", "H99.99.03", None, 3),
    Unit("TTPVHCC", "Trung tâm Phục vụ hành chính công", "H99.99.04", None, 5),
    Unit("TTPVHCC-HT", "Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC)", "H99.99.04.01", "TTPVHCC", 8),
)

DEFAULT_OFFICERS: tuple[Officer, ...] = (
    Officer("vp.hoang", "Hoàng Văn Đức", "VP"),
    Officer("vp.ngo", "Ngô Thị Mai", "VP"),
    Officer("vhxh.vu", "Vũ Thị Hồng", "VHXH"),
    Officer("vhxh.dang", "Đặng Văn Hùng", "VHXH"),
    Officer("vhxh.bui", "Bùi Thị Thảo", "VHXH"),
    Officer("kt.do", "Đỗ Văn Nam", "KTHTDT"),
    Officer("kt.ho", "Hồ Thị Linh", "KTHTDT"),
    Officer("kt.duong", "Dương Văn Khoa", "KTHTDT"),
    Officer("tt.ly", "Lý Thị Ngọc", "TTPVHCC"),
    Officer("tt.trinh", "Trịnh Văn Sơn", "TTPVHCC"),
    Officer("ht.mai", "Mai Thị Yến", "TTPVHCC-HT"),
    Officer("ht.cao", "Cao Văn Lực", "TTPVHCC-HT"),
)

_HT = ("HOTICH", "Hộ tịch")
_CT = ("CHUNGTHUC", "Chứng thực")
_HKD = ("HKD", "Thành lập và hoạt động của hộ kinh doanh")
_XD = ("XAYDUNG", "Hoạt động xây dựng")
_DD = ("DATDAI", "Đất đai")
_BTXH = ("BTXH", "Bảo trợ xã hội")
_NCC = ("NCC", "Người có công")
_TDKT = ("TDKT", "Thi đua - khen thưởng")


def _p(code, name, fld, unit, days, fee, fee_name, level, paper, weight, online, financial=False):
    return Procedure(
        code, name, fld[0], fld[1], unit, days, fee, fee_name, level, paper, weight, online, financial
    )


DEFAULT_PROCEDURES: tuple[Procedure, ...] = (
    _p("1.001193", "Đăng ký khai sinh", _HT, "TTPVHCC-HT", 1, 0, "", 4, True, 30, 0.70),
    _p("1.000894", "Đăng ký kết hôn", _HT, "TTPVHCC-HT", 1, 0, "", 4, True, 8, 0.50),
    _p("1.000656", "Đăng ký khai tử", _HT, "TTPVHCC-HT", 1, 0, "", 4, True, 6, 0.50),
    _p(
        "1.004873",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        _HT,
        "TTPVHCC-HT",
        3,
        15000,
        "Lệ phí cấp Giấy xác nhận tình trạng hôn nhân",
        4,
        True,
        12,
        0.60,
    ),
    _p(
        "2.000635",
        "Cấp bản sao Trích lục hộ tịch",
        _HT,
        "TTPVHCC-HT",
        1,
        8000,
        "Phí cấp bản sao Trích lục hộ tịch",
        4,
        True,
        8,
        0.55,
    ),
    _p(
        "2.000815",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        _CT,
        "TTPVHCC-HT",
        0.5,
        2000,
        "Phí chứng thực bản sao từ bản chính",
        3,
        True,
        40,
        0.15,
    ),
    _p(
        "2.000884",
        "Chứng thực chữ ký trong các giấy tờ, văn bản",
        _CT,
        "TTPVHCC-HT",
        0.5,
        10000,
        "Phí chứng thực chữ ký",
        3,
        True,
        12,
        0.05,
    ),
    _p(
        "2.001035",
        "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
        _CT,
        "TTPVHCC-HT",
        2,
        50000,
        "Phí chứng thực hợp đồng, giao dịch",
        3,
        True,
        4,
        0.05,
    ),
    _p(
        "2.000720",
        "Đăng ký thành lập hộ kinh doanh",
        _HKD,
        "TTPVHCC",
        3,
        100000,
        "Lệ phí đăng ký hộ kinh doanh",
        4,
        True,
        10,
        0.60,
    ),
    _p(
        "2.000575",
        "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
        _HKD,
        "TTPVHCC",
        3,
        100000,
        "Lệ phí đăng ký hộ kinh doanh",
        4,
        True,
        6,
        0.60,
    ),
    _p("2.000642", "Chấm dứt hoạt động hộ kinh doanh", _HKD, "TTPVHCC", 3, 0, "", 4, False, 3, 0.55),
    _p(
        "1.009994",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        _XD,
        "KTHTDT",
        15,
        75000,
        "Lệ phí cấp giấy phép xây dựng",
        4,
        True,
        10,
        0.45,
        True,
    ),
    _p(
        "1.004227",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        _DD,
        "KTHTDT",
        10,
        30000,
        "Lệ phí đăng ký biến động đất đai",
        4,
        True,
        8,
        0.35,
        True,
    ),
    _p(
        "1.001776",
        "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng",
        _BTXH,
        "VHXH",
        15,
        0,
        "",
        4,
        False,
        10,
        0.45,
    ),
    _p(
        "1.001758",
        "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
        _BTXH,
        "VHXH",
        5,
        0,
        "",
        4,
        False,
        4,
        0.40,
    ),
    _p(
        "1.010830",
        "Giải quyết chế độ mai táng phí đối với thân nhân người có công",
        _NCC,
        "VHXH",
        12,
        0,
        "",
        3,
        True,
        6,
        0.25,
    ),
    _p(
        "1.000775",
        "Tặng Giấy khen của Chủ tịch UBND cấp xã về thực hiện nhiệm vụ chính trị",
        _TDKT,
        "VP",
        15,
        0,
        "",
        3,
        True,
        10,
        0.20,
    ),
)

#: Canonical (national) field name -> the provincial system's name (inverse of demo.yaml field_map).
PROVINCIAL_FIELD_MAP: dict[str, str] = {
    "MaHoSo": "SoHoSo",
    "MaTTHC": "MaThuTuc",
    "TenTTHC": "TenThuTuc",
    "TrangThaiHoSo": "MaTrangThai",
    "DonViXuLy": "GroupCode",
    "NgayHenTra": "NgayHenTraKetQua",
}

#: The applicant fields every simulated record carries (all in cchc.domain.wire.PERSONAL_FIELDS).
PERSONAL_KEYS = ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "DiaChiChuHoSo")
#: With `extra_personal=True`: the same values again under NON-STANDARD names a provincial system
#: may use (no deny-list knows them), in a nested object, and in free text (see `_with_extra_personal`).
EXTRA_PERSONAL_KEYS = ("HoTenNguoiNop", "CCCD", "SDT", "ThuDienTu", "NoiCuTru")

# ---------------------------------------------------------------- constants

_DAY = 86400
_OFFICE = 28800  # office seconds in a working day
_MORNING = 16200  # 07:00–11:30
_T0700 = 7 * 3600
_LUNCH = 7200
_MASK = (1 << 64) - 1

_AFTER_HOURS_WINDOW = 5400  # online dossiers received 07:00–08:30 may have been submitted after hours
_AFTER_HOURS_P = 0.27  # x 5400/28800 -> about 5% of online dossiers
_BACKLOG_P = 0.08  # online dossiers submitted the previous working day (status 1 overnight)
_REFUSED_P = 0.01
# Outcome of accepted dossiers. Early is impossible for some half-day dossiers (due the same day):
# those become on time, so the drawn early share is a little higher than the resulting ~49%.
_P_EARLY = 0.545
_P_ONTIME = 0.345
_P_LATE = 0.08
_P_WITHDRAWN = 0.02  # the rest (0.01) stopped
_MIN_PROC = 600

_EARLY, _ONTIME, _LATE, _WITHDRAWN, _STOPPED = range(5)
#: The status the national portal shows for the diff share (still valid records).
_NATIONAL_STATUS = {10: 9, 9: 4, 4: 2, 2: 4, 5: 4, 6: 4, 7: 4, 8: 4, 1: 3, 3: 1}

_FAMILY = tuple(
    ("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Trương Tạ Kiều").split()
)
_MIDDLE_M = ("Văn", "Hữu", "Đức", "Quang", "Minh", "Công", "Xuân", "Thế")
_MIDDLE_F = ("Thị", "Ngọc", "Thu", "Thanh", "Diệu", "Bích", "Kim", "Hoài")
_SECOND_M = ("Anh", "Bảo", "Gia", "Hoàng", "Khắc", "Nhật", "Trọng", "Tuấn")
_SECOND_F = ("Ánh", "Bảo", "Gia", "Khánh", "Mỹ", "Phương", "Quỳnh", "Tường")
_GIVEN_M = tuple(
    (
        "An Bình Cường Dũng Giang Hải Hiếu Hưng Khang Kiên Long Lộc Phong Phúc Quân Sang Thắng "
        "Thịnh Toàn Vĩnh"
    ).split()
)
_GIVEN_F = tuple(
    (
        "Anh Chi Diệp Giao Hằng Hạnh Hương Khuê Loan My Ngân Nhung Oanh Phượng Quyên Thư Trâm Uyên Vy Xuân"
    ).split()
)
_STREETS = (
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Quang Trung",
    "Lý Thường Kiệt",
    "Phan Đình Phùng",
    "Hùng Vương",
    "Bạch Đằng",
    "Nguyễn Du",
    "Lạc Long Quân",
    "Âu Cơ",
)
_PROVINCE_CODES = tuple(
    (
        "001 004 008 010 015 019 031 033 034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056"
    ).split()
)
_PHONE_PREFIXES = tuple(
    (
        "086 096 097 098 088 091 094 089 090 093 070 079 077 076 078 083 084 085 081 082 056 058 059 099"
    ).split()
)
_STEP_TITLES = ("Công chức Bộ phận Một cửa", "Chuyên viên", "Lãnh đạo đơn vị")
_STEP_CONTENT = ("Tiếp nhận hồ sơ", "Thẩm định, xử lý hồ sơ", "Phê duyệt, ký kết quả")
#: "HHMMSS" for every second of the day.
_TSTR = tuple(f"{h:02d}{m:02d}{s:02d}" for h in range(24) for m in range(60) for s in range(60))
_COMPONENTS = (
    "Tờ khai theo mẫu",
    "Giấy tờ tùy thân",
    "Giấy tờ chứng minh nơi cư trú",
    "Văn bản ủy quyền",
    "Giấy tờ liên quan khác",
)


def _with_extra_personal(rec: dict, values: list[str]) -> None:
    """The applicant's values (name, ID number, phone, e-mail, address) also under non-standard
    names, in a nested object, and in free text: a step's NoiDungXuLy, a component's name, a result
    document's name and link, a note. IN PLACE."""
    name, ident, phone, email, addr = values
    rec.update(zip(EXTRA_PERSONAL_KEYS, values, strict=True))
    rec["ThongTinNguoiNop"] = {"HoTen": name, "SoDinhDanh": ident, "DienThoai": phone, "DiaChiLienHe": addr}
    rec["GhiChu"] = f"Ông/bà {name} ({phone}) đề nghị gửi kết quả về {addr}"
    for s in rec["QuaTrinhXuLy"]:
        s["NoiDungXuLy"] = f"{s['NoiDungXuLy']} của công dân {name}, CCCD {ident}, SĐT {phone}"
    for t in rec["TaiLieuNop"]:
        t["TenThanhPhanHoSo"] = f"{t['TenThanhPhanHoSo']} - {name}"
    for r in rec["DanhSachGiayToKetQua"]:
        r["TenGiayTo"] = f"{r['TenGiayTo']} cấp cho {name}"
        if r["DuongDanTepTinKetQua"]:
            r["DuongDanTepTinKetQua"] += f"?gui={email}"


def _mix(z: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of z."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _ascii(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


_ASCII = {w: _ascii(w).lower() for w in _FAMILY + _GIVEN_M + _GIVEN_F}


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + (d.month - 1) + months
    y, m = divmod(m, 12)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m + 1, day)
        except ValueError:
            continue
    raise ValueError(d)


class _Calendar:
    """Working days from `first` on (private helper: holidays.VN + weekends, make-up days worked)."""

    def __init__(self, first: date, last: date, extra_holidays=(), extra_working_days=()):
        self._lock = threading.Lock()
        self._vn = holidays.VN(years=range(first.year, last.year + 1))
        self._extra_off = frozenset(extra_holidays)
        self._extra_on = frozenset(extra_working_days)
        self.days: list[date] = []
        self.base: list[int] = []  # local seconds (since 0001-01-01 naive) of 07:00 on each working day
        self._next = first
        self.extend_to(last)

    def is_working(self, d: date) -> bool:
        if d in self._extra_on:
            return True
        if d in self._extra_off:
            return False
        return self._vn.is_working_day(d)

    def extend_to(self, last: date) -> None:
        with self._lock:
            d = self._next
            while d <= last:
                if self.is_working(d):
                    self.days.append(d)
                    self.base.append(d.toordinal() * _DAY + _T0700)
                d += timedelta(days=1)
            self._next = max(self._next, d)

    def ensure_index(self, k: int) -> None:
        while k >= len(self.base):
            self.extend_to(self._next + timedelta(days=366))

    def ordinal_of(self, d: date) -> int:
        """Number of working days before `d` (from the calendar's first day)."""
        if d >= self._next:
            self.extend_to(d)
        return bisect.bisect_left(self.days, d)


class IndexSeq(Sequence[int]):
    """Dossier indices, lazily: those of `base` (a range) whose ``i % period`` is in `residues`
    (all when `residues` is None), followed by `extra` (already filtered)."""

    def __init__(
        self, base: range, residues: Sequence[int] | None = None, period: int = 1, extra: Sequence[int] = ()
    ):
        self.base = base
        self.residues = tuple(sorted(residues)) if residues is not None else None
        self.period = period
        self.extra = tuple(extra)
        if self.residues is None:
            self._first_rank = 0
            self._n_main = len(base)
        else:
            self._first_rank = self._rank(base.start)
            self._n_main = max(0, self._rank(base.stop) - self._first_rank)

    def _rank(self, a: int) -> int:
        """Matches in [0, a)."""
        q, r = divmod(a, self.period)
        return q * len(self.residues) + bisect.bisect_left(self.residues, r)

    def __len__(self) -> int:
        return self._n_main + len(self.extra)

    def _at(self, k: int) -> int:
        if k >= self._n_main:
            return self.extra[k - self._n_main]
        if self.residues is None:
            return self.base.start + k
        q, r = divmod(self._first_rank + k, len(self.residues))
        return q * self.period + self.residues[r]

    def __getitem__(self, k):
        n = len(self)
        if isinstance(k, slice):
            return [self._at(j) for j in range(*k.indices(n))]
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(k)
        return self._at(k)

    def __iter__(self) -> Iterator[int]:
        for k in range(len(self)):
            yield self._at(k)


class _Core:
    """A dossier's whole lifecycle, independent of as_of. Times are local seconds (naive VN time)."""

    __slots__ = (
        "i",
        "code",
        "pbits",
        "unit",
        "proc",
        "channel",
        "sub",
        "recv",
        "refused",
        "due",
        "events",
        "end_status",
        "finish",
        "ret",
        "supps",
        "steps",
        "apology",
        "evaluation",
        "fee_exempt",
        "paid",
        "comps",
        "e_result",
        "vneid",
    )


# ---------------------------------------------------------------- the ward


class SyntheticWard:
    """A simulated ward whose dossiers are generated lazily and deterministically."""

    def __init__(
        self,
        seed: int = 1,
        n_dossiers: int = 20000,
        as_of: date | None = None,
        months: int = 12,
        national_missing_share: float = 0.03,
        national_diff_share: float = 0.02,
        units: Sequence[Unit] = DEFAULT_UNITS,
        officers: Sequence[Officer] = DEFAULT_OFFICERS,
        *,
        timeline_end: date | None = None,
        procedures: Sequence[Procedure] = DEFAULT_PROCEDURES,
        ward_id: str = "H99.99",
        extra_holidays: Sequence[date] = (),
        extra_working_days: Sequence[date] = (),
        extra_personal: bool = False,
    ):
        if n_dossiers < 1:
            raise ValueError("n_dossiers phải >= 1")
        if months < 1:
            raise ValueError("months phải >= 1")
        if isinstance(as_of, datetime):
            as_of = as_of.date()
        self.seed = int(seed)
        self.n_dossiers = int(n_dossiers)
        self.extra_personal = bool(extra_personal)
        self.as_of: date = as_of or datetime.now(VN_TZ).date()
        self.timeline_end: date = timeline_end or self.as_of
        self.months = months
        self.national_missing_share = national_missing_share
        self.national_diff_share = national_diff_share
        self.ward_id = ward_id
        self.units = tuple(units)
        self.officers = tuple(officers)
        self.start: date = _add_months(self.timeline_end, -months) + timedelta(days=1)
        self.cutoff: int = (self.as_of.toordinal() + 1) * _DAY - 1  # 23:59:59 of as_of
        self._seed_key = (self.seed & _MASK) << 64

        first = self.start - timedelta(days=15)
        self._cal = _Calendar(
            first,
            max(self.as_of, self.timeline_end) + timedelta(days=400),
            extra_holidays,
            extra_working_days,
        )
        self._k0 = self._cal.ordinal_of(self.start)  # calendar index of office offset 0
        span = (self._cal.ordinal_of(self.timeline_end + timedelta(days=1)) - self._k0) * _OFFICE
        if span <= 0:
            raise ValueError("khoảng thời gian mô phỏng không có ngày làm việc")
        self._step = span / self.n_dossiers
        self._dstr: dict[int, str] = {}
        self._ymd: dict[int, str] = {}
        self._base = self._cal.base

        by_code = {u.code: u for u in self.units}
        procs = [replace(p, unit_id=by_code[p.unit].national_id) for p in procedures if p.unit in by_code]
        self._procedures = tuple(procs)
        self._unit_procs: dict[str, tuple[tuple[Procedure, ...], list[float]]] = {}
        for u in self.units:
            ps = tuple(p for p in procs if p.unit == u.code)
            if ps:
                cum, acc = [], 0.0
                for p in ps:
                    acc += p.weight
                    cum.append(acc)
                self._unit_procs[u.code] = (ps, cum)
        self._pattern = self._make_pattern([u for u in self.units if u.code in self._unit_procs])
        self._period = len(self._pattern)
        everyone = list(self.officers) or [Officer("canbo", "Cán bộ", self.units[0].code)]
        self._officers_of = {
            u.code: [o for o in everyone if o.unit == u.code] or everyone for u in self.units
        }
        desk_code = "TTPVHCC" if any(o.unit == "TTPVHCC" for o in everyone) else None
        self._desk_of = {
            u.code: self._officers_of[u.code]
            if desk_code is None or u.code == desk_code or u.parent == desk_code
            else self._officers_of[desk_code]
            for u in self.units
        }
        self._unit_names = {u.code: u.name for u in self.units}

        # Visible at as_of: every dossier received by the cut-off, plus the status-1 tail.
        self._n_recv = self._first_ge(self._wd(self.as_of + timedelta(days=1)) * _OFFICE)
        self._tail = self._scan_tail()
        self._tail_set = frozenset(self._tail)

    @classmethod
    def from_config(cls, config: dict, **kwargs) -> SyntheticWard:
        """Units and officers from a parsed ward configuration (config/demo.yaml's shape)."""
        weights = {u.national_id: u.weight for u in DEFAULT_UNITS}
        units = [
            Unit(
                u["code"],
                u.get("name", u["code"]),
                u.get("national_id", u["code"]),
                u.get("parent"),
                int(u.get("weight", weights.get(u.get("national_id"), 1))),
            )
            for u in config.get("units", [])
        ]
        officers = [Officer(o["username"], o.get("name", ""), o["unit"]) for o in config.get("officers", [])]
        cal = config.get("calendar") or {}
        kwargs.setdefault("ward_id", (config.get("ward") or {}).get("national_id", "H99.99"))
        kwargs.setdefault(
            "extra_holidays", [date.fromisoformat(str(d)) for d in cal.get("extra_holidays") or []]
        )
        kwargs.setdefault(
            "extra_working_days", [date.fromisoformat(str(d)) for d in cal.get("extra_working_days") or []]
        )
        return cls(units=units or DEFAULT_UNITS, officers=officers or DEFAULT_OFFICERS, **kwargs)

    @staticmethod
    def _make_pattern(units: list[Unit]) -> tuple[Unit, ...]:
        """Smooth weighted round-robin: a fixed interleaved pattern, period = sum of weights."""
        if not units:
            raise ValueError("không đơn vị nào có thủ tục")
        total = sum(max(1, u.weight) for u in units)
        current = [0] * len(units)
        out = []
        for _ in range(total):
            for k, u in enumerate(units):
                current[k] += max(1, u.weight)
            best = max(range(len(units)), key=lambda k: current[k])
            current[best] -= total
            out.append(units[best])
        return tuple(out)

    # ------------------------------------------------------------ public API

    def procedures(self) -> list[Procedure]:
        """The procedure catalogue (with each handling unit's national id in `unit_id`)."""
        return list(self._procedures)

    @property
    def n_visible(self) -> int:
        """Dossiers that exist at as_of (received, plus submitted-not-yet-received)."""
        return self._n_recv + len(self._tail)

    def visible(self, i: int) -> bool:
        return 0 <= i < self._n_recv or i in self._tail_set

    def index_range(self, received_from: date, received_to: date) -> range:
        """Indices of the dossiers received (NgayTiepNhan, Vietnam date) in [from, to], by as_of.

        Refused dossiers (status 3) are placed by their refusal time; not-yet-received ones (status
        1) are not in any range (see `select`)."""
        lo = self._first_ge(self._wd(received_from) * _OFFICE)
        hi = min(self._first_ge(self._wd(received_to + timedelta(days=1)) * _OFFICE), self._n_recv)
        return range(lo, max(lo, hi))

    def unit_residues(self, unit_prefix: str | None) -> tuple[int, ...] | None:
        """Residues ``i % period`` of the units whose national id is `unit_prefix` or below it."""
        if not unit_prefix:
            return None
        p = unit_prefix.strip()
        return tuple(
            k for k, u in enumerate(self._pattern) if u.national_id == p or u.national_id.startswith(p + ".")
        )

    def select(
        self, received_from: date | None = None, received_to: date | None = None, unit: str | None = None
    ) -> IndexSeq:
        """Visible dossiers received in [from, to] (default: all), of `unit` (national id prefix),
        in received order; then the not-yet-received ones (status 1) submitted in [from, to]."""
        f = received_from or self.start - timedelta(days=1)
        t = received_to or self.as_of
        res = self.unit_residues(unit)
        if res is not None and not res:
            return IndexSeq(range(0), (), self._period)
        tail = [
            i
            for i in self._tail
            if (res is None or i % self._period in res) and f <= self._date_of(self._core(i).sub) <= t
        ]
        return IndexSeq(self.index_range(f, t), res, self._period, tail)

    def all_indices(self) -> IndexSeq:
        return IndexSeq(range(self._n_recv), None, self._period, self._tail)

    def unit_of(self, i: int) -> Unit:
        return self._pattern[i % self._period]

    def code(self, i: int) -> str:
        return self._core(i).code

    def index_of(self, code: str) -> int | None:
        """The index encoded in a dossier code, or None if it is not the code of one of this ward's
        dossiers existing at as_of."""
        try:
            prefix, ymd, idx = str(code).rsplit("-", 2)
        except ValueError:
            return None
        if prefix != self.ward_id or len(ymd) != 6 or not ymd.isdigit() or not idx.isdigit():
            return None
        i = int(idx)
        if not self.visible(i) or self._core(i).code != code:
            return None
        return i

    def canonical(self, i: int) -> dict:
        """Dossier i at as_of, canonical national field names, plus the applicant's personal fields.

        Raises LookupError if the dossier does not exist yet at as_of."""
        if not self.visible(i):
            raise LookupError(f"hồ sơ {i} chưa tồn tại tại ngày {self.as_of.isoformat()}")
        c = self._core(i)
        rec = self._render(c)
        values = self._personal(c.pbits)
        rec.update(zip(PERSONAL_KEYS, values, strict=True))
        if self.extra_personal:
            _with_extra_personal(rec, values)
        return rec

    def provincial(self, i: int) -> dict:
        """The same record with the provincial system's field names (PROVINCIAL_FIELD_MAP)."""
        m = PROVINCIAL_FIELD_MAP
        return {m.get(k, k): v for k, v in self.canonical(i).items()}

    def national(self, i: int) -> dict | None:
        """What the national portal holds: None for the missing share, a slightly different record
        (status, or due/finish date one day off) for the diff share, else the canonical record."""
        h = _mix((self.seed * 0x2545F4914F6CDD1D) ^ _mix(i))
        r = (h >> 11) / 2.0**53
        if r < self.national_missing_share:
            return None
        rec = self.canonical(i)
        if r < self.national_missing_share + self.national_diff_share:
            kind = h % 3
            key = "NgayKetThucXuLy" if kind == 2 and rec["NgayKetThucXuLy"] else "NgayHenTra"
            if kind == 0 or not rec[key]:  # a status the portal did not catch up with
                rec["TrangThaiHoSo"] = _NATIONAL_STATUS[rec["TrangThaiHoSo"]]
            else:
                rec[key] = self._shift_day(rec[key], 1 if key == "NgayHenTra" else -1)
        return rec

    def personal_values(self, i: int) -> list[str]:
        """The fake applicant values of dossier i (ChuHoSo, SoGiayToChuHoSo, SoDienThoai, Email,
        DiaChiChuHoSo): tests check that none of them leaks anywhere."""
        rng = random.Random(self._seed_key | i)
        rng.random()
        return self._personal(rng.getrandbits(160))

    @staticmethod
    def _personal(p: int) -> list[str]:
        female = p & 1
        p >>= 1
        p, fam = divmod(p, len(_FAMILY))
        p, mid = divmod(p, 8)
        p, sec = divmod(p, 8)
        p, giv = divmod(p, 20)
        p, yy = divmod(p, 66)
        p, prov = divmod(p, len(_PROVINCE_CODES))
        p, rest = divmod(p, 10**6)
        p, pre = divmod(p, len(_PHONE_PREFIXES))
        p, tail = divmod(p, 10**7)
        p, mailno = divmod(p, 9990)
        p, house = divmod(p, 399)
        p, street = divmod(p, len(_STREETS))
        p, group = divmod(p, 39)
        if female:
            parts = (_FAMILY[fam], _MIDDLE_F[mid], _SECOND_F[sec], _GIVEN_F[giv])
        else:
            parts = (_FAMILY[fam], _MIDDLE_M[mid], _SECOND_M[sec], _GIVEN_M[giv])
        name = " ".join(parts)
        yy += 40
        century = (2 if yy >= 100 else 0) + female
        ident = f"{_PROVINCE_CODES[prov]}{century}{yy % 100:02d}{rest:06d}"
        phone = f"{_PHONE_PREFIXES[pre]}{tail:07d}"
        email = f"{_ASCII[parts[3]]}.{_ASCII[parts[0]]}{10 + mailno}@mail.example.vn"
        addr = f"Số {house + 1} đường {_STREETS[street]}, tổ dân phố {group + 1}, phường Hòa An"
        return [name, ident, phone, email, addr]

    # ------------------------------------------------------------ time arithmetic

    def _wd(self, d: date) -> int:
        """Working days between the timeline's origin and `d` (clamped to [0, as_of + 1 day])."""
        d = min(max(d, self.start), max(self.as_of, self.timeline_end) + timedelta(days=1))
        return self._cal.ordinal_of(d) - self._k0

    def _ls(self, x: int) -> int:
        """Office offset x >= 1 -> local seconds. (k-1)*8h < x <= k*8h is on working day k-1."""
        d, s = divmod(x - 1, _OFFICE)
        s += 1
        try:
            b = self._base[self._k0 + d]
        except IndexError:
            self._cal.ensure_index(self._k0 + d)
            b = self._base[self._k0 + d]
        return b + s + (_LUNCH if s > _MORNING else 0)

    def _day_base(self, d: int) -> int:
        """Local seconds of 07:00 on working day d (from the origin)."""
        return self._ls(d * _OFFICE + 1) - 1

    def _fmt(self, ls: int | None) -> str:
        if ls is None:
            return ""
        o, s = divmod(ls, _DAY)
        ds = self._dstr.get(o)
        if ds is None:
            ds = self._dstr[o] = date.fromordinal(o).strftime("%Y%m%d")
        return ds + _TSTR[s]

    @staticmethod
    def _date_of(ls: int) -> date:
        return date.fromordinal(ls // _DAY)

    @staticmethod
    def _shift_day(wire: str, days: int) -> str:
        d = datetime.strptime(wire, "%Y%m%d%H%M%S") + timedelta(days=days)
        return d.strftime("%Y%m%d%H%M%S")

    def _g(self, i: int) -> int:
        """Receipt office offset of dossier i, minus one (non-decreasing in i)."""
        return int((i + random.Random(self._seed_key | i).random()) * self._step)

    def _first_ge(self, t: int) -> int:
        """Smallest i >= 0 with _g(i) >= t."""
        c = max(0, int(t / self._step) - 2)
        while self._g(c) < t:
            c += 1
        return c

    def _scan_tail(self) -> list[int]:
        """Dossiers received after the cut-off but submitted (online, after hours) before it."""
        nxt = self._wd(self.as_of + timedelta(days=1))
        stop = self._first_ge((nxt + 1) * _OFFICE)
        return [i for i in range(self._n_recv, stop) if self._core(i).sub <= self.cutoff]

    # ------------------------------------------------------------ generation

    def _core(self, i: int) -> _Core:
        rng = random.Random(self._seed_key | i)
        rand = rng.random
        ls = self._ls
        c = _Core()
        c.i = i
        x = int((i + rand()) * self._step) + 1  # receipt, office offset
        c.pbits = rng.getrandbits(160)  # the applicant (see personal_values)
        unit = self._pattern[i % self._period]
        procs, cum = self._unit_procs[unit.code]
        proc = procs[min(bisect.bisect_right(cum, rand() * cum[-1]), len(procs) - 1)]
        c.unit, c.proc = unit, proc
        r = rand()
        ch = 2 if r < proc.online_share else 3 if r < proc.online_share + 0.05 else 1
        c.channel = ch
        recv = ls(x)
        d, s = divmod(x - 1, _OFFICE)
        sub = recv
        if ch == 2:
            day_start = recv - s - 1 - (_LUNCH if s >= _MORNING else 0)
            ra = rand() if s < _AFTER_HOURS_WINDOW else 1.0
            if ra < _AFTER_HOURS_P:  # after hours: evening, night or a day off
                prev_close = self._day_base(d - 1) + 10 * 3600
                sub = prev_close + 60 + int(rand() * (day_start - prev_close - 120))
            elif rand() < _BACKLOG_P:  # waited in the online queue since the previous working day
                sub = self._day_base(d - 1) + int(rand() * (10 * 3600))
            else:
                sub = max(recv - 60 - int(rand() * 5400), day_start)
        c.sub, c.recv = sub, recv
        o = sub // _DAY
        ymd = self._ymd.get(o)
        if ymd is None:
            ymd = self._ymd[o] = date.fromordinal(o).strftime("%y%m%d")
        c.code = f"{self.ward_id}-{ymd}-{i:07d}"

        # Known at submission.
        if proc.fee > 0:
            c.fee_exempt = rand() < 0.05
            c.paid = (1 if rand() < 0.4 else 2) if (ch == 2 and not c.fee_exempt and rand() < 0.6) else 0
        else:
            c.fee_exempt, c.paid = False, None
        n_comp = 1 + int(rand() * 3)
        digitized = ch == 2 or rand() < 0.5
        reused_at = int(rand() * n_comp) if rand() < 0.2 else -1
        c.comps = (n_comp, int(digitized), reused_at, rand() < 0.5)
        c.vneid = int(ch == 2 and rand() < 0.85)

        c.refused = rand() < _REFUSED_P
        c.due = c.finish = c.ret = c.apology = c.evaluation = None
        c.supps, c.steps, c.e_result = (), (), False
        if c.refused:
            c.events = ((recv, 3),)
            c.end_status = 3
            return c

        R = x
        Dd = max(1, int(proc.days * _OFFICE))
        E = R + Dd
        dday = (E - 1) // _OFFICE
        o = rand()
        kind = (
            _EARLY
            if o < _P_EARLY
            else _ONTIME
            if o < _P_EARLY + _P_ONTIME
            else _LATE
            if o < _P_EARLY + _P_ONTIME + _P_LATE
            else _WITHDRAWN
            if o < _P_EARLY + _P_ONTIME + _P_LATE + _P_WITHDRAWN
            else _STOPPED
        )
        if kind == _EARLY:
            hi = dday * _OFFICE
            if hi >= R + _MIN_PROC:
                F = R + _MIN_PROC + int(rand() * (hi - R - _MIN_PROC + 1))
            else:
                kind = _ONTIME
        if kind == _ONTIME:
            lo = max(R + _MIN_PROC, dday * _OFFICE + 1)
            F = lo + int(rand() * (E - lo + 1))
        elif kind == _LATE:
            k = 1 + min(int(rng.expovariate(0.4)), 25)
            if rand() < 0.05:
                k = 20 + int(rand() * 60)  # stuck for months
            F = (dday + k) * _OFFICE + 1 + int(rand() * (_OFFICE - 1))
        elif kind != _EARLY:  # withdrawn or stopped
            F = R + _MIN_PROC + int(rand() * max(1, Dd * 8 // 10 - _MIN_PROC))
        span = F - R
        finished = kind <= _LATE
        c.end_status = 9 if finished else 7 if kind == _WITHDRAWN else 8

        # Supplement requests stop the clock for whole working days, so dates keep their relation.
        rs = rand()
        ns = 1 if rs < 0.10 else 2 if rs < 0.12 else 0
        a = 300 + int(rand() * max(1, Dd // 10 - 300))
        c1 = R + min(a, max(60, span // 10))
        c.due = ls(E)
        events = [(recv, 2), (ls(c1), 4)]
        total_wait = 0
        waits: list[tuple[int, int]] = []
        if ns:
            clocks = sorted(R + int(span * (0.2 + 0.5 * rand())) for _ in range(ns))
            supps = []
            for cl in clocks:
                w = (1 + min(int(rng.expovariate(0.5)), 9)) * _OFFICE
                waits.append((cl, w))
                req = cl + total_wait
                supps.append((ls(req), ls(req + w), ls(E + total_wait), ls(E + total_wait + w)))
                events.append((ls(req), 5))
                events.append((ls(req + w), 4))
                total_wait += w
            c.supps = supps
        # Every clock time after c1 used below is after the last supplement request: wall = clock + waits.
        if finished and proc.financial and rand() < 0.5:
            events.append((ls(F - min(span // 10, 14400) + total_wait), 6))
        wF = F + total_wait
        c.finish = fin = ls(wF)
        events.append((fin, c.end_status))

        # Processing steps: one-stop desk, handling officer, approver.
        desks = self._desk_of[unit.code]
        desk = desks[int(rand() * len(desks))]
        handlers = self._officers_of[unit.code]
        hk = int(rand() * len(handlers))
        h1, h2 = handlers[hk], handlers[(hk + 1) % len(handlers)]
        step_due2 = ls(R + Dd * 8 // 10 + total_wait)
        c1_ls = events[1][0]
        if finished:
            c2 = ls(max(c1 + 1, F - min(span * 15 // 100, Dd * 15 // 100)) + total_wait)
            c.steps = (
                (desk, 0, recv, c1_ls, ls(R + max(Dd // 10, 1))),
                (h1, 1, c1_ls, c2, step_due2),
                (h2, 2, c2, fin, ls(E + total_wait)),
            )
        else:
            c.steps = ((desk, 0, recv, c1_ls, ls(R + max(Dd // 10, 1))), (h1, 1, c1_ls, fin, step_due2))

        if finished:
            c.e_result = rand() < 0.6
            if rand() >= 0.04:  # a few results are never collected
                if ch == 2 and c.e_result:
                    c.ret = ls(wF + int(rand() * 7200))
                else:
                    c.ret = ls(wF + int((0.05 + rand() * 2.5) * _OFFICE))
                events.append((c.ret, 10))
            if rand() < 0.3:
                at = (c.ret or fin) + 600 + int(rand() * _DAY)
                v = rand()
                c.evaluation = (at, 1 if v < 0.9 else 2 if v < 0.97 else 3)
            if kind == _LATE and rand() < 0.6:
                # before the original due date (shifted by supplement waits, all earlier than it)
                t = E - int(rand() * min(Dd * 3 // 10, _OFFICE))
                at = ls(t + sum(w for cl, w in waits if cl < t))
                new_day = (wF - 1) // _OFFICE + int(rand() * 3)
                c.apology = (at, ls((new_day + 1) * _OFFICE))
        c.events = events
        return c

    def _status(self, c: _Core) -> int:
        cut = self.cutoff
        if c.recv > cut:
            return 1
        st = 2
        for t, s in c.events:
            if t > cut:
                break
            st = s
        return st

    def _render(self, c: _Core) -> dict:
        dstr, tstr = self._dstr, _TSTR

        def f(ls: int | None) -> str:
            if ls is None:
                return ""
            o, s = divmod(ls, _DAY)
            ds = dstr.get(o)
            if ds is None:
                ds = self._fmt(ls)[:8]
            return ds + tstr[s]

        cut = self.cutoff
        proc = c.proc
        status = self._status(c)
        received = c.recv <= cut
        accepted = received and not c.refused
        fin = c.finish if accepted and c.finish <= cut else None
        finished_ok = fin is not None and c.end_status == 9
        results = []
        if finished_ok:
            results.append(
                {
                    "TenGiayTo": f"Kết quả giải quyết: {proc.name}",
                    "MaGiayTo": f"KQ-{c.code}",
                    "DuongDanTepTinKetQua": f"https://dichvucong.example.vn/ketqua/{c.code}.pdf"
                    if c.e_result
                    else "",
                }
            )
        n_comp, dig, reused_at, reuse_kind = c.comps
        steps = []
        if accepted:
            for o, k, start, done, due in c.steps:
                if start > cut:
                    break
                steps.append(
                    {
                        "NguoiXuLy": o.username,
                        "ChucDanh": _STEP_TITLES[k],
                        "PhongBanXuLy": self._unit_names.get(o.unit, ""),
                        "NoiDungXuLy": _STEP_CONTENT[k],
                        "ThoiDiemXuLy": f(done) if done <= cut else "",
                        "NgayBatDau": f(start),
                        "NgayKetThucTheoQuyDinh": f(due),
                    }
                )
        rec = {
            "MaHoSo": c.code,
            "MaTTHC": proc.code,
            "TenTTHC": proc.name,
            "MaLinhVuc": proc.field_code,
            "TenLinhVuc": proc.field_name,
            "DonViXuLy": c.unit.national_id,
            "TrangThaiHoSo": status,
            "KenhThucHien": c.channel,
            "MucDo": proc.level,
            "NgayNopHoSo": f(c.sub),
            "NgayTiepNhan": f(c.recv) if accepted else "",
            "NgayHenTra": f(c.due) if accepted else "",
            "NgayKetThucXuLy": f(fin),
            "NgayTra": f(c.ret) if fin is not None and c.ret is not None and c.ret <= cut else "",
            "NgayTuChoi": f(c.recv) if received and c.refused else "",
            "DuocThanhToanTrucTuyen": "" if c.paid is None else c.paid,
            "DanhSachLePhi": (
                [{"MaPhiLePhi": f"LP-{proc.code}", "TenPhiLePhi": proc.fee_name, "Gia": proc.fee}]
                if proc.fee > 0
                else []
            ),
            "MienLePhi": int(c.fee_exempt),
            "TaiLieuNop": [
                {
                    "MaThanhPhanHoSo": f"TP{k + 1}",
                    "TenThanhPhanHoSo": _COMPONENTS[k],
                    "DuocSoHoa": dig,
                    "DuocTaiSuDung": int(k == reused_at and reuse_kind),
                    "DuocLayTuKhoDMQG": int(k == reused_at and not reuse_kind),
                }
                for k in range(n_comp)
            ],
            "HoSoCoThanhPhanSoHoa": dig,
            "CoKetQuaDienTu": int(finished_ok and c.e_result),
            "DanhSachGiayToKetQua": results,
            "DanhSachHoSoBoSung": [
                {
                    "NgayBoSung": f(req),
                    "NgayTiepNhanBoSung": f(done) if done <= cut else "",
                    "NgayHenTraTruoc": f(before),
                    "NgayHenTraMoi": f(after),
                }
                for req, done, before, after in (c.supps if accepted else ())
                if req <= cut
            ],
            "QuaTrinhXuLy": steps,
            "DanhGiaHaiLong": c.evaluation[1] if accepted and c.evaluation and c.evaluation[0] <= cut else "",
            "TaiKhoanDuocXacThucVoiVNeID": c.vneid,
        }
        if accepted and c.apology and c.apology[0] <= cut:
            rec["PhieuXinLoi"] = {"NgayXinLoi": f(c.apology[0]), "NgayHenTraMoi": f(c.apology[1])}
        return rec

    # ------------------------------------------------------------ helpers for the server and exports

    def status_at(self, i: int) -> int:
        """TrangThaiHoSo of dossier i at as_of (cheaper than `canonical`)."""
        return self._status(self._core(i))

    def channel_of(self, i: int) -> int:
        return self._core(i).channel

    def submitted_date(self, i: int) -> date:
        return self._date_of(self._core(i).sub)
