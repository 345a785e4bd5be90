"""The reconciliation's cells of sub-periods compose into the period's: random dossier sets with
random national copies (missing, or differing in status, due or end date), cut into months or at
random days, give the summary `reconcile` computes over the period directly."""


import pandas as pd
import pytest
from factories import fact, facts
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from test_cells_compose import frames, periods, splits
from test_metrics_properties import SETTINGS, compares, offsets, period_modes

from cchc.domain.metrics import classify
from cchc.domain.periods import parse_period
from cchc.domain.reconcile import (
    compose_reconciliation,
    counts_by_unit,
    reaches_national,
    reconcile,
    reconcile_cells,
    summary_of,
)

UNIT_SETS = [None, [("H99.99.04", "Phòng A"), ("H99.99.05", "Phòng B")], [("H99.99", "Phường")]]


@st.composite
def copies(draw, f: pd.DataFrame) -> pd.DataFrame:
    """The national portal's copies of some of `f`'s dossiers, some of them altered."""
    rows = []
    for r in f.to_dict("records"):
        how = draw(st.sampled_from(["same", "same", "missing", "status", "due", "end"]))
        if how == "missing":
            continue
        r = dict(r)
        if how == "status":
            r["status"] = draw(st.integers(1, 10))
        elif how == "due" and pd.notna(r["due_at"]):
            r["due_at"] = r["due_at"] + draw(offsets)
        elif how == "end":
            r["finished_at"] = (r["received_at"] if pd.notna(r["received_at"]) else pd.Timestamp("2026-06-01")) \
                + draw(offsets)
        rows.append(r)
    return facts(*[{k: v for k, v in r.items() if k in fact()} for r in rows])


@SETTINGS
@given(frames, periods, period_modes, compares, st.sampled_from(UNIT_SETS), st.data())
def test_reconciliation_cells_of_sub_periods_compose_into_the_periods_summary(f, text, pmode, compare, units, data):
    period = parse_period(text, pmode)
    national = data.draw(copies(f))
    pieces = data.draw(splits(period))
    want, _ = reconcile(f, national, period, compare=compare, units=units)
    parts = [reconcile_cells(f, national, p, compare=compare) for p in pieces]
    composed = compose_reconciliation(parts, period)
    assert_frame_equal(composed, reconcile_cells(f, national, period, compare=compare))
    got = summary_of(composed, units)
    assert_frame_equal(got, want)
    assert got.attrs == want.attrs
    # the classified frame is reused when it is the period's
    assert_frame_equal(reconcile_cells(classify(f, period, compare=compare), national, period, compare=compare),
                       composed)


def test_parts_split_received_and_carried_over_and_reach_counts_the_copies():
    oct_ = parse_period("2026-10")
    f = facts(fact(code="A", received_at="2026-10-03 08:00"),
              fact(code="B", received_at="2026-09-20 08:00", unit_code="H99.99.05"),  # carried over, pending
              fact(code="C", received_at="2026-09-20 08:00", status=10, finished_at="2026-09-25 10:00"))  # ended
    national = f[f["code"] == "B"]
    cells = reconcile_cells(f, national, oct_)
    got = {(r.part, r.unit_code): (r.provincial, r.on_national, r.missing) for r in cells.itertuples()}
    assert got == {("received", "H99.99.04.01"): (1, 0, 1), ("carried", "H99.99.05"): (1, 1, 0),
                   ("reach", ""): (0, 1, 0)}
    assert reaches_national(cells)
    assert not reaches_national(reconcile_cells(f, f.iloc[0:0], oct_))
    assert list(counts_by_unit(cells)["unit_code"]) == ["H99.99.04.01", "H99.99.05"]
    # November: A and B carried over (pending), nothing received
    nov = reconcile_cells(f, national, parse_period("2026-11"))
    assert set(nov.loc[nov["part"] != "reach", "part"]) == {"carried"}


def test_compose_refuses_gaps_and_other_rules():
    f = facts(fact())
    july, aug, sept = (parse_period(f"2026-{m:02d}") for m in (7, 8, 9))
    q3 = parse_period("2026-Q3")
    with pytest.raises(ValueError, match="do not cover"):
        compose_reconciliation([reconcile_cells(f, f, july), reconcile_cells(f, f, sept)], q3)
    with pytest.raises(ValueError, match="differently"):
        compose_reconciliation([reconcile_cells(f, f, july), reconcile_cells(f, f, aug, compare="timestamp"),
                                reconcile_cells(f, f, sept)], q3)
    with pytest.raises(ValueError, match="reconcile_cells"):
        compose_reconciliation([reconcile(f, f, q3)[0]], q3)
