"""The national procedure catalogue (LayThuTuc): one portal record -> one row of the `procedures`
table (full-online level, fee, paper result, working days). Pure: no I/O."""

from __future__ import annotations

from cchc.domain.text import as_number
from cchc.domain.wire import parse_flag


def procedure_row(r: dict) -> dict | None:
    """The catalogue row of a portal record, or None when it has no procedure code."""
    code = str(r.get("MaTTHC") or "").strip()
    if not code:
        return None
    level = r.get("MucDo")
    days = as_number(r.get("SoNgayGiaiQuyet"))
    return {
        "code": code[:32],
        "name": str(r.get("TenTTHC") or "")[:500],
        "field_code": str(r.get("MaLinhVuc") or "")[:32],
        "field_name": str(r.get("TenLinhVuc") or "")[:300],
        "online_level": int(level) if str(level).isdigit() else None,
        "has_fee": parse_flag(r.get("CoPhi"), default=None),
        "result_paper": parse_flag(r.get("KetQuaGiay"), default=True),
        "working_days": int(days) if isinstance(days, float) else None,
    }


def procedure_rows(records) -> list[dict]:
    """The catalogue rows of the portal's records, records without a code left out."""
    return [row for row in map(procedure_row, records) if row is not None]
