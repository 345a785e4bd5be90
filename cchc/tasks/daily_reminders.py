"""Tasks of the daily_reminders flow: plan the day's digests from the store (one task), render them
(one task), enqueue them in the outbox (one task), send what the outbox holds (one task, retried in
deployment runs when the SMTP server cannot be reached — never for a setting error), and the
artifact `nhac-viec-<ward>-<date>`: per recipient what was sent, skipped and failed (counts only).
The steps themselves are `cchc.pipeline.reminders`."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from cchc.config import Config
from cchc.connectors.mail import MailError, SendReport, SmtpSettings
from cchc.connectors.store import Store
from cchc.domain.reminders import RULE_NAMES_VI, ReminderPlan
from cchc.domain.text import format_int
from cchc.errors import UsageError
from cchc.pipeline import reminders as pr
from cchc.pipeline.sync import open_store
from cchc.report.reminders import RenderedDigest
from cchc.tasks.artifacts import artifact_key, publish_markdown
from cchc.tasks.retry import NETWORK_RETRIES, NETWORK_RETRY_DELAYS_S

__all__ = ["artifact_of", "empty_plan", "enqueue_task", "is_working_day", "open_store", "plan_task",
           "publish_reminders", "render_task", "run_day", "send_task", "smtp_settings", "summarize"]


def run_day(cfg: Config, text: str | None) -> date:
    """The day the reminders are for: `text` (YYYY-MM-DD), else today in the ward's time zone."""
    if not text:
        return cfg.today()
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise UsageError(f"date: ngày không hợp lệ {text!r} (cần YYYY-MM-DD) / invalid date") from None


def is_working_day(cfg: Config, day: date) -> bool:
    """By the ward's calendar: holidays are not, a make-up Saturday is."""
    from cchc.domain.reminders import is_reminder_day

    return is_reminder_day(cfg.make_calendar(), day)


def empty_plan(day: date) -> ReminderPlan:
    return ReminderPlan(day=day, items=(), digests=(), missing=())


def smtp_settings(cfg: Config) -> SmtpSettings:
    """Checked before anything is written: a broken setting is one line naming it (no retry)."""
    return pr.smtp_settings(cfg)


@task(name="lap-danh-sach-nhac-viec", cache_policy=NO_CACHE)
def plan_task(store: Store, cfg: Config, day: date) -> ReminderPlan:
    return pr.plan_day(store, cfg, day, pr.reminder_source(store, cfg))


@task(name="soan-thu-nhac-viec", cache_policy=NO_CACHE)
def render_task(cfg: Config, plan: ReminderPlan) -> list[RenderedDigest]:
    return pr.render(cfg, plan)


@task(name="ghi-hop-thu-di", cache_policy=NO_CACHE)
def enqueue_task(store: Store, cfg: Config, rendered: list[RenderedDigest]) -> tuple[int, int]:
    return pr.enqueue(pr.outbox_of(store, cfg), rendered, cfg.now())


def smtp_unreachable(task, task_run, state) -> bool:
    """Retry the sending task when the SMTP server could not be reached, in deployment runs only
    (a setting the server refuses — login, TLS — is not worth waiting for)."""
    from prefect.runtime import deployment

    if deployment.id is None:
        return False
    try:
        state.result()
    except MailError as e:
        return e.setting == "smtp.host"
    except Exception:  # noqa: BLE001 — anything else is not a network failure
        return False
    return False


@task(name="gui-thu-nhac-viec", cache_policy=NO_CACHE, retries=NETWORK_RETRIES,
      retry_delay_seconds=NETWORK_RETRY_DELAYS_S, retry_condition_fn=smtp_unreachable)
def send_task(store: Store, cfg: Config, settings: SmtpSettings) -> SendReport:
    return pr.send(pr.outbox_of(store, cfg), settings, cfg.now(), cfg.smtp.batch_size, cfg.smtp.connections)


def summarize(store: Store, cfg: Config, day: date, plan: ReminderPlan, rendered: list[RenderedDigest], *,
              dry_run: bool, working_day: bool, enqueued: tuple[int, int] = (0, 0),
              report: SendReport | None = None) -> dict:
    return pr.summary(cfg, day, plan, rendered, pr.outbox_of(store, cfg), dry_run=dry_run,
                      working_day=working_day, new=enqueued[0], existing=enqueued[1], report=report)


def artifact_of(cfg: Config, s: dict) -> str:
    """The artifact's markdown: counts per recipient (name, role, items, state), the rules, the
    recipients without email. No dossier list, no address."""
    day = date.fromisoformat(s["date"])
    head = f"# Nhắc việc — {cfg.ward.name} — ngày {day:%d/%m/%Y}"
    if s["dry_run"]:
        head += " (chạy thử: không gửi, không ghi gì)"
    lines = [head, ""]
    if not s["working_day"]:
        lines.append("Ngày nghỉ theo lịch làm việc của phường: không gửi nhắc việc.")
        return "\n".join(lines) + "\n"
    lines += [f"- Đã gửi: {format_int(s['sent'])}", f"- Bỏ qua (đã gửi trong lượt chạy trước): {format_int(s['skipped'])}",
              f"- Thất bại: {format_int(s['failed'])}", f"- Còn chờ gửi: {format_int(s['pending'])}"]
    if s["dry_run"]:
        lines.append(f"- Sẽ gửi: {format_int(s['would_send'])}")
    if s["interrupted"]:
        lines.append(f"- Lượt gửi dừng giữa chừng: {s['interrupted']}; thư còn lại gửi ở lượt sau")
    lines.append("")
    if not s["recipients"]:
        lines.append("Không có việc cần nhắc hôm nay." if not s["missing_recipients"] else "Không có thư nào gửi được.")
    else:
        lines += ["| Người nhận | Vai trò | Số việc | Tình trạng |", "|---|---|---:|---|"]
        roles = {"officer": "cán bộ xử lý", "head": "trưởng đơn vị", "leader": "lãnh đạo"}
        for r in s["recipients"]:
            lines.append(f"| {r['recipient']} | {roles.get(r['role'], r['role'])} | {format_int(r['items'])} | "
                         f"{r['state']} |")
    lines += ["", "| Loại việc | Số việc |", "|---|---:|"]
    lines += [f"| {RULE_NAMES_VI[k]} | {format_int(v)} |" for k, v in s["rules"].items()]
    if s["missing_recipients"]:
        lines += ["", "**Người nhận chưa có email (không gửi được):**", ""]
        lines += [f"- {m}" for m in s["missing_recipients"]]
    return "\n".join(lines) + "\n"


def publish_reminders(cfg: Config, s: dict) -> str:
    key = artifact_key("nhac-viec", cfg.ward.slug, s["date"], "chay-thu" if s["dry_run"] else "")
    publish_markdown(key, artifact_of(cfg, s), f"Nhắc việc — {cfg.ward.name} — {s['date']}")
    return key
