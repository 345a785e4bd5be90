"""Rendering a reminder digest (cchc.domain.reminders.Digest): subject, plain text and HTML, from the
jinja2 templates reminders/subject.txt.j2, reminders/digest.txt.j2 and reminders/digest.html.j2.

A ward's own templates directory (configuration) is searched first, then the package's
(jinja2 ChoiceLoader), so an officer can change the wording without touching code. The HTML is a
table with inline styles and no external resource (mail clients block them). A digest carries no
applicant data: its items hold dossier codes, procedure and unit names, dates and actions only.

A section (one rule) lists at most `list_limit` items (`reminders.digest_list_limit`), the most
urgent first, then one line "và X hồ sơ khác"; its heading, the total and the subject count every
item (a digest of thousands of lines is not read, and would cost its recipient's mail server).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2

from cchc.domain.reminders import (
    ROLE_HEAD,
    ROLE_LEADER,
    ROLE_OFFICER,
    RULE_NAMES_VI,
    RULES,
    Digest,
    ReminderItem,
)
from cchc.domain.text import format_int
from cchc.errors import UserError

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_TEMPLATE = "reminders/subject.txt.j2"
TEXT_TEMPLATE = "reminders/digest.txt.j2"
HTML_TEMPLATE = "reminders/digest.html.j2"

ROLE_NAMES_VI = {ROLE_OFFICER: "cán bộ xử lý", ROLE_HEAD: "trưởng đơn vị", ROLE_LEADER: "lãnh đạo UBND"}


class TemplateError(UserError):
    """A ward template that cannot be read or rendered: one line naming the template."""


@dataclass(frozen=True)
class RenderedDigest:
    key: str  # the outbox idempotency key
    kind: str
    recipient: str  # email address
    recipient_name: str
    subject: str
    text: str
    html: str
    items: int
    rule_counts: dict[str, int]

    def outbox_fields(self) -> dict:
        """Keyword arguments of cchc.connectors.store.outbox.OutboxMessage."""
        return {"key": self.key, "kind": self.kind, "recipient": self.recipient,
                "recipient_name": self.recipient_name, "subject": self.subject, "body_text": self.text,
                "body_html": self.html}


def environment(templates_dir: str | Path | None = None) -> jinja2.Environment:
    """The template environment: `templates_dir` (a ward's overrides) first, then the package's."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
    )


def vn_date(d: date) -> str:
    return f"{d:%d/%m/%Y}"


def days_text(item: ReminderItem) -> str:
    """'còn 2 ngày làm việc' / 'đến hạn hôm nay' / 'quá hạn 3 ngày làm việc' ('—' for a note)."""
    if item.rule == "escalation":
        return "—"
    n = item.days_left
    if n > 0:
        return f"còn {format_int(n)} ngày làm việc"
    if n == 0:
        return "đến hạn hôm nay"
    return f"quá hạn {format_int(-n)} ngày làm việc"


#: What the items a section does not list are ("và 12 hồ sơ khác").
_MORE_WHAT = {"report_deadline": "báo cáo", "remediation": "việc khắc phục", "escalation": "đơn vị"}

#: Items listed per section when no limit is given.
DEFAULT_LIST_LIMIT = 20


def _row(it: ReminderItem) -> dict:
    return {"code": it.dossier_code, "procedure": it.procedure, "unit": it.unit, "due": vn_date(it.due),
            "days": days_text(it), "late": it.days_left < 0, "action": it.action}


def _context(digest: Digest, ward: str, list_limit: int = DEFAULT_LIST_LIMIT) -> dict:
    """The template context: per rule, the first `list_limit` items (digest order: most urgent
    first), the section's full count, how many are not listed, and the action when every item of
    the section asks the same (said once, not on every line)."""
    by_rule: dict[str, list[ReminderItem]] = {}
    for it in digest.items:
        by_rule.setdefault(it.rule, []).append(it)
    sections = []
    for rule in RULES:
        its = by_rule.get(rule)
        if not its:
            continue
        more = max(0, len(its) - list_limit)
        actions = {it.action for it in its}
        sections.append({"rule": rule, "title": RULE_NAMES_VI[rule], "rows": [_row(it) for it in its[:list_limit]],
                         "action": actions.pop() if len(actions) == 1 else "",
                         "count": format_int(len(its)), "more": more,
                         "more_text": f"và {format_int(more)} {_MORE_WHAT.get(rule, 'hồ sơ')} khác" if more else ""})
    late = sum(1 for it in digest.items if it.days_left < 0 and it.rule != "escalation")
    return {"ward": ward, "day": vn_date(digest.day), "recipient_name": digest.recipient.name,
            "recipient_role": ROLE_NAMES_VI.get(digest.recipient.role, ""), "sections": sections,
            "total": format_int(len(digest.items)), "late": format_int(late) if late else ""}


def render_digest(digest: Digest, ward: str, env: jinja2.Environment | None = None,
                  templates_dir: str | Path | None = None, list_limit: int = DEFAULT_LIST_LIMIT) -> RenderedDigest:
    """Subject, text and HTML of one digest (`ward`: the ward's name, e.g. config.ward.name; at most
    `list_limit` items listed per section)."""
    if not digest.recipient.email:
        raise ValueError(f"{digest.recipient.key}: không có email")
    if list_limit < 1:
        raise ValueError("list_limit phải >= 1")
    env = env or environment(templates_dir)
    ctx = _context(digest, ward, list_limit)
    try:
        subject = " ".join(env.get_template(SUBJECT_TEMPLATE).render(ctx).split())
        text = env.get_template(TEXT_TEMPLATE).render(ctx)
        html = env.get_template(HTML_TEMPLATE).render(ctx)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{e.filename or e.name}, dòng {e.lineno}: mẫu thư sai cú pháp ({e.message})") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"mẫu thư nhắc việc không dùng được: {type(e).__name__}: {e}") from None
    return RenderedDigest(key=digest.key, kind="nhac-viec", recipient=digest.recipient.email,
                          recipient_name=digest.recipient.name, subject=subject, text=text, html=html,
                          items=len(digest.items), rule_counts=digest.rule_counts())


def render_digests(digests, ward: str, templates_dir: str | Path | None = None,
                   list_limit: int = DEFAULT_LIST_LIMIT) -> list[RenderedDigest]:
    env = environment(templates_dir)
    return [render_digest(d, ward, env, list_limit=list_limit) for d in digests]
