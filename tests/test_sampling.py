"""Dossier sampling (cchc.domain.sampling): ISO 2859-1 level II sizes, high-risk in full up to a
cap, stratified RFC 3797 random part."""

from __future__ import annotations

import random
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.domain.draw import labelled, make_key, verify
from cchc.domain.sampling import (
    KIND_HIGH_RISK,
    KIND_RANDOM,
    KIND_WHOLE,
    DossierFacts,
    allocate,
    high_risk_reasons,
    iso2859_sample_size,
    plan_rows,
    plan_sample,
    sample_size,
)

SOURCES = ["12 34 56", "7"]

# Every boundary of the level II table (DOMAIN.md §7 and the standard's letters N, P, Q), by hand.
BOUNDARIES = [
    (0, 0), (1, 1),
    (2, 2), (8, 2), (9, 3), (15, 3), (16, 5), (25, 5), (26, 8), (50, 8), (51, 13), (90, 13),
    (91, 20), (150, 20), (151, 32), (280, 32), (281, 50), (500, 50), (501, 80), (1200, 80),
    (1201, 125), (3200, 125), (3201, 200), (10000, 200), (10001, 315), (35000, 315),
    (35001, 500), (150000, 500), (150001, 800), (500000, 800), (500001, 1250), (10**8, 1250),
]


@pytest.mark.parametrize(("lot", "n"), BOUNDARIES)
def test_iso2859_level_ii_at_every_boundary(lot: int, n: int) -> None:
    assert iso2859_sample_size(lot) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2_000_000))
def test_sample_size_never_exceeds_lot_and_grows_with_it(lot: int) -> None:
    n = iso2859_sample_size(lot)
    assert 0 <= n <= lot
    assert iso2859_sample_size(lot + 1) >= n


def test_hundred_percent_and_fixed_n() -> None:
    assert iso2859_sample_size(2) == 2  # the sample reaches the lot: 100%
    assert iso2859_sample_size(3) == 2
    assert sample_size(7, fixed_n=10) == 7
    assert sample_size(70, fixed_n=10) == 10
    assert sample_size(70) == 13
    with pytest.raises(ValueError):
        sample_size(10, fixed_n=-1)
    with pytest.raises(ValueError):
        iso2859_sample_size(-1)


def test_allocate_by_hand() -> None:
    # quotas 2.5, 1.5, 1.0: floors 2, 1, 1; one left, remainders tie: the larger stratum gets it
    assert allocate([5, 3, 2], 5) == (3, 1, 1)
    # quotas 13 * (10, 20, 70) / 100 = 1.3, 2.6, 9.1: floors 1, 2, 9; one left -> largest remainder
    assert allocate([10, 20, 70], 13) == (1, 3, 9)
    assert allocate([1, 1, 1, 97], 5) == (0, 0, 0, 5)  # a small stratum may get 0
    assert allocate([4, 4], 8) == (4, 4)
    assert allocate([], 0) == ()
    with pytest.raises(ValueError):
        allocate([2, 2], 5)


@settings(max_examples=150, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=12), data=st.data())
def test_allocate_properties(sizes: list[int], data) -> None:
    n = data.draw(st.integers(min_value=0, max_value=sum(sizes)))
    shares = allocate(sizes, n)
    assert sum(shares) == n
    total = sum(sizes) or 1
    for share, size in zip(shares, sizes, strict=True):
        assert 0 <= share <= size
        assert abs(share - n * size / total) < 1  # within one of the exact quota


def test_high_risk_reasons() -> None:
    assert high_risk_reasons(DossierFacts("H1", "P", late=True, apology_slip=True)) == ("quá hạn",)
    assert high_risk_reasons(DossierFacts("H1", "P", late=True)) == ("quá hạn", "quá hạn không có phiếu xin lỗi")
    assert high_risk_reasons(DossierFacts("H1", "P", overdue_pending=True, apology_slip=True)) == (
        "đang giải quyết đã quá hạn",)
    assert high_risk_reasons(DossierFacts("H1", "P", supplement_requests=1)) == ()
    assert high_risk_reasons(DossierFacts("H1", "P", supplement_requests=3)) == ("yêu cầu bổ sung 3 lần",)
    assert high_risk_reasons(DossierFacts("H1", "P", complained=True)) == ("bị phản ánh, kiến nghị",)
    assert high_risk_reasons(DossierFacts("H1", "P")) == ()


def _lot(n: int, risky: int = 0, procedures=("P1", "P2", "P3"), seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    rows = [{"code": f"H{i:05d}", "procedure_code": rng.choice(procedures)} for i in range(n)]
    for row in rng.sample(rows, risky):
        row["late"] = True
        row["apology_slip"] = True
    return rows


def test_high_risk_in_full_then_stratified_random_part() -> None:
    lot = _lot(300, risky=7)
    plan = plan_sample(lot, SOURCES)
    assert plan.lot_size == 300 and plan.sample_size == 50  # 281-500 -> 50
    high = [r for r in plan.rows if r.kind == KIND_HIGH_RISK]
    assert len(high) == 7 == plan.high_risk_count == plan.high_risk_taken
    assert {r.code for r in high} == {d["code"] for d in lot if d.get("late")}
    assert all(r.reason == "rủi ro cao: quá hạn" for r in high)
    rand = [r for r in plan.rows if r.kind == KIND_RANDOM]
    assert len(rand) == 50  # the random part is sized from the whole lot, drawn from the rest
    assert sum(s.allocated for s in plan.strata) == 50
    assert sum(s.pool_size for s in plan.strata) == 293
    counts = Counter(r.procedure_code for r in rand)
    assert {s.procedure_code: s.allocated for s in plan.strata} == dict(counts)
    assert not {r.code for r in rand} & {r.code for r in high}
    assert len({r.code for r in plan.rows}) == len(plan.rows)
    assert all(r.reason.startswith(f"ngẫu nhiên (RFC 3797), thủ tục {r.procedure_code}, vị trí {r.position}/")
               for r in rand)


def test_random_part_is_a_verifiable_rfc3797_draw_per_stratum() -> None:
    plan = plan_sample(_lot(300, risky=7), SOURCES)
    assert len(plan.draws) == 3
    by_proc = {s.procedure_code: s for s in plan.strata}
    for (what, rec), stratum in zip(plan.draws, plan.strata, strict=True):
        assert verify(rec).ok
        assert what.startswith(f"thủ tục {stratum.procedure_code}")
        assert list(rec.pool) == sorted(rec.pool)  # the pool is ordered by dossier code
        assert rec.key == make_key(labelled(SOURCES, stratum.label))
        drawn = [r.code for r in plan.rows if r.kind == KIND_RANDOM
                 and r.procedure_code == stratum.procedure_code]
        assert drawn == [rec.pool[p - 1] for p in rec.selected]
    assert [s.label for s in by_proc.values()] == [2, 3, 4]


def test_cap_on_high_risk_is_honoured() -> None:
    lot = _lot(300, risky=40)
    plan = plan_sample(lot, SOURCES, high_risk_cap=10)
    high = [r for r in plan.rows if r.kind == KIND_HIGH_RISK]
    assert len(high) == 10 and plan.high_risk_count == 40 and plan.high_risk_taken == 10
    what, rec = plan.draws[0]
    assert what == "hồ sơ rủi ro cao: 10 trong 40" and verify(rec).ok
    assert rec.key == make_key(labelled(SOURCES, 1))
    assert {r.code for r in high} == {rec.pool[p - 1] for p in rec.selected}
    assert all("vượt giới hạn 10" in r.reason for r in high)
    # the 30 not taken in full are part of the rest, which the random part samples
    assert sum(s.pool_size for s in plan.strata) == 290
    assert len([r for r in plan.rows if r.kind == KIND_RANDOM]) == 50
    assert plan_sample(lot, SOURCES, high_risk_cap=0).high_risk_taken == 0
    assert plan_sample(lot, SOURCES, high_risk_cap=40).draws[0][0].startswith("thủ tục")  # no cap draw


def test_hundred_percent_when_sample_reaches_lot() -> None:
    lot = _lot(5, risky=1)
    plan = plan_sample(lot, (), fixed_n=10)  # nothing is drawn, so no sources are needed
    assert {r.code for r in plan.rows} == {d["code"] for d in lot}
    assert plan.draws == ()
    assert all(r.kind in (KIND_HIGH_RISK, KIND_WHOLE) for r in plan.rows)
    assert any(r.reason.startswith("toàn bộ thủ tục") for r in plan.rows)
    two = plan_sample(_lot(2), ())
    assert len(two.rows) == 2  # ISO: lot 2 -> sample 2


def test_rest_smaller_than_sample_is_taken_whole() -> None:
    plan = plan_sample(_lot(20, risky=17), ())  # n = 5, only 3 left after the high-risk ones
    assert len([r for r in plan.rows if r.kind != KIND_HIGH_RISK]) == 3 and plan.draws == ()


def test_same_inputs_same_sample_any_input_order_or_form() -> None:
    lot = _lot(400, risky=5)
    base = plan_sample(lot, SOURCES)
    shuffled = list(lot)
    random.Random(9).shuffle(shuffled)
    assert plan_sample(shuffled, SOURCES) == base
    assert plan_sample(pd.DataFrame(lot), SOURCES) == base
    facts = [DossierFacts(d["code"], d["procedure_code"], late=d.get("late", False),
                          apology_slip=d.get("apology_slip", False)) for d in lot]
    assert plan_sample(facts, SOURCES) == base
    assert plan_sample(lot, ["12 34 57", "7"]).rows != base.rows
    rows = plan_rows(base)
    assert set(rows[0]) == {"code", "procedure_code", "reason", "kind", "position", "draw_order"}


def test_missing_values_count_as_false() -> None:
    df = pd.DataFrame({"code": ["A", "B", "C"], "procedure_code": ["P", "P", "P"],
                       "late": [True, None, False], "supplement_requests": [None, 2, 0]})
    plan = plan_sample(df, ())
    assert {r.code: r.kind for r in plan.rows}["A"] == KIND_HIGH_RISK
    assert {r.code: r.reason for r in plan.rows}["B"] == "rủi ro cao: yêu cầu bổ sung 2 lần"


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="trùng.*H1"):
        plan_sample([{"code": "H1", "procedure_code": "P"}, {"code": "H1", "procedure_code": "P"}])
    with pytest.raises(ValueError, match="thiếu cột procedure_code"):
        plan_sample([{"code": "H1"}])
    with pytest.raises(ValueError, match="nguồn ngẫu nhiên"):
        plan_sample(_lot(100), ())  # a draw is needed
    with pytest.raises(ValueError):
        plan_sample(_lot(10), (), high_risk_cap=-1)
    empty = plan_sample([], ())
    assert empty.lot_size == 0 and empty.rows == ()


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=0, max_value=400), risky=st.integers(min_value=0, max_value=60),
       cap=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
       procedures=st.integers(min_value=1, max_value=6), seed=st.integers(min_value=0, max_value=999))
def test_sample_plan_properties(size: int, risky: int, cap, procedures: int, seed: int) -> None:
    lot = _lot(size, risky=min(risky, size), procedures=[f"P{i}" for i in range(procedures)], seed=seed)
    plan = plan_sample(lot, [str(seed)], high_risk_cap=cap)
    high = [r for r in plan.rows if r.kind == KIND_HIGH_RISK]
    assert len(high) == (plan.high_risk_count if cap is None else min(cap, plan.high_risk_count))
    rest = size - len(high)
    assert len(plan.rows) - len(high) == min(iso2859_sample_size(size), rest)
    assert sum(s.allocated for s in plan.strata) == min(iso2859_sample_size(size), rest)
    assert len({r.code for r in plan.rows}) == len(plan.rows)
    assert all(verify(rec).ok for _, rec in plan.draws)
