"""The `compute_indicators` flow: indicators of a period from the store, published to the Prefect UI
with stable keys, Biểu 06 written to var/reports/.

Artifacts (ward = slug of the ward's name, period = e.g. 2026-10, 2026-q3):
  chi-so-don-vi-<ward>-<period>, chi-so-can-bo-..., chi-so-thu-tuc-..., chi-so-linh-vuc-...,
  chi-so-kenh-..., bieu-06-<ward>-<period> (by field), bieu-06a-<ward>-<period> (by unit),
  doi-soat-<ward>-<period> (summary per unit), doi-soat-chi-tiet-<ward>-<period> (the mismatching
  dossiers, the first 200, their count in the description), diem-766-<ward>-<period>,
  tong-hop-<ward>-<period> (markdown). A period not finished is flagged in every description.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config, load_config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.bieu06 import check_identities
from cchc.domain.periods import Period, last_full_month, parse_period, period_notes
from cchc.domain.text import format_int
from cchc.flows.naming import indicators_run_name, tag_current_run
from cchc.report import labels
from cchc.report import tables as rt
from cchc.report.summary import summary_markdown
from cchc.tasks import indicators as ti
from cchc.tasks.artifacts import artifact_key, publish_markdown, publish_table
from cchc.tasks.freshness import check_data_age, last_successful_sync, sync_note

GROUPINGS = {"unit": "chi-so-don-vi", "officer": "chi-so-can-bo", "procedure": "chi-so-thu-tuc",
             "field": "chi-so-linh-vuc", "channel": "chi-so-kenh"}


def reports_dir() -> Path:
    """Where report files go: $CCHC_REPORTS_DIR (read when a report is written), else var/reports."""
    return Path(os.environ.get("CCHC_REPORTS_DIR", "var/reports"))


@task(name="doc-ky-bao-cao", cache_policy=NO_CACHE)
def load_task(store: Store, cfg: Config, period: Period, source: str) -> ti.PeriodData:
    return ti.load_period(store, cfg, period, source=source)


@task(name="bang-chi-so", cache_policy=NO_CACHE, task_run_name="bảng chỉ số: {by}")
def table_task(data: ti.PeriodData, cfg: Config, by: str) -> pd.DataFrame:
    return ti.group_table(data, cfg, by, nested=(by == "unit"))


@task(name="bieu-06", cache_policy=NO_CACHE)
def bieu06_task(data: ti.PeriodData, cfg: Config) -> tuple[list, list]:
    by_field, by_unit = ti.bieu06(data, cfg)
    for row in [*by_field, *by_unit]:
        check_identities(row)
    return by_field, by_unit


@task(name="doi-soat", cache_policy=NO_CACHE)
def reconcile_task(data: ti.PeriodData, cfg: Config):
    return ti.reconciliation(data, cfg)


@task(name="xuat-bieu-06-xlsx", cache_policy=NO_CACHE)
def write_xlsx_task(cfg: Config, period: Period, by_field, by_unit, notes: list[str] | None = None,
                    outline_rows=None, source: str = "provincial") -> str:
    from cchc.domain.sources import source_label
    from cchc.report.xlsx import write_bieu06_xlsx

    path = reports_dir() / f"bieu-06-{cfg.ward.slug}-{period.slug}.xlsx"
    write_bieu06_xlsx(path, ward_name=cfg.ward.name, province=cfg.ward.province, period_label=period.label,
                      period_from=period.start, period_to=period.end, rows_by_field=by_field,
                      rows_by_unit=by_unit, simulated=cfg.ward.simulated, place=cfg.ward.place_name,
                      receiving_body=cfg.ward.receiving_body, notes=notes or (),
                      outline_rows=outline_rows,
                      source_label=source_label(source))
    return str(path)








@flow(name="compute_indicators", flow_run_name=indicators_run_name)
def compute_indicators(config_path: str | None = None, period: str | None = None, source: str | None = None,
                       today: str | None = None, write_xlsx: bool = True, sync_first: bool = False) -> dict:
    """Tính chỉ số CCHC của một kỳ và đăng lên Prefect (compute a period's indicators; publish artifacts).

    Mọi artifact ghi thời điểm đồng bộ thành công lần cuối của dữ liệu. Khi cấu hình có
    reporting.max_data_age_hours, flow từ chối tính từ dữ liệu cũ hơn giới hạn đó.

    Args:
        config_path: Tệp cấu hình phường (mặc định: biến CCHC_CONFIG, hoặc config/demo.yaml).
        period: Kỳ báo cáo: 2026-10 (tháng), 2026-Q3 (quý), 2026-H1 (6 tháng), 2026 (năm); để trống = tháng trước.
        source: Nguồn số liệu: provincial (hệ thống tỉnh), excel (tệp xuất một cửa) hoặc national (Cổng DVCQG);
            để trống = nguồn duy nhất có trong kho, hoặc reporting.source khi kho có nhiều nguồn.
        today: Ngày chạy (YYYY-MM-DD), quyết định "tháng trước"; để trống = hôm nay theo giờ của phường.
        write_xlsx: Ghi Biểu 06 ra tệp .xlsx trong var/reports/.
        sync_first: Đồng bộ hồ sơ trước khi tính (lịch chi-so-thang bật tùy chọn này).
    """
    from cchc.domain.sources import source_label

    log = get_run_logger()
    cfg = load_config(config_path)
    tag_current_run(cfg.ward.slug, "chi-so")
    store = Store(cfg.database_url)
    store.migrate()
    source = ti.choose_source(store, cfg, source)
    src = f"nguồn: {source_label(source)}"
    if sync_first:
        sync_before(config_path, source, today, log)
    last_sync = last_successful_sync(store, source)
    check_data_age(source, last_sync, cfg.reporting.max_data_age_hours)
    synced = sync_note(source, last_sync)
    mode = cfg.reporting.period_mode
    run_day = date.fromisoformat(today) if today else cfg.today()
    per = parse_period(period, mode=mode) if period else last_full_month(run_day, mode)
    slug, pslug = cfg.ward.slug, per.slug
    data = load_task(store, cfg, per, source)
    tables = {by: table_task(data, cfg, by) for by in GROUPINGS}
    by_field, by_unit = bieu06_task(data, cfg)
    rec_summary, mismatches = reconcile_task(data, cfg)
    scores = ti.scores(ti.unit_table_766(data, cfg), rec_summary, cfg)
    notes = period_notes(per, run_day, ti.has_dossiers(data))
    flag = "".join(f" — {note}" for note in notes)  # on every artifact: provisional / no dossier

    keys = []
    for by, prefix in GROUPINGS.items():
        key = artifact_key(prefix, slug, pslug)
        note = rt.officer_note(data) if by == "officer" else None
        rows = [{labels.BY_LABELS_VI[by]: note}] if note else rt.display_rows(tables[by], by)
        publish_table(key, rows, f"Chỉ số theo {labels.BY_LABELS_VI[by].lower()} — {cfg.ward.name} — {per.label} — {src}{flag}"
                      + (f"\n\n{note[0].upper()}{note[1:]}." if note else "") + f"\n\n{synced}")
        keys.append(key)
    for prefix, rows, what in (("bieu-06", by_field, "lĩnh vực"), ("bieu-06a", by_unit, "đơn vị")):
        key = artifact_key(prefix, slug, pslug)
        publish_table(key, rt.bieu06_display(rows),
                      f"Biểu số 06/VPCP/KSTT theo {what} — {cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
        keys.append(key)
    key = artifact_key("doi-soat", slug, pslug)
    publish_table(key, rt.reconcile_summary_display(rec_summary),
                  f"Đối soát với Cổng DVCQG — {cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
    keys.append(key)
    key = artifact_key("doi-soat-chi-tiet", slug, pslug)
    detail = rt.reconcile_detail_display(mismatches, cfg)
    cut = rt.shown_of(len(detail), len(mismatches))
    publish_table(key, detail or [{"Mã hồ sơ": "", "Đơn vị": "", "Loại chênh lệch": "(không có chênh lệch)",
                                   "Giá trị hệ thống tỉnh": "", "Giá trị Cổng DVCQG": ""}],
                  f"Đối soát với Cổng DVCQG: hồ sơ chênh lệch ({format_int(len(mismatches))} dòng"
                  f"{'; ' + cut if cut else ''}) — {cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
    keys.append(key)
    key = artifact_key("diem-766", slug, pslug)
    publish_table(key, rt.scores_display(scores), f"Điểm Bộ chỉ số 766 (phần tính được từ dữ liệu hồ sơ) — "
                                                  f"{cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
    keys.append(key)

    prev_total = None
    try:
        prev = ti.load_period(store, cfg, per.previous(), source=source, with_national=False)
        pt = m.indicator_table(prev.cells, by=None)
        prev_total = pt[pt["group"] == m.TOTAL].iloc[0] if len(pt) else None
    except Exception as e:  # the comparison is a nicety; never fail the run for it
        log.warning("Không tính được kỳ trước: %s", e)
    sync_total = ti.sync_total(rec_summary)
    key = artifact_key("tong-hop", slug, pslug)
    publish_markdown(key, summary_markdown(cfg, per, tables["unit"], tables["procedure"], prev_total, scores,
                                           sync_total, notes, synced, source=source),
                     f"Tổng hợp — {cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
    keys.append(key)

    xlsx = write_xlsx_task(cfg, per, by_field, by_unit, notes, ti.outline_rows(data, cfg), source) if write_xlsx else None
    unit_rows = ti.group_table(data, cfg, "unit").to_dict("records")  # the command line renders them
    log.info("Đã đăng %s artifact cho kỳ %s", len(keys), per.label)
    return {"period": per.slug, "artifact_keys": keys, "xlsx": xlsx, "unit_rows": unit_rows,
            "files": [xlsx] if xlsx else [], "provisional": per.state(run_day) != "finished", "notes": notes,
            "source": source}


def sync_before(config_path: str | None, source: str, today: str | None, log) -> None:
    """Sync the report's source first (a subflow run). A failed sync does not stop the report by
    itself: the data-age rule decides, and every artifact states how old the data is."""
    if source not in ("provincial", "national"):
        log.info("Nguồn %s không đồng bộ qua API: tính từ dữ liệu đã nhập", source)
        return
    from cchc.flows.sync_dossiers import SyncFailed, sync_dossiers

    try:
        sync_dossiers(config_path=config_path, today=today)
    except SyncFailed as e:
        log.warning("Đồng bộ trước khi tính chỉ số không thành công: %s", e)
