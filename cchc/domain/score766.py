"""The 766 index (QĐ 766/QĐ-TTg, DOMAIN.md §5): points for the indicators computable from dossier
data. Weights and thresholds come from configuration.

points = max_points × min(1, rate / threshold). An indicator whose rate is N/A (zero denominator or
not provided) scores None and is left out of both the total and the maximum.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cchc.domain.text import as_number

#: Indicator -> the indicator_table rate it reads (hai_long and dong_bo are derived/passed in).
INDICATOR_RATES = {
    "tien_do": "progress_766_rate",
    "truc_tuyen": "online_rate",
    "thanh_toan": "online_payment_rate",
    "so_hoa": "digitization_rate",
    "tai_su_dung": "reuse_rate",
    "hai_long": None,  # 100 − late rate − complaint rate
    "dong_bo": "sync_rate",
}
INDICATORS = tuple(INDICATOR_RATES)

INDICATOR_NAMES_VI = {
    "tien_do": "Tiến độ giải quyết",
    "truc_tuyen": "Hồ sơ trực tuyến",
    "thanh_toan": "Thanh toán trực tuyến",
    "so_hoa": "Số hóa hồ sơ",
    "tai_su_dung": "Tái sử dụng dữ liệu",
    "hai_long": "Mức độ hài lòng",
    "dong_bo": "Đồng bộ lên Cổng DVCQG",
}


_num = as_number  # a finite float, or None for missing / NaN / NA


def _weight(spec) -> tuple[float, float]:
    """(max_points, threshold_percent) from a tuple or an object with those attributes."""
    if hasattr(spec, "max_points"):
        return float(spec.max_points), float(spec.threshold)
    if isinstance(spec, Mapping):
        return float(spec["max_points"]), float(spec["threshold"])
    max_points, threshold = spec
    return float(max_points), float(threshold)


def _get(row, key):
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def late_rate(row) -> float | None:
    """late / resolved × 100 from a table row (`late_rate` if given directly); None when N/A."""
    direct = _num(_get(row, "late_rate"))
    if direct is not None:
        return direct
    late, resolved = _num(_get(row, "late")), _num(_get(row, "resolved"))
    if late is None or not resolved:
        return None
    return late / resolved * 100.0


def indicator_rates(row) -> dict[str, float | None]:
    """The rate (percent) behind each indicator, read from an indicator_table row or a dict.

    A key named after the indicator (e.g. "truc_tuyen") wins over the table column. hai_long =
    100 − late rate − complaint rate (complaint_rate 0 when absent), clamped at 0; N/A when the late
    rate is. dong_bo reads "dong_bo" or "sync_rate" (None when absent)."""
    rates: dict[str, float | None] = {}
    for name, column in INDICATOR_RATES.items():
        value = _get(row, name)
        if value is None and column is not None:
            value = _get(row, column)
        rates[name] = _num(value)
    if _get(row, "hai_long") is None:
        lr = late_rate(row)
        complaint = _num(_get(row, "complaint_rate")) or 0.0
        rates["hai_long"] = None if lr is None else max(0.0, 100.0 - lr - complaint)
    return rates


def score_766(table_row_or_rates, weights: Mapping[str, object]) -> dict:
    """Points per indicator for one unit (or the total).

    `weights`: indicator -> (max_points, threshold_percent) or an object/dict with `max_points` and
    `threshold` (config.Score766Indicator). Only the indicators in `weights` are scored.
    Returns {"rates": {ind: percent|None}, "points": {ind: points|None}, "max_points": {ind: max},
    "total": sum of non-None points, "max_total": sum of max over scored indicators,
    "percent": total / max_total × 100 (None when max_total is 0)}."""
    unknown = [k for k in weights if k not in INDICATOR_RATES]
    if unknown:
        raise ValueError(
            f"Chỉ số 766 không xác định: {', '.join(unknown)} (hợp lệ: {', '.join(INDICATORS)}) / "
            f"unknown 766 indicator(s): {', '.join(unknown)}; known: {', '.join(INDICATORS)}"
        )
    all_rates = indicator_rates(table_row_or_rates)
    rates, points, maxima = {}, {}, {}
    total = max_total = 0.0
    for name, spec in weights.items():
        max_points, threshold = _weight(spec)
        if threshold <= 0:
            raise ValueError(f"766 threshold for {name} must be > 0, got {threshold}")
        rate = all_rates[name]
        rates[name] = rate
        maxima[name] = max_points
        if rate is None:
            points[name] = None
            continue
        p = max_points * min(1.0, max(0.0, rate) / threshold)
        points[name] = p
        total += p
        max_total += max_points
    return {
        "rates": rates,
        "points": points,
        "max_points": maxima,
        "total": total,
        "max_total": max_total,
        "percent": total / max_total * 100.0 if max_total > 0 else None,
    }


def scores_by_unit(
    table: pd.DataFrame,
    weights: Mapping[str, object],
    sync_rates: Mapping[str, float] | pd.Series | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`score_766` for every row of an indicator table (rows keyed by its `group`, TOTAL included).

    `sync_rates`: group -> sync rate percent (a dict or Series), or a reconcile summary frame with
    `group` and `sync_rate` columns; missing groups score dong_bo None.
    Columns: group, label, then `<ind>_rate` and `<ind>_points` per weighted indicator, total,
    max_total, percent (NaN when nothing could be scored)."""
    if isinstance(sync_rates, pd.DataFrame):
        sync = dict(zip(sync_rates["group"], sync_rates["sync_rate"], strict=True))
    elif sync_rates is None:
        sync = {}
    else:
        sync = dict(sync_rates)
    records = []
    for _, row in table.iterrows():
        data = row.to_dict()
        data["sync_rate"] = sync.get(row["group"])
        result = score_766(data, weights)
        rec = {"group": row["group"], "label": row.get("label", row["group"])}
        for name in weights:
            rec[f"{name}_rate"] = result["rates"][name]
            rec[f"{name}_points"] = result["points"][name]
        rec["total"] = result["total"]
        rec["max_total"] = result["max_total"]
        rec["percent"] = result["percent"]
        records.append(rec)
    out = pd.DataFrame(records)
    for col in out.columns:
        if col.endswith("_rate") or col.endswith("_points") or col == "percent":
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out
