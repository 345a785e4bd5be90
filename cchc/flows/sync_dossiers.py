"""The `sync_dossiers` flow: provincial system -> store, national portal lookups -> store, or an
Excel export -> store. Publishes `dong-bo-<ward>` (a table per source and unit) and a progress
artifact while it runs."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import TerminationSignal

from cchc.config import Config, load_config
from cchc.connectors.http import SourceError
from cchc.connectors.store import Store, StoreError
from cchc.domain.sources import SOURCE_NAMES_VI
from cchc.domain.text import format_int
from cchc.errors import UserError
from cchc.flows.limits import ward_store_slot
from cchc.flows.naming import sync_run_name, tag_current_run
from cchc.tasks import period_cells
from cchc.tasks import sync as t
from cchc.tasks.artifacts import artifact_key, publish_table, start_progress, update_progress
from cchc.tasks.ingest import COUNT_KEYS, SyncCounts

#: How long a sync waits for another one on the same store to finish before saying it is busy.
LOCK_WAIT_S = 60.0


class SyncFailed(UserError, RuntimeError):
    """The run could not finish; what was stored stays stored and the cursor is where it stopped."""


def open_store(cfg: Config) -> Store:
    store = Store(cfg.database_url)
    store.migrate()
    return store


def make_context(cfg: Config, store: Store) -> t.SyncContext:
    return t.SyncContext(cfg=cfg, store=store, calendar=cfg.make_calendar(), salt=cfg.salt(), run_id=t.new_run_id())


@flow(name="sync_dossiers", log_prints=False, flow_run_name=sync_run_name)
def sync_dossiers(
    config_path: str | None = None,
    sources: list[str] | None = None,
    excel_file: str | None = None,
    full: bool = False,
    today: str | None = None,
    pages_per_task: int = 20,
    codes_per_task: int = 5000,
    excel_encoding: str | None = None,
) -> dict:
    """Đồng bộ hồ sơ TTHC vào kho dữ liệu (Sync TTHC dossiers into the store).

    Hai lần đồng bộ cùng một kho không bao giờ chạy chồng nhau: lần sau chờ lần trước (giới hạn
    đồng thời toàn cục của Prefect, một chỗ cho mỗi kho).

    Args:
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        sources: Nguồn cần đồng bộ: "provincial" (hệ thống tỉnh), "national" (Cổng DVCQG); để trống = mọi nguồn đã cấu hình.
        excel_file: Đường dẫn tệp Excel/CSV xuất từ một cửa: nhập tệp này thay cho đồng bộ qua API.
        full: Lấy lại toàn bộ từ ngày bắt đầu thay vì chỉ phần mới (chạy đêm Chủ nhật).
        today: Ngày chạy (YYYY-MM-DD); để trống = hôm nay theo giờ của phường.
        pages_per_task: Số trang của hệ thống tỉnh trong một bước (task).
        codes_per_task: Số mã hồ sơ đối chiếu với Cổng DVCQG trong một bước (task).
        excel_encoding: Bảng mã của tệp CSV (ví dụ cp1258); để trống = tự nhận UTF-8/UTF-16 theo BOM.
    """
    log = get_run_logger()
    cfg = load_config(config_path)
    slug = cfg.ward.slug
    tag_current_run(slug, "nhap-excel" if excel_file else "dong-bo")
    with ward_store_slot(slug, cfg.database_url, log):
        return _sync_body(cfg, log, sources=sources, excel_file=excel_file, full=full, today=today,
                          pages_per_task=pages_per_task, codes_per_task=codes_per_task,
                          excel_encoding=excel_encoding)


def _sync_body(cfg: Config, log, *, sources, excel_file, full, today, pages_per_task, codes_per_task,
               excel_encoding=None) -> dict:
    store = open_store(cfg)
    ctx = make_context(cfg, store)
    run_day = date.fromisoformat(today) if today else cfg.today()
    slug = cfg.ward.slug
    progress = start_progress(artifact_key("tien-do-dong-bo", slug), f"Tiến độ đồng bộ — {cfg.ward.name}")
    try:
        counts, errors = run_sources(ctx, run_day, sources=sources, excel_file=excel_file, full=full,
                                     pages_per_task=pages_per_task, codes_per_task=codes_per_task,
                                     progress=progress, log=log, excel_encoding=excel_encoding)
    except Exception as e:
        progress.fail("giữa chừng", str(e))
        raise
    if errors:
        progress.fail(stopped_at(store, errors), "; ".join(errors))
    if excel_file:
        refresh_cells(store, cfg, "excel", run_day)
    elif sources is None or "provincial" in sources:
        refresh_cells(store, cfg, "provincial", run_day)
    if not errors:
        progress.finish()

    summary = _summary(counts, store, errors)
    unit_names = {u.national_id: u.name for u in cfg.units}
    rows = [
        {"Nguồn": SOURCE_NAMES_VI.get(r["source"], r["source"]), "Mã đơn vị": r["unit"],
         "Đơn vị": unit_names.get(r["unit"], r["unit"]), "Đã lấy": r["fetched"],
         "Thêm mới": r["inserted"], "Cập nhật": r["updated"], "Không đổi": r["unchanged"],
         "Cách ly (lỗi)": r["quarantined"]}
        for r in counts.rows()
    ]
    total = counts.total()
    rows.append({"Nguồn": "TỔNG", "Mã đơn vị": "", "Đơn vị": "", "Đã lấy": total["fetched"], "Thêm mới": total["inserted"],
                 "Cập nhật": total["updated"], "Không đổi": total["unchanged"], "Cách ly (lỗi)": total["quarantined"]})
    desc = f"Kết quả đồng bộ hồ sơ — {cfg.ward.name} — {cfg.now():%d/%m/%Y %H:%M}"
    if errors:
        desc += "\n\nLỗi: " + "; ".join(errors)
    publish_table(artifact_key("dong-bo", slug), rows, desc)
    log.info("Đồng bộ xong: lấy %s, thêm %s, cập nhật %s, cách ly %s; kho có %s hồ sơ",
             *(format_int(summary[k]) for k in ("fetched", "inserted", "updated", "quarantined", "total")))
    if errors:
        raise SyncFailed("; ".join(errors))
    return summary


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


@task(name="cap-nhat-o-so-lieu", cache_policy=NO_CACHE, task_run_name="cập nhật ô số liệu: {source}")
def refresh_cells(store: Store, cfg: Config, source: str, run_day: date) -> dict:
    """Keep the recent months' cells current (the reports compose periods from them). A failure here
    loses nothing: a report recomputes an out-of-date month from the rows."""
    log = get_run_logger()
    try:
        done = period_cells.refresh(store, cfg, source=source, today=run_day)
    except Exception as e:  # noqa: BLE001 — the sync itself succeeded; say why and go on
        log.warning("Không cập nhật được ô số liệu các tháng (%s): %s — báo cáo sẽ tính lại từ hồ sơ", source, e)
        return {"computed": [], "error": str(e)}
    if done["computed"]:
        log.info("Đã tính lại ô số liệu %s tháng (%s): %s", len(done["computed"]), source,
                 ", ".join(done["computed"]))
    return done


def run_sources(ctx, run_day: date, *, sources=None, excel_file=None, full=False, pages_per_task=20,
                codes_per_task=5000, progress=None, log=None, plain=False,
                excel_encoding=None, lock_wait_s: float = LOCK_WAIT_S) -> tuple[SyncCounts, list[str]]:
    """The body of the flow, holding the store's sync lock (one sync at a time per store: a second
    one waits up to `lock_wait_s` seconds, then SyncBusy says which run holds it). `plain=True`
    calls the task functions directly (no Prefect orchestration): used by the benchmark and by
    tests that kill a run mid-way."""
    with ctx.store.sync_lock(ctx.run_id, wait_s=lock_wait_s):
        return _run_sources(ctx, run_day, sources=sources, excel_file=excel_file, full=full,
                            pages_per_task=pages_per_task, codes_per_task=codes_per_task, progress=progress,
                            log=log, plain=plain, excel_encoding=excel_encoding)


def _run_sources(ctx, run_day: date, *, sources, excel_file, full, pages_per_task, codes_per_task, progress, log,
                 plain, excel_encoding=None) -> tuple[SyncCounts, list[str]]:
    import logging

    log = log or logging.getLogger("cchc.sync")
    cfg = ctx.cfg
    call = _plain if plain else _orchestrated
    counts = SyncCounts()
    errors: list[str] = []
    if excel_file:
        _tracked(ctx, "excel", counts, errors, lambda: counts.merge(
            SyncCounts.from_dict(call(t.import_excel_file, ctx, excel_file, 2000, excel_encoding)["counts"])))
        return counts, errors
    wanted = sources or [s for s in ("provincial", "national") if getattr(cfg.sources, s) is not None]
    for s in wanted:
        if getattr(cfg.sources, s, None) is None:
            errors.append(f"sources.{s}: nguồn chưa được cấu hình (source not configured)")
    if "provincial" in wanted and cfg.sources.provincial is not None:
        _tracked(ctx, "provincial", counts, errors,
                 lambda: _sync_provincial(ctx, run_day, full, pages_per_task, counts, progress, log, call))
    if "national" in wanted and cfg.sources.national is not None:
        _tracked(ctx, "national", counts, errors,
                 lambda: _sync_national(ctx, run_day, codes_per_task, counts, log, call))
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


def _plain(task_obj, *args):
    return task_obj.fn(*args)


def _orchestrated(task_obj, *args):
    return task_obj(*args)


def _summary(counts: SyncCounts, store: Store, errors: list[str]) -> dict:
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


def _sync_provincial(ctx, run_day, full, pages_per_task, counts, progress, log, call) -> None:
    window = t.plan_window(ctx, run_day, full=full)
    log.info("Hệ thống tỉnh: cửa sổ %s → %s, từ trang %s%s", window["from"], window["to"], window["start_page"],
             " (tiếp tục lần chạy bị gián đoạn)" if window["resumed"] else "")
    page = window["start_page"]
    while page:
        res = call(t.provincial_batch, ctx, window, page, pages_per_task)
        counts.merge(SyncCounts.from_dict(res["counts"]))
        total_pages = res["total_pages"] or 1
        page = res["next_page"]
        done = (page - 1) if page else total_pages
        if progress is not None:  # pages stored before a failure count: the bar stops where the run did
            update_progress(progress, 90.0 * done / max(total_pages, 1))
        if res.get("error") is not None:
            raise res["error"]


def _sync_national(ctx, run_day, codes_per_task, counts, log, call) -> None:
    """Look up on the portal the provincial dossiers of the provincial window (and the oldest of the
    quarantined national records). An interrupted pass is finished first, even when the new window
    differs: its remaining dossiers would otherwise wait for the next full sync."""
    store = ctx.store
    run_started = t.now_iso()
    cursor = store.get_cursor("national") or {}
    prov = store.get_cursor("provincial") or {}
    received_from = (prov.get("window") or {}).get("from") or run_day.isoformat()
    n_proc = call(t.national_procedures, ctx)  # the catalogue first: it also checks the portal is reachable
    log.info("Cổng DVCQG: danh mục %s thủ tục", n_proc)
    missing: list[str] = []
    keys = store.quarantine_keys("national")
    if keys:  # quarantined records asked for again by code
        res = call(t.national_lookup_codes, ctx, keys)
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
        _national_pass(ctx, pending_from, after, started, codes_per_task, counts, call)
        after = None
    if not after:
        started = run_started
    log.info("Cổng DVCQG: đối chiếu hồ sơ tiếp nhận từ %s%s", received_from, f", sau mã {after}" if after else "")
    _national_pass(ctx, received_from, after, started, codes_per_task, counts, call)


def _national_pass(ctx, received_from: str, after: str | None, started: str | None, codes_per_task: int,
                   counts: SyncCounts, call) -> None:
    """One pass over the provincial codes received since `received_from`, after the code `after`."""
    while True:
        res = call(t.national_batch, ctx, received_from, after, codes_per_task, started)
        counts.merge(SyncCounts.from_dict(res["counts"]))
        if res.get("error") is not None:
            raise res["error"]
        after = res["after_code"]
        if res["done"]:
            break
    if started:  # a complete pass: what it did not quarantine again is fine now
        ctx.store.resolve_quarantine("national", date.fromisoformat(received_from), None,
                                     datetime.fromisoformat(started))
