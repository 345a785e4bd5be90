"""The period summary (artifact `tong-hop-<ward>-<period>`): markdown rendered from the template
`summary.md.j2` (a ward may override it in its `templates_dir`). The figures are formatted here, the
wording and layout live in the template."""

from __future__ import annotations

import pandas as pd

from cchc.config import Config
from cchc.domain import metrics as m
from cchc.domain.periods import Period
from cchc.domain.text import as_number, format_decimal, format_int, format_percent
from cchc.report.labels import COUNT_LABELS_VI, RATE_LABELS_VI, source_label
from cchc.report.tables import ranked_units
from cchc.report.templates import render

TEMPLATE = "summary.md.j2"
#: The figures compared with the previous period, in order.
COMPARED_COUNTS = ("received", "resolved", "late", "pending_overdue")
COMPARED_RATES = ("on_time_rate", "online_rate", "online_payment_rate", "digitization_rate", "apology_rate")


def summary_markdown(cfg: Config, period: Period, unit_t: pd.DataFrame, proc_t: pd.DataFrame,
                     prev_total: pd.Series | None, scores: pd.DataFrame, sync_total: dict,
                     notes: list[str] | tuple = (), data_note: str = "", source: str | None = None) -> str:
    return render(TEMPLATE, cfg.templates_dir,
                  **summary_context(cfg, period, unit_t, proc_t, prev_total, scores, sync_total, notes, data_note,
                                    source))


def summary_context(cfg: Config, period: Period, unit_t: pd.DataFrame, proc_t: pd.DataFrame,
                    prev_total: pd.Series | None, scores: pd.DataFrame, sync_total: dict,
                    notes: list[str] | tuple = (), data_note: str = "", source: str | None = None) -> dict:
    """What the template reads, every figure already in its Vietnamese form."""
    n = format_int
    total = unit_t[unit_t["group"] == m.TOTAL].iloc[0]
    pts = {str(r.get("group")): r for r in scores.to_dict("records")} if scores is not None and len(scores) else {}
    ranking = []
    for rank, depth, r in ranked_units(unit_t, cfg):
        s = pts.get(str(r["group"]))
        score = (f"{format_decimal(s['total'])}/{format_int(s['max_total'])}"
                 if s and as_number(s.get("total")) is not None else "—")
        ranking.append({"rank": rank, "label": "\u2003" * max(0, depth - 1) + ("└ " if depth else "")
                        + str(r["label"]).strip(), "resolved": n(r["resolved"]), "late": n(r["late"]),
                        "on_time_rate": format_percent(as_number(r["on_time_rate"])), "score": score})
    p = proc_t[proc_t["group"] != m.TOTAL].copy()
    p["_late"] = p["late"] + p["pending_overdue"]
    p = p[p["_late"] > 0].sort_values("_late", ascending=False).head(10)
    late_procedures = [{"label": r["label"], "late": n(r["late"]), "pending_overdue": n(r["pending_overdue"]),
                        "on_time_rate": format_percent(as_number(r["on_time_rate"]))} for r in p.to_dict("records")]
    comparison = None
    if prev_total is not None:
        comparison = []
        for k in COMPARED_COUNTS:
            a, b = int(total[k]), int(prev_total[k])
            comparison.append({"label": COUNT_LABELS_VI[k], "now": n(a), "before": n(b), "change": n(a - b, sign=True)})
        for k in COMPARED_RATES:
            a, b = as_number(total[k]), as_number(prev_total[k])
            change = "—" if a is None or b is None else format_decimal(a - b, sign=True) + " điểm %"
            comparison.append({"label": RATE_LABELS_VI[k], "now": format_percent(a), "before": format_percent(b),
                               "change": change})
    now = cfg.now()
    return {
        "ward_name": cfg.ward.name, "period_title": period.title, "simulated": cfg.ward.simulated, "notes": list(notes),
        "total": {k: n(total[k]) for k in ("received", "resolved", "late", "pending", "pending_overdue")}
        | {k: format_percent(as_number(total[k])) for k in COMPARED_RATES},
        "sync": {"rate": format_percent(sync_total.get("rate")), "num": n(sync_total.get("num", 0)),
                 "den": n(sync_total.get("den", 0))},
        "ranking": ranking, "late_procedures": late_procedures,
        "previous_label": period.previous().label, "comparison": comparison,
        "data_note": data_note, "computed_at": f"{now:%H:%M %d/%m/%Y}", "updated_at": f"{now:%d/%m/%Y %H:%M}",
        "source_label": source_label(source) if source else None,
    }
