"""The `sync_dossiers` flow: provincial system -> store, national portal lookups -> store, or an
Excel export -> store. Publishes `dong-bo-<ward>` (a table per source and unit) and a progress
artifact while it runs. The steps are the tasks of `cchc.tasks.sync_dossiers`."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from cchc.config import Config, load_config
from cchc.errors import UserError
from cchc.flows.limits import ward_store_slot
from cchc.tasks import sync_dossiers as t
from cchc.tasks.alerts import alert_it_officer
from cchc.tasks.naming import sync_run_name, tag_current_run


class SyncFailed(UserError, RuntimeError):
    """The run could not finish; what was stored stays stored and the cursor is where it stopped."""


@flow(name="sync_dossiers", log_prints=False, flow_run_name=sync_run_name, on_failure=[alert_it_officer],
      on_crashed=[alert_it_officer])
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
    store = t.open_store(cfg)
    ctx = t.make_context(cfg, store)
    run_day = date.fromisoformat(today) if today else cfg.today()
    progress = t.start_sync_progress(cfg)
    try:
        counts, errors = t.run_sources(ctx, run_day, sources=sources, excel_file=excel_file, full=full,
                                       pages_per_task=pages_per_task, codes_per_task=codes_per_task,
                                       progress=progress, log=log, excel_encoding=excel_encoding)
    except Exception as e:
        progress.fail("giữa chừng", str(e))
        raise
    if errors:
        progress.fail(t.stopped_at(store, errors), "; ".join(errors))
    if excel_file:
        t.refresh_cells(store, cfg, "excel", run_day)
    elif sources is None or "provincial" in sources or "national" in sources:
        # the national copies too: the provincial months' reconciliation cells depend on them
        t.refresh_cells(store, cfg, "provincial", run_day)
    if not errors:
        progress.finish()

    summary = t.sync_summary(counts, store, errors)
    t.publish_sync_result(cfg, counts, summary, errors, log)
    if errors:
        raise SyncFailed("; ".join(errors))
    return summary
