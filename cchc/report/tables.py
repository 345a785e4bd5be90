"""Tables people read: the indicator, reconciliation and 766 tables shaped for the terminal (fixed
width), JSON (`cchc stats --json` and friends), artifacts and Excel (display rows with Vietnamese
headers, '95,25%', '2.284'). Pure functions of the computed tables and the configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cchc.config import Config
from cchc.domain import metrics as m
from cchc.domain import outline
from cchc.domain.periods import Period
from cchc.domain.text import as_number, format_decimal, format_int, format_percent
from cchc.report.labels import BY_LABELS_VI, COUNT_LABELS_VI, RATE_LABELS_VI

#: Keys of `cchc stats --json`, in order (rates: percent with two decimals, null when N/A).
JSON_COUNTS = ("received", "received_online", "received_in_person_postal", "carried_over", "resolved", "early",
               "on_time", "late", "pending", "pending_in_time", "pending_overdue")


JSON_RATES = ("on_time_rate", "progress_766_rate", "online_rate", "full_online_rate", "online_payment_rate",
              "digitization_rate", "reuse_rate", "postal_rate", "satisfaction_rate", "apology_rate")


#: Keys of the unit report outline (`cchc.domain.outline`) added after the others.
JSON_OUTLINE = ("returned_unresolved", "supplement_unresolved", "received_online_partial", "received_online_full",
                "digitized_components", "digitized_results", "evaluated", "satisfied")


def officer_note(data) -> str | None:
    """What to say instead of an officer table that cannot be computed: the source has no processing
    steps (an Excel export carries none), so officers' step timeliness is unknown."""
    from cchc.domain.sources import source_label

    if data.has_steps:
        return None
    return (f"không có dữ liệu bước xử lý: nguồn {source_label(data.source)} không có quá trình xử lý hồ sơ, "
            "nên không tính được tiến độ xử lý của từng cán bộ")


def ranked_units(unit_t: pd.DataFrame, cfg: Config) -> list[tuple[str, int, dict]]:
    """The unit ranking by on-time rate (then resolved): (rank, depth, row) in display order. A
    sub-unit is not ranked beside the parent that already includes it: it follows its parent,
    ranked among its siblings ("4.1", "4.2"). Units without a row in `unit_t` are left out; the
    UNMATCHED row, if any, comes last without a rank."""
    rows = {str(r["group"]): r for r in unit_t.to_dict("records")}
    by_code = {u.code: u for u in cfg.units}
    children: dict[str | None, list] = {}
    for u in cfg.units:
        parent = u.parent if u.parent in by_code else None
        children.setdefault(parent, []).append(u)

    def key(u):
        r = rows[u.national_id]
        rate = as_number(r.get("on_time_rate"))
        return (rate is None, -(rate or 0.0), -int(r.get("resolved", 0)))

    out: list[tuple[str, int, dict]] = []

    def walk(parent, prefix: str, depth: int) -> None:
        kids = sorted((u for u in children.get(parent, []) if u.national_id in rows), key=key)
        for i, u in enumerate(kids, 1):
            rank = f"{prefix}{i}"
            out.append((rank, depth, rows[u.national_id]))
            walk(u.code, rank + ".", depth + 1)

    walk(None, "", 0)
    if m.UNMATCHED in rows:
        out.append(("", 0, rows[m.UNMATCHED]))
    return out


def nested_label(label: str) -> str:
    """An `all_units` label (two spaces per level) for tables whose cells lose leading spaces:
    'Trung tâm' stays, '  Bộ phận' -> '└ Bộ phận', '    Tổ' -> '\u2003└ Tổ'."""
    depth = (len(label) - len(label.lstrip(" "))) // 2
    return ("\u2003" * (depth - 1) + "└ " if depth else "") + label.strip()


def json_rows(table: pd.DataFrame, by: str, source: str | None = None, note: str | None = None) -> list[dict]:
    """`cchc stats --json`: one object per group, the TOTAL last; rates rounded, null when N/A.
    With `source`, each object names it; `note` (what could not be computed) goes on the TOTAL."""
    out = []
    for r in table.to_dict("records"):
        obj = {"group": str(r["group"]), "label": str(r.get("label", r["group"]))}
        if source is not None:
            obj["source"] = source
        if note and obj["group"] == m.TOTAL:
            obj["note"] = note
        if by == "officer":
            for k in ("steps", "on_time", "late", "pending", "pending_overdue"):
                obj[k] = int(r.get(k, 0))
            v = as_number(r.get("on_time_rate"))
            obj["on_time_rate"] = None if v is None else round(v, 2)
        else:
            for k in JSON_COUNTS:
                obj[k] = int(r[k])
            for k in JSON_RATES:
                v = as_number(r.get(k))
                obj[k] = None if v is None else round(v, 2)
                obj[k + "_num"] = int(r.get(k + "_num", 0))
                obj[k + "_den"] = int(r.get(k + "_den", 0))
            d = as_number(r.get("avg_processing_days"))
            obj["avg_processing_days"] = None if d is None else round(d, 2)
            figures = outline.outline_values(r)
            obj.update({k: figures[k] for k in JSON_OUTLINE})
        out.append(obj)
    return out


def display_rows(table: pd.DataFrame, by: str) -> list[dict]:
    """Rows for people (artifacts, Excel): Vietnamese headers, rates as '95,25%' or 'không phát sinh'."""
    rows = []
    for r in table.to_dict("records"):
        label = m.TOTAL_LABEL_VI if r["group"] == m.TOTAL else nested_label(str(r.get("label") or r["group"]))
        row = {BY_LABELS_VI[by]: label}
        if by == "officer":
            row.update({"Bước xử lý": int(r["steps"]), "Đúng hạn": int(r["on_time"]), "Trễ hạn": int(r["late"]),
                        "Tỉ lệ đúng hạn": format_percent(as_number(r["on_time_rate"])),
                        "Đang xử lý": int(r["pending"]), "Đang quá hạn": int(r["pending_overdue"])})
        else:
            if by == "unit":
                row["Mã định danh"] = "" if r["group"] == m.TOTAL else str(r.get("unit_code") or "")
            row.update({COUNT_LABELS_VI[k]: int(r[k]) for k in JSON_COUNTS})
            row.update({RATE_LABELS_VI[k]: format_percent(as_number(r[k])) for k in JSON_RATES})
            d = as_number(r.get("avg_processing_days"))
            row["TG xử lý TB (ngày làm việc)"] = format_decimal(d)
            figures = outline.outline_values(r)
            row.update({outline.HEADERS_VI[k]: figures[k] for k in JSON_OUTLINE})
        rows.append(row)
    return rows


def text_table(table: pd.DataFrame, by: str, title: str, notes: list[str] | tuple = ()) -> str:
    """A readable fixed-width Vietnamese table for the terminal; `notes` (period_notes) under the title."""
    if by == "officer":
        cols = [("Bước", "steps"), ("Đúng hạn", "on_time"), ("Trễ", "late"), ("Tỉ lệ đúng hạn", "on_time_rate"),
                ("Đang quá hạn", "pending_overdue")]
    else:
        cols = [("Tiếp nhận", "received"), ("Trực tuyến", "received_online"), ("Đã GQ", "resolved"),
                ("Quá hạn", "late"), ("Đang GQ", "pending"), ("Đang quá hạn", "pending_overdue"),
                ("Đúng hạn", "on_time_rate"), ("Trực tuyến %", "online_rate"), ("TT trực tuyến", "online_payment_rate"),
                ("Số hóa", "digitization_rate"), ("Xin lỗi", "apology_rate")]
    labels = [m.TOTAL_LABEL_VI if g == m.TOTAL else str(lab) for g, lab in zip(table["group"], table["label"],
                                                                                strict=True)]
    w0 = max([len(BY_LABELS_VI[by])] + [len(x) for x in labels])
    w0 = min(w0, 48)

    def cell(k, v):
        if k.endswith("_rate"):
            return format_percent(as_number(v), na="—")
        return format_int(int(v))

    widths = [max(len(h), 9) for h, _ in cols]
    lines = [title, *[f"Lưu ý: {n}." for n in notes], ""]
    head = len(lines)
    lines.append(f"{BY_LABELS_VI[by]:<{w0}}  " + "  ".join(f"{h:>{w}}" for (h, _), w in
                                                           zip(cols, widths, strict=True)))
    lines.append("-" * len(lines[-1]))
    for lab, r in zip(labels, table.to_dict("records"), strict=True):
        if r["group"] == m.TOTAL:
            lines.append("-" * len(lines[head]))
        lines.append(f"{lab[:w0]:<{w0}}  " + "  ".join(f"{cell(k, r[k]):>{w}}" for (_, k), w in
                                                      zip(cols, widths, strict=True)))
    lines.append("")
    lines.append("— : không phát sinh (mẫu số bằng 0).")
    return "\n".join(lines)


def unit_label(cfg: Config):
    """unit_code -> the name of the deepest configured unit it belongs to (roll-up by identifier
    prefix), else the code itself."""
    units = sorted(((u.national_id.strip().rstrip("."), u.name) for u in cfg.units), key=lambda x: -len(x[0]))

    def name(code) -> str:
        c = str(code).strip()
        for nid, label in units:
            if c == nid or c.startswith(nid + "."):
                return label
        return c

    return name


#: Rows of the reconciliation detail shown in the Prefect UI (the count of all is said beside it).
RECONCILE_DETAIL_LIMIT = 200


def reconcile_summary_display(summary: pd.DataFrame) -> list[dict]:
    """Per unit (names): provincial, on the national portal, missing, mismatches, sync rate; TOTAL last."""
    rows = []
    for r in summary.to_dict("records"):
        rows.append({
            "Đơn vị": m.TOTAL_LABEL_VI if r["group"] == m.TOTAL else str(r.get("label") or r["group"]).strip(),
            "Hồ sơ trên hệ thống tỉnh": int(r["provincial"]),
            "Có trên Cổng DVCQG": int(r["on_national"]),
            "Thiếu trên Cổng": int(r["missing"]),
            "Lệch trạng thái": int(r["status_mismatches"]),
            "Lệch ngày hẹn trả": int(r["due_mismatches"]),
            "Lệch ngày kết thúc": int(r["finish_mismatches"]),
            "Tỉ lệ đồng bộ": format_percent(as_number(r["sync_rate"])),
        })
    return rows


def reconcile_detail_display(mismatches: pd.DataFrame, cfg: Config,
                             limit: int | None = RECONCILE_DETAIL_LIMIT) -> list[dict]:
    """The mismatching dossiers (the first `limit`; None: all): code, unit name, kind of mismatch,
    the provincial and the national value. Codes and units only, nothing personal."""
    name = unit_label(cfg)
    rows = mismatches if limit is None else mismatches.head(limit)
    return [{"Mã hồ sơ": str(r["code"]), "Đơn vị": name(r["unit_code"]), "Loại chênh lệch": str(r["kind"]),
             "Giá trị hệ thống tỉnh": str(r["provincial_value"]) or "(trống)",
             "Giá trị Cổng DVCQG": str(r["national_value"]) or "(không có)"}
            for r in rows.to_dict("records")]


def shown_of(shown: int, total: int) -> str:
    """'hiển thị 200 / 1.234' when a list is cut, '' when it is whole."""
    return f"hiển thị {format_int(shown)} / {format_int(total)}" if shown < total else ""


def rows_text(rows: list[dict], left: int = 1) -> str:
    """Display rows as a fixed-width table: the first `left` columns left-aligned, the others right;
    counts with the thousands separator."""
    if not rows:
        return ""
    cols = list(rows[0])
    cells = [[format_int(v) if isinstance(v, int | np.integer) and not isinstance(v, bool) else str(v)
              for v in (r.get(c, "") for c in cols)] for r in rows]
    widths = [min(48, max(len(c), *(len(x[i]) for x in cells))) for i, c in enumerate(cols)]

    def line(values) -> str:
        return "  ".join(f"{v[:w]:<{w}}" if i < left else f"{v:>{w}}"
                         for i, (v, w) in enumerate(zip(values, widths, strict=True))).rstrip()

    out = [line(cols), "-" * len(line(cols))]
    out += [line(x) for x in cells]
    return "\n".join(out)


def reconcile_json(data, cfg: Config, summary: pd.DataFrame, mismatches: pd.DataFrame,
                   notes: list[str], provisional: bool) -> dict:
    """`cchc reconcile --json`: numbers stay numbers; every mismatch, with its unit's name."""
    name = unit_label(cfg)
    rows = []
    for r in summary.to_dict("records"):
        obj = {"group": str(r["group"]), "label": str(r["label"]).strip()}
        obj.update({k: int(r[k]) for k in ("provincial", "on_national", "missing", "status_mismatches",
                                            "due_mismatches", "finish_mismatches", "sync_rate_num",
                                            "sync_rate_den")})
        v = as_number(r.get("sync_rate"))
        obj["sync_rate"] = None if v is None else round(v, 2)
        rows.append(obj)
    detail = [{"code": str(r["code"]), "unit_code": str(r["unit_code"]), "unit": name(r["unit_code"]),
               "kind": str(r["kind"]), "provincial_value": str(r["provincial_value"]),
               "national_value": str(r["national_value"])} for r in mismatches.to_dict("records")]
    return {"period": data.period.slug, "from": data.period.start.isoformat(), "to": data.period.end.isoformat(),
            "provisional": provisional, "notes": notes, "summary": rows, "mismatches_total": len(detail),
            "mismatches": detail}


def scores_json(period: Period, scores: pd.DataFrame, cfg: Config, notes: list[str], provisional: bool) -> dict:
    """`cchc score766 --json`: per unit (TOTAL last) each indicator's rate, points and maximum."""
    units = []
    for r in scores.to_dict("records"):
        ind = {}
        for k, w in cfg.score_766.items():
            rate, pts = as_number(r.get(f"{k}_rate")), as_number(r.get(f"{k}_points"))
            ind[k] = {"rate": None if rate is None else round(rate, 2), "points": None if pts is None else round(pts, 2),
                      "max_points": w.max_points, "threshold": w.threshold}
        total, mx, pct = as_number(r.get("total")), as_number(r.get("max_total")), as_number(r.get("percent"))
        units.append({"group": str(r["group"]), "label": str(r.get("label") or r["group"]).strip(),
                      "indicators": ind, "total": None if total is None else round(total, 2),
                      "max_total": mx, "percent": None if pct is None else round(pct, 2)})
    return {"period": period.slug, "from": period.start.isoformat(), "to": period.end.isoformat(),
            "provisional": provisional, "notes": notes, "units": units}


def scores_display(scores: pd.DataFrame) -> list[dict]:
    from cchc.domain.score766 import INDICATOR_NAMES_VI, INDICATORS

    rows = []
    for r in scores.to_dict("records"):
        row = {"Đơn vị": m.TOTAL_LABEL_VI if r["group"] == m.TOTAL else nested_label(str(r.get("label") or r["group"]))}
        for ind in INDICATORS:
            pts = as_number(r.get(f"{ind}_points"))
            row[INDICATOR_NAMES_VI[ind]] = format_decimal(pts)
        total, mx = as_number(r.get("total")), as_number(r.get("max_total"))
        row["Tổng điểm"] = format_decimal(total)
        row["Điểm tối đa tính được"] = "" if mx is None else f"{mx:.0f}"
        row["Tỉ lệ đạt"] = format_percent(as_number(r.get("percent")))
        rows.append(row)
    return rows


_SHORT = {"Số hồ sơ nhận giải quyết": "Nhận giải quyết", "Số hồ sơ đã giải quyết": "Đã giải quyết",
          "Số hồ sơ đang giải quyết": "Đang giải quyết"}


def bieu06_display(rows) -> list[dict]:
    from cchc.domain import bieu06 as b

    out = []
    for r in rows:
        out.append({
            "STT": "" if r.stt in (None, "") else r.stt,
            "Tên": "Tổng cộng" if r.label in ("TOTAL", m.TOTAL_LABEL_VI) else r.label,
            **{f"{_SHORT[group]}: {header}": getattr(r, fld) for fld, group, header in b.COLUMNS},
        })
    return out
