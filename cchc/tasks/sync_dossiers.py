"""Tasks of the sync_dossiers flow: the sync steps of `cchc.pipeline.sync` as named, retried,
observable Prefect tasks (one per batch of pages, never per dossier), the refresh of the months'
cells, and the artifacts the run publishes (progress bar, `dong-bo-<ward>`)."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain.text import format_int
from cchc.pipeline import period_cells
from cchc.pipeline import sync as pipeline
from cchc.pipeline.ingest import SyncCounts
from cchc.pipeline.sync import make_context, open_store, stopped_at, sync_summary
from cchc.report.labels import SOURCE_NAMES_VI
from cchc.tasks.artifacts import Progress, artifact_key, publish_table, start_progress, update_progress
from cchc.tasks.retry import network_retry_options

__all__ = ["TASK_STEPS", "make_context", "open_store", "publish_sync_result", "refresh_cells", "run_sources",
           "start_sync_progress", "stopped_at", "sync_summary"]

provincial_batch = task(pipeline.provincial_batch, name="dong-bo-lo-trang-tinh", cache_policy=NO_CACHE,
                        task_run_name="tỉnh: trang {start_page}+", **network_retry_options())
national_procedures = task(pipeline.national_procedures, name="dong-bo-danh-muc-thu-tuc", cache_policy=NO_CACHE,
                           **network_retry_options())
national_batch = task(pipeline.national_batch, name="doi-chieu-cong-dvcqg", cache_policy=NO_CACHE,
                      task_run_name="DVCQG: sau {after_code}", **network_retry_options())
national_lookup_codes = task(pipeline.national_lookup_codes, name="tra-cuu-lai-cach-ly-dvcqg", cache_policy=NO_CACHE)
import_excel_file = task(pipeline.import_excel_file, name="nhap-excel", cache_policy=NO_CACHE)

#: The pipeline's steps as Prefect tasks: what the flow runs.
TASK_STEPS = pipeline.Steps(provincial_batch=provincial_batch, national_procedures=national_procedures,
                            national_batch=national_batch, national_lookup_codes=national_lookup_codes,
                            import_excel_file=import_excel_file)


def run_sources(ctx, run_day: date, progress: Progress | None = None, **kwargs) -> tuple[SyncCounts, list[str]]:
    """`cchc.pipeline.sync.run_sources` with its steps as tasks, moving the run's progress bar."""
    return pipeline.run_sources(ctx, run_day, steps=TASK_STEPS, progress=lambda pct: update_progress(progress, pct),
                                **kwargs)


def start_sync_progress(cfg: Config) -> Progress:
    return start_progress(artifact_key("tien-do-dong-bo", cfg.ward.slug), f"Tiến độ đồng bộ — {cfg.ward.name}")


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


def publish_sync_result(cfg: Config, counts: SyncCounts, summary: dict, errors: list[str], log) -> None:
    """The `dong-bo-<ward>` artifact (a row per source and unit, the total last) and the run's last log line."""
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
    publish_table(artifact_key("dong-bo", cfg.ward.slug), rows, desc)
    log.info("Đồng bộ xong: lấy %s, thêm %s, cập nhật %s, cách ly %s; kho có %s hồ sơ",
             *(format_int(summary[k]) for k in ("fetched", "inserted", "updated", "quarantined", "total")))
