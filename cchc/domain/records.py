"""The dossier record and its parts: what the system keeps of a TTHC dossier.

Pure data, no I/O. Datetimes are timezone-aware (Vietnam time). Nothing personal about the
applicant is kept: at most a salted hash (`applicant_hash`) where a join is needed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum


class Status(IntEnum):
    """TrangThaiHoSo (DOMAIN.md §2)."""

    NEW = 1  # Mới đăng ký
    RECEIVED = 2  # Được tiếp nhận
    NOT_ACCEPTED = 3  # Không được tiếp nhận
    PROCESSING = 4  # Đang xử lý
    SUPPLEMENT = 5  # Yêu cầu bổ sung giấy tờ
    FINANCIAL = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    DONE = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả


STATUS_NAMES_VI: dict[Status, str] = {
    Status.NEW: "Mới đăng ký",
    Status.RECEIVED: "Được tiếp nhận",
    Status.NOT_ACCEPTED: "Không được tiếp nhận",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT: "Yêu cầu bổ sung giấy tờ",
    Status.FINANCIAL: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng xử lý",
    Status.DONE: "Đã xử lý xong",
    Status.RETURNED: "Đã trả kết quả",
}

#: Statuses never counted anywhere (not accepted).
EXCLUDED_STATUSES = frozenset({Status.NEW, Status.NOT_ACCEPTED})
#: Statuses in which processing has ended (Biểu 06): withdrawn, done, result returned.
FINISHED_STATUSES = frozenset({Status.WITHDRAWN, Status.DONE, Status.RETURNED})
#: The 766 reading also ends a dossier at "Dừng xử lý" (DOMAIN.md §5).
FINISHED_STATUSES_766 = FINISHED_STATUSES | {Status.STOPPED}
#: Statuses in which a dossier waits on the applicant (supplement, financial obligation, stopped).
WAITING_STATUSES = frozenset({Status.SUPPLEMENT, Status.FINANCIAL, Status.STOPPED})
#: Statuses of a dossier still being handled: neither excluded nor finished (every stored status is a
#: `Status`: an unknown one is quarantined at ingestion), so `IN` this set equals `NOT IN` the others.
OPEN_STATUSES = frozenset(Status) - EXCLUDED_STATUSES - FINISHED_STATUSES


def status_codes(statuses) -> tuple[int, ...]:
    """A status set as sorted plain integers (numpy's `isin`, SQL `IN (...)`)."""
    return tuple(sorted(int(s) for s in statuses))


def sql_in(statuses) -> str:
    """A status set for SQL: '7, 9, 10' (integers only, so safe to format into a statement)."""
    return ", ".join(str(c) for c in status_codes(statuses))


class Channel(IntEnum):
    """KenhThucHien: missing means in person."""

    IN_PERSON = 1  # trực tiếp
    ONLINE = 2  # trực tuyến
    POSTAL = 3  # bưu chính công ích


CHANNEL_NAMES_VI: dict[Channel, str] = {
    Channel.IN_PERSON: "Trực tiếp",
    Channel.ONLINE: "Trực tuyến",
    Channel.POSTAL: "Bưu chính",
}


class Evaluation(IntEnum):
    """DanhGiaHaiLong: the citizen's evaluation, if any."""

    SATISFIED = 1  # Hài lòng
    ACCEPTABLE = 2  # Chấp nhận được
    UNSATISFIED = 3  # Không hài lòng


@dataclass(slots=True, frozen=True)
class Fee:
    code: str
    name: str
    amount: int  # VND


@dataclass(slots=True, frozen=True)
class Supplement:
    """One supplement request (DanhSachHoSoBoSung): the clock stops while it is pending."""

    requested_at: datetime
    completed_at: datetime | None = None  # None: still waiting for the citizen
    due_before: datetime | None = None  # NgayHenTraTruoc
    due_after: datetime | None = None  # NgayHenTraMoi


@dataclass(slots=True, frozen=True)
class ProcessingStep:
    """One processing step (CapNhatTienDoHoSoMC); per-officer timeliness comes from these."""

    officer: str  # NguoiXuLy (an officer's username, not a citizen)
    title: str = ""  # ChucDanh
    department: str = ""  # PhongBanXuLy
    # NoiDungXuLy (free text, may name the citizen) is never read: see wire.WIRE_ALLOW_LIST.
    at: datetime | None = None  # ThoiDiemXuLy: when the step was done
    started_at: datetime | None = None  # NgayBatDau
    step_due: datetime | None = None  # NgayKetThucTheoQuyDinh


@dataclass(slots=True, frozen=True)
class Dossier:
    """A TTHC dossier as one source reports it. Identity: (source, code)."""

    source: str  # "provincial" | "national" | "excel"
    code: str  # MaHoSo
    status: Status
    procedure_code: str = ""  # MaTTHC
    procedure_name: str = ""  # TenTTHC
    field_code: str = ""  # MaLinhVuc
    field_name: str = ""  # TenLinhVuc
    unit_code: str = ""  # DonViXuLy: a unit's national identifier (MaDinhDanh) or code
    channel: Channel = Channel.IN_PERSON
    online_level: int | None = None  # MucDo: 4 toàn trình, 3 một phần
    submitted_at: datetime | None = None  # NgayNopHoSo
    received_at: datetime | None = None  # NgayTiepNhan
    due_at: datetime | None = None  # NgayHenTra (original appointment)
    finished_at: datetime | None = None  # NgayKetThucXuLy
    returned_at: datetime | None = None  # NgayTra
    refused_at: datetime | None = None  # NgayTuChoi
    fees: tuple[Fee, ...] = ()
    fee_exempt: bool = False  # MienLePhi
    has_fee: bool | None = None  # CoPhi (Excel); None: derive from fees
    paid_online: int | None = None  # DuocThanhToanTrucTuyen: 1 national, 2 provincial gateway
    digitized_component: bool = False  # a TaiLieuNop with DuocSoHoa
    reused_component: bool = False  # a TaiLieuNop with DuocTaiSuDung or DuocLayTuKhoDMQG
    e_result: bool = False  # an electronic result in DanhSachGiayToKetQua
    supplements: tuple[Supplement, ...] = ()
    supplement_count: int | None = None  # Số lần bổ sung (Excel); None: len(supplements)
    steps: tuple[ProcessingStep, ...] = ()
    apology: bool = False  # an apology slip was issued (PhieuXinLoi)
    apology_at: datetime | None = None
    apology_new_due: datetime | None = None
    evaluation: Evaluation | None = None
    vneid_verified: bool = False
    applicant_hash: str | None = None  # salted hash, never the identity itself
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def owes_fee(self) -> bool:
        """Owes a fee, as far as the record tells (DOMAIN.md §4): never when the applicant is exempt;
        with a fee list, when one fee is above 0 (all fees 0: no fee, whatever a flag says); without
        one, the record's own flag (CoPhi). A record telling none of these (`fee_unstated`) owes
        what the procedure catalogue says: the metrics apply it (`procedure_has_fee`)."""
        if self.fee_exempt:
            return False
        if self.fees:
            return any(f.amount > 0 for f in self.fees)
        return bool(self.has_fee)

    @property
    def fee_unstated(self) -> bool:
        """The record says nothing of a fee (no exemption, no fee list, no CoPhi flag): whether one
        is owed is the procedure catalogue's say."""
        return not (self.fee_exempt or self.fees or self.has_fee is not None)

    @property
    def is_paid_online(self) -> bool:
        return self.paid_online in (1, 2)

    @property
    def n_supplements(self) -> int:
        if self.supplement_count is not None:
            return self.supplement_count
        return len(self.supplements)

    @property
    def supplement_pending(self) -> bool:
        return (bool(self.supplements) and any(s.completed_at is None for s in self.supplements)
                or self.status == Status.SUPPLEMENT)


class RecordError(ValueError):
    """A raw record that cannot become a Dossier. `field` names the offending field."""

    def __init__(self, field: str, reason: str, code: str | None = None):
        self.field = field
        self.reason = reason
        self.code = code
        super().__init__(f"{field}: {reason}")


# --- what the store can hold ----------------------------------------------------------------
# The limits of the store's columns (connectors/store/schema.py; a test keeps the two equal). A
# record that does not fit is rejected at the door, naming the field, instead of failing a page.

#: Identifiers: longer is rejected (cutting could merge two different codes).
MAX_CODE_LENGTH = {"code": 64, "procedure_code": 32, "field_code": 32, "unit_code": 64}
#: Display names: longer is cut (a name identifies nothing).
MAX_NAME_LENGTH = {"procedure_name": 500, "field_name": 300}
#: Processing steps: the officer's username is an identifier (rejected), title/department are cut.
MAX_STEP_LENGTH = {"officer": 128, "title": 200, "department": 200}
SMALLINT_MAX = 32_767  # status, channel, online_level, evaluation, supplement_count, a step's seq
BIGINT_MAX = 2**63 - 1  # fee_total

#: The wire name (DOMAIN.md §2) of each Dossier field, for messages.
WIRE_NAMES = {
    "code": "MaHoSo", "procedure_code": "MaTTHC", "procedure_name": "TenTTHC", "field_code": "MaLinhVuc",
    "field_name": "TenLinhVuc", "unit_code": "DonViXuLy", "status": "TrangThaiHoSo", "channel": "KenhThucHien",
    "online_level": "MucDo", "fee_total": "DanhSachLePhi", "supplement_count": "SoLanBoSung",
    "evaluation": "DanhGiaHaiLong", "officer": "NguoiXuLy", "title": "ChucDanh", "department": "PhongBanXuLy",
}


def check_dossier(d: Dossier) -> Dossier:
    """`d` as the store can hold it, or RecordError naming the first field that does not fit.

    Identifiers are normalised to Unicode NFC (the same code typed in NFC and NFD is one dossier)
    and must fit their column; names longer than their column are cut; no text may contain a NUL
    character; small integers fit 16 bits and the fee total 64 bits."""
    if _fits_as_is(d):  # the usual record: nothing to say, nothing to change
        return d
    changes: dict = {}
    for name, limit in MAX_CODE_LENGTH.items():
        value = getattr(d, name)
        _no_nul(value, name, d.code)
        norm = value if value.isascii() else unicodedata.normalize("NFC", value)  # ASCII is NFC already
        if len(norm) > limit:
            raise RecordError(WIRE_NAMES[name], f"dài {len(norm)} ký tự, tối đa {limit}", d.code[:64])
        if norm != value:
            changes[name] = norm
    for name, limit in MAX_NAME_LENGTH.items():
        value = getattr(d, name)
        _no_nul(value, name, d.code)
        if len(value) > limit:
            changes[name] = value[:limit]
    for name in ("online_level", "supplement_count"):
        value = getattr(d, name)
        if value is not None and not -SMALLINT_MAX - 1 <= value <= SMALLINT_MAX:
            raise RecordError(WIRE_NAMES[name], f"giá trị {_short_int(value)} vượt quá {SMALLINT_MAX}", d.code)
    if len(d.supplements) > SMALLINT_MAX:
        raise RecordError("DanhSachHoSoBoSung", f"quá {SMALLINT_MAX} lần bổ sung", d.code)
    for i, f in enumerate(d.fees):
        if not -BIGINT_MAX <= f.amount <= BIGINT_MAX:
            raise RecordError(f"DanhSachLePhi[{i}].Gia", f"số tiền {_short_int(f.amount)} vượt quá giới hạn", d.code)
    total = sum(f.amount for f in d.fees)
    if not -BIGINT_MAX <= total <= BIGINT_MAX:
        raise RecordError("DanhSachLePhi", f"tổng lệ phí {_short_int(total)} vượt quá giới hạn", d.code)
    if len(d.steps) > SMALLINT_MAX:
        raise RecordError("QuaTrinhXuLy", f"quá {SMALLINT_MAX} bước xử lý", d.code)
    steps = []
    for i, s in enumerate(d.steps):
        for name in ("officer", "title", "department"):
            _no_nul(getattr(s, name), f"QuaTrinhXuLy[{i}].{WIRE_NAMES[name]}", d.code)
        if len(s.officer) > MAX_STEP_LENGTH["officer"]:
            raise RecordError(f"QuaTrinhXuLy[{i}].NguoiXuLy",
                              f"dài {len(s.officer)} ký tự, tối đa {MAX_STEP_LENGTH['officer']}", d.code)
        title, dept = s.title[: MAX_STEP_LENGTH["title"]], s.department[: MAX_STEP_LENGTH["department"]]
        steps.append(s if (title, dept) == (s.title, s.department) else replace(s, title=title, department=dept))
    if any(a is not b for a, b in zip(steps, d.steps, strict=True)):
        changes["steps"] = tuple(steps)
    return replace(d, **changes) if changes else d


def _fits_as_is(d: Dossier) -> bool:
    """True when `check_dossier` would neither raise nor change `d`: its texts free of NUL, its
    identifiers ASCII (NFC already) within their limits, its names and steps' texts within theirs,
    its small integers and fees in range. One pass in C over the texts joined; False sends the
    record to the field-by-field check, which names what is wrong."""
    steps = d.steps
    texts = [d.code, d.procedure_code, d.unit_code, d.field_code, d.procedure_name, d.field_name]
    for s in steps:
        texts += (s.officer, s.title, s.department)
    if "\x00" in "".join(texts) or not (d.code + d.procedure_code + d.unit_code + d.field_code).isascii():
        return False
    if (len(d.code) > MAX_CODE_LENGTH["code"] or len(d.procedure_code) > MAX_CODE_LENGTH["procedure_code"]
            or len(d.field_code) > MAX_CODE_LENGTH["field_code"] or len(d.unit_code) > MAX_CODE_LENGTH["unit_code"]
            or len(d.procedure_name) > MAX_NAME_LENGTH["procedure_name"]
            or len(d.field_name) > MAX_NAME_LENGTH["field_name"]):
        return False
    for v in (d.online_level, d.supplement_count):
        if v is not None and not -SMALLINT_MAX - 1 <= v <= SMALLINT_MAX:
            return False
    if len(d.supplements) > SMALLINT_MAX or len(steps) > SMALLINT_MAX:
        return False
    if d.fees and not (all(-BIGINT_MAX <= f.amount <= BIGINT_MAX for f in d.fees)
                       and -BIGINT_MAX <= sum(f.amount for f in d.fees) <= BIGINT_MAX):
        return False
    return not steps or all(len(s.officer) <= MAX_STEP_LENGTH["officer"] and len(s.title) <= MAX_STEP_LENGTH["title"]
                            and len(s.department) <= MAX_STEP_LENGTH["department"] for s in steps)


def _no_nul(value: str, name: str, code: str) -> None:
    if "\x00" in value:
        raise RecordError(WIRE_NAMES.get(name, name), "chứa ký tự NUL (\\x00)", code.replace("\x00", "")[:64])


def _short_int(v: int) -> str:
    s = str(v)
    return s if len(s) <= 24 else f"{s[:6]}…({len(s)} chữ số)"
