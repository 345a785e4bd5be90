"""The months' reconciliation cells kept in the store: the summary composed from them equals
`reconcile` over the period's rows; a national copy arriving or changing recomputes the months of
the dossier it copies (from its reception on), the indicator cells staying current; the missing
count per unit (the plan's gap) equals the reconciliation's over the rows. SQLite and PostgreSQL."""

from datetime import date, timedelta
from pathlib import Path

from factories import dossier
from pandas.testing import assert_frame_equal

from cchc.bench.measure import AS_OF, bench_config
from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.domain.periods import Period
from cchc.domain.records import Status
from cchc.pipeline import indicators as ti
from cchc.pipeline import period_cells as pc
from cchc.pipeline import reconciliation as rc

YEAR = Period.custom(date(2025, 11, 1), date(2026, 10, 31))
MONTHS = YEAR.sub_periods("month")


def _from_rows(store, cfg, period):
    classified, national = ti.load_rows(store, cfg, period, "provincial")
    if not len(national):
        return None
    return ti.reconcile_rows(classified, national, period, cfg, with_mismatches=False)[0]


def _computed(store, cfg, kinds=(pc.RECONCILE,)):
    """The months of YEAR out of date for `kinds` (computed from the rows, and kept, by this call)."""
    return pc.pieces_frames(store, cfg, MONTHS, "provincial", pc.fingerprint(store, cfg), kinds)[1]


def _check(store, cfg, *periods):
    for period in periods:
        got, want = rc.reconciliation_summary(store, cfg, period), _from_rows(store, cfg, period)
        assert want is not None, period.slug
        assert_frame_equal(got, want)


def test_the_summary_from_stored_months_equals_the_rows(filled):
    store, cfg = filled
    assert _computed(store, cfg) == [p.slug for p in MONTHS]  # nothing kept yet: computed, kept
    assert _computed(store, cfg) == [] and _computed(store, cfg, pc.KINDS) == []  # every kind kept
    quarter = Period.named("quarter", 2026, 2)
    _check(store, cfg, YEAR, quarter, MONTHS[-1], MONTHS[0], Period.custom(date(2026, 3, 10), date(2026, 5, 20)))
    total = rc.reconciliation_summary(store, cfg, YEAR).set_index("group").loc["TOTAL"]
    assert total["provincial"] > 300 and 0 < total["missing"] < total["provincial"]
    assert total["status_mismatches"] + total["due_mismatches"] + total["finish_mismatches"] > 0


def test_a_national_copy_arriving_or_changing_recomputes_its_dossiers_months(filled):
    store, cfg = filled
    late = dossier(code="LATE-1", unit_code="H99.99.04.01", received_at="2026-06-10 09:00",
                   due_at="2026-07-20 17:00", status=Status.PROCESSING, procedure_code="1.004227")
    store.upsert_page("provincial", [late])
    pc.refresh(store, cfg, months=13, today=AS_OF)
    june = next(p for p in MONTHS if p.slug == "2026-06")
    before = rc.reconciliation_summary(store, cfg, june).set_index("group").loc["TOTAL"]
    # its copy reaches the portal later, received there in September: June onwards (the dossier's
    # own months, carried over while open) are out of date, the months before are not, and the
    # indicator cells (which read no national row) stay current
    copy = dossier(source="national", code="LATE-1", unit_code="H99.99.04.01", received_at="2026-09-02 09:00",
                   due_at="2026-07-20 17:00", status=Status.PROCESSING)
    store.upsert_page("national", [copy])
    assert _computed(store, cfg, pc.KINDS) == []
    assert _computed(store, cfg) == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    after = rc.reconciliation_summary(store, cfg, june).set_index("group").loc["TOTAL"]
    assert (after["missing"], after["on_national"]) == (before["missing"] - 1, before["on_national"] + 1)
    _check(store, cfg, june, YEAR)
    # the copy changes (another status): recomputed again, the rows' numbers
    store.upsert_page("national", [dossier(source="national", code="LATE-1", unit_code="H99.99.04.01",
                                           received_at="2026-09-02 09:00", due_at="2026-07-20 17:00",
                                           status=Status.RETURNED, finished_at="2026-09-03 10:00")])
    assert _computed(store, cfg)[0] == "2026-06"
    _check(store, cfg, june, YEAR)
    mismatched = rc.reconciliation_summary(store, cfg, june).set_index("group").loc["TOTAL"]
    assert mismatched["status_mismatches"] == after["status_mismatches"] + 1
    # a copy of a dossier the store does not hold reaches back by its own times only
    store.upsert_page("national", [dossier(source="national", code="ELSEWHERE", unit_code="H99.99.04",
                                           received_at="2026-10-02 09:00")])
    assert _computed(store, cfg) == ["2026-10"]


def test_a_store_without_national_copies_shows_no_summary(db_url):
    store = Store(db_url)
    store.migrate()
    store.clear_dossiers()
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF - timedelta(days=400))
    store.upsert_page("provincial", [dossier(unit_code="H99.99.04", received_at="2026-06-10 09:00",
                                             due_at="2026-06-20 17:00")])
    june = Period.named("month", 2026, 6)
    assert rc.reconciliation_summary(store, cfg, june) is None and _from_rows(store, cfg, june) is None
    assert rc.missing_by_unit(rc.period_reconciliation(store, cfg, june), {"TTPVHCC": "H99.99.04"}) == {"TTPVHCC": 1}
    store.dispose()


def test_missing_per_unit_from_the_cells_equals_the_reconciliation_over_the_rows(db_url):
    """The plan's gap per unit (`missing_by_unit` over the period's reconciliation cells, as
    `inspections.risk_figures` reads it) counts what the reconciliation over the rows counts as
    missing on the national portal, per unit with its sub-units (identifier prefix), and nothing else."""
    from cchc.domain.reconcile import reconcile
    from cchc.pipeline.inspections import risk_figures

    def by_rows(store, cfg, period, source, units):  # reconcile over the period's rows: the oracle
        summary, _ = reconcile(store.load_facts(source, period.start, period.end),
                               store.load_facts("national", period.start, period.end, scope_source=source,
                                                columns=store.NATIONAL_COLUMNS),
                               period, units=[(nid, code) for code, nid in units.items()])
        return {r["label"]: int(r["missing"]) for r in summary.to_dict("records") if r["label"] in units}

    def missing(period, units):
        return rc.missing_by_unit(rc.period_reconciliation(store, cfg, period, "provincial"), units)

    cfg = load_config(Path(__file__).resolve().parent.parent / "config" / "demo.yaml", env={})
    store = Store(db_url)
    store.migrate()
    store.clear_dossiers()
    march = Period.named("month", 2026, 3)
    store.upsert_page("provincial", [
        # missing and in scope: received in March (unit, sub-unit), carried over from February
        dossier(code="M1", unit_code="H99.99.04", received_at="2026-03-02 08:00", due_at="2026-03-20 17:00"),
        dossier(code="M2", unit_code="H99.99.04.01", received_at="2026-03-03 08:00", due_at="2026-03-20 17:00"),
        dossier(code="M3", unit_code="H99.99.04", received_at="2026-02-20 08:00", due_at="2026-03-02 17:00"),
        # missing, not in scope: finished before March, returned (NgayTuChoi) before March, received
        # after March, excluded status, another unit, a look-alike identifier
        dossier(code="N1", unit_code="H99.99.04", received_at="2026-02-02 08:00", due_at="2026-02-10 17:00",
                finished_at="2026-02-09 10:00", status=10),
        dossier(code="N2", unit_code="H99.99.04", received_at="2026-02-02 08:00", due_at="2026-02-10 17:00",
                refused_at="2026-02-05 10:00", status=4),
        dossier(code="N3", unit_code="H99.99.04", received_at="2026-04-02 08:00", due_at="2026-04-10 17:00"),
        dossier(code="N4", unit_code="H99.99.04", received_at="2026-03-02 08:00", due_at="2026-03-10 17:00",
                status=3),
        dossier(code="V1", unit_code="H99.99.01", received_at="2026-03-05 08:00", due_at="2026-03-10 17:00"),
        dossier(code="X1", unit_code="H99.99.041", received_at="2026-03-05 08:00", due_at="2026-03-10 17:00"),
        # on the national portal (its copy's dates differ: still not missing)
        dossier(code="P1", unit_code="H99.99.04", received_at="2026-03-04 08:00", due_at="2026-03-20 17:00"),
        dossier(code="P2", unit_code="H99.99.04.01", received_at="2026-01-04 08:00", due_at="2026-03-20 17:00"),
    ])
    store.upsert_page("national", [
        dossier(source="national", code="P1", unit_code="H99.99.04", received_at="2026-03-04 08:00"),
        dossier(source="national", code="P2", unit_code="H99.99.04.01", received_at="2026-05-04 08:00"),
    ])
    units = {"TTPVHCC": "H99.99.04", "TTPVHCC-HT": "H99.99.04.01", "VP": "H99.99.01", "KTHTDT": "H99.99.03"}
    want = {"TTPVHCC": 3, "TTPVHCC-HT": 1, "VP": 1, "KTHTDT": 0}
    for period in (march, Period.named("quarter", 2026, 1)):
        assert missing(period, units) == by_rows(store, cfg, period, "provincial", units), period.slug
    assert missing(march, units) == want
    assert missing(march, {}) == {}
    figures = risk_figures(store, cfg, march, "provincial", list(units))  # the plan's own read
    assert {f.unit_code: f.reconciliation_gap for f in figures} == want
    # M1's copy arrives: no longer missing (the kept month is out of date, recomputed)
    store.upsert_page("national", [dossier(source="national", code="M1", unit_code="H99.99.04",
                                           received_at="2026-03-02 08:00")])
    assert missing(march, units)["TTPVHCC"] == 2
    store.dispose()
