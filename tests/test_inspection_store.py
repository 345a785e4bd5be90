"""The inspection records of the store (cchc.connectors.store.inspections), on SQLite and PostgreSQL:
a stored selection recomputes; a tampered result, pool or source does not; findings' lifecycle;
complaints from CSV with a bad row; the sampling frame reads only the units' rows."""

from __future__ import annotations

from datetime import date

import pytest
from factories import dossier
from sqlalchemy import update

from cchc.connectors.store import Store
from cchc.connectors.store.inspections import (
    SAMPLED_COLUMNS,
    InspectionError,
    Inspections,
    finding_status,
    sampled_facts,
    sampling_facts,
)
from cchc.connectors.store.schema import inspection_selections
from cchc.domain.calendar import WorkCalendar
from cchc.domain.draw import verify
from cchc.domain.inspection_plan import PlanRules, PlanUnit, Wave, plan_inspections
from cchc.domain.inspection_risk import Complaint, LeadershipRequest, SpotCheckPolicy, spot_check_triggers
from cchc.domain.periods import Period
from cchc.domain.sampling import plan_sample

UNITS = [PlanUnit(f"U{i}", f"Đơn vị {i}") for i in range(1, 6)]
WAVES = [Wave(1, date(2026, 7, 1), date(2026, 7, 10)), Wave(2, date(2026, 10, 20), date(2026, 10, 25))]
SOURCES = ["12 34 56", "7 8"]


def _ins(url: str) -> Inspections:
    store = Store(url)
    store.migrate()
    return Inspections(store)


def _plan():
    return plan_inspections(UNITS, WAVES, PlanRules(units_per_wave=2, always=frozenset({"U3"}),
                                                            self_report_deadlines=(date(2026, 11, 29),)), WorkCalendar(),
                            sources=SOURCES)


def _tamper(ins: Inspections, selection_id: int, **values) -> None:
    with ins.engine.begin() as conn:
        conn.execute(update(inspection_selections).where(inspection_selections.c.id == selection_id).values(**values))


def test_saved_plan_loads_and_verifies(db_url) -> None:
    ins = _ins(db_url)
    plan = _plan()
    saved = ins.save_plan(plan, 2026, pool=[u.code for u in UNITS])
    assert len(saved.wave_ids) == 2
    for wave, sid in zip(plan.waves, saved.wave_ids, strict=True):
        record = ins.load_record(sid)
        assert record == wave.draw and verify(record).ok
        assert ins.verify_selection(sid).ok
        sel = ins.load_selection(sid)
        assert [r["item"] for r in sel.reasons] == [v.unit_code for v in wave.visits]
        assert sel.reasons[0]["forced"] and sel.wave == wave.wave.number
    check = ins.verify_selection(saved.id)
    assert check.ok and "2 lượt rút" in check.reason
    visits = ins.visits(saved.id)
    assert [(v.unit_code, v.visit_date, v.notice_date, v.report_due) for v in visits] == [
        (v.unit_code, v.visit_date, v.notice_date, v.report_due) for w in plan.waves for v in w.visits]
    assert ins.inspected_units(2026, before_wave=2) == {v.unit_code for v in plan.waves[0].visits}
    assert ins.load_selection(saved.id).notes == ["hạn báo cáo tự kiểm tra: 30/11/2026 (ngày 29/11/2026 là ngày nghỉ)"]


def _selection_count(ins: Inspections) -> int:
    from sqlalchemy import func, select

    with ins.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inspection_selections)).scalar())


def test_the_same_inputs_reuse_the_stored_selection(db_url) -> None:
    """Planning and sampling again with identical inputs store nothing new and return the same ids
    (the demo's second run changes nothing); another source gives a new selection."""
    ins = _ins(db_url)
    first = ins.save_plan(_plan(), 2026, pool=[u.code for u in UNITS])
    n = _selection_count(ins)
    again = ins.save_plan(_plan(), 2026, pool=[u.code for u in UNITS])
    assert again == first and _selection_count(ins) == n
    wave = _plan().waves[1]
    alone = ins.save_wave(wave, 2026)  # a wave planned alone is not the plan's child: stored once
    assert alone not in first.wave_ids and ins.save_wave(wave, 2026) == alone
    lot = [{"code": f"HS{i:04d}", "procedure_code": f"P{i % 3}", "late": i % 5 == 0} for i in range(80)]
    period = Period.custom(date(2026, 1, 1), date(2026, 6, 30))
    sid = ins.save_sample(plan_sample(lot, SOURCES, high_risk_cap=5), "U1", period, year=2026,
                          parent_id=first.wave_ids[0])
    n = _selection_count(ins)
    assert ins.save_sample(plan_sample(lot, SOURCES, high_risk_cap=5), "U1", period, year=2026,
                           parent_id=first.wave_ids[0]) == sid
    assert _selection_count(ins) == n
    assert ins.save_sample(plan_sample(lot, ["9 9 9"], high_risk_cap=5), "U1", period, year=2026,
                           parent_id=first.wave_ids[0]) != sid
    other = plan_inspections(UNITS, WAVES, PlanRules(units_per_wave=2, always=frozenset({"U3"}),
                                                     self_report_deadlines=(date(2026, 11, 29),)), WorkCalendar(),
                             sources=["12 34 57", "7 8"])
    moved = ins.save_plan(other, 2026, pool=[u.code for u in UNITS])
    assert moved.id != first.id and ins.verify_selection(moved.id).ok and ins.verify_selection(first.id).ok


@pytest.mark.parametrize("what", ["result", "pool", "source", "reasons"])
def test_tampered_selection_fails_verification(db_url, what: str) -> None:
    ins = _ins(db_url)
    saved = ins.save_plan(_plan(), 2026)
    sid = saved.wave_ids[0]
    rec = ins.load_record(sid)
    if what == "result":
        others = [p for p in range(1, len(rec.pool) + 1) if p not in rec.selected]
        _tamper(ins, sid, result=[others[0]])
        needle = "khác kết quả tính lại"
    elif what == "pool":
        _tamper(ins, sid, pool=list(reversed(rec.pool)))
        needle = "SHA-256"
    elif what == "source":
        _tamper(ins, sid, sources=["12 34 57", *rec.sources[1:]])
        needle = "nguồn ngẫu nhiên"
    else:  # the reasons name another unit than the one the draw picked
        sel = ins.load_selection(sid)
        reasons = [dict(r) for r in sel.reasons]
        drawn = next(r for r in reasons if r["draw_order"] == 1)
        drawn["item"] = next(c for c in rec.pool if c not in {r["item"] for r in reasons})
        _tamper(ins, sid, reasons=reasons)
        needle = "kết quả ghi"
    assert not verify(ins.load_record(sid)).ok or what == "reasons"
    check = ins.verify_selection(sid)
    assert not check.ok and needle in check.reason and "\n" not in check.reason
    group = ins.verify_selection(saved.id)  # the plan as a whole fails too, naming the wave
    assert not group.ok and f"lựa chọn số {sid}" in group.reason


def test_sample_and_spot_check_selections_verify(db_url) -> None:
    ins = _ins(db_url)
    lot = [{"code": f"HS{i:04d}", "procedure_code": f"P{i % 3}", "late": i % 7 == 0} for i in range(120)]
    sample = plan_sample(lot, SOURCES, high_risk_cap=5)
    assert len(sample.draws) >= 2  # the cap and at least one stratum
    period = Period.custom(date(2026, 1, 1), date(2026, 6, 30))
    sid = ins.save_sample(sample, "U1", period, year=2026)
    sel = ins.load_selection(sid)
    assert [r["item"] for r in sel.reasons] == [r.code for r in sample.rows]
    assert len(sel.children) == len(sample.draws) and sel.period_end == date(2026, 6, 30)
    assert ins.verify_selection(sid).ok
    child = sel.children[-1]
    _tamper(ins, child, result=list(reversed(ins.load_record(child).selected)))
    assert not ins.verify_selection(sid).ok

    result = spot_check_triggers([u.code for u in UNITS], date(2026, 8, 3), policy=SpotCheckPolicy(random_count=1),
                                 requests=[LeadershipRequest("U2", "nhiều hồ sơ trễ hạn", date(2026, 8, 1))],
                                 sources=SOURCES)
    spot = ins.save_spot_check(result, 2026)
    assert ins.verify_selection(spot).ok
    kinds = {(s.unit_code, s.trigger_kind) for s in ins.spot_checks()}
    assert ("U2", "leadership") in kinds and any(k == "random" for _, k in kinds)
    assert ins.add_spot_check("U4", "leadership", "  yêu cầu của Chủ tịch ", date(2026, 8, 5))
    with pytest.raises(InspectionError):
        ins.add_spot_check("U4", "leadership", " ", date(2026, 8, 5))


def test_findings_lifecycle(db_url) -> None:
    ins = _ins(db_url)
    a = ins.add_finding("U1", "Chưa niêm yết thủ tục mới", "Niêm yết đủ", "U1", date(2026, 8, 15))
    b = ins.add_finding("U2", "Hồ sơ trễ hạn không có phiếu xin lỗi", deadline=date(2026, 9, 30))
    assert [f.status for f in ins.findings(today=date(2026, 8, 15))] == ["open", "open"]  # the deadline day is in time
    assert [f.id for f in ins.findings(status="overdue", today=date(2026, 8, 16))] == [a]
    ins.update_finding(a, status="done")
    f = ins.findings(unit_code="U1", today=date(2026, 12, 1))[0]
    assert f.status == "done" and f.status_vi == "đã khắc phục"
    ins.update_finding(b, deadline=date(2026, 12, 31), remediation="Gửi phiếu xin lỗi")
    g = ins.findings(unit_code="U2", today=date(2026, 12, 1))[0]
    assert g.status == "open" and g.deadline == date(2026, 12, 31) and g.remediation == "Gửi phiếu xin lỗi"
    with pytest.raises(InspectionError, match="quá hạn"):
        ins.update_finding(b, status="overdue")
    with pytest.raises(InspectionError, match="số 999"):
        ins.update_finding(999, status="done")
    assert finding_status("open", None, date(2030, 1, 1)) == "open"


def test_complaints_csv_with_a_bad_row(db_url, tmp_path) -> None:
    ins = _ins(db_url)
    csv = tmp_path / "phan_anh.csv"
    csv.write_text(
        "Đơn vị;Ngày phản ánh;Mã thủ tục;Số hồ sơ;Loại;Nội dung;Họ tên người phản ánh;Số điện thoại\n"
        "U1;05/08/2026;1.001;HS0001;Trễ hẹn;Hẹn trả nhưng chưa có kết quả, gọi 0912345678;Nguyễn Văn Tèo;0987654321\n"
        "U2;31/02/2026;;;Thái độ;Cán bộ hướng dẫn chưa rõ;Trần Thị Bé;0911222333\n"
        "U9;06/08/2026;;;Khác;Không rõ;Lê Văn Cu;0900000000\n"
        ";;;;;;;\n"
        "U3;2026-08-07;;;;Thiếu hướng dẫn;Phạm Thị Đẹp;0933444555\n", encoding="utf-8-sig")
    result = ins.import_complaints(csv, [u.code for u in UNITS])
    assert result.rows_read == 4 and len(result.added) == 2
    assert [(e.row, e.column) for e in result.errors] == [(3, "Ngày phản ánh"), (4, "Đơn vị")]
    stored = ins.complaints()
    assert [(c.unit_code, c.received_on, c.dossier_code) for c in stored] == [
        ("U1", date(2026, 8, 5), "HS0001"), ("U3", date(2026, 8, 7), None)]
    assert "***" in stored[0].summary
    ins.add_complaint(Complaint("U2", date(2026, 8, 9), "Thái độ", "Liên hệ teo@example.com"))
    dump = ins.store.dump_text()
    for personal in ("Nguyễn Văn Tèo", "0987654321", "0912345678", "Phạm Thị Đẹp", "teo@example.com"):
        assert personal not in dump
    assert len(ins.complaints(unit_code="U2")) == 1


def test_complaints_file_without_required_column(db_url, tmp_path) -> None:
    ins = _ins(db_url)
    csv = tmp_path / "x.csv"
    csv.write_text("Nội dung,Loại\nabc,def\n", encoding="utf-8")
    with pytest.raises(InspectionError, match="thiếu cột Mã đơn vị, Ngày tiếp nhận"):
        ins.import_complaints(csv, ["U1"])


def test_findings_from_excel(db_url, tmp_path) -> None:
    from openpyxl import Workbook

    ins = _ins(db_url)
    wb = Workbook()
    ws = wb.active
    ws.append(["Đơn vị được kiểm tra", "Tồn tại, hạn chế", "Yêu cầu khắc phục", "Thời hạn", "Trạng thái"])
    ws.append(["U1", "Chưa cập nhật sổ theo dõi", "Cập nhật", date(2026, 9, 1), "Đang khắc phục"])
    ws.append(["U2", "", "x", "01/09/2026", "xong"])
    ws.append(["U2", "Chậm số hóa", "Số hóa", "01/09/2026", "Đã khắc phục"])
    p = tmp_path / "ket_luan.xlsx"
    wb.save(p)
    result = ins.import_findings(p, ["U1", "U2"])
    assert len(result.added) == 2 and [(e.row, e.column) for e in result.errors] == [(3, "Tồn tại, hạn chế")]
    assert [(f.unit_code, f.status) for f in ins.findings(today=date(2026, 9, 2))] == [("U1", "overdue"),
                                                                                      ("U2", "done")]


def test_sampling_facts_reads_only_the_units_rows(db_url) -> None:
    store = Store(db_url)
    store.migrate()
    page = [
        dossier(code="A1", procedure_name="Thủ tục 1.001", unit_code="H99.99.04", procedure_code="1.001", received_at="2026-03-02 08:00",
                due_at="2026-03-05 17:00", finished_at="2026-03-09 10:00", status=10),
        dossier(code="A2", procedure_name="Thủ tục 1.002", unit_code="H99.99.04.01", procedure_code="1.002", received_at="2026-03-03 08:00",
                due_at="2026-03-04 17:00", status=4, apology=True),
        dossier(code="A3", procedure_name="Thủ tục 1.001", unit_code="H99.99.041", procedure_code="1.001", received_at="2026-03-03 08:00",
                due_at="2026-03-20 17:00", status=4),
        dossier(code="B1", procedure_name="Thủ tục 2.001", unit_code="H99.99.01", procedure_code="2.001", received_at="2026-03-03 08:00",
                due_at="2026-03-20 17:00", status=4),
        dossier(code="A4", procedure_name="Thủ tục 1.001", unit_code="H99.99.04", procedure_code="1.001", received_at="2026-05-03 08:00",
                due_at="2026-05-20 17:00", status=4),
    ]
    store.upsert_page("provincial", page)
    lots = sampling_facts(store, "provincial", {"TT": "H99.99.04"}, Period.named("month", 2026, 3),
                          complained_codes={"A2"})
    lot = lots["TT"]
    assert list(lot["code"]) == ["A1", "A2"]  # not H99.99.041, not another unit, not received after March
    a1, a2 = lot.to_dict("records")
    assert a1["late"] and not a1["overdue_pending"]
    assert a2["overdue_pending"] and a2["apology_slip"] and a2["complained"] and not a2["late"]
    sample = plan_sample(lot, SOURCES)
    assert {r.code for r in sample.rows} == {"A1", "A2"}
    assert "procedure_name" not in lot.columns  # read for the sampled dossiers only, by code:
    store.upsert_page("national", [dossier(source="national", code="A1", procedure_name="Tên trên Cổng")])
    sampled = sampled_facts(store, "provincial", lot, sample)
    assert list(sampled.columns) == list(SAMPLED_COLUMNS)
    assert list(sampled["code"]) == [r.code for r in sample.rows]
    assert set(sampled["procedure_name"]) == {"Thủ tục 1.001", "Thủ tục 1.002"}  # the source's own rows
    assert dict(zip(sampled["code"], sampled["late"], strict=True)) == {"A1": True, "A2": False}
    assert store.procedure_names("provincial", ["B1", "NONE", "B1"]) == {"B1": "Thủ tục 2.001"}


def test_load_facts_of_units_reads_exactly_their_rows(db_url, monkeypatch) -> None:
    """`load_facts(unit_ids=...)` (the sample's and the gap's read) returns the units' rows and their
    sub-units' ("id." + anything), once each, and no look-alike identifier on either side of the
    prefix; the same with `units_index` (the sample's read), which on SQLite goes through the units'
    index, not the period's rows, and on PostgreSQL falls back to LIKE under a collation that does
    not sort by code point."""
    store = Store(db_url)
    store.migrate()
    units = {"P1": "H99.99.04", "P2": "H99.99.04.01", "P3": "H99.99.041", "P4": "H99.99.04-1", "P5": "H99.99.04/1",
             "P7": "H99.99.03", "P8": "H99.99.04.01.7", "P9": "H99.99.1"}
    store.upsert_page("provincial", [dossier(code=c, unit_code=u, received_at="2026-03-02 08:00",
                                             due_at="2026-03-20 17:00") for c, u in units.items()])
    store.upsert_page("national", [dossier(source="national", code="P1", unit_code="H99.99.04",
                                           received_at="2026-03-02 08:00")])
    march = Period.named("month", 2026, 3)

    def read(ids, **kw):
        return store.load_facts("provincial", march.start, march.end, columns=("code", "unit_code"), unit_ids=ids,
                                scoped=True, **kw)

    def codes(ids, **kw):
        got = sorted(read(ids, units_index=True, **kw)["code"])
        assert got == sorted(read(ids, **kw)["code"])
        return got

    def check():
        assert codes(["H99.99.04"]) == ["P1", "P2", "P8"]
        assert codes(["H99.99.04.01", "H99.99.04", "H99.99.1"]) == ["P1", "P2", "P8", "P9"]  # nested: once each
        assert codes(["H99.99.03", "H99.99.04.01"], columnar=False) == ["P2", "P7", "P8"]
        assert codes([]) == []

    check()
    if store.dialect == "postgresql":  # a collation that is not by code point: LIKE, the same rows
        monkeypatch.setattr(store, "_text_in_code_point_order", lambda: False)
        check()
        return
    captured = []
    frame = store._frame

    def spy(sql, params, *args, **kwargs):
        captured.append((sql.format(columns="d.code"), params))
        return frame(sql, params, *args, **kwargs)

    monkeypatch.setattr(store, "_frame", spy)
    read(["H99.99.04", "H99.99.03"], units_index=True)
    read(["H99.99.04", "H99.99.03"])
    plans = []
    with store.engine.connect() as conn:
        for sql, params in captured:
            plans.append(" ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql.replace(":", "@"),
                {k: (v.isoformat(sep=" ") if hasattr(v, "isoformat") else v) for k, v in params.items()})))
    assert "MULTI-INDEX OR" in plans[0] and "ix_dossiers_source_unit" in plans[0] and "received" not in plans[0]
    assert "ix_dossiers_source_received" in plans[1]  # without units_index: the period's rows, as before
