"""The daily reminders (issue 12), step by step, without Prefect: read what the rules need, plan,
render, enqueue in the outbox, send, summarise. The flow `daily_reminders` runs these steps as
tasks; tests and the benchmark call the same functions.

What is read (never the whole store): the OPEN dossiers and those finished late without an apology
slip in the current period (`Store.reminder_dossiers`, SQL filtered on the named status sets) with
their current step's officer and deadline, the pending supplement's start and the apology flag; the
period's finished dossiers counted per unit (`Store.finished_standings`); the plan's report deadlines
(self-inspection deadlines of the configuration, pre-inspection reports of the stored visits); the
open findings' remediation deadlines. The units' standings (overdue open dossiers now, late rate
among the dossiers resolved in the current period) come from the first two.

Delivery goes through the outbox only: a digest is enqueued under its idempotency key (kind,
recipient, day) and then sent; a re-run, a retried task or two overlapping runs never send it
twice, and a failed send stays queued for the next run (with backoff, up to the configured
attempts). A dry run renders and lists, writing nothing and sending nothing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd

from cchc.config import Config
from cchc.connectors.mail import SendReport, SmtpSender, SmtpSettings, send_outbox
from cchc.connectors.store import Store
from cchc.connectors.store.inspections import Inspections
from cchc.connectors.store.outbox import FAILED, QUEUED, SENDING, SENT, Outbox, OutboxMessage
from cchc.domain.periods import period_of
from cchc.domain.records import FINISHED_STATUSES, WAITING_STATUSES, status_codes
from cchc.domain.reminders import (
    DIGEST_KIND,
    RULES,
    Directory,
    RemediationDeadline,
    ReminderPlan,
    ReportDeadline,
    UnitStanding,
    is_reminder_day,
    plan_reminders,
    pre_inspection_deadlines,
    self_inspection_deadlines,
)
from cchc.report.reminders import RenderedDigest, render_digests

#: Why a whole run sent nothing.
NOT_WORKING_DAY = "non_working_day"
NOTHING_DUE = "nothing_due"


@dataclass
class ReminderInputs:
    dossiers: pd.DataFrame
    reports: list[ReportDeadline] = field(default_factory=list)
    findings: list[RemediationDeadline] = field(default_factory=list)
    standings: list[UnitStanding] = field(default_factory=list)


def directory(cfg: Config) -> Directory:
    return Directory.build(cfg.units, cfg.officers, cfg.leadership)


def outbox_of(store: Store, cfg: Config) -> Outbox:
    return Outbox(store.engine, max_attempts=cfg.reminders.max_attempts,
                  backoff=timedelta(minutes=cfg.reminders.retry_backoff_minutes))


def unit_codes(cfg: Config, stored: pd.Series) -> pd.Series:
    """The configured unit code of each stored unit identifier (the national id, or one under it:
    the most specific configured unit); an identifier of no configured unit is kept as it is."""
    ids = sorted(((u.national_id.strip().rstrip("."), u.code) for u in cfg.units), key=lambda x: -len(x[0]))

    def one(v) -> str:
        v = str(v or "").strip()
        for nid, code in ids:
            if v == nid or v.startswith(nid + "."):
                return code
        by_code = cfg.unit_by_code(v)
        return by_code.code if by_code else v

    return stored.map({v: one(v) for v in stored.dropna().unique()}).fillna("")


def read_inputs(store: Store, cfg: Config, day: date, source: str) -> ReminderInputs:
    """What the rules need on `day` (see the module docstring). The store's reads run at once, each on
    its own connection (the database works on one while the driver hands over another's rows)."""
    period = period_of(day, "month", cfg.reporting.period_mode)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="cchc-reminder-read") as pool:
        counted = pool.submit(store.finished_standings, source, period.start)
        reports = pool.submit(report_deadlines, store, cfg, day)
        findings = pool.submit(remediation_deadlines, store, cfg)
        raw = store.reminder_dossiers(source, finished_since=period.start)
        finished = counted.result()
        reports, findings = reports.result(), findings.result()
    frame = pd.DataFrame({
        "code": raw["code"], "procedure": raw["procedure_name"], "unit": unit_codes(cfg, raw["unit_code"]),
        "status": raw["status"].astype("int64"), "due": raw["due"], "officer": raw["officer"],
        "step_due": raw["step_due"], "supplement_since": raw["supplement_since"], "apology": raw["apology"],
        "finished": raw["finished_at"].where(raw["status"].isin(status_codes(FINISHED_STATUSES)))})
    finished["unit"] = unit_codes(cfg, finished["unit_code"])
    return ReminderInputs(dossiers=frame, reports=reports, findings=findings,
                          standings=standings(frame, day, finished))


def report_deadlines(store: Store, cfg: Config, day: date) -> list[ReportDeadline]:
    """Self-inspection report deadlines (configuration, moved to a working day as the plan does) for
    every unit, and the pre-inspection reports of the stored plan's visits of the year."""
    if cfg.inspection is None:
        return []
    from cchc.domain.inspection_plan import deadline_on_working_day

    cal = cfg.make_calendar()
    dues = [(deadline_on_working_day(cal, d, cfg.inspection.deadline_roll), f"hạn {d:%d/%m/%Y}")
            for d in cfg.inspection.self_report_deadlines]
    out = self_inspection_deadlines([u.code for u in cfg.units], [(d, label) for d, label in dues if d >= day])
    ins = Inspections(store)
    for sel in ins.selections(kind="periodic", year=day.year):
        out += [r for r in pre_inspection_deadlines(ins.visits(sel.id)) if r.due >= day]
    return out


def remediation_deadlines(store: Store, cfg: Config) -> list[RemediationDeadline]:
    """Open findings with a deadline, to the responsible unit's head (the responsible unit when it
    names a configured unit, else the inspected unit)."""
    out = []
    for f in Inspections(store).findings():
        if f.deadline is None or f.stored_status == "done":
            continue
        unit = f.responsible_unit if cfg.unit_by_code(f.responsible_unit) else f.unit_code
        out.append(RemediationDeadline(finding_id=str(f.id), unit=unit, due=f.deadline,
                                       title=f"Khắc phục: {f.finding[:150]}"))
    return out


def standings(frame: pd.DataFrame, day: date, finished: pd.DataFrame) -> list[UnitStanding]:
    """Per unit: open dossiers past their due date (not waiting on the applicant) and, among those
    resolved in the period read, how many finished after their due date (`finished`: counted per
    unit in SQL, `Store.finished_standings`, with the configured unit in column "unit"). A unit with
    an open dossier or one finished in the period has a standing (zeros included)."""
    status = frame["status"]
    due = pd.to_datetime(frame["due"]).dt.normalize()
    overdue = (~status.isin(status_codes(FINISHED_STATUSES)) & ~status.isin(status_codes(WAITING_STATUSES))
               & due.notna() & (due < pd.Timestamp(day)))
    g = pd.concat([pd.DataFrame({"unit": frame["unit"], "overdue": overdue.astype("int64"), "resolved": 0,
                                 "late": 0}),
                   finished[["unit", "resolved", "late"]].assign(overdue=0)], ignore_index=True)
    if g.empty:
        return []
    sums = g.groupby("unit", sort=True)[["overdue", "resolved", "late"]].sum()
    return [UnitStanding(unit=str(u), overdue=int(r.overdue), resolved=int(r.resolved), late=int(r.late))
            for u, r in sums.iterrows()]


def reminder_source(store: Store, cfg: Config) -> str:
    """The source whose dossiers are read (as the reports choose it); an empty store: the
    configured reporting source (the plan's deadlines and findings still count)."""
    from cchc.pipeline.indicators import choose_source

    if not store.sources_held():  # an index probe per source, not a count of every row
        return cfg.reporting.source or "provincial"
    return choose_source(store, cfg, None)


def plan_day(store: Store, cfg: Config, day: date, source: str) -> ReminderPlan:
    """The day's plan (empty on a day that is not a working day, without reading the store)."""
    cal = cfg.make_calendar()
    if not is_reminder_day(cal, day):
        return ReminderPlan(day=day, items=(), digests=(), missing=())
    inputs = read_inputs(store, cfg, day, source)
    return plan_reminders(day, cal, cfg.reminders.rules(), directory(cfg), inputs.dossiers, inputs.reports,
                          inputs.findings, inputs.standings)


def render(cfg: Config, plan: ReminderPlan) -> list[RenderedDigest]:
    return render_digests(plan.digests, cfg.ward.name, cfg.templates_dir, cfg.reminders.digest_list_limit)


def smtp_settings(cfg: Config) -> SmtpSettings:
    """The SMTP settings (configuration, then CCHC_SMTP_*): a MailError naming a broken setting."""
    return SmtpSettings.resolve(cfg.smtp)


def enqueue(outbox: Outbox, rendered: list[RenderedDigest], now: datetime) -> tuple[int, int]:
    """(new, already there) digests written to the outbox."""
    r = outbox.enqueue([OutboxMessage(**d.outbox_fields()) for d in rendered], now)
    return r.inserted, r.existing


def send(outbox: Outbox, settings: SmtpSettings, now: datetime, batch_size: int = 200,
         connections: int = 1) -> SendReport:
    """Send what is due in the outbox (this run's digests and earlier failures due for a retry), over
    up to `connections` SMTP sessions at once (`smtp.connections`)."""
    return send_outbox(outbox, SmtpSender(settings), now, limit=batch_size, connections=connections)


def summary(cfg: Config, day: date, plan: ReminderPlan, rendered: list[RenderedDigest], outbox: Outbox,
            *, dry_run: bool, working_day: bool, new: int = 0, existing: int = 0,
            report: SendReport | None = None) -> dict:
    """What a run did, by count (no dossier list, no address): sent, skipped, failed, pending,
    items per rule, the recipients without email, and one row per recipient."""
    report = report or SendReport()
    mine = f"{DIGEST_KIND}|"
    status_of = {}
    if not dry_run and rendered:
        keys = {d.key for d in rendered}
        status_of = {m["key"]: m["status"] for m in outbox.messages(kind=DIGEST_KIND) if m["key"] in keys}
    would = set()
    if dry_run and rendered:
        would = {d.key for d in rendered} - outbox.existing_keys([d.key for d in rendered])
    sent_now = {k for k in report.sent_keys if k.startswith(mine)}
    rows = []
    for d in rendered:
        if dry_run:
            state = "sẽ gửi" if d.key in would else "đã có trong hộp thư đi"
        elif d.key in sent_now:
            state = "đã gửi"
        else:
            state = {SENT: "đã gửi trước đó (bỏ qua)", QUEUED: "chờ gửi lại", SENDING: "đang gửi",
                     FAILED: "thất bại"}.get(status_of.get(d.key, ""), "không rõ")
        rows.append({"recipient": d.recipient_name, "role": d.key.split("|")[1].split(":")[0], "items": d.items,
                     "rules": dict(d.rule_counts), "state": state})
    counts = outbox.counts(kind=DIGEST_KIND)
    skipped_reason = NOT_WORKING_DAY if not working_day else (NOTHING_DUE if not plan.items else "")
    return {
        "date": day.isoformat(), "ward": cfg.ward.slug, "working_day": working_day, "dry_run": dry_run,
        "digests": len(rendered),
        "sent": len(sent_now),
        "skipped": sum(1 for r in rows if r["state"] == "đã gửi trước đó (bỏ qua)") if not dry_run else 0,
        "skipped_reason": skipped_reason,
        "failed": sum(1 for d in rendered if status_of.get(d.key) == FAILED),
        "pending": counts[QUEUED] + counts[SENDING],
        "would_send": len(would) if dry_run else 0,
        "enqueued": new, "already_enqueued": existing,
        "rules": {r: plan.rule_counts().get(r, 0) for r in RULES},
        "missing_recipients": [m.describe() for m in plan.missing],
        "interrupted": report.interrupted,
        "errors": list(report.errors),
        "recipients": rows,
    }


def run_reminders(store: Store, cfg: Config, day: date | None = None, *, dry_run: bool = False,
                  source: str | None = None, now: datetime | None = None) -> dict:
    """One day's reminders end to end (what the flow does, without Prefect)."""
    day = day or cfg.today()
    now = now or cfg.now()
    settings = None if dry_run else smtp_settings(cfg)
    outbox = outbox_of(store, cfg)
    working = is_reminder_day(cfg.make_calendar(), day)
    plan = plan_day(store, cfg, day, source or reminder_source(store, cfg)) if working else \
        ReminderPlan(day=day, items=(), digests=(), missing=())
    rendered = render(cfg, plan)
    if dry_run or not working:  # nothing is sent on a day off, not even a retry
        return summary(cfg, day, plan, rendered, outbox, dry_run=dry_run, working_day=working)
    new, existing = enqueue(outbox, rendered, now)
    report = send(outbox, settings, now, cfg.smtp.batch_size, cfg.smtp.connections)
    return summary(cfg, day, plan, rendered, outbox, dry_run=False, working_day=working, new=new,
                   existing=existing, report=report)
