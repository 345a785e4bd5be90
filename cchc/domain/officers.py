"""The officer table (DOMAIN.md §4): each officer's processing steps done on time / late and still
pending in a period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cchc.domain.classification import check_choice, text_column
from cchc.domain.periods import Period
from cchc.domain.tables import STEP_RATE, TOTAL, TOTAL_LABEL_VI, steps_additive
from cchc.domain.timeliness import (
    COMPARE_MODES,
)


def officer_table(steps: pd.DataFrame, period: Period, compare: str = "date") -> pd.DataFrame:
    """Per officer (NguoiXuLy) for `period`: steps done in the period (`at` within it), on time
    (the comparison rule says not late against `step_due`) or late; steps still pending at the
    period end (not done by then; started by then when a `started_at` column exists) and how many
    of those are overdue. A step done without a deadline counts on time and in `data_issues`.

    Columns: officer, group (= officer), label (= officer), steps, on_time, late,
    on_time_rate_num, on_time_rate_den, on_time_rate, pending, pending_overdue, data_issues; a
    final TOTAL row. Officers with nothing in the period are left out."""
    check_choice(compare, COMPARE_MODES, "comparison mode")
    sa = steps_additive(steps, period, compare)
    sa["officer"] = text_column(steps["officer"]).array  # a Categorical stays one (no string per step)
    sa = sa[(sa["steps"] > 0) | (sa["steps_pending"] > 0)]
    cols = [c for c in sa.columns if c != "officer"]
    grouped = sa.groupby("officer", sort=True, observed=True)[cols].sum().reset_index()
    grouped = grouped.rename(columns=_OFFICER_NAMES)
    grouped["officer"] = grouped["officer"].astype(str)
    return officer_table_from_counts(grouped, period)


_OFFICER_NAMES = {
    "steps_on_time": "on_time",
    "steps_late": "late",
    "steps_pending": "pending",
    "steps_overdue": "pending_overdue",
    f"{STEP_RATE}_num": "on_time_rate_num",
    f"{STEP_RATE}_den": "on_time_rate_den",
    "step_data_issues": "data_issues",
}


_OFFICER_COUNTS = ("steps", "on_time", "late", "on_time_rate_num", "on_time_rate_den", "pending",
                   "pending_overdue", "data_issues")


def officer_table_from_counts(grouped: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The officer table (see `officer_table`) from per-officer counts: TOTAL row, rate, order."""
    grouped = grouped.sort_values("officer", ignore_index=True)
    total = {c: grouped[c].sum() for c in _OFFICER_COUNTS}
    total["officer"] = ""
    table = pd.concat([grouped[["officer", *_OFFICER_COUNTS]], pd.DataFrame([total])], ignore_index=True)
    table.insert(1, "group", list(grouped["officer"]) + [TOTAL])
    table.insert(2, "label", list(grouped["officer"]) + [TOTAL_LABEL_VI])
    for col in _OFFICER_COUNTS:
        table[col] = table[col].astype(np.int64)
    num = table["on_time_rate_num"].to_numpy(dtype=float)
    den = table["on_time_rate_den"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["on_time_rate"] = np.where(den > 0, num / den * 100.0, np.nan)
    out = table[["officer", "group", "label", "steps", "on_time", "late", "on_time_rate_num", "on_time_rate_den",
                 "on_time_rate", "pending", "pending_overdue", "data_issues"]].reset_index(drop=True)
    out.attrs = {"period": period, "table": "officers"}
    return out


# ============================================================================ display
