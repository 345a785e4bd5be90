"""The words people read for the figures: one place for the labels of counts, rates and groupings
(source names live with the source rules in `cchc.domain.sources`, status names with the records in
`cchc.domain.records`; both are re-exported here for report code)."""

from __future__ import annotations

from cchc.domain.records import CHANNEL_NAMES_VI, STATUS_NAMES_VI
from cchc.domain.sources import SOURCE_NAMES_VI, source_label

__all__ = ["BY_LABELS_VI", "CHANNEL_NAMES_VI", "COUNT_LABELS_VI", "RATE_LABELS_VI", "SOURCE_NAMES_VI",
           "STATUS_NAMES_VI", "source_label"]

RATE_LABELS_VI = {
    "on_time_rate": "Tỉ lệ đúng hạn",
    "progress_766_rate": "Tiến độ (766)",
    "online_rate": "Tỉ lệ trực tuyến",
    "full_online_rate": "Trực tuyến toàn trình",
    "online_payment_rate": "Thanh toán trực tuyến",
    "digitization_rate": "Số hóa",
    "reuse_rate": "Tái sử dụng",
    "postal_rate": "Bưu chính",
    "satisfaction_rate": "Hài lòng",
    "apology_rate": "Xin lỗi khi trễ hạn",
}


COUNT_LABELS_VI = {
    "received": "Tổng tiếp nhận",
    "received_online": "Trực tuyến",
    "received_in_person_postal": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước chuyển sang",
    "resolved": "Đã giải quyết",
    "early": "Trước hạn",
    "on_time": "Đúng hạn",
    "late": "Quá hạn",
    "pending": "Đang giải quyết",
    "pending_in_time": "Đang GQ trong hạn",
    "pending_overdue": "Đang GQ quá hạn",
}


BY_LABELS_VI = {"unit": "Đơn vị", "officer": "Cán bộ", "procedure": "Thủ tục", "field": "Lĩnh vực",
                "channel": "Kênh"}
