"""Reminder rules (cchc.domain.reminders), hand-computed on the 2026 calendar.

Run day: Friday 13/02/2026, the last working day before Tết (16–20/02/2026 are holidays, 21–22 a
weekend): the next working day is Monday 23/02. Without the holidays, 23/02 would be 6 working days
away; with them it is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest
from factories import LeaderRow, OfficerRow, UnitRow

from cchc.domain.calendar import WorkCalendar
from cchc.domain.reminders import (
    Directory,
    OpenDossier,
    RemediationDeadline,
    ReminderRules,
    ReportDeadline,
    UnitStanding,
    digest_key,
    dossier_frame,
    is_reminder_day,
    plan_reminders,
    pre_inspection_deadlines,
    self_inspection_deadlines,
)

DAY = date(2026, 2, 13)
CAL = WorkCalendar()
RULES = ReminderRules(due_soon_days=2, supplement_pause_days=10, report_lead_days=(5, 2, 0),
                      remediation_lead_days=(5, 2, 0), remediation_overdue_every_days=5,
                      escalation_overdue_count=10, escalation_late_rate=10.0)


DIRECTORY = Directory.build(
    units=[UnitRow("VP", "Văn phòng HĐND và UBND", "Nguyễn Văn Minh", "vp@hoaan.example.vn"),
           UnitRow("VHXH", "Phòng Văn hóa - Xã hội", "Trần Thị Lan", None),
           UnitRow("KT", "Phòng Kinh tế", "Lê Quốc Bảo", "kt@hoaan.example.vn")],
    officers=[OfficerRow("vp.hoang", "Hoàng Văn Đức", "VP", "hoang@hoaan.example.vn"),
              OfficerRow("vp.ngo", "Ngô Thị Mai", "VP", None)],
    leadership=[LeaderRow("Nguyễn Thị Thanh", "chutich@hoaan.example.vn"), LeaderRow("Lê Văn Phúc", "pct@hoaan.example.vn")],
)


def d(code, due, status=4, officer="vp.hoang", unit="VP", **kw) -> OpenDossier:
    return OpenDossier(code=code, procedure=f"Thủ tục {code}", unit=unit, status=status, due=due, officer=officer,
                       **kw)


def by(plan, rule):
    return sorted((it.dossier_code or it.entity, it.recipient.key, it.days_left) for it in plan.items if it.rule == rule)


def test_reminder_days_are_the_ward_working_days():
    assert is_reminder_day(CAL, date(2026, 2, 13))  # Friday
    assert not is_reminder_day(CAL, date(2026, 2, 17))  # Tết
    assert not is_reminder_day(CAL, date(2026, 2, 21))  # Saturday
    assert is_reminder_day(CAL, date(2026, 8, 22))  # make-up working Saturday
    assert not is_reminder_day(CAL, date(2026, 8, 31))  # substituted day off
    ward = WorkCalendar(extra_holidays=[date(2026, 3, 2)], extra_working_days=[date(2026, 3, 7)])
    assert not is_reminder_day(ward, date(2026, 3, 2)) and is_reminder_day(ward, date(2026, 3, 7))


def test_nothing_is_due_on_a_holiday():
    dossiers = [d("A", date(2026, 2, 12)), d("B", date(2026, 2, 23))]
    plan = plan_reminders(date(2026, 2, 17), CAL, RULES, DIRECTORY, dossiers,
                          standings=[UnitStanding("VP", overdue=50)])
    assert plan.items == () and plan.digests == () and plan.missing == ()
    # the same data on the working day before gives reminders (the holiday is what stops them)
    assert plan_reminders(DAY, CAL, RULES, DIRECTORY, dossiers).digests


def test_due_soon_counts_working_days_over_tet():
    dossiers = [d("A23", date(2026, 2, 23)), d("B24", date(2026, 2, 24)), d("C25", date(2026, 2, 25)),
                d("T13", date(2026, 2, 13)), d("N", date(2026, 2, 23), officer=None)]
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, dossiers)
    assert by(plan, "due_soon") == [("A23", "officer:vp.hoang", 1), ("B24", "officer:vp.hoang", 2),
                                    ("N", "head:VP", 1), ("T13", "officer:vp.hoang", 0)]
    assert by(plan, "overdue") == []


def test_overdue_goes_to_officer_and_head_and_missing_apology_to_head():
    dossiers = [d("D", date(2026, 2, 12)),  # 1 working day late, no apology
                d("E", date(2026, 2, 10), apology=True),  # 11, 12, 13: 3 late, apology issued
                d("H", date(2026, 2, 4), status=10, finished=date(2026, 2, 5)),  # finished 1 day late
                d("OK", date(2026, 2, 4), status=10, finished=date(2026, 2, 4)),  # finished on time
                d("X", date(2026, 2, 1), status=3),  # not accepted: excluded
                d("S", date(2026, 2, 1), status=5)]  # waiting for a supplement: within time
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, dossiers)
    assert by(plan, "overdue") == [("D", "head:VP", -1), ("D", "officer:vp.hoang", -1),
                                   ("E", "head:VP", -3), ("E", "officer:vp.hoang", -3)]
    assert by(plan, "no_apology") == [("D", "head:VP", -1), ("H", "head:VP", -1)]
    actions = {(it.rule, it.recipient.role): it.action for it in plan.items}
    assert "Phiếu xin lỗi" in actions[("no_apology", "unit_head")]
    assert actions[("overdue", "unit_head")].startswith("Chỉ đạo")


def test_long_supplement_pause_and_late_step_go_to_the_officer():
    # Pause since Mon 26/01: the 10th working day after is Mon 09/02; on 13/02 it is 4 working days past.
    dossiers = [d("P", date(2026, 3, 1), status=5, supplement_since=date(2026, 1, 26)),
                d("P2", date(2026, 3, 1), status=5, supplement_since=date(2026, 2, 2)),  # 10th: Mon 16→23/02
                d("G", date(2026, 3, 10), step_due=date(2026, 2, 11)),  # 12, 13: 2 late
                d("G2", date(2026, 3, 10), step_due=date(2026, 2, 13))]  # due today: not late
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, dossiers)
    assert by(plan, "supplement_pause") == [("P", "officer:vp.hoang", -4)]
    [pause] = [it for it in plan.items if it.rule == "supplement_pause"]
    assert pause.due == date(2026, 2, 9) and "10 ngày làm việc" in pause.action
    assert by(plan, "step_overdue") == [("G", "officer:vp.hoang", -2)]
    assert by(plan, "due_soon") == [] and by(plan, "overdue") == []


def test_report_deadlines_fire_5_2_and_0_working_days_before():
    reports = [ReportDeadline("VP", "pre_inspection", date(2026, 2, 24), "đợt 1"),  # 23, 24: 2 → yes
               ReportDeadline("VP", "pre_inspection", date(2026, 2, 23)),  # 1 → no
               ReportDeadline("KT", "self_inspection", date(2026, 2, 27), "6 tháng"),  # 23..27: 5 → yes
               ReportDeadline("KT", "self_inspection", date(2026, 3, 2)),  # 6 → no
               ReportDeadline("KT", "self_inspection", date(2026, 2, 13)),  # today → yes
               ReportDeadline("KT", "self_inspection", date(2026, 2, 12))]  # past → no
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, reports=reports)
    assert by(plan, "report_deadline") == [
        ("report:KT:self_inspection:2026-02-13", "head:KT", 0),
        ("report:KT:self_inspection:2026-02-27", "head:KT", 5),
        ("report:VP:pre_inspection:2026-02-24", "head:VP", 2)]
    today = next(it for it in plan.items if it.due == DAY)
    assert "hôm nay" in today.action


def test_self_and_pre_inspection_deadlines_from_the_plan():
    reports = self_inspection_deadlines(["VP", "KT"], [(date(2026, 6, 15), "6 tháng đầu năm 2026")])
    assert [(r.unit, r.due, r.kind) for r in reports] == [("VP", date(2026, 6, 15), "self_inspection"),
                                                          ("KT", date(2026, 6, 15), "self_inspection")]

    @dataclass
    class V:
        unit_code: str
        report_due: date
        visit_date: date

    [pre] = pre_inspection_deadlines([V("VP", date(2026, 6, 24), date(2026, 7, 1))])
    assert pre.kind == "pre_inspection" and "01/07/2026" in pre.label


def test_remediation_before_and_after_the_deadline():
    findings = [RemediationDeadline("F1", "KT", date(2026, 2, 24), "Niêm yết công khai TTHC"),  # 2 before
                RemediationDeadline("F2", "KT", date(2026, 2, 12)),  # 1 late → yes
                RemediationDeadline("F3", "KT", date(2026, 2, 5)),  # (5, 13]: 6 late → (6-1) % 5 == 0 → yes
                RemediationDeadline("F4", "KT", date(2026, 2, 6)),  # 5 late → no
                RemediationDeadline("F5", "KT", date(2026, 2, 12), done=True),  # done → no
                RemediationDeadline("F6", "KT", date(2026, 2, 25))]  # 3 before → no
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, findings=findings)
    assert by(plan, "remediation") == [("finding:F1", "head:KT", 2), ("finding:F2", "head:KT", -1),
                                       ("finding:F3", "head:KT", -6)]
    late = next(it for it in plan.items if it.entity == "finding:F2")
    assert "quá hạn khắc phục" in late.action


def test_escalation_one_note_per_leader_and_unit_over_threshold():
    standings = [UnitStanding("VP", overdue=10), UnitStanding("VHXH", overdue=2, resolved=50, late=5),
                 UnitStanding("KT", overdue=9, resolved=0), UnitStanding("KT2", overdue=0, resolved=100, late=9)]
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, standings=standings)
    assert by(plan, "escalation") == [("unit:VHXH", "leader:0", 0), ("unit:VHXH", "leader:1", 0),
                                      ("unit:VP", "leader:0", 0), ("unit:VP", "leader:1", 0)]
    notes = {it.entity: it.action for it in plan.items if it.recipient.key == "leader:0"}
    assert "10 hồ sơ quá hạn (ngưỡng 10)" in notes["unit:VP"]
    assert "tỷ lệ trễ hạn 10,00% (ngưỡng 10,00%)" in notes["unit:VHXH"]
    [digest] = [g for g in plan.digests if g.recipient.key == "leader:0"]
    assert len(digest.items) == 2  # one message for both units
    off = plan_reminders(DAY, CAL, ReminderRules(escalation_overdue_count=None, escalation_late_rate=None),
                         DIRECTORY, standings=standings)
    assert off.items == ()


def test_one_digest_per_recipient_and_missing_emails_reported():
    dossiers = [d("D", date(2026, 2, 12)), d("A", date(2026, 2, 23)), d("B", date(2026, 2, 24)),
                d("M", date(2026, 2, 23), officer="vp.ngo"),  # officer without email
                d("Z", date(2026, 2, 12), officer="ghost"),  # officer not configured at all
                d("V", date(2026, 2, 12), officer=None, unit="VHXH")]  # no officer: head (no email), once
    plan = plan_reminders(DAY, CAL, RULES, DIRECTORY, dossiers)
    keys = [g.recipient.key for g in plan.digests]
    assert keys == ["head:VP", "officer:vp.hoang"]  # one each, sorted
    officer = plan.digests[1]
    assert [(it.rule, it.dossier_code) for it in officer.items] == [("overdue", "D"), ("due_soon", "A"),
                                                                   ("due_soon", "B")]
    assert officer.key == digest_key("officer:vp.hoang", DAY) == "nhac-viec|officer:vp.hoang|2026-02-13"
    assert officer.rule_counts() == {"overdue": 1, "due_soon": 2}
    missing = {m.recipient.key: m for m in plan.missing}
    assert set(missing) == {"officer:vp.ngo", "officer:ghost", "head:VHXH"}
    assert missing["head:VHXH"].items == 2 and missing["head:VHXH"].rules == ("overdue", "no_apology")
    assert "chưa có email" in missing["officer:ghost"].describe()
    counts = plan.rule_counts()
    assert counts["overdue"] == 5 and counts["due_soon"] == 3 and counts["no_apology"] == 3
    assert sum(counts.values()) == len(plan.items)


def test_make_up_saturday_counts_as_a_working_day():
    rules = ReminderRules(due_soon_days=1)
    friday = date(2026, 8, 21)
    dossiers = [d("SAT", date(2026, 8, 22)), d("MON", date(2026, 8, 24))]  # Fri→Sat 1, Fri→Mon 2 (22, 24)
    plan = plan_reminders(friday, CAL, rules, DIRECTORY, dossiers)
    assert by(plan, "due_soon") == [("SAT", "officer:vp.hoang", 1)]
    saturday = plan_reminders(date(2026, 8, 22), CAL, rules, DIRECTORY, dossiers)
    assert by(saturday, "due_soon") == [("MON", "officer:vp.hoang", 1), ("SAT", "officer:vp.hoang", 0)]


def test_frame_input_with_datetimes_matches_records():
    records = [d("D", date(2026, 2, 12)), d("A", date(2026, 2, 23)), d("G", date(2026, 3, 10),
                                                                       step_due=date(2026, 2, 11))]
    frame = dossier_frame(records)
    # as the store gives them: naive local datetimes, one duplicated row
    for col in ("due", "step_due"):
        frame[col] = pd.to_datetime(frame[col]) + pd.Timedelta(hours=16, minutes=30)
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    a = plan_reminders(DAY, CAL, RULES, DIRECTORY, records)
    b = plan_reminders(DAY, CAL, RULES, DIRECTORY, frame)
    assert a.items == b.items and len(a.items) == 5  # D: overdue x2 + no_apology; A; G
    with pytest.raises(ValueError, match="officer"):
        plan_reminders(DAY, CAL, RULES, DIRECTORY, frame.drop(columns=["officer"]))


def test_items_carry_no_applicant_fields():
    item_fields = set(plan_reminders(DAY, CAL, RULES, DIRECTORY, [d("D", date(2026, 2, 12))]).items[0]
                      .__dataclass_fields__)
    assert item_fields == {"rule", "entity", "recipient", "dossier_code", "procedure", "unit", "due", "days_left",
                           "action"}
    assert not {"applicant", "ChuHoSo", "phone", "id_number"} & set(OpenDossier.__dataclass_fields__)


def test_rules_validate():
    with pytest.raises(ValueError):
        ReminderRules(remediation_overdue_every_days=0)
    with pytest.raises(ValueError):
        ReminderRules(report_lead_days=(-1,))
