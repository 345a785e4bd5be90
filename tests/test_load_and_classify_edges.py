"""Review findings: each test fails because the code disagrees with DOMAIN.md (see the comments)."""

from __future__ import annotations

from factories import fact, facts

from cchc.connectors.store import Store
from cchc.domain.metrics import classify, indicator_table
from cchc.domain.periods import Period
from cchc.domain.reconcile import reconcile
from cchc.domain.wire import parse_dossier

OCT = Period.named("month", 2026, 10)


def _raw(code, status, **kw):
    r = {
        "MaHoSo": code,
        "TrangThaiHoSo": status,
        "NgayTiepNhan": "20260920080000",
        "NgayHenTra": "20260925170000",
        "DonViXuLy": "H99.99.01",
    }
    r.update(kw)
    return r


def _store(url, source, *raws):
    s = Store(url)
    s.migrate()
    s.upsert_page(source, [parse_dossier(r, source) for r in raws])
    return s


def _total(frame, period=OCT, **kw):
    return indicator_table(classify(frame, period, **kw)).iloc[-1]


def test_load_facts_keeps_open_dossier_that_carries_an_old_end_time(sqlite_url):
    # DOMAIN §4: carried over = received before `from` and not finished before `from`; "finished"
    # is status 9/10/7 (8 in 766 mode). A status-4 dossier received 20/09 with a stale
    # NgayKetThucXuLy of 24/09 is not finished: classify counts it carried over + pending in Oct.
    # load_facts' window (repository.py, `COALESCE(finished_at, returned_at) >= :start` unless
    # status 8) drops it. Expected carried_over 1 / pending 1; actual 0 / 0.
    s = _store(sqlite_url, "provincial", _raw("A", 4, NgayKetThucXuLy="20260924100000"))
    assert _total(s.load_facts("provincial"))["carried_over"] == 1  # classify on all rows: counted
    windowed = _total(s.load_facts("provincial", OCT.start, OCT.end))
    assert (windowed["carried_over"], windowed["pending"]) == (1, 1)


def test_load_facts_keeps_dossier_whose_end_time_precedes_its_reception(sqlite_url):
    # DOMAIN §4: received in period = NgayTiepNhan in the period. Received 02/10, finished (bad
    # data) 28/09: classify takes the end as the reception time (data issue end_before_received)
    # and counts it received in period and resolved in October. load_facts drops it because its
    # end 28/09 < 01/10. Expected received 1 / resolved 1; actual 0 / 0.
    s = _store(
        sqlite_url,
        "provincial",
        _raw(
            "B",
            10,
            NgayTiepNhan="20261002080000",
            NgayHenTra="20261006170000",
            NgayKetThucXuLy="20260928100000",
            NgayTra="20260928100000",
        ),
    )
    assert _total(s.load_facts("provincial"))["received_in_period"] == 1
    windowed = _total(s.load_facts("provincial", OCT.start, OCT.end))
    assert (windowed["received"], windowed["resolved"]) == (1, 1)


def test_national_copy_with_a_different_end_date_is_present_not_missing(sqlite_url):
    # DOMAIN §4: sync rate = dossiers present on the national portal / dossiers in the provincial
    # system; date differences are reported as mismatches. tasks/indicators.load_period loads the
    # national side with load_facts(period), which filtered national rows by their OWN dates: a
    # national copy whose end (28/09) differs from the provincial one (02/10) is dropped and
    # reported "thiếu trên Cổng DVCQG". Expected on_national 1, sync 100%, 1 finish mismatch;
    # actual on_national 0, sync 0%, no finish mismatch. Fixed: the national copies are scoped by
    # the provincial dossiers of the period (scope_source="provincial").
    s = _store(
        sqlite_url, "provincial", _raw("C", 10, NgayKetThucXuLy="20261002100000", NgayTra="20261002100000")
    )
    s.upsert_page(
        "national",
        [
            parse_dossier(
                _raw("C", 10, NgayKetThucXuLy="20260928100000", NgayTra="20260928100000"), "national"
            )
        ],
    )
    summary, _ = reconcile(
        s.load_facts("provincial", OCT.start, OCT.end),
        s.load_facts("national", OCT.start, OCT.end, scope_source="provincial"),
        OCT,
    )
    total = summary.iloc[-1]
    assert (total["on_national"], total["missing"], total["finish_mismatches"]) == (1, 0, 1)
    assert total["sync_rate"] == 100.0


def test_bieu06_waiting_for_supplement_is_within_time_whatever_the_status_code():
    # DOMAIN §4 (pending): "Waiting for supplement ... count as within time"; the "more than one
    # supplement = late" rule is 766-only (§3). In bieu06 mode a status-5 dossier with 2 requests,
    # the second pending, is within time (classify does this, and test_metrics asserts it), but the
    # same dossier whose source keeps status 4 while the request is pending (supplement_pending
    # True) is counted overdue because of `supplements <= 1` in `exempt` (metrics.py, classify).
    # Expected pending_in_time 1 / pending_overdue 0; actual 0 / 1.
    status5 = fact(status=5, supplement_count=2, supplement_pending=True, due_at="2026-10-09 17:00")
    status4 = fact(status=4, supplement_count=2, supplement_pending=True, due_at="2026-10-09 17:00")
    assert _total(facts(status5))["pending_in_time"] == 1
    row = _total(facts(status4))
    assert (row["pending_in_time"], row["pending_overdue"]) == (1, 0)
