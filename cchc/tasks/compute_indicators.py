"""Tasks of the compute_indicators flow: read the period (one task), compute each table set (one
task each), write Biểu 06 to .xlsx, and publish the artifacts (with stable keys) that people read in
the Prefect UI — the wording and shaping come from `cchc.report`, the figures from `cchc.pipeline`.

The artifacts are published from the flow run itself (plain functions, not tasks), so that they
belong to the run as before."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.bieu06 import check_identities
from cchc.domain.periods import Period, last_full_month, parse_period, period_notes
from cchc.domain.text import format_int
from cchc.pipeline import indicators as ti
from cchc.pipeline.freshness import check_data_age, last_successful_sync, sync_note
from cchc.pipeline.sync import open_store
from cchc.report import labels
from cchc.report import tables as rt
from cchc.report.summary import summary_markdown
from cchc.tasks.artifacts import artifact_key, publish_markdown, publish_table

__all__ = ["GROUPINGS", "bieu06_task", "choose_source", "load_task", "open_store", "publish_indicator_artifacts",
           "publish_summary", "reconcile_task", "report_period", "table_task", "write_xlsx_task"]

choose_source = ti.choose_source

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
    from cchc.report.xlsx import write_bieu06_xlsx

    path = reports_dir() / f"bieu-06-{cfg.ward.slug}-{period.slug}.xlsx"
    write_bieu06_xlsx(path, ward_name=cfg.ward.name, province=cfg.ward.province, period_label=period.label,
                      period_from=period.start, period_to=period.end, rows_by_field=by_field,
                      rows_by_unit=by_unit, simulated=cfg.ward.simulated, place=cfg.ward.place_name,
                      receiving_body=cfg.ward.receiving_body, notes=notes or (),
                      outline_rows=outline_rows,
                      source_label=labels.source_label(source))
    return str(path)


def data_age_note(store: Store, cfg: Config, source: str) -> str:
    """How old the source's data is, said on every artifact; refuses data older than
    reporting.max_data_age_hours (DataTooOld)."""
    last_sync = last_successful_sync(store, source)
    check_data_age(source, last_sync, cfg.reporting.max_data_age_hours)
    return sync_note(source, last_sync)


def report_period(cfg: Config, period: str | None, run_day: date) -> Period:
    """The period asked for, else the last full month before `run_day` (in the ward's period mode)."""
    mode = cfg.reporting.period_mode
    return parse_period(period, mode=mode) if period else last_full_month(run_day, mode)


def scores(data: ti.PeriodData, rec_summary: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The computable 766 points per unit (766-mode unit table, sync rates of the reconciliation)."""
    return ti.scores(ti.unit_table_766(data, cfg), rec_summary, cfg)


def notes_of(period: Period, run_day: date, data: ti.PeriodData) -> list[str]:
    """What every artifact says about the period: provisional, no dossier."""
    return period_notes(period, run_day, ti.has_dossiers(data))


def publish_indicator_artifacts(cfg: Config, per: Period, source: str, data: ti.PeriodData,
                                tables: dict[str, pd.DataFrame], by_field, by_unit, rec_summary: pd.DataFrame,
                                mismatches: pd.DataFrame, scores: pd.DataFrame, notes: list[str],
                                synced: str) -> list[str]:
    """The indicator tables by grouping, Biểu 06 (by field, by unit), the reconciliation (summary and
    detail) and the 766 points; returns their keys."""
    src = f"nguồn: {labels.source_label(source)}"
    slug, pslug = cfg.ward.slug, per.slug
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
    return keys


def previous_total(store: Store, cfg: Config, per: Period, source: str, log) -> pd.Series | None:
    """The TOTAL row of the previous period (for the comparison in the summary), None if it cannot be had."""
    try:
        prev = ti.load_period(store, cfg, per.previous(), source=source, with_national=False)
        pt = m.indicator_table(prev.cells, by=None)
        return pt[pt["group"] == m.TOTAL].iloc[0] if len(pt) else None
    except Exception as e:  # the comparison is a nicety; never fail the run for it
        log.warning("Không tính được kỳ trước: %s", e)
        return None


def publish_summary(cfg: Config, per: Period, source: str, tables: dict[str, pd.DataFrame],
                    prev_total: pd.Series | None, scores: pd.DataFrame, rec_summary: pd.DataFrame,
                    notes: list[str], synced: str) -> str:
    """The period summary (markdown from the template `summary.md.j2`); returns its key."""
    src = f"nguồn: {labels.source_label(source)}"
    flag = "".join(f" — {note}" for note in notes)
    key = artifact_key("tong-hop", cfg.ward.slug, per.slug)
    publish_markdown(key, summary_markdown(cfg, per, tables["unit"], tables["procedure"], prev_total, scores,
                                           ti.sync_total(rec_summary), notes, synced, source=source),
                     f"Tổng hợp — {cfg.ward.name} — {per.label} — {src}{flag}\n\n{synced}")
    return key


def unit_rows(data: ti.PeriodData, cfg: Config) -> list[dict]:
    """The unit table (top units) as records: the command line renders it for the terminal."""
    return ti.group_table(data, cfg, "unit").to_dict("records")


def outline_rows(data: ti.PeriodData, cfg: Config) -> list[dict]:
    return ti.outline_rows(data, cfg)
