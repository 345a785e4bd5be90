"""The monthly summary for the ward's leadership (issue 13): headline figures against the previous
period and the ward's targets, a 12-month trend chart, the unit ranking, the ten procedures with
the most late dossiers, overdue pending dossiers by unit, reconciliation gaps with the national
portal, inspections and remediation — as an HTML email (with a plain-text alternative and the chart
inline by Content-ID), a Word report in the Nghị định 30/2020 layout, and a markdown mirror for a
Prefect artifact; `monthly_message_fields` gives one outbox message's fields per recipient
(`cchc.pipeline.monthly.monthly_messages`).

Everything here is built from plain inputs (no store, no Prefect, no configuration object):

`MonthlyFigures` (what happened):
- `ward`: the ward's name ("Phường Hòa An (mô phỏng)"); `ward_slug` ("phuong-hoa-an-mo-phong");
  `period` the period's slug ("2026-10"); `period_label` ("Tháng 10/2026"); `period_range`
  ("Từ 01/10/2026 đến 31/10/2026").
- `current`, `previous`: the TOTAL object of `cchc stats --json` for this and the previous period
  (keys used: received, resolved, carried_over, pending, late, and for each rate of
  `HEADLINE_RATES` the rate in percent or None, with `<rate>_num` / `<rate>_den`); `previous`
  may be None (no previous data).
- `trend`: up to 12 `(month label, on-time rate, online rate)`, oldest first, e.g.
  `("11/2025", 96.5, 48.2)`; a rate None is a month where it did not arise (a gap in the line).
- `units`: the unit objects of `cchc stats --json --by unit` (TOTAL ignored): label, received,
  resolved, on_time_rate(+_den), online_rate(+_den), pending, pending_overdue, and optionally
  `score` (766 points); they give the ranking and the overdue pending by unit.
- `procedures`: the objects of `cchc stats --json --by procedure` (label, resolved, late): the top
  ten by late dossiers are shown.
- `reconciliation`: the reconciliation summary rows (`cchc.domain.reconcile.reconcile`'s summary:
  label, provincial, on_national, missing, status_mismatches, due_mismatches, finish_mismatches,
  sync_rate), TOTAL row included or not; None when the national portal was not compared.
- `inspections`: the inspections done in the period, mappings `{"unit": name, "date": date,
  "kind": "định kỳ" | "đột xuất", "findings": int}` ("findings" optional).
- `remediation`: counts of the findings by status `{"open": n, "done": n, "overdue": n}`.
- `simulated` (a "DỮ LIỆU MÔ PHỎNG" banner), `provisional` (the period has not ended or its data is
  incomplete: "số liệu tạm tính"), `empty` (no dossier at all; None: derived from `current`).

`ReportSetup` (how the ward presents it): `targets` {rate key: percent}, the Word report's `place`,
`issue_date`, `number`, `symbol`, `signer`, `receivers` (Nơi nhận), `archive`, and a ward's
`templates_dir` searched before the package's templates.

A figure whose denominator is zero reads "không phát sinh", never 0% or an error. No output names a
citizen: the inputs are aggregates, unit and procedure names.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2

from cchc.domain.text import format_decimal, format_int, format_percent
from cchc.report import nd30_docx as nd
from cchc.report.reminders import TemplateError, environment

KIND = "tong-hop-thang"
NA = "không phát sinh"
SIMULATED_BANNER = "DỮ LIỆU MÔ PHỎNG — không dùng để báo cáo chính thức"
PROVISIONAL_NOTE = "Kỳ báo cáo chưa kết thúc hoặc dữ liệu chưa đầy đủ: số liệu tạm tính."
EMPTY_NOTE = "Trong kỳ không phát sinh hồ sơ thủ tục hành chính."

SUBJECT_TEMPLATE = "monthly/subject.txt.j2"
TEXT_TEMPLATE = "monthly/email.txt.j2"
HTML_TEMPLATE = "monthly/email.html.j2"
MARKDOWN_TEMPLATE = "monthly/artifact.md.j2"
DOCX_TEMPLATE = "bao_cao_tong_hop_thang.docx"

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

#: (key of `cchc stats --json`, Vietnamese label), in the email's order
HEADLINE_COUNTS = (("received", "Hồ sơ tiếp nhận"), ("resolved", "Hồ sơ đã giải quyết"))
HEADLINE_RATES = (
    ("on_time_rate", "Tỉ lệ giải quyết đúng hạn"),
    ("online_rate", "Tỉ lệ tiếp nhận trực tuyến"),
    ("full_online_rate", "Tỉ lệ trực tuyến toàn trình"),
    ("online_payment_rate", "Tỉ lệ thanh toán trực tuyến"),
    ("digitization_rate", "Tỉ lệ số hóa hồ sơ"),
    ("apology_rate", "Hồ sơ trễ hạn có phiếu xin lỗi"),
)
TREND_LABELS = ("Tỉ lệ giải quyết đúng hạn", "Tỉ lệ tiếp nhận trực tuyến")
REMEDIATION_LABELS = (("done", "Đã khắc phục"), ("open", "Đang khắc phục (trong hạn)"),
                      ("overdue", "Quá hạn khắc phục"))
CHART_SIZE_PX = (800, 360)
TOP_PROCEDURES = 10


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class MonthlyFigures:
    ward: str
    ward_slug: str
    period: str
    period_label: str
    period_range: str
    current: Mapping
    previous: Mapping | None = None
    trend: Sequence[tuple[str, float | None, float | None]] = ()
    units: Sequence[Mapping] = ()
    procedures: Sequence[Mapping] = ()
    reconciliation: Sequence[Mapping] | None = None
    inspections: Sequence[Mapping] = ()
    remediation: Mapping[str, int] = field(default_factory=dict)
    simulated: bool = False
    provisional: bool = False
    empty: bool | None = None

    @property
    def is_empty(self) -> bool:
        if self.empty is not None:
            return self.empty
        return not any(_int(self.current.get(k)) for k in ("received", "carried_over", "resolved", "pending"))


@dataclass(frozen=True)
class ReportSetup:
    targets: Mapping[str, float] = field(default_factory=dict)
    place: str = ""
    issue_date: date | None = None
    number: int | str | None = None
    symbol: str = "BC-UBND"
    signer: nd.Signer | None = None
    receivers: Sequence[str] = ("Chủ tịch, các Phó Chủ tịch UBND phường",)
    archive: str = "VT"
    templates_dir: str | Path | None = None


# ------------------------------------------------------------------------------- the figures


def _int(v) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0
    return 0 if math.isnan(f) else int(round(f))


def _rate(row: Mapping | None, key: str) -> float | None:
    """The rate in percent, None when it does not arise (a zero denominator, or no value)."""
    if not row:
        return None
    if f"{key}_den" in row and not _int(row.get(f"{key}_den")):
        return None
    v = row.get(key)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    kind: str  # "count" | "rate"
    value: float | None  # None: không phát sinh
    text: str  # "95,25%", "2.284", "không phát sinh"
    detail: str  # "381/400" for a rate, "" for a count
    previous_text: str
    change: float | None  # percentage points (rate) or dossiers (count); None: not comparable
    change_text: str  # "+1,25 điểm %", "-3 hồ sơ", "không đổi", "—"
    trend: str  # "up" | "down" | "same" | "" (for colouring)
    target: float | None
    target_text: str  # "95,00%" or "—"
    met: bool | None  # None: no target, or the figure does not arise
    status_text: str  # "Đạt" | "Chưa đạt" | ""

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "value": self.value, "text": self.text,
                "previous": self.previous_text, "change": self.change, "change_text": self.change_text,
                "target": self.target, "met": self.met}


def rate_change_text(current: float | None, previous: float | None) -> tuple[float | None, str]:
    """(+1.25, '+1,25 điểm %'); 'không đổi'; '—' when this period's rate does not arise;
    'kỳ trước không phát sinh' when the previous one did not."""
    if current is None:
        return None, "—"
    if previous is None:
        return None, "kỳ trước không phát sinh"
    diff = round(current - previous, 2)
    if diff == 0:
        return 0.0, "không đổi"
    return diff, ("+" if diff > 0 else "-") + format_decimal(abs(diff)) + " điểm %"


def count_change_text(current: int, previous: int | None) -> tuple[float | None, str]:
    if previous is None:
        return None, "—"
    diff = current - previous
    if diff == 0:
        return 0, "không đổi"
    return diff, format_int(diff, sign=True) + " hồ sơ"


def _direction(change: float | None) -> str:
    return "" if change is None else "same" if change == 0 else "up" if change > 0 else "down"


def headline_figures(current: Mapping, previous: Mapping | None,
                     targets: Mapping[str, float] | None = None) -> list[Headline]:
    """The eight headline figures of the period, each with its change and target."""
    targets = targets or {}
    out = []
    for key, label in HEADLINE_COUNTS:
        v = _int(current.get(key))
        prev = _int(previous.get(key)) if previous else None
        change, change_text = count_change_text(v, prev)
        out.append(Headline(key, label, "count", v, format_int(v), "",
                            format_int(prev) if prev is not None else "—", change, change_text,
                            _direction(change), None, "—", None, ""))
    for key, label in HEADLINE_RATES:
        v, prev = _rate(current, key), _rate(previous, key)
        change, change_text = rate_change_text(v, prev)
        target = targets.get(key)
        met = None if target is None or v is None else v >= float(target) - 1e-9
        detail = ""
        if v is not None and f"{key}_den" in current:
            detail = f"{format_int(current.get(f'{key}_num'))}/{format_int(current.get(f'{key}_den'))}"
        out.append(Headline(key, label, "rate", v, format_percent(v, NA), detail,
                            format_percent(prev, NA) if previous else "—", change, change_text, _direction(change),
                            None if target is None else float(target),
                            "—" if target is None else format_percent(float(target)),
                            met, "" if met is None else "Đạt" if met else "Chưa đạt"))
    return out


def _label(row: Mapping) -> str:
    return " ".join(str(row.get("label") or row.get("unit") or row.get("procedure") or row.get("group") or "").split())


def _is_total(row: Mapping) -> bool:
    return str(row.get("group", "")) == "TOTAL" or _label(row) == "Tổng cộng"


def unit_ranking(rows: Sequence[Mapping]) -> list[dict]:
    """Units ranked: by 766 score when the rows carry one, else by on-time rate, then online rate
    (a rate that does not arise ranks last); units without any dossier get no rank."""
    units = [r for r in rows if not _is_total(r)]
    scored = any(r.get("score") is not None for r in units)

    def active(r) -> bool:
        return any(_int(r.get(k)) for k in ("received", "resolved", "pending", "carried_over"))

    def key(r):
        score = r.get("score")
        on_time, online = _rate(r, "on_time_rate"), _rate(r, "online_rate")
        first = -(float(score) if score is not None else -1.0) if scored else 0.0
        return (not active(r), first, on_time is None, -(on_time or 0), online is None, -(online or 0),
                -_int(r.get("received")), _label(r))

    out, rank = [], 0
    for r in sorted(units, key=key):
        rank += active(r)
        score = r.get("score")
        out.append({"rank": str(rank) if active(r) else "—", "unit": _label(r),
                    "received": format_int(_int(r.get("received"))), "resolved": format_int(_int(r.get("resolved"))),
                    "on_time": format_percent(_rate(r, "on_time_rate"), NA),
                    "online": format_percent(_rate(r, "online_rate"), NA),
                    "score": format_decimal(score) if score is not None else ""})
    return out


def late_procedures(rows: Sequence[Mapping], limit: int = TOP_PROCEDURES) -> list[dict]:
    """The `limit` procedures with the most late dossiers (none late: an empty list)."""
    late = [r for r in rows if not _is_total(r) and _int(r.get("late")) > 0]
    late.sort(key=lambda r: (-_int(r.get("late")), -_int(r.get("resolved")), _label(r)))
    out = []
    for i, r in enumerate(late[:limit], start=1):
        resolved, n = _int(r.get("resolved")), _int(r.get("late"))
        out.append({"stt": str(i), "procedure": _label(r), "resolved": format_int(resolved), "late": format_int(n),
                    "late_rate": format_percent(100.0 * n / resolved if resolved else None, NA)})
    return out


def overdue_by_unit(rows: Sequence[Mapping]) -> list[dict]:
    """Units with overdue pending dossiers, most first."""
    units = [r for r in rows if not _is_total(r) and _int(r.get("pending_overdue")) > 0]
    units.sort(key=lambda r: (-_int(r.get("pending_overdue")), _label(r)))
    return [{"stt": str(i), "unit": _label(r), "pending": format_int(_int(r.get("pending"))),
             "overdue": format_int(_int(r.get("pending_overdue"))),
             "share": format_percent(100.0 * _int(r.get("pending_overdue")) / _int(r.get("pending"))
                                     if _int(r.get("pending")) else None, NA)}
            for i, r in enumerate(units, start=1)]


def reconciliation_gaps(rows: Sequence[Mapping] | None) -> tuple[list[dict], dict | None] | None:
    """(units with a gap, the total row) — None when the national portal was not compared."""
    if rows is None:
        return None

    def shape(r) -> dict:
        mism = sum(_int(r.get(k)) for k in ("status_mismatches", "due_mismatches", "finish_mismatches"))
        rate = r.get("sync_rate")
        if rate is not None and isinstance(rate, float) and math.isnan(rate):
            rate = None
        if not _int(r.get("provincial")):
            rate = None
        return {"unit": "Tổng cộng" if _is_total(r) else _label(r), "provincial": format_int(_int(r.get("provincial"))),
                "on_national": format_int(_int(r.get("on_national"))), "missing": format_int(_int(r.get("missing"))),
                "mismatches": format_int(mism), "sync_rate": format_percent(rate, NA),
                "gap": _int(r.get("missing")) + mism}

    units = [shape(r) for r in rows if not _is_total(r)]
    totals = [shape(r) for r in rows if _is_total(r)]
    gaps = [u for u in units if u["gap"]]
    gaps.sort(key=lambda u: -u["gap"])
    if totals:
        total = totals[0]
    else:
        n = {k: sum(_int(r.get(k)) for r in rows if not _is_total(r))
             for k in ("provincial", "on_national", "missing", "status_mismatches", "due_mismatches",
                       "finish_mismatches")}
        total = shape({**n, "group": "TOTAL",
                       "sync_rate": 100.0 * n["on_national"] / n["provincial"] if n["provincial"] else None})
    return gaps, total


def inspection_rows(inspections: Sequence[Mapping]) -> list[dict]:
    rows = sorted(inspections, key=lambda r: (r.get("date") or date.min, _label(r)))
    return [{"stt": str(i), "unit": _label(r), "date": f"{r['date']:%d/%m/%Y}" if r.get("date") else "",
             "kind": str(r.get("kind") or ""),
             "findings": format_int(r["findings"]) if r.get("findings") is not None else ""}
            for i, r in enumerate(rows, start=1)]


def remediation_rows(counts: Mapping[str, int]) -> list[dict]:
    total = sum(_int(counts.get(k)) for k, _ in REMEDIATION_LABELS)
    return [{"status": label, "count": format_int(_int(counts.get(k))),
             "share": format_percent(100.0 * _int(counts.get(k)) / total if total else None, NA)}
            for k, label in REMEDIATION_LABELS]


# ------------------------------------------------------------------------------------ chart


def trend_chart_png(series: Sequence[tuple[str, float | None, float | None]], *,
                    title: str = "Xu hướng 12 tháng gần nhất") -> bytes:
    """A line chart of the on-time and online rates (the last 12 months of `series`) as PNG bytes:
    800×360 px, Vietnamese labels, deterministic (the same input gives the same bytes: no date in
    the PNG metadata). A month whose rate does not arise is a gap in its line."""
    from io import BytesIO

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    series = list(series)[-12:]
    w, h = CHART_SIZE_PX
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.80, bottom=0.14)
    ax = fig.add_subplot(1, 1, 1)
    fig.suptitle(title, fontsize=12, fontweight="bold", y=0.97)
    if not series:
        ax.text(0.5, 0.5, "Chưa có dữ liệu", ha="center", va="center", transform=ax.transAxes, fontsize=12)
    labels = [str(s[0]) for s in series]
    x = list(range(len(series)))
    styles = (("#1f5fa8", "o"), ("#d9822b", "s"))
    for i, (name, (color, marker)) in enumerate(zip(TREND_LABELS, styles, strict=True)):
        values = [float("nan") if s[i + 1] is None else float(s[i + 1]) for s in series]
        ax.plot(x, values, color=color, marker=marker, markersize=5, linewidth=2, label=name)
        last = next(((j, v) for j, v in reversed(list(enumerate(values))) if not math.isnan(v)), None)
        if last is not None:
            ax.annotate(format_percent(last[1]), last, textcoords="offset points", xytext=(0, 7), ha="center",
                        fontsize=8, color=color)
    ax.set_ylim(0, 108)
    ax.set_xlim(-0.5, max(len(series), 1) - 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.91), ncol=2,
               fontsize=9, frameon=False)
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=100,
                metadata={"Software": f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/",
                          "Title": title})
    return buf.getvalue()


# ---------------------------------------------------------------------------------- context


def chart_cid(fig: MonthlyFigures) -> str:
    """The chart's Content-ID (without the angle brackets)."""
    return f"bieu-do-{fig.ward_slug}-{fig.period}@cchc.local"


def artifact_key(ward_slug: str, period: str) -> str:
    """'tong-hop-thang-phuong-hoa-an-2026-10' (Prefect artifact keys: lowercase, digits, dashes)."""
    return f"{KIND}-{ward_slug}-{period}".lower()


def message_key(period: str, recipient: str) -> str:
    """The outbox idempotency key: report, period, recipient."""
    return f"{KIND}|{period}|{recipient.strip().lower()}"


def report_context(fig: MonthlyFigures, setup: ReportSetup | None = None) -> dict:
    """Every figure as display text, shared by the email, the markdown and the Word report."""
    setup = setup or ReportSetup()
    headlines = headline_figures(fig.current, fig.previous, setup.targets)
    gaps = reconciliation_gaps(fig.reconciliation)
    trend = [{"month": str(m), "on_time": format_percent(a, NA), "online": format_percent(b, NA)}
             for m, a, b in list(fig.trend)[-12:]]
    ranking = unit_ranking(fig.units)
    targets_set = [h for h in headlines if h.met is not None]
    return {
        "ward": fig.ward,
        "period": fig.period,
        "period_label": fig.period_label,
        "period_label_lower": fig.period_label[:1].lower() + fig.period_label[1:],
        "period_range": fig.period_range,
        "simulated": fig.simulated,
        "simulated_banner": SIMULATED_BANNER,
        "provisional": fig.provisional,
        "provisional_note": PROVISIONAL_NOTE,
        "empty": fig.is_empty,
        "empty_note": EMPTY_NOTE,
        "na": NA,
        "headlines": [h.__dict__ for h in headlines],
        "targets_met": sum(1 for h in targets_set if h.met),
        "targets_total": len(targets_set),
        "trend": trend,
        "trend_labels": TREND_LABELS,
        "ranking": ranking,
        "ranking_scored": any(r["score"] for r in ranking),
        "late_procedures": late_procedures(fig.procedures),
        "overdue": overdue_by_unit(fig.units),
        "reconciled": gaps is not None,
        "gaps": gaps[0] if gaps else [],
        "gaps_total": gaps[1] if gaps else None,
        "inspections": inspection_rows(fig.inspections),
        "remediation": remediation_rows(fig.remediation),
        "remediation_total": format_int(sum(_int(fig.remediation.get(k)) for k, _ in REMEDIATION_LABELS)),
        "chart_cid": chart_cid(fig),
    }


def summary_json(fig: MonthlyFigures, setup: ReportSetup | None = None) -> dict:
    """A JSON-able summary (for `--json`): the headline figures and the sections' sizes."""
    ctx = report_context(fig, setup)
    return {"ward": fig.ward, "period": fig.period, "period_label": fig.period_label,
            "simulated": fig.simulated, "provisional": fig.provisional, "empty": fig.is_empty,
            "headline": [h.as_dict() for h in headline_figures(fig.current, fig.previous,
                                                               (setup or ReportSetup()).targets)],
            "targets_met": ctx["targets_met"], "targets_total": ctx["targets_total"],
            "units": len(ctx["ranking"]), "late_procedures": len(ctx["late_procedures"]),
            "overdue_units": len(ctx["overdue"]), "reconciliation_gaps": len(ctx["gaps"]),
            "inspections": len(ctx["inspections"]), "artifact_key": artifact_key(fig.ward_slug, fig.period)}


# ------------------------------------------------------------------------------------ email


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _environment(templates_dir: str | Path | None) -> jinja2.Environment:
    """`environment`, one per templates folder and process: each template is compiled once (jinja
    checks a template file's time before reusing it, so an edited override is read again)."""
    return _environments(str(templates_dir) if templates_dir else None)


@functools.lru_cache(maxsize=8)
def _environments(templates_dir: str | None) -> jinja2.Environment:
    return environment(templates_dir)


def _render(env: jinja2.Environment, name: str, ctx: dict) -> str:
    try:
        return env.get_template(name).render(ctx)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{e.filename or e.name}, dòng {e.lineno}: mẫu thư sai cú pháp ({e.message})") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"mẫu thư tổng hợp tháng {name} không dùng được: {type(e).__name__}: {e}") from None


def _recipient(r) -> tuple[str, str, str]:
    """(email, name, title) of a recipient object (config's MonthlyRecipient, a Leader) or mapping."""
    get = r.get if isinstance(r, Mapping) else lambda k, d="": getattr(r, k, d)
    return str(get("email", "")), str(get("name", "") or ""), str(get("title", "") or "")


def render_email(fig: MonthlyFigures, setup: ReportSetup | None = None, recipient=None,
                 env: jinja2.Environment | None = None) -> RenderedEmail:
    """Subject, text and HTML of the summary (`recipient`: greets them by name and title)."""
    setup = setup or ReportSetup()
    env = env or _environment(setup.templates_dir)
    ctx = report_context(fig, setup)
    _, name, title = _recipient(recipient) if recipient is not None else ("", "", "")
    ctx.update({"recipient_name": name, "recipient_title": title})
    subject = " ".join(_render(env, SUBJECT_TEMPLATE, ctx).split())
    return RenderedEmail(subject, _render(env, TEXT_TEMPLATE, ctx), _render(env, HTML_TEMPLATE, ctx))


def render_markdown(fig: MonthlyFigures, setup: ReportSetup | None = None,
                    env: jinja2.Environment | None = None) -> str:
    """The markdown mirror of the email (a Prefect artifact, key `artifact_key(...)`)."""
    setup = setup or ReportSetup()
    env = env or _environment(setup.templates_dir)
    return _render(env, MARKDOWN_TEMPLATE, report_context(fig, setup))


# ------------------------------------------------------------------------------- Word report


def build_docx_template(path: str | Path) -> Path:
    """The BÁO CÁO template (docxtpl tags in the Nghị định 30/2020 layout); built by
    tools/build_report_templates.py into cchc/report/templates/."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = nd.new_document()
    nd.add_heading_block(doc, issuing_body="{{ issuing_body }}", number="{{ number_line }}",
                         place_date="{{ date_line }}", superior_body=None)
    nd.add_control_paragraph(doc, "{%p if simulated %}")
    p = nd.add_body_paragraph(doc, "{{ simulated_banner }}", bold=True, indent=False)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    nd.add_control_paragraph(doc, "{%p endif %}")
    nd.add_title(doc, "BÁO CÁO", ["Tình hình giải quyết thủ tục hành chính {{ period_label_lower }}"])
    b = nd.add_body_paragraph
    b(doc, "Kỳ báo cáo: {{ period_range }}. Ủy ban nhân dân {{ ward_short }} báo cáo tình hình tiếp nhận, giải "
           "quyết thủ tục hành chính trong kỳ như sau:")
    nd.add_control_paragraph(doc, "{%p if provisional %}")
    b(doc, "{{ provisional_note }}", italic=True)
    nd.add_control_paragraph(doc, "{%p endif %}")
    nd.add_control_paragraph(doc, "{%p if empty %}")
    b(doc, "{{ empty_note }}", italic=True)
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "I. Kết quả chủ yếu", bold=True)
    nd.add_table(doc, ["STT", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Thay đổi", "Mục tiêu", "Đánh giá"],
                 (10, 45, 26, 22, 24, 19, 19),
                 rows=[["{%tr for h in headlines %}", "", "", "", "", "", ""],
                       ["{{ loop.index }}", "{{ h.label }}", "{{ h.text }}", "{{ h.previous_text }}",
                        "{{ h.change_text }}", "{{ h.target_text }}", "{{ h.status_text }}"],
                       ["{%tr endfor %}", "", "", "", "", "", ""]], size=12)
    nd.add_control_paragraph(doc, "{%p if targets_total %}")
    b(doc, "Đạt {{ targets_met }}/{{ targets_total }} mục tiêu của phường.")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "II. Xu hướng 12 tháng", bold=True)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    nd._fonts(p.add_run("{{ chart }}"), nd.BODY_PT)
    b(doc, "III. Xếp hạng các đơn vị", bold=True)
    nd.add_table(doc, ["Hạng", "Đơn vị", "Tiếp nhận", "Đã giải quyết", "Đúng hạn", "Trực tuyến"],
                 (14, 55, 22, 24, 25, 25),
                 rows=[["{%tr for r in ranking %}", "", "", "", "", ""],
                       ["{{ r.rank }}", "{{ r.unit }}", "{{ r.received }}", "{{ r.resolved }}", "{{ r.on_time }}",
                        "{{ r.online }}"],
                       ["{%tr endfor %}", "", "", "", "", ""]], size=12)
    b(doc, "IV. Mười thủ tục có nhiều hồ sơ trễ hạn nhất", bold=True)
    nd.add_control_paragraph(doc, "{%p if late_procedures %}")
    nd.add_table(doc, ["STT", "Thủ tục hành chính", "Đã giải quyết", "Trễ hạn", "Tỉ lệ trễ"], (12, 83, 25, 20, 25),
                 rows=[["{%tr for r in late_procedures %}", "", "", "", ""],
                       ["{{ r.stt }}", "{{ r.procedure }}", "{{ r.resolved }}", "{{ r.late }}", "{{ r.late_rate }}"],
                       ["{%tr endfor %}", "", "", "", ""]], size=12)
    nd.add_control_paragraph(doc, "{%p else %}")
    b(doc, "Hồ sơ trễ hạn: {{ na }}.")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "V. Hồ sơ đang giải quyết quá hạn theo đơn vị", bold=True)
    nd.add_control_paragraph(doc, "{%p if overdue %}")
    nd.add_table(doc, ["STT", "Đơn vị", "Đang giải quyết", "Trong đó quá hạn", "Tỉ lệ"], (12, 73, 30, 30, 20),
                 rows=[["{%tr for r in overdue %}", "", "", "", ""],
                       ["{{ r.stt }}", "{{ r.unit }}", "{{ r.pending }}", "{{ r.overdue }}", "{{ r.share }}"],
                       ["{%tr endfor %}", "", "", "", ""]], size=12)
    nd.add_control_paragraph(doc, "{%p else %}")
    b(doc, "Hồ sơ đang giải quyết quá hạn: {{ na }}.")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "VI. Đối chiếu với Cổng Dịch vụ công quốc gia", bold=True)
    nd.add_control_paragraph(doc, "{%p if not reconciled %}")
    b(doc, "Kỳ này chưa đối chiếu với Cổng Dịch vụ công quốc gia.")
    nd.add_control_paragraph(doc, "{%p else %}")
    b(doc, "Toàn phường: {{ gaps_total.provincial }} hồ sơ trên hệ thống của tỉnh, {{ gaps_total.on_national }} có "
           "trên Cổng, thiếu {{ gaps_total.missing }}, lệch {{ gaps_total.mismatches }}; tỉ lệ đồng bộ "
           "{{ gaps_total.sync_rate }}.")
    nd.add_control_paragraph(doc, "{%p if gaps %}")
    nd.add_table(doc, ["Đơn vị", "Hệ thống tỉnh", "Có trên Cổng", "Thiếu", "Lệch", "Tỉ lệ đồng bộ"],
                 (55, 24, 24, 18, 18, 26),
                 rows=[["{%tr for r in gaps %}", "", "", "", "", ""],
                       ["{{ r.unit }}", "{{ r.provincial }}", "{{ r.on_national }}", "{{ r.missing }}",
                        "{{ r.mismatches }}", "{{ r.sync_rate }}"],
                       ["{%tr endfor %}", "", "", "", "", ""]], size=12)
    nd.add_control_paragraph(doc, "{%p endif %}")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "VII. Kiểm tra công tác cải cách hành chính và khắc phục", bold=True)
    nd.add_control_paragraph(doc, "{%p if inspections %}")
    nd.add_table(doc, ["STT", "Đơn vị được kiểm tra", "Ngày kiểm tra", "Hình thức", "Số tồn tại"],
                 (12, 68, 30, 30, 25),
                 rows=[["{%tr for r in inspections %}", "", "", "", ""],
                       ["{{ r.stt }}", "{{ r.unit }}", "{{ r.date }}", "{{ r.kind }}", "{{ r.findings }}"],
                       ["{%tr endfor %}", "", "", "", ""]], size=12)
    nd.add_control_paragraph(doc, "{%p else %}")
    b(doc, "Trong kỳ không có cuộc kiểm tra.")
    nd.add_control_paragraph(doc, "{%p endif %}")
    b(doc, "Tình hình khắc phục tồn tại sau kiểm tra ({{ remediation_total }} tồn tại):")
    nd.add_table(doc, ["Trạng thái", "Số tồn tại", "Tỉ lệ"], (95, 35, 35),
                 rows=[["{%tr for r in remediation %}", "", ""],
                       ["{{ r.status }}", "{{ r.count }}", "{{ r.share }}"],
                       ["{%tr endfor %}", "", ""]], size=12)
    b(doc, "Ủy ban nhân dân {{ ward_short }} báo cáo để các đồng chí lãnh đạo biết, chỉ đạo./.")
    nd.add_closing_block(
        doc,
        recipients_tag_lines=["{%p for line in recipients %}", "{{ line }}", "{%p endfor %}"],
        signature_tag_lines=["{%p for line in signature %}", "{{ line }}", "{%p endfor %}"],
        signer_name="{{ signer_name }}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def build_templates(folder: str | Path = nd.TEMPLATES) -> list[Path]:
    return [build_docx_template(Path(folder) / DOCX_TEMPLATE)]


def _place(ward: str) -> str:
    """'Phường Hòa An (mô phỏng)' -> 'Hòa An' (the date line's place; config: ward.place_name)."""
    import re

    name = re.sub(r"\s*\(.*?\)\s*", " ", ward).strip()
    for prefix in ("Phường ", "Xã ", "Thị trấn ", "Đặc khu "):
        if name.startswith(prefix):
            return name[len(prefix):].strip()
    return name


def _ward_short(ward: str) -> str:
    """'Phường Hòa An (mô phỏng)' -> 'phường Hòa An' (as in a sentence)."""
    import re

    name = re.sub(r"\s*\(.*?\)\s*", " ", ward).strip()
    return name[:1].lower() + name[1:]


def docx_context(fig: MonthlyFigures, setup: ReportSetup | None = None) -> dict:
    from docxtpl import Listing

    from cchc.report.inspection_docs import issuing_body

    setup = setup or ReportSetup()
    ctx = report_context(fig, setup)
    year = setup.issue_date.year if setup.issue_date else None
    ctx.update({
        "issuing_body": Listing(issuing_body(fig.ward)),
        "number_line": nd.number_line(setup.number, setup.symbol),
        "date_line": nd.date_line(setup.place or _place(fig.ward), setup.issue_date, year),
        "ward_short": _ward_short(fig.ward),
        "recipients": nd.recipient_lines(setup.receivers, setup.archive),
        "signature": nd.signature_lines(setup.signer),
        "signer_name": setup.signer.name if setup.signer else "",
    })
    return ctx


def render_docx(fig: MonthlyFigures, setup: ReportSetup | None, out: str | Path, chart_png: bytes | None = None) -> Path:
    """The Word report (.docx) at `out`, the chart (rendered when not given) as a picture."""
    setup = setup or ReportSetup()
    chart_png = chart_png if chart_png is not None else trend_chart_png(fig.trend)
    return nd.render_template(DOCX_TEMPLATE, docx_context(fig, setup), out, setup.templates_dir,
                              images={"chart": (chart_png, 150)})


# ---------------------------------------------------------------------------------- messages


def file_names(fig: MonthlyFigures) -> dict[str, str]:
    """The attachments' file names (ASCII, stable): chart, xlsx, docx."""
    base = f"{fig.ward_slug}-{fig.period}"
    return {"chart": f"bieu-do-12-thang-{base}.png", "xlsx": f"bieu06-{base}.xlsx",
            "docx": f"bao-cao-tong-hop-thang-{base}.docx"}


def _as_path(data: bytes | str | Path, name: str, files_dir: str | Path | None) -> Path:
    if isinstance(data, bytes):
        if files_dir is None:
            raise ValueError(f"{name}: files_dir is needed to keep bytes for the outbox (it stores paths)")
        path = Path(files_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: không tìm thấy tệp đính kèm")
    return path


def monthly_message_fields(fig: MonthlyFigures, setup: ReportSetup | None, recipients: Sequence, *,
                           xlsx: bytes | str | Path, docx: bytes | str | Path,
                           chart: bytes | str | Path | None = None,
                           files_dir: str | Path | None = None) -> list[dict]:
    """The fields of one outbox message per recipient (objects or mappings with email, name, title);
    `cchc.pipeline.monthly.monthly_messages` makes them OutboxMessages (presentation does not import
    the store). Key
    `message_key(period, email)`: the HTML (chart inline by Content-ID), the text alternative, and
    the Biểu 06 .xlsx and the .docx attached. The outbox stores attachment paths, read when sent:
    bytes are written to `files_dir` (e.g. var/reports/<period>/) first. A recipient listed twice
    gets one message."""
    setup = setup or ReportSetup()
    names = file_names(fig)
    chart_path = _as_path(chart if chart is not None else trend_chart_png(fig.trend), names["chart"], files_dir)
    attachments = (
        {"path": str(chart_path), "filename": names["chart"], "content_type": "image/png", "cid": chart_cid(fig)},
        {"path": str(_as_path(xlsx, names["xlsx"], files_dir)), "filename": names["xlsx"], "content_type": XLSX_TYPE},
        {"path": str(_as_path(docx, names["docx"], files_dir)), "filename": names["docx"], "content_type": DOCX_TYPE},
    )
    env = _environment(setup.templates_dir)
    out, seen = [], set()
    for r in recipients:
        email, name, _ = _recipient(r)
        if not email or email.lower() in seen:
            continue
        seen.add(email.lower())
        mail = render_email(fig, setup, r, env)
        out.append({"key": message_key(fig.period, email), "kind": KIND, "recipient": email,
                    "recipient_name": name, "subject": mail.subject, "body_text": mail.text,
                    "body_html": mail.html, "attachments": attachments})
    return out
