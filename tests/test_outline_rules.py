"""Rules the unit report outline needs (DOMAIN.md §1, §3, §4, §6), hand-computed: returned dossiers,
fees, digitization, the outline's figures, configured holidays reaching the deadlines, the default
766 weights, one supplement in 766 mode, "acceptable" evaluations, the period's last moment."""

from datetime import date, timedelta

import pandas as pd
import pytest
from factories import done, dossier, fact, facts
from openpyxl import load_workbook

from cchc.config import Config, load_config
from cchc.connectors.store import Store
from cchc.domain import outline
from cchc.domain.bieu06 import bieu06_rows
from cchc.domain.metrics import TOTAL, classify, facts_from_dossiers, indicator_table, rollup_units
from cchc.domain.periods import parse_period
from cchc.domain.records import Evaluation, Fee, Status
from cchc.domain.score766 import scores_by_unit
from cchc.domain.timeliness import effective_due
from cchc.domain.wire import parse_dossier
from cchc.pipeline import indicators as ti
from cchc.report import tables as rt
from cchc.report.xlsx import SHEET_OUTLINE, write_bieu06_xlsx

OCT = parse_period("2026-10")


def total(table):
    return table[table["group"] == TOTAL].iloc[0]


def one(row, period=OCT, **kw):
    return classify(facts(row), period, **kw).iloc[0]


# ------------------------------------------------------------------ returned after reception


def test_returned_after_reception_is_resolved_on_time_and_counted_on_its_own():
    # Received 05/10, due 09/10, returned on 20/10 (after its due date): resolved, on time — not
    # pending, not overdue — as a withdrawal is (Biểu 06 counts both as resolved).
    row = fact(status=4, refused_at="2026-10-20 09:00")
    r = one(row)
    assert r["resolved"] and r["on_time"] and r["returned_unresolved"]
    assert not r["pending"] and not r["pending_overdue"] and not r["late"]
    assert r["end_at"] == pd.Timestamp("2026-10-20 09:00")
    t = total(indicator_table(classify(facts(row), OCT)))
    assert (t["resolved"], t["on_time"], t["returned_unresolved"], t["pending"]) == (1, 1, 1, 0)
    b06 = bieu06_rows(classify(facts(row), OCT))[-1]
    assert (b06.received_total, b06.resolved_total, b06.on_time, b06.pending_total) == (1, 1, 1, 0)
    # In 766 mode too (more than one supplement does not make a returned dossier late).
    r766 = one(fact(status=5, supplement_count=2, refused_at="2026-10-20 09:00"), mode="766")
    assert r766["resolved"] and r766["on_time"] and r766["returned_unresolved"]


def test_what_is_not_a_return():
    # Refused before its (later) reception: an earlier submission refused, the dossier goes on.
    r = one(fact(status=4, received_at="2026-10-05 08:00", refused_at="2026-10-02 10:00"))
    assert r["pending"] and r["pending_overdue"] and not r["returned_unresolved"]
    # Finished with a result: the finish counts, not the NgayTuChoi.
    r = one(done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-12 08:00", refused_at="2026-10-06 08:00"))
    assert r["late"] and not r["returned_unresolved"]
    # Not accepted (status 3): in nothing.
    assert not one(fact(status=3, refused_at="2026-10-06 08:00"))["in_scope"]
    # Returned in September: not carried over into October.
    r = one(fact(status=4, received_at="2026-09-10 08:00", due_at="2026-09-20 17:00",
                 refused_at="2026-09-25 08:00"))
    assert not r["in_scope"]


def test_wire_and_store_keep_ngaytuchoi(db_url):
    raw = {"MaHoSo": "R1", "TrangThaiHoSo": 4, "NgayTiepNhan": "20261005080000", "NgayHenTra": "20261009170000",
           "NgayTuChoi": "20261020090000", "DonViXuLy": "H99.99.01"}
    d = parse_dossier(raw, "provincial")
    assert d.refused_at is not None and d.refused_at.day == 20
    assert one_from(facts_from_dossiers([d]))["returned_unresolved"]
    s = Store(db_url)
    s.migrate()
    s.upsert_page("provincial", [d])
    f = s.load_facts("provincial", OCT.start, OCT.end)
    assert f["refused_at"].iloc[0] == pd.Timestamp("2026-10-20 09:00")
    assert one_from(f)["returned_unresolved"]
    s.dispose()


def one_from(frame):
    return classify(frame, OCT).iloc[0]


# ------------------------------------------------------------------ fees


def test_all_zero_fees_owe_nothing_whatever_the_flag():
    zero = dossier(fees=(Fee("LP", "Lệ phí", 0),), has_fee=True)
    assert zero.owes_fee is False and zero.fee_unstated is False
    assert dossier(fees=(Fee("LP", "Lệ phí", 0), Fee("P", "Phí", 5000)), has_fee=False).owes_fee is True
    assert dossier(fees=(Fee("LP", "Lệ phí", 5000),), fee_exempt=True).owes_fee is False
    assert dossier(has_fee=True).owes_fee is True  # the record's own flag, no list (Excel "Có phí")
    silent = dossier()
    assert silent.owes_fee is False and silent.fee_unstated is True


def test_the_catalogue_flag_decides_only_when_the_record_says_nothing():
    kw = {"received_at": "2026-10-05 08:00", "due_at": "2026-10-09 17:00", "procedure_code": "P1"}
    ds = [
        dossier(**kw),  # says nothing: the catalogue's P1 charges a fee -> owes
        dossier(fees=(Fee("LP", "Lệ phí", 0),), **kw),  # all fees 0 -> owes nothing
        dossier(fee_exempt=True, **kw),  # exempt -> owes nothing
        dossier(**{**kw, "procedure_code": "P2"}),  # says nothing, P2 free -> owes nothing
    ]
    t = total(indicator_table(classify(facts_from_dossiers(ds, procedure_fee={"P1": True}), OCT)))
    assert t["online_payment_rate_den"] == 1


def test_store_applies_the_catalogue_fee_flag(db_url):
    s = Store(db_url)
    s.migrate()
    s.upsert_procedures([{"code": "P1", "name": "x", "field_code": "", "field_name": "", "online_level": 3,
                          "has_fee": True, "result_paper": True, "working_days": 3}])
    base = {"TrangThaiHoSo": 4, "NgayTiepNhan": "20261005080000", "NgayHenTra": "20261009170000",
            "DonViXuLy": "H99.99.01", "MaTTHC": "P1"}
    s.upsert_page("provincial", [
        parse_dossier({**base, "MaHoSo": "A"}, "provincial"),
        parse_dossier({**base, "MaHoSo": "B", "DanhSachLePhi": [{"MaPhiLePhi": "L", "Gia": 0}]}, "provincial"),
        parse_dossier({**base, "MaHoSo": "C", "CoPhi": 0}, "provincial"),
    ])
    f = s.load_facts("provincial", OCT.start, OCT.end).set_index("code")
    assert f.loc["A", "fee_unstated"] and not f.loc["B", "fee_unstated"] and not f.loc["C", "fee_unstated"]
    assert f["procedure_has_fee"].all()
    t = total(indicator_table(classify(f.reset_index(), OCT)))
    assert t["online_payment_rate_den"] == 1  # only A
    s.dispose()


# ------------------------------------------------------------------ digitization


def test_digitization_needs_the_electronic_result_unfinished_and_withdrawn_too():
    dig = {"digitized_component": True}
    rows = [
        fact(**dig),  # unfinished, paper result, no e-result yet: not digitized
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-06 08:00", status=7, **dig),  # withdrawn, same
        fact(e_result=True, **dig),  # has an electronic result: digitized
        fact(result_paper=False, **dig),  # result is not a paper document: digitized
        fact(e_result=True),  # no digitized component: not digitized
    ]
    t = total(indicator_table(classify(facts(*rows), OCT)))
    assert (t["digitization_rate_num"], t["digitization_rate_den"]) == (2, 5)
    assert t["digitized_components"] == 4


# ------------------------------------------------------------------ the outline's figures


def _outline_frame():
    return facts(
        # online, full-online procedure, digitized, e-result, finished early, satisfied
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-07 08:00", channel=2, online_level=4,
             digitized_component=True, e_result=True, evaluation=1),
        # online, partial procedure, finished on time, "acceptable"
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-09 10:00", channel=2, online_level=3, evaluation=2),
        # online, level unknown: partial; finished late, unsatisfied, apology
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-13 10:00", channel=2, evaluation=3, apology=True),
        # in person, paused for a supplement and still pending at the end
        fact(status=5, supplement_count=1, supplement_pending=True, due_at="2026-11-20 17:00"),
        # in person, one completed supplement, still pending: paused once and unresolved
        fact(status=4, supplement_count=1, due_at="2026-11-20 17:00"),
        # postal, returned without resolution
        fact(channel=3, status=4, refused_at="2026-10-08 09:00"),
        # carried over from September, resolved in October after a supplement (not unresolved)
        done("2026-09-20 08:00", "2026-10-20 17:00", "2026-10-10 08:00", supplement_count=1),
    )


def test_outline_figures_hand_computed():
    rows = outline.outline_rows(rollup_units(classify(_outline_frame(), OCT), [("H99.99.04", "Phòng A")]))
    assert [r["label"] for r in rows] == ["Phòng A", "Tổng cộng"]
    assert rows[0]["stt"] == "1" and rows[1]["stt"] == ""
    got = {k: v for k, v in rows[-1].items() if k not in ("stt", "label")}
    assert got == {
        "received": 7, "received_in_period": 6, "carried_over": 1,
        "resolved": 5, "early": 2, "on_time": 2, "late": 1,  # early: 1st + carried; on time: 2nd + returned
        "returned_unresolved": 1, "pending": 2, "supplement_unresolved": 2,
        "received_online_partial": 2, "received_online_full": 1, "received_postal": 1, "paid_online": 0,
        "digitized_components": 1, "digitized_results": 1,
        "evaluated": 3, "satisfied": 1,  # "chấp nhận được" is evaluated, not satisfied
        "apology": 1,
    }
    assert rows[0] == rows[1] | {"stt": "1", "label": "Phòng A"}


def test_acceptable_is_not_satisfied():
    t = total(indicator_table(classify(facts(*[
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 08:00", evaluation=e) for e in (1, 2, 2, 3)
    ]), OCT)))
    assert (t["satisfaction_rate_num"], t["satisfaction_rate_den"], t["satisfaction_rate"]) == (1, 4, 25.0)
    assert int(Evaluation.ACCEPTABLE) == 2


def test_stats_json_keeps_its_keys_and_adds_the_outline(tmp_path):
    cfg = Config(ward={"name": "Phường Thử", "province": "Tỉnh Thử", "national_id": "H99.99"},
                 units=[{"code": "A", "name": "Phòng A", "national_id": "H99.99.04"}])
    table = rollup_units(classify(_outline_frame(), OCT), ti.top_units(cfg))
    rows = rt.json_rows(table, "unit")
    old = ["group", "label", *rt.JSON_COUNTS]
    for k in rt.JSON_RATES:
        old += [k, k + "_num", k + "_den"]
    old.append("avg_processing_days")
    assert list(rows[-1]) == old + list(rt.JSON_OUTLINE)
    assert rows[-1]["returned_unresolved"] == 1 and rows[-1]["supplement_unresolved"] == 2
    assert (rows[-1]["evaluated"], rows[-1]["satisfied"]) == (3, 1)
    shown = rt.display_rows(table, "unit")[-1]
    assert shown["Trả lại (không giải quyết)"] == 1 and shown["Số hóa kết quả"] == 1

    path = write_bieu06_xlsx(tmp_path / "b06.xlsx", ward_name="Phường Thử", province="Tỉnh Thử",
                             period_label="Tháng 10/2026", period_from=OCT.start, period_to=OCT.end,
                             rows_by_field=bieu06_rows(classify(_outline_frame(), OCT)),
                             outline_rows=outline.outline_rows(table))
    wb = load_workbook(path)
    assert wb.sheetnames == ["Biểu 06 (lĩnh vực)", SHEET_OUTLINE]
    ws = wb[SHEET_OUTLINE]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    header = next(r for r in cells if r[0] == "STT")
    assert header[1:] == ["Đơn vị", *[h for _, h in outline.FIELDS]]
    last = next(r for r in cells if r[1] == "Tổng cộng")
    figures = outline.outline_values(total(table))
    assert last[2:] == [figures[k] for k, _ in outline.FIELDS]
    assert ws.cell(cells.index(last) + 1, 3).number_format == "#,##0"


# ------------------------------------------------------------------ hand-computed rules no test reached


def _config(tmp_path, calendar: dict) -> Config:
    import yaml

    path = tmp_path / "ward.yaml"
    path.write_text(yaml.safe_dump({
        "ward": {"name": "Phường Thử", "province": "Tỉnh Thử", "national_id": "H99.99"},
        "units": [{"code": "A", "name": "Phòng A", "national_id": "H99.99.04"}],
        "calendar": calendar,
    }, allow_unicode=True), encoding="utf-8")
    return load_config(path, env={})


@pytest.mark.parametrize(("calendar", "due", "verdict"), [
    # No overrides: the 16 office hours waited (06/10 08:00 -> 08/10 08:00) move the due time of
    # Fri 09/10 17:00 over the weekend to Mon 12/10 and Tue 13/10: due 13/10 17:00; finished 13/10.
    ({}, "2026-10-13 17:00", "on_time"),
    # Mon 12/10 a ward holiday: the extension runs Tue 13/10 and Wed 14/10: finished a day early.
    ({"extra_holidays": ["2026-10-12"]}, "2026-10-14 17:00", "early"),
    # Sat 10/10 a make-up working day: the extension runs Sat 10/10 and Mon 12/10: a day late.
    ({"extra_working_days": ["2026-10-10"]}, "2026-10-12 17:00", "late"),
])
def test_configured_holidays_and_working_days_reach_the_deadline(tmp_path, calendar, due, verdict):
    cfg = _config(tmp_path, calendar)
    cal = cfg.make_calendar()
    d = dossier(status=Status.RETURNED, received_at="2026-10-05 08:00", due_at="2026-10-09 17:00",
                finished_at="2026-10-13 10:00", returned_at="2026-10-13 10:00", unit_code="H99.99.04",
                supplements=[("2026-10-06 08:00", "2026-10-08 08:00")])
    assert effective_due(d, cal).replace(tzinfo=None) == pd.Timestamp(due).to_pydatetime()
    r = classify(facts_from_dossiers([d], cal=cal), OCT, calendar=cal).iloc[0]
    assert {k for k in ("early", "on_time", "late") if r[k]} == {verdict}


def test_default_766_weights_and_thresholds_hand_computed():
    cfg = Config(ward={"name": "Phường Thử", "province": "Tỉnh Thử", "national_id": "H99.99"},
                 units=[{"code": "A", "name": "Phòng A", "national_id": "H99.99.04"}])
    assert {k: (v.max_points, v.threshold) for k, v in cfg.score_766.items()} == {
        "tien_do": (20, 100), "truc_tuyen": (12, 50), "thanh_toan": (10, 80), "so_hoa": (12, 80),
        "tai_su_dung": (10, 80), "hai_long": (18, 90), "dong_bo": (18, 100)}
    rows = facts(
        # online, early, fee paid online, digitized with an e-result, reused
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-07 08:00", channel=2, owes_fee=True,
             paid_online=True, digitized_component=True, e_result=True, reused_component=True),
        # online, on time, fee not paid online, digitized but a paper result without e-result
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-09 08:00", channel=2, owes_fee=True,
             digitized_component=True),
        # in person, late, digitized, result not a paper document
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-12 08:00", digitized_component=True,
             result_paper=False),
        # in person, early
        done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-06 08:00"),
    )
    table = rollup_units(classify(rows, OCT, mode="766"), ti.all_units(cfg))
    scores = ti.scores(table, None, cfg)
    s = scores[scores["group"] == "H99.99.04"].iloc[0]
    # tiến độ 3/4 = 75% of 100% -> 15; trực tuyến 2/4 = 50% of 50% -> 12; thanh toán 1/2 = 50% of
    # 80% -> 6,25; số hóa 2/4 = 50% of 80% -> 7,5; tái sử dụng 1/4 = 25% of 80% -> 3,125;
    # hài lòng 100 - 25 (late 1/4) = 75% of 90% -> 15; đồng bộ: no reconciliation -> left out.
    assert s["tien_do_points"] == pytest.approx(15)
    assert s["truc_tuyen_points"] == pytest.approx(12)
    assert s["thanh_toan_points"] == pytest.approx(6.25)
    assert s["so_hoa_points"] == pytest.approx(7.5)
    assert s["tai_su_dung_points"] == pytest.approx(3.125)
    assert s["hai_long_points"] == pytest.approx(15)
    assert s["total"] == pytest.approx(58.875) and s["max_total"] == 82
    assert s["percent"] == pytest.approx(58.875 / 82 * 100)
    with_sync = scores_by_unit(table, cfg.score_766, {"H99.99.04": 90.0})
    w = with_sync[with_sync["group"] == "H99.99.04"].iloc[0]
    assert w["dong_bo_points"] == pytest.approx(16.2) and w["total"] == pytest.approx(75.075)
    assert w["max_total"] == 100


def test_one_supplement_request_is_not_late_by_itself_in_766_mode():
    once = {"supplement_count": 1}
    resolved = done("2026-10-05 08:00", "2026-10-09 17:00", "2026-10-08 08:00", **once)
    pending = fact(due_at="2026-11-20 17:00", **once)
    c = classify(facts(resolved, pending), OCT, mode="766")
    assert c["early"].iloc[0] and not c["late"].iloc[0]
    assert c["pending_in_time"].iloc[1] and not c["pending_overdue"].iloc[1]
    twice = classify(facts({**resolved, "supplement_count": 2}, {**pending, "supplement_count": 2}), OCT, mode="766")
    assert twice["late"].iloc[0] and twice["pending_overdue"].iloc[1]


@pytest.mark.parametrize("mode", ["calendar", "administrative"])
def test_received_at_midnight_after_the_period_is_not_in_it(mode):
    period = parse_period("2026-10", mode)
    after = period.end + timedelta(days=1)
    midnight = f"{after.isoformat()} 00:00"
    last = f"{period.end.isoformat()} 23:59:59"
    c = classify(facts(fact(received_at=midnight, due_at="2026-12-20 17:00"),
                       fact(received_at=last, due_at="2026-12-20 17:00")), period)
    assert not c["in_scope"].iloc[0] and not c["received_in_period"].iloc[0]
    assert c["received_in_period"].iloc[1]
    nxt = classify(facts(fact(received_at=midnight, due_at="2026-12-20 17:00")), period.next())
    assert nxt["received_in_period"].iloc[0]
    assert period.end == (date(2026, 10, 31) if mode == "calendar" else date(2026, 10, 14))


def test_the_catalogue_fee_flags_are_part_of_the_cells_key(db_url):
    from cchc.bench.measure import AS_OF, bench_config
    from cchc.pipeline import period_cells as pc

    s = Store(db_url)
    s.migrate()
    cfg = bench_config("http://127.0.0.1:9", db_url, AS_OF)
    proc = {"code": "P1", "name": "x", "field_code": "", "field_name": "", "online_level": 3,
            "has_fee": False, "result_paper": True, "working_days": 3}
    s.upsert_procedures([proc])
    before = pc.fingerprint(s, cfg)
    s.upsert_procedures([{**proc, "has_fee": True}])
    assert pc.fingerprint(s, cfg) != before  # months' cells kept with the old flag are recomputed
    s.dispose()
