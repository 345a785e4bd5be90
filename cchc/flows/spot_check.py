"""The `spot_check` flow (kiểm tra đột xuất): thresholds crossed, complaints registered, a
leadership request, a random unannounced pick (RFC 3797, with the public sources); stored.

Artifacts: kiem-tra-dot-xuat-<ward>-<year>, ket-luan-<ward>-<year>."""

from __future__ import annotations

from datetime import date

from prefect import flow

from cchc.config import load_config
from cchc.tasks import spot_check as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import spot_run_name, tag_current_run


@flow(name="spot_check", flow_run_name=spot_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
def spot_check(sources: list[str] | None = None, unit: str | None = None, reason: str | None = None,
               today: str | None = None, config_path: str | None = None, source: str | None = None) -> dict:
    """Kiểm tra đột xuất: xét ngưỡng chỉ số, phản ánh, yêu cầu của lãnh đạo, chọn ngẫu nhiên (spot checks).

    Args:
        sources: Nguồn ngẫu nhiên công khai cho lượt chọn ngẫu nhiên (bắt buộc khi cấu hình có random_share và
            không có yêu cầu của lãnh đạo).
        unit: Mã đơn vị lãnh đạo yêu cầu kiểm tra (cùng reason).
        reason: Lý do lãnh đạo yêu cầu.
        today: Ngày xét (YYYY-MM-DD); để trống = hôm nay theo giờ của phường.
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        source: Nguồn số liệu: provincial, excel hoặc national; để trống = như chỉ số.
    """
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "kiem-tra-dot-xuat")
    day = date.fromisoformat(today) if today else cfg.today()
    store = t.open_store(cfg)
    spot = t.spot_task(store, cfg, day, list(sources or []), unit, reason, source)
    keys = [t.publish_spot(cfg, day, spot), t.publish_findings(store, cfg, day.year)]
    return spot | {"artifact_keys": keys}
