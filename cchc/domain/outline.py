"""The quantitative part of the unit report outline (đề cương báo cáo, DOMAIN.md §1): per unit and
period, what the inspection plans ask each unit to report — received and resolved (before the
deadline / on time / late), returned without resolution, paused for a supplement and still
unresolved, online (partial / full), postal, paid online, digitized (components / results),
evaluated and satisfied, apology slips for the late ones.

Pure: the figures are read from an indicator table row (`metrics.indicator_table`,
`metrics.rollup_units`, from the rows or from cells), so they follow the same rules as every other
figure and compose from months' cells. Returned dossiers are among the resolved (on time, as in
Biểu 06) and also counted on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cchc.domain.metrics import TOTAL, TOTAL_LABEL_VI

#: (key, Vietnamese header), in the outline's order.
FIELDS: tuple[tuple[str, str], ...] = (
    ("received", "Tổng số hồ sơ"),
    ("received_in_period", "Tiếp nhận trong kỳ"),
    ("carried_over", "Kỳ trước chuyển sang"),
    ("resolved", "Đã giải quyết"),
    ("early", "Trước hạn"),
    ("on_time", "Đúng hạn"),
    ("late", "Quá hạn"),
    ("returned_unresolved", "Trả lại (không giải quyết)"),
    ("pending", "Đang giải quyết"),
    ("supplement_unresolved", "Tạm dừng bổ sung, chưa giải quyết"),
    ("received_online_partial", "Trực tuyến một phần"),
    ("received_online_full", "Trực tuyến toàn trình"),
    ("received_postal", "Qua dịch vụ BCCI"),
    ("paid_online", "Thanh toán trực tuyến"),
    ("digitized_components", "Số hóa thành phần hồ sơ"),
    ("digitized_results", "Số hóa kết quả"),
    ("evaluated", "Được đánh giá"),
    ("satisfied", "Hài lòng"),
    ("apology", "Có phiếu xin lỗi (hồ sơ trễ hạn)"),
)
HEADERS_VI: dict[str, str] = dict(FIELDS)

#: Figures that are another column of the indicator table under another name (the rest are
#: columns of their own). Online partial = received online − full online.
_SAME_AS = {
    "received_online_full": "full_online_rate_num",
    "paid_online": "online_payment_rate_num",
    "evaluated": "satisfaction_rate_den",
    "satisfied": "satisfaction_rate_num",
    "apology": "apology_rate_num",
}


def outline_values(row: Mapping) -> dict[str, int]:
    """The outline's figures (FIELDS' keys, in order) from one indicator table row.

    received_online_partial counts the online dossiers not of a fully online procedure (level 3 or
    unknown), so partial + full = online. evaluated / satisfied: resolved in the period with a
    citizen's evaluation / with "hài lòng" (an "chấp nhận được" is evaluated, not satisfied)."""
    out: dict[str, int] = {}
    for key, _ in FIELDS:
        if key == "received_online_partial":
            out[key] = int(row["received_online"]) - int(row["full_online_rate_num"])
        else:
            out[key] = int(row[_SAME_AS.get(key, key)])
    return out


def outline_rows(table: pd.DataFrame) -> list[dict]:
    """One dict per row of a unit table (e.g. `rollup_units` over the top units), the total last:
    stt ("1", "2", ...; "" for the total), label, then the figures of `outline_values`."""
    rows = []
    n = 0
    for rec in table.to_dict("records"):
        is_total = rec["group"] == TOTAL
        if not is_total:
            n += 1
        label = TOTAL_LABEL_VI if is_total else str(rec.get("label") or rec["group"]).strip()
        rows.append({"stt": "" if is_total else str(n), "label": label, **outline_values(rec)})
    return rows
