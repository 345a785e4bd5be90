"""How current the data of a report is: the time of the last successful sync of its source (the
store's `sync_runs`), stated on every dashboard artifact, and the rule `reporting.max_data_age_hours`
(when set, a report refuses to compute from data older than that)."""

from __future__ import annotations

from datetime import datetime

from cchc.connectors.store import Store
from cchc.domain.calendar import VN_TZ  # the store's sync_runs times are the ward's local time
from cchc.domain.sources import SOURCE_NAMES_VI
from cchc.errors import UserError


class DataTooOld(UserError, ValueError):
    """The data of the source is older than reporting.max_data_age_hours (or was never synced)."""


def last_successful_sync(store: Store, source: str) -> datetime | None:
    """When the last sync of `source` that finished without error ended (local time, naive), or None."""
    done = [r["finished_at"] for r in store.runs(limit=1000)
            if r["source"] == source and r["status"] == "ok" and r["finished_at"] is not None]
    return max(done) if done else None


def sync_note(source: str, last: datetime | None) -> str:
    """The sentence every dashboard artifact carries about its data."""
    name = SOURCE_NAMES_VI.get(source, source)
    if last is None:
        return f"Dữ liệu ({name}): chưa có lần đồng bộ thành công nào."
    return f"Dữ liệu ({name}) đồng bộ thành công lần cuối lúc {last:%H:%M %d/%m/%Y}."


def check_data_age(source: str, last: datetime | None, max_hours: float | None,
                   now: datetime | None = None) -> None:
    """Refuse (DataTooOld) when `max_hours` is set and the last successful sync is older, or missing."""
    if max_hours is None:
        return
    now = now or datetime.now(VN_TZ).replace(tzinfo=None)
    name = SOURCE_NAMES_VI.get(source, source)
    hint = "chạy `cchc sync` (hoặc `cchc import-excel`) trước / sync first"
    if last is None:
        raise DataTooOld(f"{name}: chưa có lần đồng bộ thành công nào, không tính chỉ số "
                         f"(reporting.max_data_age_hours = {max_hours:g}) — {hint}")
    age_h = (now - last).total_seconds() / 3600
    if age_h > max_hours:
        raise DataTooOld(f"{name}: dữ liệu đồng bộ lần cuối lúc {last:%H:%M %d/%m/%Y}, cách đây "
                         f"{age_h:.0f} giờ, cũ hơn giới hạn reporting.max_data_age_hours = {max_hours:g} giờ "
                         f"— {hint}")
