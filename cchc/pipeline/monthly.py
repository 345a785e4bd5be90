"""The monthly summary from the store (issue 13): its figures for a period (`monthly_figures`), its
files under var/reports/<period>/ (chart PNG, Biểu 06 .xlsx, Word report), its messages for the outbox
(one per recipient, idempotency key: report, period, recipient; the report layer renders them, the
store's outbox keeps them), then the outbox sent (`run_monthly`; `dry_run` renders only)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import OutboxMessage
from cchc.domain import metrics as m
from cchc.domain.periods import Period, last_full_month, parse_period
from cchc.errors import UserError
from cchc.report import monthly as mo
from cchc.report import nd30_docx as nd
from cchc.report.monthly import monthly_message_fields
from cchc.report.tables import json_rows

TREND_MONTHS = 12


def monthly_messages(fig, setup, recipients, **files) -> list[OutboxMessage]:
    """`cchc.report.monthly.monthly_message_fields` as OutboxMessages (same arguments)."""
    return [OutboxMessage(**f) for f in monthly_message_fields(fig, setup, recipients, **files)]


# --------------------------------------------------------------------- figures from the store


def reports_root() -> Path:
    """Where report files go: $CCHC_REPORTS_DIR (read when a report is written), else var/reports."""
    return Path(os.environ.get("CCHC_REPORTS_DIR", "var/reports"))


def monthly_period(cfg: Config, period: str | None, run_day: date) -> Period:
    """The month asked for (in the ward's reporting mode: calendar, or administrative from the 15th),
    else the last full month before `run_day`."""
    mode = cfg.reporting.period_mode
    return parse_period(period, mode=mode) if period else last_full_month(run_day, mode)


def months_ending(period: Period, months: int = TREND_MONTHS) -> list[Period]:
    """The `months` months ending with `period`, oldest first."""
    back = [period]
    for _ in range(months - 1):
        back.append(back[-1].previous())
    return back[::-1]


def monthly_totals(store: Store, cfg: Config, months: list[Period], source: str) -> list[dict]:
    """The TOTAL object `cchc stats --json --period <month>` prints, for each of `months`: their
    Biểu 06 cells read together (`period_cells.month_frames`), summed in one grouped pass."""
    import pandas as pd

    from cchc.pipeline.period_cells import month_frames

    frames = month_frames(store, cfg, months, source, "bieu06")
    key = "_month"
    cells = pd.concat([f.assign(**{key: i}) for i, f in enumerate(frames)], ignore_index=True)
    cells.attrs = dict(frames[-1].attrs)  # cells: the sum of a month's is that month's figures
    rows = {r["group"]: r for r in json_rows(m.indicator_table(cells, by=key), "unit", source=source)}
    out = []
    for i, f in enumerate(frames):
        row = rows.get(str(i))
        if row is None:  # a month without any dossier: its zeros, as `cchc stats` shows them
            row = json_rows(m.indicator_table(f, by=None), "unit", source=source)[-1]
        out.append({**row, "group": m.TOTAL, "label": m.TOTAL_LABEL_VI})
    return out


def trend_of(months: list[Period], totals: list[dict]) -> list[tuple[str, float | None, float | None]]:
    """(month 'MM/YYYY', on-time rate, online rate) of each month, oldest first."""
    return [(f"{per.number:02d}/{per.year}" if per.kind == "month" else per.slug,
             tot.get("on_time_rate"), tot.get("online_rate")) for per, tot in zip(months, totals, strict=True)]


def inspections_done(store: Store, cfg: Config, period: Period, today: date) -> tuple[list[dict], dict[str, int]]:
    """The visits held in the period (up to `today`) with their findings count, and the findings'
    remediation counts {open, done, overdue} — empty when the ward keeps no inspections."""
    from cchc.connectors.store.inspections import Inspections

    ins = Inspections(store)
    names = {u.code: u.name for u in cfg.units}
    findings = ins.findings(today=today)
    by_unit: dict[str, int] = {}
    for f in findings:
        by_unit[f.unit_code] = by_unit.get(f.unit_code, 0) + 1
    seen, rows = set(), []
    for year in sorted({period.start.year, period.end.year}):
        for sel in ins.selections(year=year):
            for v in ins.visits(sel.id):
                if (v.selection_id, v.seq) in seen or not (period.start <= v.visit_date <= min(period.end, today)):
                    continue
                seen.add((v.selection_id, v.seq))
                rows.append({"unit": names.get(v.unit_code, v.unit_code), "date": v.visit_date,
                             "kind": "định kỳ" if sel.kind == "periodic" else "đột xuất",
                             "findings": by_unit.get(v.unit_code, 0)})
    counts = {"open": 0, "done": 0, "overdue": 0}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return rows, (counts if findings else {})


def reconciliation_summary(store: Store, cfg: Config, period: Period, source: str) -> list[dict] | None:
    """The reconciliation summary by unit with the national copies (None when the store holds no
    national copy of the period's dossiers), from the months' reconciliation cells
    (`pipeline.reconciliation`: the rows are read only for a month out of date)."""
    from cchc.pipeline.reconciliation import reconciliation_summary as from_cells

    summary = from_cells(store, cfg, period, source)
    if summary is None:
        return None
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in summary.to_dict("records")]


def figures_from_cells(store: Store, cfg: Config, period: Period, source: str, today: date):
    """`monthly_figures` without the reconciliation (None): what the months' cells and the
    inspections give, no dossier row read."""
    from cchc.pipeline import indicators as ti

    data = ti.load_period(store, cfg, period, source=source, with_national=False)
    data.tables["unit"] = ti.group_table(data, cfg, "unit")  # top units: the outline reads it too
    units = json_rows(data.tables["unit"], "unit", source=source)
    current = next(r for r in units if r["group"] == m.TOTAL)
    # the 12-month trend and the previous month's TOTAL from the same months' cells
    months = months_ending(period, TREND_MONTHS)
    totals = monthly_totals(store, cfg, months, source)
    previous = totals[-2] if len(totals) > 1 else None
    procedures = json_rows(ti.group_table(data, cfg, "procedure"), "procedure")
    inspections, remediation = inspections_done(store, cfg, period, today)
    return mo.MonthlyFigures(
        ward=cfg.ward.name, ward_slug=cfg.ward.slug, period=period.slug, period_label=period.label,
        period_range=period.range_label, current=current, previous=previous,
        trend=trend_of(months, totals), units=[u for u in units if u["group"] != m.TOTAL],
        procedures=[p for p in procedures if p["group"] != m.TOTAL], reconciliation=None,
        inspections=inspections, remediation=remediation, simulated=cfg.ward.simulated,
        provisional=period.state(today) != "finished"), data


def monthly_figures(store: Store, cfg: Config, period: Period, source: str, today: date):
    """Everything the monthly summary shows, read from the store: the TOTAL rows of this and the
    previous period (as `cchc stats --json`), the 12-month trend, units, procedures, the
    reconciliation summary (None when the store holds no national copy), inspections and remediation.
    Returns (MonthlyFigures, the PeriodData read: Biểu 06 is written from its cells)."""
    # the reconciliation first: a month out of date is computed from the rows with every kind of
    # its cells (and kept), which the figures then find current
    rec = reconciliation_summary(store, cfg, period, source)
    fig, data = figures_from_cells(store, cfg, period, source, today)
    return replace(fig, reconciliation=rec), data


def report_setup(cfg: Config, today: date) -> mo.ReportSetup:
    """How the ward presents the summary (config `monthly_report`, the signer from `leadership`)."""
    r = cfg.monthly_report
    signer = cfg.monthly_signer()
    return mo.ReportSetup(targets=dict(r.targets), place=cfg.ward.place_name, issue_date=today, number=r.number,
                          symbol=r.symbol, signer=nd.Signer(signer.name, signer.title) if signer else None,
                          receivers=list(r.receivers), archive=r.archive, templates_dir=cfg.templates_dir)


@dataclass
class MonthlyResult:
    figures: mo.MonthlyFigures
    setup: mo.ReportSetup
    markdown: str
    files: dict[str, str] = field(default_factory=dict)  # chart, xlsx, docx -> path
    messages: list[OutboxMessage] = field(default_factory=list)
    queued: int = 0  # new messages put into the outbox (0 on a re-run, 0 in a dry run)
    existing: int = 0  # messages already in the outbox (an earlier run)
    sent: int = 0
    send_errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict:
        return {**mo.summary_json(self.figures, self.setup), "dry_run": self.dry_run,
                "recipients": [x.recipient for x in self.messages], "queued": self.queued,
                "already_queued": self.existing, "sent": self.sent, "send_errors": self.send_errors,
                "files": self.files}


def write_tables(cfg: Config, fig: mo.MonthlyFigures, data, folder: Path) -> tuple[dict[str, str], bytes]:
    """The chart PNG and the Biểu 06 .xlsx under `folder` (neither shows the reconciliation);
    returns their paths and the chart's bytes."""
    from cchc.domain import outline
    from cchc.pipeline import indicators as ti
    from cchc.report import labels
    from cchc.report.xlsx import write_bieu06_xlsx

    names = mo.file_names(fig)
    folder.mkdir(parents=True, exist_ok=True)
    chart = mo.trend_chart_png(fig.trend)
    chart_path = folder / names["chart"]
    chart_path.write_bytes(chart)
    by_field, by_unit = ti.bieu06(data, cfg, data.tables.get("unit"))  # the top units' table, computed once
    per = data.period
    notes = [mo.PROVISIONAL_NOTE] if fig.provisional else []
    xlsx = write_bieu06_xlsx(folder / names["xlsx"], ward_name=cfg.ward.name, province=cfg.ward.province,
                             period_label=per.label, period_from=per.start, period_to=per.end,
                             rows_by_field=by_field, rows_by_unit=by_unit, simulated=cfg.ward.simulated,
                             place=cfg.ward.place_name, receiving_body=cfg.ward.receiving_body, notes=notes,
                             outline_rows=(outline.outline_rows(data.tables["unit"]) if "unit" in data.tables
                                           else ti.outline_rows(data, cfg)),
                             source_label=labels.source_label(data.source))
    return {"chart": str(chart_path), "xlsx": str(xlsx)}, chart


def write_files(cfg: Config, fig: mo.MonthlyFigures, setup: mo.ReportSetup, data, folder: Path) -> dict[str, str]:
    """The chart PNG, the Biểu 06 .xlsx and the Word report under `folder` (var/reports/<period>/)."""
    files, chart = write_tables(cfg, fig, data, folder)
    docx = mo.render_docx(fig, setup, folder / mo.file_names(fig)["docx"], chart_png=chart)
    return {**files, "docx": str(docx)}


def prepare_monthly(store: Store, cfg: Config, period: Period, source: str, today: date,
                    folder: Path | None = None) -> MonthlyResult:
    """Figures (from the months' cells), files under var/reports/<period>/ and the messages (not yet
    in the outbox)."""
    setup = report_setup(cfg, today)
    folder = folder or reports_root() / period.slug
    fig, data = monthly_figures(store, cfg, period, source, today)
    files, chart = write_tables(cfg, fig, data, folder)
    files["docx"] = str(mo.render_docx(fig, setup, folder / mo.file_names(fig)["docx"], chart_png=chart))
    messages = monthly_messages(fig, setup, cfg.monthly_recipients(), xlsx=files["xlsx"], docx=files["docx"],
                                chart=files["chart"])
    return MonthlyResult(fig, setup, mo.render_markdown(fig, setup), files, messages)


def enqueue_monthly(store: Store, cfg: Config, result: MonthlyResult, now: datetime) -> MonthlyResult:
    """Put the messages in the outbox (once per period and recipient)."""
    from cchc.connectors.store.outbox import Outbox

    r = Outbox(store.engine).enqueue(result.messages, now)
    result.queued, result.existing = r.inserted, r.existing
    return result


class SendFailed(UserError, RuntimeError):
    """The mail server cannot be reached or refuses the session: the messages stay in the outbox (a
    re-run sends them, nothing twice)."""


def send_queued(store: Store, cfg: Config, now: datetime):
    """Send what is due in the outbox (`cchc.connectors.mail.send_outbox`) with the ward's SMTP settings;
    `SendFailed` (one line naming the setting) when no session can be opened."""
    from cchc.connectors.mail import MailError, SmtpSender, SmtpSettings, send_outbox
    from cchc.connectors.store.outbox import QUEUED, Outbox

    outbox = Outbox(store.engine, max_attempts=cfg.reminders.max_attempts)
    try:
        return send_outbox(outbox, SmtpSender(SmtpSettings.resolve(cfg.smtp)), now, limit=cfg.smtp.batch_size,
                           connections=cfg.smtp.connections)
    except MailError as e:
        waiting = outbox.counts().get(QUEUED, 0)
        raise SendFailed(f"Không gửi được thư: {e} — {waiting} thư vẫn nằm trong hàng đợi, chạy lại để gửi "
                         "(nothing is sent twice)") from None


def run_monthly(store: Store, cfg: Config, period: Period, source: str, today: date, now: datetime,
                dry_run: bool = False, folder: Path | None = None) -> MonthlyResult:
    """The whole summary without Prefect: prepare; unless `dry_run`, enqueue and send the outbox."""
    result = prepare_monthly(store, cfg, period, source, today, folder)
    result.dry_run = dry_run
    if dry_run:
        return result
    enqueue_monthly(store, cfg, result, now)
    report = send_queued(store, cfg, now)
    result.sent = sum(1 for k in report.sent_keys if k.startswith(mo.KIND + "|"))
    result.send_errors = list(report.errors)
    return result
