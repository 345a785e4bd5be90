"""Months' cells kept in the store: equal to the rows' numbers, served while current, recomputed when
a change reaches back into the month or the rules' settings change. SQLite and PostgreSQL."""

from datetime import date

from factories import dossier
from pandas.testing import assert_frame_equal

from cchc.bench.measure import AS_OF
from cchc.domain.periods import Period
from cchc.domain.records import Status
from cchc.pipeline import period_cells as pc

YEAR = Period.custom(date(2025, 11, 1), date(2026, 10, 31))


def _same(a, b):
    for kind in pc.KINDS:
        assert_frame_equal(a.frame(kind).reset_index(drop=True), b.frame(kind).reset_index(drop=True),
                           check_dtype=False, check_categorical=False)


def _computed(store, cfg):
    return pc.pieces_cells(store, cfg, YEAR.sub_periods("month"), "provincial", pc.fingerprint(store, cfg))[1]


def test_a_year_from_stored_months_equals_the_rows(filled):
    store, cfg = filled
    direct = pc.compute(store, cfg, YEAR)
    first = pc.period_cells(store, cfg, YEAR)  # computes and keeps the twelve months
    assert len(store.kept_cells("provincial")) == 12 * len(pc.ALL_KINDS)  # the reconciliation kept too
    assert _computed(store, cfg) == []  # all current now
    again = pc.period_cells(store, cfg, YEAR)
    _same(first, direct)
    _same(again, direct)
    assert int(direct.bieu06["received"].sum()) > 300


def test_a_change_recomputes_only_the_months_it_reaches(filled):
    store, cfg = filled
    pc.period_cells(store, cfg, YEAR)
    new = dossier(unit_code="H99.99.04.01", received_at="2026-06-10 09:00", due_at="2026-06-15 17:00",
                  status=Status.PROCESSING, procedure_code="1.004227")
    store.upsert_page("provincial", [new])
    assert _computed(store, cfg) == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    _same(pc.period_cells(store, cfg, YEAR), pc.compute(store, cfg, YEAR))

    # The same dossier moved to August: June is out of date too (its old reception), May is not.
    moved = dossier(code=new.code, unit_code="H99.99.04.01", received_at="2026-08-03 09:00",
                    due_at="2026-08-07 17:00", status=Status.PROCESSING, procedure_code="1.004227")
    store.upsert_page("provincial", [moved])
    assert _computed(store, cfg)[0] == "2026-06"
    _same(pc.period_cells(store, cfg, YEAR), pc.compute(store, cfg, YEAR))

    store.upsert_page("provincial", [moved])  # unchanged: nothing recomputed
    assert _computed(store, cfg) == []


def test_settings_and_rules_are_part_of_the_key(filled):
    store, cfg = filled
    pc.period_cells(store, cfg, YEAR)
    strict = cfg.model_copy(update={"reporting": cfg.reporting.model_copy(update={"timeliness_compare": "timestamp"})})
    assert pc.fingerprint(store, strict) != pc.fingerprint(store, cfg)
    assert len(_computed(store, strict)) == 12
    _same(pc.period_cells(store, strict, YEAR), pc.compute(store, strict, YEAR))


def test_refresh_keeps_the_recent_months_current(filled):
    store, cfg = filled
    done = pc.refresh(store, cfg, months=13, today=AS_OF)
    assert done["months"] == 13 and done["computed"][0] == "2025-11" and done["computed"][-1] == "2026-11"
    assert pc.refresh(store, cfg, months=13, today=AS_OF)["computed"] == []
    # A custom range's month pieces are computed, not kept.
    edge = Period.custom(date(2026, 3, 10), date(2026, 4, 20))
    _same(pc.period_cells(store, cfg, edge), pc.compute(store, cfg, edge))
    assert {(e["period_start"], e["period_end"]) for e in store.kept_cells("provincial")} == {
        (p.start, p.end) for p in Period.custom(date(2025, 11, 1), date(2026, 11, 30)).sub_periods("month")}


def test_one_read_for_several_months_gives_each_month_its_own_numbers(filled):
    store, cfg = filled
    months = YEAR.sub_periods("month")
    together = pc.compute_pieces(store, cfg, months)
    for month, cells in zip(months, together, strict=True):
        _same(cells, pc.compute(store, cfg, month))


def test_the_in_memory_cut_selects_what_the_store_reads(filled):
    from cchc.domain.metrics import can_matter, steps_can_matter

    store, cfg = filled
    store.upsert_page("provincial", [  # the NULL corners: no reception, finished without an end time
        dossier(received_at=None, status=Status.RETURNED, finished_at="2026-02-03 10:00"),
        dossier(received_at=None, status=Status.RETURNED),
        dossier(received_at=None, status=Status.PROCESSING),
        dossier(received_at="2025-12-01 09:00", status=Status.RETURNED),
    ])
    year_facts = store.load_facts("provincial", YEAR.start, YEAR.end)
    year_steps = store.load_steps("provincial", YEAR.start, YEAR.end)
    for month in YEAR.sub_periods("month")[::3]:
        own = store.load_facts("provincial", month.start, month.end)
        cut = year_facts[can_matter(year_facts, month)]
        assert sorted(cut["code"].astype(str)) == sorted(own["code"].astype(str)), month.slug
        own_steps = store.load_steps("provincial", month.start, month.end)
        assert int(steps_can_matter(year_steps, month).sum()) == len(own_steps), month.slug
