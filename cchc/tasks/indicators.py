"""Indicator tasks: read a period from the store, compute every table with the domain rules, and
shape them for artifacts, the command line and files. One task per table set, never per dossier."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain import outline
from cchc.domain.bieu06 import bieu06_rows
from cchc.domain.periods import Period
from cchc.domain.reconcile import reconcile
from cchc.domain.score766 import scores_by_unit
from cchc.domain.text import format_int, format_percent

#: Keys of `cchc stats --json`, in order (rates: percent with two decimals, null when N/A).
JSON_COUNTS = ("received", "received_online", "received_in_person_postal", "carried_over", "resolved", "early",
               "on_time", "late", "pending", "pending_in_time", "pending_overdue")
JSON_RATES = ("on_time_rate", "progress_766_rate", "online_rate", "full_online_rate", "online_payment_rate",
              "digitization_rate", "reuse_rate", "postal_rate", "satisfaction_rate", "apology_rate")
#: Keys of the unit report outline (`cchc.domain.outline`) added after the others.
JSON_OUTLINE = ("returned_unresolved", "supplement_unresolved", "received_online_partial", "received_online_full",
                "digitized_components", "digitized_results", "evaluated", "satisfied")

RATE_LABELS_VI = {
    "on_time_rate": "Tỉ lệ đúng hạn",
    "progress_766_rate": "Tiến độ (766)",
    "online_rate": "Tỉ lệ trực tuyến",
    "full_online_rate": "Trực tuyến toàn trình",
    "online_payment_rate": "Thanh toán trực tuyến",
    "digitization_rate": "Số hóa",
    "reuse_rate": "Tái sử dụng",
    "postal_rate": "Bưu chính",
    "satisfaction_rate": "Hài lòng",
    "apology_rate": "Xin lỗi khi trễ hạn",
}
COUNT_LABELS_VI = {
    "received": "Tổng tiếp nhận",
    "received_online": "Trực tuyến",
    "received_in_person_postal": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước chuyển sang",
    "resolved": "Đã giải quyết",
    "early": "Trước hạn",
    "on_time": "Đúng hạn",
    "late": "Quá hạn",
    "pending": "Đang giải quyết",
    "pending_in_time": "Đang GQ trong hạn",
    "pending_overdue": "Đang GQ quá hạn",
}
BY_LABELS_VI = {"unit": "Đơn vị", "officer": "Cán bộ", "procedure": "Thủ tục", "field": "Lĩnh vực",
                "channel": "Kênh"}


@dataclass
class PeriodData:
    """A period's cells (Biểu 06 and 766 modes, officers) and, for reconciliation, its rows."""

    period: Period
    cells: pd.DataFrame
    cells_766: pd.DataFrame
    officers: pd.DataFrame
    classified: pd.DataFrame | None = None
    national: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    source: str = "provincial"
    #: False when the source holds no processing steps at all (an Excel export has none).
    has_steps: bool = True


def load_period(store: Store, cfg: Config, period: Period, source: str = "provincial",
                with_national: bool = True) -> PeriodData:
    """The period's cells, composed from its months' cells kept in the store (`period_cells`:
    computed from the rows only for months not current), and — `with_national` — the rows that
    reconciliation with the national portal compares: the period's classified facts and the national
    copies, read side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from cchc.tasks.period_cells import period_cells

    has_steps = store.has_steps(source)
    if not with_national:
        c = period_cells(store, cfg, period, source)
        return PeriodData(period, c.bieu06, c.c766, c.officers, source=source, has_steps=has_steps)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cchc-load") as pool:
        national_f = pool.submit(store.load_facts, "national", period.start, period.end, scope_source=source,
                                 columns=store.NATIONAL_COLUMNS)
        facts = store.load_facts(source, period.start, period.end)
        classified = m.classify(facts, period, mode="bieu06", compare=cfg.reporting.timeliness_compare)
        c = period_cells(store, cfg, period, source)
        national = national_f.result()
    return PeriodData(period, c.bieu06, c.c766, c.officers, classified, national, source=source,
                      has_steps=has_steps)


def choose_source(store: Store, cfg: Config, requested: str | None = None) -> str:
    """The source a report reads: `domain.sources.reporting_source` over what the store holds.
    Raises a one-line `SourceChoiceError` (nothing read, nothing written) when it cannot choose."""
    from cchc.domain.sources import check_source, reporting_source

    if requested:
        return check_source(requested)
    return reporting_source(None, cfg.reporting.source, store.count_by_source())


def officer_note(data: PeriodData) -> str | None:
    """What to say instead of an officer table that cannot be computed: the source has no processing
    steps (an Excel export carries none), so officers' step timeliness is unknown."""
    from cchc.domain.sources import source_label

    if data.has_steps:
        return None
    return (f"không có dữ liệu bước xử lý: nguồn {source_label(data.source)} không có quá trình xử lý hồ sơ, "
            "nên không tính được tiến độ xử lý của từng cán bộ")


def top_units(cfg: Config) -> list[tuple[str, str]]:
    """Units without a parent: they partition the ward, so their rows add up to the total."""
    return [(u.national_id, u.name) for u in cfg.units if u.parent is None]


def all_units(cfg: Config) -> list[tuple[str, str]]:
    """Every configured unit, sub-units indented under their parent (rolled up by identifier prefix)."""
    depth = {}
    by_code = {u.code: u for u in cfg.units}

    def d(u):
        if u.code not in depth:
            depth[u.code] = 0 if u.parent is None else d(by_code[u.parent]) + 1
        return depth[u.code]

    return [(u.national_id, "  " * d(u) + u.name) for u in cfg.units]


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
        rate = _num(r.get("on_time_rate"))
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


def has_dossiers(data: PeriodData) -> bool:
    """Whether the period holds any dossier (received in it or carried over into it)."""
    t = m.indicator_table(data.cells, by=None)
    return bool(len(t)) and int(t[t["group"] == m.TOTAL]["received"].sum()) > 0


def nested_label(label: str) -> str:
    """An `all_units` label (two spaces per level) for tables whose cells lose leading spaces:
    'Trung tâm' stays, '  Bộ phận' -> '└ Bộ phận', '    Tổ' -> '\u2003└ Tổ'."""
    depth = (len(label) - len(label.lstrip(" "))) // 2
    return ("\u2003" * (depth - 1) + "└ " if depth else "") + label.strip()


def group_table(data: PeriodData, cfg: Config, by: str, nested: bool = False) -> pd.DataFrame:
    """The indicator table for one grouping (with TOTAL last)."""
    if by == "unit":
        return m.rollup_units(m.indicator_table(data.cells, by="unit"),
                              all_units(cfg) if nested else top_units(cfg))
    if by == "officer":
        names = {o.username: o.name for o in cfg.officers}
        t = data.officers.copy()
        t["label"] = [names.get(g, g) if g != m.TOTAL else m.TOTAL_LABEL_VI for g in t["group"]]
        return t
    return m.indicator_table(data.cells, by=by)


def _num(v):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    if math.isnan(f):
        return None
    return f


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
            v = _num(r.get("on_time_rate"))
            obj["on_time_rate"] = None if v is None else round(v, 2)
        else:
            for k in JSON_COUNTS:
                obj[k] = int(r[k])
            for k in JSON_RATES:
                v = _num(r.get(k))
                obj[k] = None if v is None else round(v, 2)
                obj[k + "_num"] = int(r.get(k + "_num", 0))
                obj[k + "_den"] = int(r.get(k + "_den", 0))
            d = _num(r.get("avg_processing_days"))
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
                        "Tỉ lệ đúng hạn": format_percent(_num(r["on_time_rate"])),
                        "Đang xử lý": int(r["pending"]), "Đang quá hạn": int(r["pending_overdue"])})
        else:
            if by == "unit":
                row["Mã định danh"] = "" if r["group"] == m.TOTAL else str(r.get("unit_code") or "")
            row.update({COUNT_LABELS_VI[k]: int(r[k]) for k in JSON_COUNTS})
            row.update({RATE_LABELS_VI[k]: format_percent(_num(r[k])) for k in JSON_RATES})
            d = _num(r.get("avg_processing_days"))
            row["TG xử lý TB (ngày làm việc)"] = "không phát sinh" if d is None else f"{d:.2f}".replace(".", ",")
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
            return format_percent(_num(v), na="—")
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


def bieu06(data: PeriodData, cfg: Config) -> tuple[list, list]:
    by_field = bieu06_rows(data.cells, by="field")
    by_unit = bieu06_rows(data.cells, by="unit", units=top_units(cfg))
    return by_field, by_unit


def outline_rows(data: PeriodData, cfg: Config) -> list[dict]:
    """The unit report outline's figures per top unit (Biểu 06 mode), the total last."""
    return outline.outline_rows(m.rollup_units(m.indicator_table(data.cells, by="unit"), top_units(cfg)))


def unit_table_766(data: PeriodData, cfg: Config) -> pd.DataFrame:
    """The unit table in 766 mode (status 8 ends; more than one supplement request is late): what
    the 766 scores read."""
    return m.rollup_units(m.indicator_table(data.cells_766, by="unit"), all_units(cfg))


def reconciliation(data: PeriodData, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    if data.classified is None:
        raise ValueError("reconciliation needs the period's rows: load_period(..., with_national=True)")
    national = data.national if data.national is not None else data.classified.iloc[0:0]
    # Biểu 06 scope (the default mode); the classification is reused when it is that one.
    return reconcile(data.classified, national, data.period, cfg.reporting.timeliness_compare,
                     units=top_units(cfg))


def scores(unit_table: pd.DataFrame, sync_summary: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    weights = {k: (v.max_points, v.threshold) for k, v in cfg.score_766.items()}
    sync_rates = {}
    if sync_summary is not None and len(sync_summary):
        for r in sync_summary.to_dict("records"):
            sync_rates[str(r["group"])] = _num(r.get("sync_rate"))
    return scores_by_unit(unit_table, weights, sync_rates)


def sync_total(summary: pd.DataFrame) -> dict:
    if summary is None or not len(summary):
        return {"rate": None, "num": 0, "den": 0}
    t = summary[summary["group"] == m.TOTAL]
    if t.empty:
        return {"rate": None, "num": 0, "den": 0}
    r = t.iloc[0]
    return {"rate": _num(r["sync_rate"]), "num": int(r["sync_rate_num"]), "den": int(r["sync_rate_den"])}


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
            "Tỉ lệ đồng bộ": format_percent(_num(r["sync_rate"])),
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


def reconcile_json(data: PeriodData, cfg: Config, summary: pd.DataFrame, mismatches: pd.DataFrame,
                   notes: list[str], provisional: bool) -> dict:
    """`cchc reconcile --json`: numbers stay numbers; every mismatch, with its unit's name."""
    name = unit_label(cfg)
    rows = []
    for r in summary.to_dict("records"):
        obj = {"group": str(r["group"]), "label": str(r["label"]).strip()}
        obj.update({k: int(r[k]) for k in ("provincial", "on_national", "missing", "status_mismatches",
                                            "due_mismatches", "finish_mismatches", "sync_rate_num",
                                            "sync_rate_den")})
        v = _num(r.get("sync_rate"))
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
            rate, pts = _num(r.get(f"{k}_rate")), _num(r.get(f"{k}_points"))
            ind[k] = {"rate": None if rate is None else round(rate, 2), "points": None if pts is None else round(pts, 2),
                      "max_points": w.max_points, "threshold": w.threshold}
        total, mx, pct = _num(r.get("total")), _num(r.get("max_total")), _num(r.get("percent"))
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
            pts = _num(r.get(f"{ind}_points"))
            row[INDICATOR_NAMES_VI[ind]] = "không phát sinh" if pts is None else f"{pts:.2f}".replace(".", ",")
        total, mx = _num(r.get("total")), _num(r.get("max_total"))
        row["Tổng điểm"] = "không phát sinh" if total is None else f"{total:.2f}".replace(".", ",")
        row["Điểm tối đa tính được"] = "" if mx is None else f"{mx:.0f}"
        row["Tỉ lệ đạt"] = format_percent(_num(r.get("percent")))
        rows.append(row)
    return rows
