"""The SQL store on SQLite and PostgreSQL: migrations, idempotent upserts, cursor atomicity, quarantine."""

from datetime import datetime

import pytest
from sqlalchemy import text

from cchc.connectors.store import QuarantineItem, Store
from cchc.domain.wire import parse_dossier


def _raw(code, status=4, unit="H99.99.01", **kw):
    r = {"MaHoSo": code, "TrangThaiHoSo": status, "NgayTiepNhan": "20261001080000",
         "NgayHenTra": "20261005170000", "DonViXuLy": unit, "ChuHoSo": "Nguyễn Văn Bí Mật",
         "SoGiayToChuHoSo": "001099012345",
         "QuaTrinhXuLy": [{"NguoiXuLy": "vhxh.vu", "NoiDungXuLy": "Chuyển hồ sơ của ông Nguyễn Văn Bí Mật",
                           "NgayKetThucTheoQuyDinh": "20261002170000"}]}
    r.update(kw)
    return r


def _page(codes, **kw):
    return [parse_dossier(_raw(c, **kw), "provincial") for c in codes]


def test_migrate_is_idempotent(db_url):
    s = Store(db_url)
    s.migrate()
    s.migrate()
    assert s.revision() == "0011"
    assert s.count_dossiers() == 0


def test_first_runs_at_once_migrate_a_new_store_once(db_url):
    """Three processes released at the same instant on a store that does not exist yet (two demos, a
    flow and a command started together): one creates the schema, the others wait for it and find it
    current; none fails with "table ... already exists"."""
    import subprocess
    import sys
    import time

    start = time.time() + 4  # after every interpreter has imported the store
    probe = ("import sys, time\nfrom cchc.connectors.store import Store\ns = Store(sys.argv[1])\n"
             "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\ns.migrate()\nprint(s.revision())")
    runs = [subprocess.Popen([sys.executable, "-c", probe, db_url, str(start)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in runs]
    for code, out, err in results:
        assert code == 0, err[-800:]
        assert out.strip() == "0011"
    s = Store(db_url)
    assert s.revision() == "0011" and s.count_dossiers() == 0
    s.dispose()


def test_migrate_on_a_current_store_does_not_wait_for_a_writer(sqlite_url):
    """The lock is taken only when the schema is behind: a flow starting while a sync writes a page
    goes on at once."""
    import sqlite3
    import time

    s = Store(sqlite_url)
    s.migrate()
    writer = sqlite3.connect(sqlite_url[len("sqlite:///"):], timeout=10)
    writer.execute("BEGIN IMMEDIATE")  # a write transaction in progress
    try:
        t0 = time.perf_counter()
        Store(sqlite_url).migrate()
        assert time.perf_counter() - t0 < 5
    finally:
        writer.rollback()
        writer.close()


def test_upsert_twice_same_counts_no_duplicates(db_url):
    s = Store(db_url)
    s.migrate()
    codes = [f"HS-{i:04d}" for i in range(1200)]
    r1 = s.upsert_page("provincial", _page(codes), cursor={"next_page": 2})
    assert (r1.inserted, r1.updated, r1.unchanged) == (1200, 0, 0)
    r2 = s.upsert_page("provincial", _page(codes), cursor={"next_page": 3})
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 0, 1200)
    assert s.count_dossiers() == 1200
    assert s.count_steps() == 1200
    # a real change is an update, and its steps are replaced, not doubled
    r3 = s.upsert_page("provincial", _page(codes[:10], status=10, NgayKetThucXuLy="20261003100000"))
    assert (r3.inserted, r3.updated, r3.unchanged) == (0, 10, 0)
    assert s.count_dossiers() == 1200 and s.count_steps() == 1200
    assert s.get_cursor("provincial") == {"next_page": 3}


def test_same_code_from_two_sources_is_two_rows(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["A"]))
    s.upsert_page("national", [parse_dossier(_raw("A"), "national")])
    assert s.count_dossiers() == 2
    assert s.count_dossiers("national") == 1


def test_duplicate_code_within_a_page_is_stored_once(db_url):
    s = Store(db_url)
    s.migrate()
    r = s.upsert_page("provincial", _page(["A", "B", "A"]))
    assert r.inserted == 2
    assert s.count_dossiers() == 2


def test_cursor_and_rows_commit_together(db_url):
    """A page that fails to store leaves neither its rows nor its cursor behind."""
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["A"]), cursor={"next_page": 2})
    bad = QuarantineItem("provincial", "X", None, "r", raw={})  # field None: fails after the rows are written
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        s.upsert_page("provincial", _page(["B", "C"]), [bad], cursor={"next_page": 3})
    assert s.get_cursor("provincial") == {"next_page": 2}
    assert s.count_dossiers() == 1


def test_quarantine_is_idempotent_and_keeps_the_reason(db_url):
    s = Store(db_url)
    s.migrate()
    q = QuarantineItem("provincial", "Z1", "TrangThaiHoSo", "mã trạng thái không hợp lệ: abc",
                       {"MaHoSo": "Z1", "TrangThaiHoSo": "abc"})
    s.upsert_page("provincial", [], [q])
    s.upsert_page("provincial", [], [q])
    rows = s.quarantine_rows()
    assert len(rows) == 1
    assert rows[0]["field"] == "TrangThaiHoSo" and "abc" in rows[0]["reason"]


def test_no_personal_data_is_stored(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["A"]))
    dump = s.dump_text()
    assert "Bí Mật" not in dump
    assert "001099012345" not in dump


def test_datetimes_round_trip_as_vietnam_local_time(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["A"]))
    facts = s.load_facts("provincial")
    row = facts.iloc[0]
    assert row["received_at"] == datetime(2026, 10, 1, 8, 0)
    assert row["due_at"] == datetime(2026, 10, 5, 17, 0)
    assert row["status"] == 4 and row["channel"] == 1
    assert row["owes_fee"] is False or row["owes_fee"] == False  # noqa: E712 - numpy bool
    assert bool(row["result_paper"]) is True  # no catalogue entry: paper result assumed
    with s.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM processing_steps")).scalar() == 1


def test_fact_types_are_the_same_on_every_database(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["A"], KenhThucHien=2, DuocThanhToanTrucTuyen=1, MienLePhi=0,
                                      DanhSachLePhi=[{"MaPhiLePhi": "L", "TenPhiLePhi": "Lệ phí", "Gia": 8000}],
                                      DanhGiaHaiLong=1, MucDo=4))
    s.upsert_page("provincial", _page(["B"]))
    s.upsert_procedures([{"code": "P1", "name": "x", "field_code": "", "field_name": "", "online_level": 4,
                          "has_fee": True, "result_paper": False, "working_days": 3}])
    s.upsert_page("provincial", _page(["C"], MaTTHC="P1"))
    f = s.load_facts("provincial").set_index("code")
    assert f["owes_fee"].dtype == bool and f["paid_online"].dtype == bool
    assert f.loc["A", "owes_fee"] and f.loc["A", "paid_online"] and not f.loc["B", "owes_fee"]
    assert not f.loc["B", "paid_online"]
    assert f.loc["A", "channel"] == 2 and f.loc["A", "online_level"] == 4.0 and f.loc["A", "evaluation"] == 1.0
    assert f.loc["C", "result_paper"] == False and f.loc["A", "result_paper"] == True  # noqa: E712
    steps = s.load_steps("provincial")
    assert list(steps.columns) == ["officer", "at", "step_due", "started_at"]
    assert str(steps["step_due"].dtype).startswith("datetime64")
    assert str(steps["started_at"].dtype).startswith("datetime64")


def test_load_facts_window_filters_old_finished(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["OLD"], status=10, NgayKetThucXuLy="20260101100000",
                                      NgayTiepNhan="20251201080000"))
    s.upsert_page("provincial", _page(["NEW"]))
    from datetime import date

    got = set(s.load_facts("provincial", date(2026, 10, 1), date(2026, 10, 31))["code"])
    assert got == {"NEW"}


def test_scoped_leaves_out_the_dossiers_without_a_reception_time(db_url):
    """`load_facts(..., scoped=True)` (what reconciliation and sampling read): the same rows minus those
    never received, which are in no period's scope; the national copies' scope alike."""
    from datetime import date

    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", _page(["NEW"]) + _page(["NOREC"], status=1, NgayTiepNhan=""))  # 1: not yet received
    s.upsert_page("national", [parse_dossier(_raw(c), "national") for c in ("NEW", "NOREC")])
    oct_ = (date(2026, 10, 1), date(2026, 10, 31))
    every = s.load_facts("provincial", *oct_)
    assert set(every["code"]) == {"NEW", "NOREC"} and every.set_index("code")["received_at"].isna()["NOREC"]
    assert set(s.load_facts("provincial", *oct_, scoped=True)["code"]) == {"NEW"}
    scoped = s.load_facts("national", *oct_, scope_source="provincial", columns=s.NATIONAL_COLUMNS,
                          scoped=True)
    assert set(scoped["code"]) == {"NEW"}
    assert set(s.load_facts("national", *oct_, scope_source="provincial")["code"]) == {"NEW", "NOREC"}
