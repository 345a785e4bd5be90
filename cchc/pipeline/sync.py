"""The sync pipeline, without orchestration: read the provincial system, the national portal or an
Excel export page by page and store each page in one transaction together with the cursor that says
where to resume, so a run killed at any moment resumes where it stopped and never stores a page twice.

The steps (`provincial_batch`, `national_batch`, ...) are plain functions: `run_sources` calls them
directly by default (tests, benchmarks) and the sync_dossiers flow passes the same functions wrapped
as Prefect tasks (`cchc.tasks.sync_dossiers.TASK_STEPS`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from prefect.exceptions import (
    TerminationSignal,  # how a run being cancelled unwinds (recorded as interrupted)
)

from cchc.config import Config
from cchc.connectors.http import SourceError
from cchc.connectors.national import NationalPortalClient
from cchc.connectors.provincial import ProvincialClient
from cchc.connectors.store import QuarantineItem, Store, StoreError
from cchc.domain.catalogue import procedure_rows
from cchc.domain.sources import SOURCE_NAMES_VI
from cchc.domain.units import unit_resolver
from cchc.domain.wire import VN_TZ
from cchc.pipeline.ingest import COUNT_KEYS, SyncCounts, store_dossiers, store_page
from cchc.pipeline.progress import report as report_progress

PROVINCIAL = "provincial"


NATIONAL = "national"


EXCEL = "excel"


DEFAULT_HISTORY_DAYS = 366


#: How long a sync waits for another one on the same store to finish before saying it is busy.
LOCK_WAIT_S = 60.0


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


def open_store(cfg: Config) -> Store:
    store = Store(cfg.database_url)
    store.migrate()
    return store


def make_context(cfg: Config, store: Store) -> SyncContext:
    return SyncContext(cfg=cfg, store=store, calendar=cfg.make_calendar(), salt=cfg.salt(), run_id=new_run_id())


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
        done = p.total_count if last else min(p.total_count, page * client.page_size)
        report_progress(done, p.total_count, label=SOURCE_NAMES_VI[PROVINCIAL])  # the terminal's bar, if any
        if last:
            if window.get("started_at"):  # the whole window was read: what it did not quarantine again is fine
                ctx.store.resolve_quarantine(PROVINCIAL, wfrom, wto, datetime.fromisoformat(window["started_at"]))
            break
        page += 1
    return {"counts": counts.to_dict(), "next_page": next_page, "total_pages": total_pages}


def national_procedures(ctx: SyncContext) -> int:
    """The procedure catalogue (LayThuTuc): full-online level, fee, paper result."""
    return ctx.store.upsert_procedures(procedure_rows(national_client(ctx.cfg).procedures()))


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


def import_excel_file(ctx: SyncContext, path: str, batch_size: int = 2000, encoding: str | None = None) -> dict:
    """Import a one-stop Excel/CSV export: good rows stored, each bad row quarantined with row and column.

    A code read twice: the later row is quarantined, saying which row has it first. The codes read
    so far are kept in the store (`Store.claim_import_rows`, a page at a time), not in memory, so a
    million-row file takes the memory of a page."""
    from cchc.connectors.excel_import import RowError, iter_export

    counts = SyncCounts()
    page: list[tuple[int, object]] = []  # (row, Dossier | RowError) in the file's order
    row_errors: list[str] = []
    name = os.path.basename(path)
    store = ctx.store

    def flush(stream):
        firsts: dict[str, int] = {}  # code -> its first row in the page
        for row, item in page:
            if item.__class__ is not RowError:
                firsts.setdefault(item.code, row)
        earlier = store.claim_import_rows(ctx.run_id, firsts) if firsts else {}  # code -> row of an earlier page
        good, bad = [], []
        for row, item in page:
            if item.__class__ is not RowError:
                first = earlier.get(item.code) or firsts[item.code]
                if first == row:
                    good.append(item)
                    continue
                item = _repeated(stream, row, item, first)
            reason = f"{name}, dòng {item.row}, cột '{item.column}': {item.reason}"
            row_errors.append(reason)
            bad.append(QuarantineItem(EXCEL, item.code, item.column, reason, {"file": name, "row": item.row}))
        _, c = store_dossiers(store, EXCEL, good, bad, ctx.calendar, None, run_id=ctx.run_id, fetched=1,
                              unit_of=ctx.unit_of)
        counts.merge(c)
        page.clear()

    # The sync lock is held (run_sources): no other import is under way, so what is recorded is a
    # killed import's, and this one's is dropped whole when it ends.
    store.forget_import_rows()
    done = 0
    try:
        with iter_export(path, source=EXCEL, encoding=encoding, duplicates=False) as stream:
            for item in stream:
                page.append(item)
                if len(page) >= batch_size:
                    done += len(page)
                    flush(stream)
                    _report_import(done, stream.fraction_read(), name)
            done += len(page)
            flush(stream)
            _report_import(done, 1.0, name)
    finally:
        store.forget_import_rows()
    counts.errors.extend(row_errors)
    return {"counts": counts.to_dict()}


def _repeated(stream, row: int, dossier, first: int):
    """The error of a row whose code an earlier row (`first`) has: as the stream would have said it."""
    from cchc.connectors.excel_import import RowError

    return RowError(row, stream.columns_mapped["Mã hồ sơ"], f"mã hồ sơ trùng với dòng {first}", dossier.code)


def _report_import(done: int, fraction: float, name: str) -> None:
    """Rows done so far, and the total they point to from how far through the file they are (an
    export's own row count is often wrong): the progress bar's rate and time left."""
    total = round(done / fraction) if fraction > 0 else None
    report_progress(done, max(total, done) if total is not None else None, label=f"Nhập {name}", unit="dòng")


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S") + "-" + os.urandom(3).hex()


@dataclass(frozen=True)
class Steps:
    """The steps a sync calls: plain functions (`PLAIN_STEPS`), or the same wrapped as Prefect tasks."""

    provincial_batch: Callable = provincial_batch
    national_procedures: Callable = national_procedures
    national_batch: Callable = national_batch
    national_lookup_codes: Callable = national_lookup_codes
    import_excel_file: Callable = import_excel_file


PLAIN_STEPS = Steps()


def run_sources(ctx, run_day: date, *, sources=None, excel_file=None, full=False, pages_per_task=20,
                codes_per_task=5000, progress=None, log=None, steps: Steps = PLAIN_STEPS,
                excel_encoding=None, lock_wait_s: float = LOCK_WAIT_S) -> tuple[SyncCounts, list[str]]:
    """The body of the flow, holding the store's sync lock (one sync at a time per store: a second
    one waits up to `lock_wait_s` seconds, then SyncBusy says which run holds it). `steps`: the
    plain step functions (default), or the flow's Prefect tasks wrapping them; `progress(percent)`
    is told how far the provincial pages have got."""
    with ctx.store.sync_lock(ctx.run_id, wait_s=lock_wait_s):
        return _run_sources(ctx, run_day, sources=sources, excel_file=excel_file, full=full,
                            pages_per_task=pages_per_task, codes_per_task=codes_per_task, progress=progress,
                            log=log, steps=steps, excel_encoding=excel_encoding)


def _run_sources(ctx, run_day: date, *, sources, excel_file, full, pages_per_task, codes_per_task, progress, log,
                 steps: Steps, excel_encoding=None) -> tuple[SyncCounts, list[str]]:
    log = log or logging.getLogger("cchc.sync")
    cfg = ctx.cfg
    counts = SyncCounts()
    errors: list[str] = []
    if excel_file:
        _tracked(ctx, "excel", counts, errors, lambda: counts.merge(
            SyncCounts.from_dict(steps.import_excel_file(ctx, excel_file, 2000, excel_encoding)["counts"])))
        return counts, errors
    wanted = sources or [s for s in ("provincial", "national") if getattr(cfg.sources, s) is not None]
    for s in wanted:
        if getattr(cfg.sources, s, None) is None:
            errors.append(f"sources.{s}: nguồn chưa được cấu hình (source not configured)")
    if "provincial" in wanted and cfg.sources.provincial is not None:
        _tracked(ctx, "provincial", counts, errors,
                 lambda: _sync_provincial(ctx, run_day, full, pages_per_task, counts, progress, log, steps))
    if "national" in wanted and cfg.sources.national is not None:
        _tracked(ctx, "national", counts, errors,
                 lambda: _sync_national(ctx, run_day, codes_per_task, counts, log, steps))
    return counts, errors


def _tracked(ctx, source: str, counts: SyncCounts, errors: list[str], work) -> None:
    """Run one source's sync, recording it in `sync_runs` (status, counts, error) for the audit trail.
    Never left "running": an interruption (Ctrl+C, SIGTERM) is recorded as "interrupted"."""
    ctx.store.start_run(ctx.run_id, source)
    before = counts.total(source)
    try:
        work()
    except (SourceError, StoreError) as e:
        errors.append(f"{SOURCE_NAMES_VI[source]}: {e}")
        ctx.store.finish_run(ctx.run_id, source, "failed", counts.total(source) - before, error=str(e))
        return
    except BaseException as e:
        stopped = isinstance(e, (KeyboardInterrupt, TerminationSignal))
        error = (f"bị dừng giữa chừng ({type(e).__name__}) / interrupted" if stopped
                 else f"{type(e).__name__}: {e}"[:500])
        with contextlib.suppress(Exception):  # the page in hand was rolled back; say so if the store still answers
            ctx.store.finish_run(ctx.run_id, source, "interrupted" if stopped else "failed",
                                 counts.total(source) - before, error=error)
        raise
    ctx.store.finish_run(ctx.run_id, source, "ok", counts.total(source) - before)


def sync_summary(counts: SyncCounts, store: Store, errors: list[str]) -> dict:
    """What a sync returns: counts in total and by source, the store's size, row errors, errors."""
    total = counts.total()
    out = {k: int(total[k]) for k in COUNT_KEYS}
    out["total"] = store.count_dossiers()
    out["by_source"] = {
        s: {k: int(v) for k, v in counts.total(s).items()} | {"total": store.count_dossiers(s)}
        for s in sorted({src for src, _ in counts.by_key})
    }
    out["row_errors"] = counts.errors[:200]
    out["row_errors_total"] = len(counts.errors)  # all of them are in quarantine
    out["errors"] = errors
    return out


def stopped_at(store: Store, errors: list[str]) -> str:
    """Where a failed sync stopped, in words: the source, and the page or code it resumes from."""
    where = []
    if any(e.startswith(SOURCE_NAMES_VI["provincial"]) for e in errors):
        c = store.get_cursor("provincial") or {}
        if c.get("next_page"):
            where.append(f"{SOURCE_NAMES_VI['provincial']}: trang {c['next_page']}/{c.get('total_pages') or '?'}"
                         " (lần sau chạy tiếp từ trang này)")
        else:
            where.append(f"{SOURCE_NAMES_VI['provincial']}: chưa lấy được trang nào")
    if any(e.startswith(SOURCE_NAMES_VI["national"]) for e in errors):
        c = store.get_cursor("national") or {}
        after = c.get("after_code")
        where.append(f"{SOURCE_NAMES_VI['national']}: " + (f"sau mã {after}" if after else "từ đầu"))
    if any(e.startswith(SOURCE_NAMES_VI["excel"]) for e in errors):
        where.append(SOURCE_NAMES_VI["excel"])
    return "; ".join(where) or "không rõ"


def _sync_provincial(ctx, run_day, full, pages_per_task, counts, progress, log, steps: Steps) -> None:
    window = plan_window(ctx, run_day, full=full)
    log.info("Hệ thống tỉnh: cửa sổ %s → %s, từ trang %s%s", window["from"], window["to"], window["start_page"],
             " (tiếp tục lần chạy bị gián đoạn)" if window["resumed"] else "")
    page = window["start_page"]
    while page:
        res = steps.provincial_batch(ctx, window, page, pages_per_task)
        counts.merge(SyncCounts.from_dict(res["counts"]))
        total_pages = res["total_pages"] or 1
        page = res["next_page"]
        done = (page - 1) if page else total_pages
        if progress is not None:  # pages stored before a failure count: the bar stops where the run did
            progress(90.0 * done / max(total_pages, 1))
        if res.get("error") is not None:
            raise res["error"]


def _sync_national(ctx, run_day, codes_per_task, counts, log, steps: Steps) -> None:
    """Look up on the portal the provincial dossiers of the provincial window (and the oldest of the
    quarantined national records). An interrupted pass is finished first, even when the new window
    differs: its remaining dossiers would otherwise wait for the next full sync."""
    store = ctx.store
    run_started = now_iso()
    cursor = store.get_cursor("national") or {}
    prov = store.get_cursor("provincial") or {}
    received_from = (prov.get("window") or {}).get("from") or run_day.isoformat()
    n_proc = steps.national_procedures(ctx)  # the catalogue first: it also checks the portal is reachable
    log.info("Cổng DVCQG: danh mục %s thủ tục", n_proc)
    missing: list[str] = []
    keys = store.quarantine_keys("national")
    if keys:  # quarantined records asked for again by code
        res = steps.national_lookup_codes(ctx, keys)
        counts.merge(SyncCounts.from_dict(res["counts"]))
        if res.get("error") is not None:
            raise res["error"]
        missing = res["missing"]
        log.info("Cổng DVCQG: tra cứu lại %s hồ sơ bị cách ly", len(keys))
    # records without a usable code: found again by a pass from the date they came from
    retry = store.quarantine_retry_from("national", keys=missing, keyless=True)
    if retry is not None and retry.isoformat() < received_from:
        received_from = retry.isoformat()
    pending_from, after = cursor.get("received_from"), cursor.get("after_code")
    started = cursor.get("started_at")
    if after and pending_from and pending_from != received_from:
        log.info("Cổng DVCQG: hoàn tất lần đối chiếu bị gián đoạn (tiếp nhận từ %s, sau mã %s)", pending_from, after)
        _national_pass(ctx, pending_from, after, started, codes_per_task, counts, steps)
        after = None
    if not after:
        started = run_started
    log.info("Cổng DVCQG: đối chiếu hồ sơ tiếp nhận từ %s%s", received_from, f", sau mã {after}" if after else "")
    _national_pass(ctx, received_from, after, started, codes_per_task, counts, steps)


def _national_pass(ctx, received_from: str, after: str | None, started: str | None, codes_per_task: int,
                   counts: SyncCounts, steps: Steps) -> None:
    """One pass over the provincial codes received since `received_from`, after the code `after`."""
    while True:
        res = steps.national_batch(ctx, received_from, after, codes_per_task, started)
        counts.merge(SyncCounts.from_dict(res["counts"]))
        if res.get("error") is not None:
            raise res["error"]
        after = res["after_code"]
        if res["done"]:
            break
    if started:  # a complete pass: what it did not quarantine again is fine now
        ctx.store.resolve_quarantine("national", date.fromisoformat(received_from), None,
                                     datetime.fromisoformat(started))
