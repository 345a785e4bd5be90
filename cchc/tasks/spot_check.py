"""Tasks of the spot_check flow: the triggers (thresholds, complaints, a leadership request, a
random pick) in one task; the artifact kiem-tra-dot-xuat-<ward>-<year> and the findings."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.pipeline import inspections as pi
from cchc.pipeline.sync import open_store
from cchc.tasks.artifacts import artifact_key, publish_table
from cchc.tasks.plan_inspections import publish_findings

__all__ = ["open_store", "spot_task", "publish_spot", "publish_findings"]


@task(name="kiem-tra-dot-xuat", cache_policy=NO_CACHE)
def spot_task(store: Store, cfg: Config, today: date, sources: list[str], unit: str | None, reason: str | None,
              source: str | None) -> dict:
    sid, result = pi.spot_check(store, cfg, today, sources, unit=unit, reason=reason, source=source)
    return pi.spot_json(sid, result)


def publish_spot(cfg: Config, today: date, spot: dict) -> str:
    key = artifact_key("kiem-tra-dot-xuat", cfg.ward.slug, str(today.year))
    names = {u.code: u.name for u in cfg.units}
    rows = [{"Đơn vị": names.get(t["unit"], t["unit"]), "Căn cứ": t["reason"],
             "Ngày": date.fromisoformat(t["fired_on"]).strftime("%d/%m/%Y")} for t in spot["triggers"]]
    publish_table(key, rows or [{"Đơn vị": "", "Căn cứ": "không có căn cứ kiểm tra đột xuất nào", "Ngày": ""}],
                  f"Kiểm tra đột xuất — {cfg.ward.name} — {today:%d/%m/%Y} — mã lựa chọn {spot['selection_id']}"
                  + (f" — khóa RFC 3797 {spot['key']}" if spot["key"] else ""))
    return key
