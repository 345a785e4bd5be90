"""Biểu số 06/VPCP/KSTT (Thông tư 01/2020/TT-VPCP): the periodic TTHC results table (DOMAIN.md §6).

Pure domain code: rows from a `classify(..., mode="bieu06")` frame, with the identities of the form
checked on every row. Rendering (XLSX/DOCX/HTML) lives in templates and uses the headers below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from cchc.domain.metrics import TOTAL, TOTAL_LABEL_VI, indicator_table, rollup_units
from cchc.errors import UserError

FORM_CODE = "Biểu số 06/VPCP/KSTT"
FORM_CODE_BY_UNIT = "Biểu số 06a/VPCP/KSTT"
TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"

HEADER_STT = "STT"
HEADER_FIELD = "Lĩnh vực"
HEADER_UNIT = "Đơn vị"

GROUP_RECEIVED = "Số hồ sơ nhận giải quyết"
GROUP_RESOLVED = "Số hồ sơ đã giải quyết"
GROUP_PENDING = "Số hồ sơ đang giải quyết"

HEADER_TOTAL = "Tổng số"
HEADER_ONLINE = "Trong kỳ: Trực tuyến"
HEADER_IN_PERSON_POSTAL = "Trong kỳ: Trực tiếp, dịch vụ bưu chính"
HEADER_CARRIED_OVER = "Từ kỳ trước"
HEADER_EARLY = "Trước hạn"
HEADER_ON_TIME = "Đúng hạn"
HEADER_LATE = "Quá hạn"
HEADER_IN_TIME = "Trong hạn"
HEADER_OVERDUE = "Quá hạn"

#: (Bieu06Row field, group header, column header), in the form's column order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("received_total", GROUP_RECEIVED, HEADER_TOTAL),
    ("received_online", GROUP_RECEIVED, HEADER_ONLINE),
    ("received_in_person_postal", GROUP_RECEIVED, HEADER_IN_PERSON_POSTAL),
    ("carried_over", GROUP_RECEIVED, HEADER_CARRIED_OVER),
    ("resolved_total", GROUP_RESOLVED, HEADER_TOTAL),
    ("early", GROUP_RESOLVED, HEADER_EARLY),
    ("on_time", GROUP_RESOLVED, HEADER_ON_TIME),
    ("late", GROUP_RESOLVED, HEADER_LATE),
    ("pending_total", GROUP_PENDING, HEADER_TOTAL),
    ("pending_in_time", GROUP_PENDING, HEADER_IN_TIME),
    ("pending_overdue", GROUP_PENDING, HEADER_OVERDUE),
)

TOTAL_LABEL = TOTAL_LABEL_VI


@dataclass(frozen=True)
class Bieu06Row:
    """One row of Biểu 06: `stt` "1", "2", ... ("" for the total row)."""

    stt: str
    label: str
    received_total: int
    received_online: int
    received_in_person_postal: int
    carried_over: int
    resolved_total: int
    early: int
    on_time: int
    late: int
    pending_total: int
    pending_in_time: int
    pending_overdue: int

    def values(self) -> list[int]:
        """The 11 numbers in the form's column order."""
        return [getattr(self, name) for name, _, _ in COLUMNS]

    def as_dict(self) -> dict:
        return asdict(self)


class Bieu06IdentityError(UserError, ValueError):
    """A Biểu 06 row whose numbers do not add up."""

    def __init__(self, label: str, identity: str, detail: str):
        self.label = label
        self.identity = identity
        super().__init__(
            f"Biểu 06, dòng {label!r}: không thỏa đẳng thức {identity} ({detail}) / "
            f"Biểu 06 row {label!r} breaks the identity {identity} ({detail})"
        )


def check_identities(row: Bieu06Row) -> None:
    """Raise `Bieu06IdentityError` unless, in this row:
    received_total = received_online + received_in_person_postal + carried_over;
    received_total = resolved_total + pending_total;
    resolved_total = early + on_time + late; pending_total = pending_in_time + pending_overdue."""
    r = row
    checks = (
        (
            "nhận = trực tuyến + trực tiếp/bưu chính + từ kỳ trước "
            "(received = online + in-person/postal + carried over)",
            r.received_total,
            (r.received_online, r.received_in_person_postal, r.carried_over),
        ),
        (
            "nhận = đã giải quyết + đang giải quyết (received = resolved + pending)",
            r.received_total,
            (r.resolved_total, r.pending_total),
        ),
        (
            "đã giải quyết = trước hạn + đúng hạn + quá hạn (resolved = early + on time + late)",
            r.resolved_total,
            (r.early, r.on_time, r.late),
        ),
        (
            "đang giải quyết = trong hạn + quá hạn (pending = in time + overdue)",
            r.pending_total,
            (r.pending_in_time, r.pending_overdue),
        ),
    )
    for identity, total, parts in checks:
        if total != sum(parts):
            detail = f"{total} ≠ {' + '.join(str(p) for p in parts)} = {sum(parts)}"
            raise Bieu06IdentityError(r.label, identity, detail)
    for name in ("received_total", "resolved_total", "pending_total", *[c for c, _, _ in COLUMNS]):
        if getattr(r, name) < 0:
            raise Bieu06IdentityError(r.label, f"{name} ≥ 0", f"{name} = {getattr(r, name)}")


def _row(stt: str, label: str, rec: pd.Series) -> Bieu06Row:
    return Bieu06Row(
        stt=stt,
        label=str(label),
        received_total=int(rec["received"]),
        received_online=int(rec["received_online"]),
        received_in_person_postal=int(rec["received_in_person_postal"]),
        carried_over=int(rec["carried_over"]),
        resolved_total=int(rec["resolved"]),
        early=int(rec["early"]),
        on_time=int(rec["on_time"]),
        late=int(rec["late"]),
        pending_total=int(rec["pending"]),
        pending_in_time=int(rec["pending_in_time"]),
        pending_overdue=int(rec["pending_overdue"]),
    )


def bieu06_rows(
    classified: pd.DataFrame,
    by: str = "field",
    units: Sequence[tuple[str, str]] | None = None,
) -> list[Bieu06Row]:
    """Biểu 06 rows by field (lĩnh vực; label = field name) or by unit (06a; with `units`
    [(national_id, name)], one row per configured unit by id-prefix roll-up, plus a row for dossiers
    of no configured unit if any; without, one row per unit_code), then the total row
    ("Tổng cộng", stt ""). Every row is checked with `check_identities`.

    `classified` must come from `classify(..., mode="bieu06")` (status 8 pending within time)."""
    if classified.attrs.get("mode", "bieu06") != "bieu06":
        raise ValueError(
            "Biểu 06 cần dữ liệu phân loại theo chế độ bieu06 / "
            "Biểu 06 needs a frame classified with mode='bieu06'"
        )
    if by == "field":
        table = indicator_table(classified, by="field")
    elif by == "unit":
        table = rollup_units(classified, units) if units else indicator_table(classified, by="unit")
    else:
        raise ValueError(f"Biểu 06 groups by 'field' or 'unit', not {by!r}")
    return table_rows(table)


def table_rows(table: pd.DataFrame) -> list[Bieu06Row]:
    """Biểu 06 rows of an indicator table in Biểu 06 mode (`indicator_table`, or `rollup_units` of
    one: its rows in order, then its TOTAL as the total row), each checked with `check_identities`;
    `bieu06_rows` for a caller that holds the table already."""
    if table.attrs.get("mode", "bieu06") != "bieu06":
        raise ValueError(
            "Biểu 06 cần dữ liệu phân loại theo chế độ bieu06 / "
            "Biểu 06 needs a frame classified with mode='bieu06'"
        )
    rows: list[Bieu06Row] = []
    body = table[table["group"] != TOTAL]
    for i, (_, rec) in enumerate(body.iterrows(), start=1):
        rows.append(_row(str(i), rec["label"], rec))
    rows.append(_row("", TOTAL_LABEL, table[table["group"] == TOTAL].iloc[0]))
    for row in rows:
        check_identities(row)
    return rows


def rows_frame(rows: Sequence[Bieu06Row]) -> pd.DataFrame:
    """The rows as a DataFrame (stt, label, then the 11 columns) for artifacts and exports."""
    return pd.DataFrame([r.as_dict() for r in rows])
