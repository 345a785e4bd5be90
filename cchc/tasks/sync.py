"""Prefect tasks of the sync: one task per batch of pages (never per dossier).

Each page is stored in one transaction together with the cursor that says where to resume, so a
run killed at any moment resumes where it stopped and never stores a page twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.http import SourceError
from cchc.connectors.national import NationalPortalClient
from cchc.connectors.provincial import ProvincialClient
from cchc.connectors.store import QuarantineItem, Store
from cchc.domain.units import unit_resolver
from cchc.domain.wire import VN_TZ, strip_personal
from cchc.tasks.ingest import SyncCounts, parse_records, store_dossiers, store_page
from cchc.tasks.retry import network_retry_options

PROVINCIAL = "provincial"
NATIONAL = "national"
EXCEL = "excel"
DEFAULT_HISTORY_DAYS = 366


@dataclass
class SyncContext:
    cfg: Config
    store: Store
    calendar: object
    salt: bytes | None
    run_id: str
    _unit_of: Callable[[str], str] | None = field(default=None, init=False, repr=False)

    def unit_of(self, value: str) -> str:
        """The national id of the configured unit `value` names (code, id or name), else `value`."""
        if self._unit_of is None:
            self._unit_of = unit_resolver(self.cfg.units)
        return self._unit_of(value)


def provincial_client(cfg: Config) -> ProvincialClient:
    src = cfg.sources.provincial
    token = os.environ.get(src.token_env) if src.token_env else None
    return ProvincialClient.from_source(src, token=token)


def national_client(cfg: Config) -> NationalPortalClient:
    src = cfg.sources.national
    return NationalPortalClient(
        src.base_url,
        src.unit_code,
        username=os.environ.get(src.username_env),
        password=os.environ.get(src.password_env),
        login_path=src.login_path,
        service_path=src.service_path,
        batch_size=src.batch_size,
        timeout_s=src.timeout_s,
        deadline_s=getattr(src, "deadline_s", None),
        max_retries=src.max_retries,
        backoff_s=src.backoff_s,
    )


def plan_window(ctx: SyncContext, today: date, full: bool = False) -> dict:
    """Where this run starts: resume an interrupted window, or open a new incremental one.

    A new window starts at the earlier of (last high-water mark - look-back) and the oldest dossier
    still open in the store, so late status changes are caught; the first run starts at
    `sources.provincial.start_date` (default: one year back)."""
    src = ctx.cfg.sources.provincial
    cursor = ctx.store.get_cursor(PROVINCIAL) or {}
    if not full and cursor.get("next_page"):
        return {"from": cursor["window"]["from"], "to": cursor["window"]["to"], "start_page": cursor["next_page"],
                "high_water": cursor.get("high_water"), "resumed": True,
                "started_at": cursor.get("started_at") or now_iso()}
    high = cursor.get("high_water")
    if full or not high:
        start = src.start_date or (today - timedelta(days=DEFAULT_HISTORY_DAYS))
    else:
        start = date.fromisoformat(high) - timedelta(days=src.lookback_days)
        oldest_open = ctx.store.oldest_open_received(PROVINCIAL)
        if oldest_open is not None:
            start = min(start, oldest_open.date())
    # ask again for what is in quarantine: the list API filters by received date only
    retry = ctx.store.quarantine_retry_from(PROVINCIAL)
    if retry is not None:
        start = min(start, retry)
    return {"from": start.isoformat(), "to": today.isoformat(), "start_page": 1, "high_water": high,
            "resumed": False, "started_at": now_iso()}


def now_iso() -> str:
    """When a window or pass starts (the store's clock: Vietnam time, naive, to the microsecond like a
    quarantined record's `last_seen`)."""
    return datetime.now(VN_TZ).replace(tzinfo=None).isoformat()


@task(name="dong-bo-lo-trang-tinh", cache_policy=NO_CACHE, task_run_name="tỉnh: trang {start_page}+",
      **network_retry_options())
def provincial_batch(ctx: SyncContext, window: dict, start_page: int, max_pages: int) -> dict:
    """Fetch up to `max_pages` pages of the window and store each with its cursor."""
    client = provincial_client(ctx.cfg)
    wfrom, wto = date.fromisoformat(window["from"]), date.fromisoformat(window["to"])
    counts = SyncCounts()
    page, total_pages, next_page = start_page, None, None
    for _ in range(max_pages):
        try:
            p = client.fetch_page(wfrom, wto, page, unit=ctx.cfg.ward.national_id)
        except SourceError as e:  # pages stored before it stay stored and counted; the cursor says `page`
            if page == start_page:  # nothing stored by this batch: fail it (Prefect may retry it)
                raise
            return {"counts": counts.to_dict(), "next_page": page, "total_pages": total_pages, "error": e}
        total_pages = p.total_pages
        last = (not p.has_next) or page >= p.total_pages or not p.records
        next_page = None if last else page + 1
        cursor = {
            "window": {"from": window["from"], "to": window["to"]},
            "next_page": next_page,
            "total_pages": total_pages,
            "high_water": window["to"] if last else window.get("high_water"),
            "run_id": ctx.run_id,
            "started_at": window.get("started_at"),
        }
        _, c = store_page(ctx.store, PROVINCIAL, p.records, ctx.salt, ctx.calendar, cursor, run_id=ctx.run_id,
                          unit_of=ctx.unit_of, window=(wfrom, wto))
        counts.merge(c)
        if last:
            if window.get("started_at"):  # the whole window was read: what it did not quarantine again is fine
                ctx.store.resolve_quarantine(PROVINCIAL, wfrom, wto, datetime.fromisoformat(window["started_at"]))
            break
        page += 1
    return {"counts": counts.to_dict(), "next_page": next_page, "total_pages": total_pages}


@task(name="dong-bo-danh-muc-thu-tuc", cache_policy=NO_CACHE, **network_retry_options())
def national_procedures(ctx: SyncContext) -> int:
    """The procedure catalogue (LayThuTuc): full-online level, fee, paper result."""
    rows = []
    for r in national_client(ctx.cfg).procedures():
        code = str(r.get("MaTTHC") or "").strip()
        if not code:
            continue
        level = r.get("MucDo")
        days = r.get("SoNgayGiaiQuyet")
        rows.append({
            "code": code[:32],
            "name": str(r.get("TenTTHC") or "")[:500],
            "field_code": str(r.get("MaLinhVuc") or "")[:32],
            "field_name": str(r.get("TenLinhVuc") or "")[:300],
            "online_level": int(level) if str(level).isdigit() else None,
            "has_fee": _flag(r.get("CoPhi")),
            "result_paper": _flag(r.get("KetQuaGiay"), default=True),
            "working_days": int(float(days)) if _is_number(days) else None,
        })
    return ctx.store.upsert_procedures(rows)


@task(name="doi-chieu-cong-dvcqg", cache_policy=NO_CACHE, task_run_name="DVCQG: sau {after_code}",
      **network_retry_options())
def national_batch(ctx: SyncContext, received_from: str, after_code: str | None, max_codes: int,
                   started_at: str | None = None) -> dict:
    """Look up on the national portal (TraCuuHoSo) the provincial dossiers after `after_code`.
    `started_at`: when the pass began (kept in the cursor, to tell what a complete pass re-saw)."""
    client = national_client(ctx.cfg)
    batch = client.batch_size
    counts = SyncCounts()
    codes = next(
        ctx.store.iter_codes(PROVINCIAL, received_from=date.fromisoformat(received_from), batch=max_codes,
                             after_code=after_code),
        [],
    )
    last = after_code
    for i in range(0, len(codes), batch):
        chunk = codes[i : i + batch]
        try:
            records = list(client.lookup(chunk))
        except SourceError as e:  # lookups stored before it stay stored and counted
            if last == after_code:  # nothing stored by this batch: fail it (Prefect may retry it)
                raise
            return {"counts": counts.to_dict(), "after_code": last, "done": False, "error": e}
        last = chunk[-1]
        done = i + batch >= len(codes) and len(codes) < max_codes
        cursor = {"received_from": received_from, "after_code": None if done else last, "run_id": ctx.run_id,
                  "started_at": started_at}
        _, c = store_page(ctx.store, NATIONAL, records, ctx.salt, ctx.calendar, cursor, run_id=ctx.run_id,
                          unit_of=ctx.unit_of, window=(date.fromisoformat(received_from), None))
        counts.merge(c)
    if not codes:
        ctx.store.save_cursor(NATIONAL, {"received_from": received_from, "after_code": None, "run_id": ctx.run_id,
                                         "started_at": started_at})
    return {"counts": counts.to_dict(), "after_code": last, "done": len(codes) < max_codes}


@task(name="tra-cuu-lai-cach-ly-dvcqg", cache_policy=NO_CACHE)
def national_lookup_codes(ctx: SyncContext, codes: list[str]) -> dict:
    """Look up again on the national portal the quarantined records' codes: those served correctly
    now are stored (and leave quarantine). Returns the counts and the codes the portal did not return."""
    client = national_client(ctx.cfg)
    counts = SyncCounts()
    returned: set[str] = set()
    for i in range(0, len(codes), client.batch_size):
        chunk = codes[i : i + client.batch_size]
        try:
            records = list(client.lookup(chunk))
        except SourceError as e:
            return {"counts": counts.to_dict(), "missing": [], "error": e}
        returned.update(str(r.get("MaHoSo") or "").strip() for r in records)
        _, c = store_page(ctx.store, NATIONAL, records, ctx.salt, ctx.calendar, None, run_id=ctx.run_id,
                          unit_of=ctx.unit_of)
        counts.merge(c)
    return {"counts": counts.to_dict(), "missing": [c for c in codes if c not in returned]}


@task(name="nhap-excel", cache_policy=NO_CACHE)
def import_excel_file(ctx: SyncContext, path: str, batch_size: int = 2000, encoding: str | None = None) -> dict:
    """Import a one-stop Excel/CSV export: good rows stored, each bad row quarantined with row and column."""
    from cchc.connectors.excel_import import RowError, iter_export

    counts = SyncCounts()
    good, bad, row_errors = [], [], []
    name = os.path.basename(path)

    def flush():
        _, c = store_dossiers(ctx.store, EXCEL, good, bad, ctx.calendar, None, run_id=ctx.run_id, fetched=1,
                              unit_of=ctx.unit_of)
        counts.merge(c)
        good.clear()
        bad.clear()

    for _row, item in iter_export(path, source=EXCEL, encoding=encoding):
        if isinstance(item, RowError):
            reason = f"{name}, dòng {item.row}, cột '{item.column}': {item.reason}"
            row_errors.append(reason)
            bad.append(QuarantineItem(EXCEL, item.code, item.column, reason, {"file": name, "row": item.row}))
        else:
            good.append(item)
        if len(good) + len(bad) >= batch_size:
            flush()
    flush()
    counts.errors.extend(row_errors)
    return {"counts": counts.to_dict()}


def _flag(v, default: bool | None = None) -> bool | None:
    if v is None or v == "":
        return default
    return str(v).strip().lower() in ("1", "true", "co", "có", "x")


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S") + "-" + os.urandom(3).hex()


__all__ = [
    "SyncContext", "plan_window", "provincial_batch", "national_batch", "national_lookup_codes", "national_procedures",
    "import_excel_file", "parse_records", "strip_personal", "new_run_id",
]
