"""Properties over random dossier sets: identities, rate bounds, totals, additivity over months."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from factories import fact, facts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchc.domain.bieu06 import bieu06_rows
from cchc.domain.metrics import COUNT_COLUMNS, RATES, TOTAL, classify, indicator_table, rollup_units
from cchc.domain.periods import parse_period

BASE = datetime(2026, 5, 1)
MINUTES = 210 * 24 * 60  # 01/05/2026 .. end of November

times = st.integers(min_value=0, max_value=MINUTES).map(lambda m: BASE + timedelta(minutes=m))
offsets = st.integers(min_value=-3 * 24 * 60, max_value=60 * 24 * 60).map(lambda m: timedelta(minutes=m))
UNITS = ["H99.99.04", "H99.99.04.01", "H99.99.041", "H99.99.05.02", "Z.1"]


@st.composite
def dossier_rows(draw):
    received = draw(st.one_of(st.none(), times, times, times, times, times))
    anchor = received or BASE
    due = draw(st.one_of(st.none(), offsets.map(lambda o: anchor + abs(o))))
    extension = draw(st.one_of(st.none(), st.integers(0, 5 * 24 * 60).map(lambda m: timedelta(minutes=m))))
    finished = draw(st.one_of(st.none(), offsets.map(lambda o: anchor + o)))
    returned = draw(st.one_of(st.none(), offsets.map(lambda o: anchor + o)))
    refused = draw(st.one_of(st.none(), st.none(), offsets.map(lambda o: anchor + o)))  # NgayTuChoi
    return fact(
        unit_code=draw(st.sampled_from(UNITS)),
        field_code=draw(st.sampled_from(["HT", "CT", "DD"])),
        field_name="Lĩnh vực",
        procedure_code=draw(st.sampled_from(["1", "2", "3", "4"])),
        status=draw(st.integers(1, 10)),
        channel=draw(st.one_of(st.none(), st.integers(1, 3))),
        online_level=draw(st.sampled_from([np.nan, 3.0, 4.0])),
        received_at=received,
        due_at=due,
        effective_due_at=(due + extension) if (due is not None and extension is not None) else due,
        finished_at=finished,
        returned_at=returned,
        refused_at=refused,
        owes_fee=draw(st.booleans()),
        fee_unstated=draw(st.booleans()),
        procedure_has_fee=draw(st.booleans()),
        paid_online=draw(st.booleans()),
        digitized_component=draw(st.booleans()),
        reused_component=draw(st.booleans()),
        e_result=draw(st.booleans()),
        result_paper=draw(st.booleans()),
        supplement_count=draw(st.integers(0, 3)),
        supplement_pending=draw(st.booleans()),
        apology=draw(st.booleans()),
        evaluation=draw(st.sampled_from([np.nan, 1.0, 2.0, 3.0])),
    )


frames = st.lists(dossier_rows(), max_size=40).map(lambda rows: facts(*rows))
modes = st.sampled_from(["bieu06", "766"])
compares = st.sampled_from(["date", "timestamp"])
period_modes = st.sampled_from(["calendar", "administrative"])
periods = st.sampled_from(["2026-07", "2026-08", "2026-10", "2026-Q3", "2026-H2", "2026-08-10..2026-09-20"])

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ADDITIVE = [*COUNT_COLUMNS, *[f"{r}_{s}" for r in RATES for s in ("num", "den")], "processing_days_count"]


def body(table: pd.DataFrame) -> pd.DataFrame:
    return table[~table["group"].isin([TOTAL, "UNMATCHED"])]


@SETTINGS
@given(frames, periods, period_modes, compares)
def test_bieu06_identities_hold_on_every_row(f, text, pmode, compare):
    c = classify(f, parse_period(text, pmode), mode="bieu06", compare=compare)
    bieu06_rows(c, by="field")  # raises Bieu06IdentityError on a broken row
    bieu06_rows(c, by="unit")
    bieu06_rows(c, by="unit", units=[("H99.99", "Phường"), ("H99.99.04", "Phòng"), ("Z", "Khác")])


@SETTINGS
@given(frames, periods, modes, compares)
def test_row_partitions(f, text, mode, compare):
    c = classify(f, parse_period(text), mode=mode, compare=compare)
    scope = c["in_scope"]
    assert (scope == (c["received_in_period"] ^ c["carried_over"])).all()
    assert (scope == (c["resolved"] ^ c["pending"])).all()
    assert ~(c["excluded"] & scope).any()
    one = c["early"].astype(int) + c["on_time"].astype(int) + c["late"].astype(int)
    assert (one == c["resolved"].astype(int)).all()
    assert ((c["pending_in_time"] ^ c["pending_overdue"]) == c["pending"]).all()
    t = indicator_table(c, by="unit")
    assert (t["received"] == t["resolved"] + t["pending"]).all()
    assert (t["received"] == t["received_online"] + t["received_in_person_postal"] + t["carried_over"]).all()


@SETTINGS
@given(frames, periods, modes, compares)
def test_rates_within_bounds(f, text, mode, compare):
    c = classify(f, parse_period(text), mode=mode, compare=compare)
    for by in ("unit", "field", "channel", None):
        t = indicator_table(c, by=by)
        for r in RATES:
            values = t[r].to_numpy(dtype=float)
            ok = np.isnan(values) | ((values >= 0) & (values <= 100))
            assert ok.all(), (r, values)
            assert (np.isnan(values) == (t[f"{r}_den"] == 0).to_numpy()).all()
            assert (t[f"{r}_num"] <= t[f"{r}_den"]).all()


@SETTINGS
@given(frames, periods, modes, st.sampled_from(["unit", "field", "procedure", "channel"]))
def test_total_equals_sum_of_groups(f, text, mode, by):
    t = indicator_table(classify(f, parse_period(text), mode=mode), by=by)
    total = t[t["group"] == TOTAL].iloc[0]
    sums = body(t)[ADDITIVE].sum()
    for col in ADDITIVE:
        assert sums[col] == total[col], col
    assert np.isclose(body(t)["processing_days_sum"].sum(), total["processing_days_sum"])


@SETTINGS
@given(frames, modes)
def test_rollup_total_matches_flat_total(f, mode):
    c = classify(f, parse_period("2026-Q3"), mode=mode)
    flat = indicator_table(c, by="unit")
    rolled = rollup_units(c, [("H99.99.04", "A"), ("H99.99.05", "B")])
    for col in ADDITIVE:
        assert rolled[col].iloc[-1] == flat[col].iloc[-1]
    # Disjoint units + the unmatched row add up to the total.
    assert (body(rolled)[ADDITIVE].sum() + rolled[rolled["group"] == "UNMATCHED"][ADDITIVE].sum()).equals(
        rolled[ADDITIVE].iloc[-1]
    )


@SETTINGS
@given(
    frames, period_modes, modes, compares, st.sampled_from(["2026-Q3", "2026-H2", "2026-08-10..2026-10-20"])
)
def test_quarter_counts_equal_sum_of_months(f, pmode, mode, compare, text):
    period = parse_period(text, pmode)
    whole = indicator_table(classify(f, period, mode=mode, compare=compare)).iloc[-1]
    months = [
        indicator_table(classify(f, m, mode=mode, compare=compare)).iloc[-1]
        for m in period.sub_periods("month")
    ]
    for col in (
        "received_in_period",
        "received_online",
        "received_in_person_postal",
        "resolved",
        "early",
        "on_time",
        "late",
    ):
        assert whole[col] == sum(m[col] for m in months), col


@SETTINGS
@given(frames, periods, modes, compares, st.booleans())
def test_cells_give_the_same_tables_as_rows(f, text, mode, compare, categorical):
    from cchc.domain.calendar import WorkCalendar
    from cchc.domain.metrics import cell_table

    if categorical:  # as the store reads them
        for col in ("unit_code", "procedure_code", "procedure_name", "field_code", "field_name"):
            f[col] = pd.Categorical(f[col], categories=sorted(set(f[col])))
    c = classify(f, parse_period(text), mode=mode, compare=compare, calendar=WorkCalendar())
    cells = cell_table(c)
    for by in (None, "unit", "procedure", "field", "channel"):
        want, got = indicator_table(c, by=by), indicator_table(cells, by=by)
        pd.testing.assert_frame_equal(got.astype(str), want.astype(str), obj=f"by={by}")
    units = [("H99.99.04", "Phòng 4"), ("H99.99.05", "Phòng 5")]
    pd.testing.assert_frame_equal(rollup_units(cells, units).astype(str), rollup_units(c, units).astype(str))
    if mode == "bieu06":
        assert bieu06_rows(cells, by="field") == bieu06_rows(c, by="field")
        assert bieu06_rows(cells, by="unit", units=units) == bieu06_rows(c, by="unit", units=units)


@SETTINGS
@given(frames, periods, modes, compares)
def test_outline_figures_are_parts_of_what_they_count(f, text, mode, compare):
    from cchc.domain.outline import outline_rows

    t = indicator_table(classify(f, parse_period(text), mode=mode, compare=compare), by="unit")
    for row, r in zip(outline_rows(t), t.to_dict("records"), strict=True):
        assert 0 <= row["returned_unresolved"] <= row["resolved"]
        assert 0 <= row["supplement_unresolved"] <= row["pending"]
        assert row["received_online_partial"] + row["received_online_full"] == r["received_online"]
        assert min(row["received_online_partial"], row["received_online_full"]) >= 0
        assert row["digitized_components"] <= row["received_in_period"]
        assert r["digitization_rate_num"] <= row["digitized_components"]
        assert row["digitized_results"] <= row["resolved"] - row["returned_unresolved"]
        assert row["satisfied"] <= row["evaluated"] <= row["resolved"]
        assert row["early"] + row["on_time"] + row["late"] == row["resolved"]
