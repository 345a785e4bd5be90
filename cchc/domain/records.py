"""The dossier record and its parts: what the system keeps of a TTHC dossier.

Pure data, no I/O. Datetimes are timezone-aware (Vietnam time). Nothing personal about the
applicant is kept: at most a salted hash (`applicant_hash`) where a join is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        return any(s.completed_at is None for s in self.supplements) or self.status == Status.SUPPLEMENT


class RecordError(ValueError):
    """A raw record that cannot become a Dossier. `field` names the offending field."""

    def __init__(self, field: str, reason: str, code: str | None = None):
        self.field = field
        self.reason = reason
        self.code = code
        super().__init__(f"{field}: {reason}")
