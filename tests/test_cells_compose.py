"""A period's cells and officer table composed from its sub-periods equal those computed directly."""

from datetime import timedelta

import pandas as pd
import pytest
from factories import fact, facts
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from test_metrics_properties import (
    BASE,
    MINUTES,
    SETTINGS,
    compares,
    dossier_rows,
    modes,
    period_modes,
    times,
)

from cchc.domain.cells import compose_cells, compose_officers
from cchc.domain.metrics import cell_table, classify, officer_table, rollup_units
from cchc.domain.outline import outline_rows
from cchc.domain.periods import Period, parse_period

OUTLINE_COLUMNS = ("returned_unresolved", "supplement_unresolved", "digitized_components", "digitized_results")

#: Denser sets than the other properties: carried-over and still-open dossiers in most examples.
frames = st.lists(dossier_rows(), min_size=8, max_size=40).map(lambda rows: facts(*rows))
periods = st.sampled_from(["2026-08", "2026-Q3", "2026-H2", "2026-08-10..2026-09-20", "2026-07-01..2026-07-03"])


@st.composite
def splits(draw, period: Period) -> list[Period]:
    """`period` cut at random days into consecutive pieces (or its months, or its days)."""
    how = draw(st.sampled_from(["months", "random", "days"] if period.days <= 45 else ["months", "random"]))
    if how == "months":
        return period.sub_periods("month")
    if how == "days":
        return period.sub_periods("day")
    cuts = sorted(draw(st.sets(st.integers(1, period.days - 1), max_size=6))) if period.days > 1 else []
    bounds = [0, *cuts, period.days]
    return [Period.custom(period.start + timedelta(days=a), period.start + timedelta(days=b - 1), period.mode)
            for a, b in zip(bounds, bounds[1:], strict=False)]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False,
                       check_categorical=False)


@SETTINGS
@given(frames, periods, period_modes, modes, compares, st.data())
def test_cells_of_sub_periods_compose_into_the_period(f, text, pmode, mode, compare, data):
    period = parse_period(text, pmode)
    pieces = data.draw(splits(period))
    whole = cell_table(classify(f, period, mode=mode, compare=compare))
    parts = [cell_table(classify(f, p, mode=mode, compare=compare)) for p in pieces]
    composed = compose_cells(parts, period)
    _same(composed, whole)
    assert composed.attrs["period"] == period and composed.attrs["mode"] == mode
    # The unit report outline's figures (a flow: returned, digitized; a closing stock: paused for a
    # supplement and unresolved) are cell columns, so they compose too, to the rows' numbers.
    assert set(OUTLINE_COLUMNS) <= set(composed.columns)
    by_unit = rollup_units(composed, [("H99.99.04", "Phòng")])
    direct = rollup_units(classify(f, period, mode=mode, compare=compare), [("H99.99.04", "Phòng")])
    assert outline_rows(by_unit) == outline_rows(direct)


step_rows = st.tuples(
    st.sampled_from(["an", "binh", "chi"]),
    st.one_of(st.none(), times),
    st.one_of(st.none(), times),
    st.one_of(st.none(), times),
)


@SETTINGS
@given(st.lists(step_rows, max_size=30), periods, compares, st.data())
def test_officer_tables_of_sub_periods_compose(rows, text, compare, data):
    s = pd.DataFrame(
        [{"code": f"C{i}", "officer": o, "at": at, "step_due": due, "started_at": started}
         for i, (o, at, due, started) in enumerate(rows)],
        columns=["code", "officer", "at", "step_due", "started_at"],
    )
    for key in ("at", "step_due", "started_at"):
        s[key] = pd.to_datetime(s[key]).astype("datetime64[us]")
    period = parse_period(text)
    pieces = data.draw(splits(period))
    whole = officer_table(s, period, compare=compare)
    composed = compose_officers([officer_table(s, p, compare=compare) for p in pieces], period)
    _same(composed, whole)


def test_compose_refuses_gaps_and_mixed_classifications():
    f = facts(fact(received_at=BASE + timedelta(minutes=MINUTES // 2)))
    july, sept = parse_period("2026-07"), parse_period("2026-09")
    q3 = parse_period("2026-Q3")
    with pytest.raises(ValueError, match="do not cover"):
        compose_cells([cell_table(classify(f, july)), cell_table(classify(f, sept))], q3)
    aug = parse_period("2026-08")
    with pytest.raises(ValueError, match="classified differently"):
        compose_cells([cell_table(classify(f, july)), cell_table(classify(f, aug, mode="766")),
                       cell_table(classify(f, sept))], q3)
    with pytest.raises(ValueError, match="cell_table"):
        compose_cells([classify(f, q3)], q3)
