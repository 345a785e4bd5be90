"""Tasks of the monthly_report flow: the summary's figures and files (one task), the outbox (one task),
the sending (one task), and the artifacts people read in the Prefect UI: a markdown mirror of the
email (`tong-hop-thang-<ward>-<period>`) and a listing of the files kept under var/reports/<period>/
(`tep-tong-hop-thang-<ward>-<period>`). The work itself is `cchc.pipeline.monthly`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.pipeline import monthly as pm
from cchc.report import monthly as mo
from cchc.tasks.artifacts import publish_markdown
from cchc.tasks.compute_indicators import choose_source, data_age_note, open_store

__all__ = ["choose_source", "data_age_note", "enqueue_task", "files_key", "monthly_period", "open_store",
           "prepare_task", "publish_monthly", "send_task"]

monthly_period = pm.monthly_period


@task(name="tong-hop-thang-so-lieu-va-tep", cache_policy=NO_CACHE)
def prepare_task(store: Store, cfg: Config, period, source: str, today: date) -> pm.MonthlyResult:
    return pm.prepare_monthly(store, cfg, period, source, today)


@task(name="tong-hop-thang-hang-doi-thu", cache_policy=NO_CACHE)
def enqueue_task(store: Store, cfg: Config, result: pm.MonthlyResult, now: datetime) -> pm.MonthlyResult:
    return pm.enqueue_monthly(store, cfg, result, now)


@task(name="gui-thu", cache_policy=NO_CACHE)
def send_task(store: Store, cfg: Config, result: pm.MonthlyResult, now: datetime) -> pm.MonthlyResult:
    report = pm.send_queued(store, cfg, now)
    result.sent = sum(1 for k in report.sent_keys if k.startswith(mo.KIND + "|"))
    result.send_errors = list(report.errors)
    return result


def files_key(fig: mo.MonthlyFigures) -> str:
    return f"tep-{mo.artifact_key(fig.ward_slug, fig.period)}"


def publish_monthly(result: pm.MonthlyResult, synced: str) -> list[str]:
    """The markdown mirror of the email and the listing of its files; returns their keys."""
    fig = result.figures
    key = mo.artifact_key(fig.ward_slug, fig.period)
    note = " — chạy thử, không gửi thư" if result.dry_run else ""
    publish_markdown(key, result.markdown, f"Tổng hợp tháng gửi lãnh đạo — {fig.ward} — {fig.period_label}{note}"
                                           f"\n\n{synced}")
    labels = {"xlsx": "Biểu 06 (.xlsx)", "docx": "Báo cáo theo Nghị định 30/2020 (.docx)",
              "chart": "Biểu đồ 12 tháng (.png)"}
    lines = [f"# Tệp tổng hợp tháng — {fig.ward} — {fig.period_label}", "",
             "| Tệp | Đường dẫn |", "|---|---|"]
    for what in ("xlsx", "docx", "chart"):
        p = Path(result.files[what]).resolve()
        lines.append(f"| {labels[what]} | [{p.name}]({p.as_uri()}) `{p}` |")
    fkey = files_key(fig)
    publish_markdown(fkey, "\n".join(lines) + "\n", f"Các tệp của bản tổng hợp tháng — {fig.ward} — {fig.period_label}")
    return [key, fkey]
