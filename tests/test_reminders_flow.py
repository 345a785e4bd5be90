"""`cchc reminders` (the daily_reminders flow, under the session's Prefect harness) against a
hand-built store and the REAL local mailbox (aiosmtpd on loopback): exactly the expected digests
arrive, a second run for the same day sends none, nothing goes out on a holiday, a dry run sends and
writes nothing, the artifact exists; and the commands' one-line errors."""

from __future__ import annotations

import email
import email.policy
import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import insert

from cchc.cli import main
from cchc.connectors.mailbox import Mailbox, free_port
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox
from cchc.connectors.store.schema import inspection_selections, inspection_visits
from cchc.domain.records import Dossier, ProcessingStep, Status, Supplement

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 2, 13)  # a Friday, the last working day before Tết
HOLIDAY = date(2026, 2, 17)  # Tết
WARD = "phuong-hoa-an-mo-phong"
APPLICANT = ("Nguyễn Văn Bí Mật", "001099012345", "0912345678", "bimat@gmail.com")

#: who must receive a digest on DAY, and why (see `_store`)
EXPECTED = {"hoang.duc@hoaan.example.vn",  # D1 overdue (officer vp.hoang)
            "chanhvanphong@hoaan.example.vn",  # D1 overdue + no apology (head of VP)
            "vu.hong@hoaan.example.vn",  # D2 due within 2 working days (officer vhxh.vu)
            "truongphong.vhxh@hoaan.example.vn",  # pre-inspection report due today (head of VHXH)
            "giamdoc.ttpvhcc@hoaan.example.vn"}  # remediation deadline today (head of TTPVHCC)


def _dossier(code, unit, status, due, officer=None, **kw) -> Dossier:
    steps = (ProcessingStep(officer=officer, started_at=datetime(2026, 2, 2, 8), step_due=kw.pop("step_due", None)),
             ) if officer else ()
    return Dossier(source="provincial", code=code, status=status, procedure_code="1.001",
                   procedure_name="Đăng ký khai sinh", unit_code=unit, received_at=datetime(2026, 2, 2, 8),
                   due_at=due, steps=steps, **kw)


def _store(url: str) -> None:
    store = Store(url)
    store.migrate()
    store.upsert_page("provincial", [
        _dossier("H99.01-260202-0001", "H99.99.01", Status.PROCESSING, datetime(2026, 2, 12, 17), "vp.hoang"),
        _dossier("H99.02-260202-0002", "H99.99.02", Status.PROCESSING, datetime(2026, 2, 23, 17), "vhxh.vu"),
        # finished long ago: never read
        _dossier("H99.03-250102-0003", "H99.99.03", Status.RETURNED, datetime(2025, 1, 10, 17), "kt.do",
                 finished_at=datetime(2025, 1, 20, 9), returned_at=datetime(2025, 1, 20, 9)),
        # not accepted: never counted
        _dossier("H99.03-260202-0004", "H99.99.03", Status.NOT_ACCEPTED, datetime(2026, 2, 3, 17), "kt.do"),
        # waiting for a supplement since 12/02 (not long yet), due passed: within time (DOMAIN §4)
        _dossier("H99.03-260202-0005", "H99.99.03", Status.SUPPLEMENT, datetime(2026, 2, 10, 17), "kt.ho",
                 supplements=(Supplement(requested_at=datetime(2026, 2, 12, 9)),)),
        # overdue, handled by an officer whose e-mail the configuration lacks: reported, not dropped
        _dossier("H99.01-260202-0006", "H99.99.01", Status.PROCESSING, datetime(2026, 2, 11, 17), "vp.ngo",
                 apology=True),
    ])
    with store.engine.begin() as conn:
        sid = conn.execute(insert(inspection_selections).values(
            kind="periodic", year=2026, wave=1, label="đợt 1", created_at=datetime(2026, 1, 5))).inserted_primary_key[0]
        conn.execute(insert(inspection_visits).values(
            selection_id=sid, seq=0, unit_code="VHXH", visit_date=date(2026, 2, 24), notice_date=date(2026, 2, 9),
            report_due=DAY, forced=False))
    from cchc.connectors.store.inspections import Inspections

    Inspections(store).add_finding("TTPVHCC", "Niêm yết TTHC chưa đầy đủ", "Niêm yết lại", deadline=DAY)
    Inspections(store).add_finding("VP", "Đã khắc phục", deadline=DAY, status="done")
    store.dispose()


@pytest.fixture(scope="module")
def rem(tmp_path_factory, prefect_harness):
    tmp = tmp_path_factory.mktemp("reminders")
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp}/store.sqlite"
    data["reminders"].update(escalation_overdue_count=None, escalation_late_rate=None)
    for o in data["officers"]:
        if o["username"] == "vp.ngo":
            o.pop("email")
    cfg = tmp / "ward.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _store(data["database_url"])
    port = free_port()
    mp = pytest.MonkeyPatch()
    mp.setenv("CCHC_CONFIG", str(cfg))
    mp.setenv("CCHC_SMTP_PORT", str(port))
    for k in ("CCHC_SMTP_HOST", "CCHC_SMTP_USER", "CCHC_SMTP_PASSWORD", "CCHC_SMTP_TLS"):
        mp.delenv(k, raising=False)
    with Mailbox(directory=tmp / "mail", port=port) as box:
        yield {"box": box, "url": data["database_url"], "tmp": tmp}
    mp.undo()


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def outbox_rows(url: str) -> list[dict]:
    store = Store(url)
    try:
        return Outbox(store.engine).messages()
    finally:
        store.dispose()


def test_reminders_deliver_the_expected_digests_once(rem, capsys):
    code, out, err = run(capsys, "reminders", "--date", DAY.isoformat(), "--json")
    assert code == 0, err
    s = json.loads(out)
    assert s["sent"] == len(EXPECTED) and s["failed"] == 0 and s["pending"] == 0 and s["skipped"] == 0
    assert s["rules"]["overdue"] == 4  # D1 and D6, each to officer and head
    assert s["rules"]["no_apology"] == 1 and s["rules"]["due_soon"] == 1
    assert s["rules"]["report_deadline"] == 1 and s["rules"]["remediation"] == 1
    assert s["rules"]["supplement_pause"] == 0 and s["rules"]["escalation"] == 0
    assert len(s["missing_recipients"]) == 1 and "vp.ngo" in s["missing_recipients"][0]
    msgs = rem["box"].messages()
    assert sorted(m["To"].addresses[0].addr_spec for m in msgs) == sorted(EXPECTED)
    for m in msgs:
        assert "Nhắc việc" in m["Subject"] or "nhắc việc" in m["Subject"].lower()
        body = m.get_body(("plain",)).get_content()
        assert "13/02/2026" in body
        decoded = "\n".join([m["Subject"], str(m["To"]), body, m.get_body(("html",)).get_content()])
        for secret in APPLICANT:  # the wire form is base64: what a reader sees is checked, decoded
            assert secret not in m.as_string() and secret not in decoded
    head = next(m for m in msgs if m["To"].addresses[0].addr_spec == "chanhvanphong@hoaan.example.vn")
    text = head.get_body(("plain",)).get_content()
    assert "H99.01-260202-0001" in text and "H99.01-260202-0006" in text
    # the second run of the day sends nothing more
    code, out, err = run(capsys, "reminders", "--date", DAY.isoformat(), "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["sent"] == 0 and again["skipped"] == len(EXPECTED) and again["pending"] == 0
    assert len(rem["box"].files()) == len(EXPECTED)
    # the artifact: counts per recipient, no dossier code, no address
    from test_flows import read_artifacts

    key = f"nhac-viec-{WARD}-{DAY.isoformat()}"
    art = read_artifacts(key)[key]
    assert "Đã gửi" in art.data and "Hoàng Văn Đức" in art.data and "Ngô Thị Mai" in art.data
    assert "H99.01-260202" not in art.data and "@" not in art.data


def test_nothing_is_sent_on_a_holiday(rem, capsys):
    before = len(rem["box"].files())
    code, out, err = run(capsys, "reminders", "--date", HOLIDAY.isoformat(), "--json")
    assert code == 0, err
    s = json.loads(out)
    assert s["working_day"] is False and s["skipped_reason"] == "non_working_day"
    assert s["sent"] == 0 and s["digests"] == 0
    assert len(rem["box"].files()) == before
    assert not any(HOLIDAY.isoformat() in r["key"] for r in outbox_rows(rem["url"]))


def test_dry_run_sends_and_writes_nothing(rem, capsys):
    before_files, before_rows = len(rem["box"].files()), outbox_rows(rem["url"])
    day = date(2026, 2, 12)  # the Thursday: not run yet
    code, out, err = run(capsys, "reminders", "--date", day.isoformat(), "--dry-run")
    assert code == 0, err
    assert "sẽ gửi" in out and "Chạy thử" in out
    assert len(rem["box"].files()) == before_files
    assert outbox_rows(rem["url"]) == before_rows


def test_broken_smtp_setting_is_one_line_naming_it(rem, capsys, monkeypatch):
    monkeypatch.setenv("CCHC_SMTP_PORT", "tám nghìn")
    code, out, err = run(capsys, "reminders", "--date", date(2026, 2, 11).isoformat())
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "CCHC_SMTP_PORT" in lines[0] and "Traceback" not in err


def test_mailbox_on_a_taken_port_is_one_line(rem, capsys):
    code, _, err = run(capsys, "mailbox", "--port", str(rem["box"].port), "--dir", str(rem["tmp"] / "other"))
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and f"--port {rem['box'].port}" in err
    with pytest.raises(SystemExit) as e:
        main(["mailbox", "--port", "0"])
    assert e.value.code == 2


def test_every_message_parses_with_vietnamese_intact(rem):
    for p in rem["box"].files():
        m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        assert m.get_body(("html",)) is not None
        assert "Phường Hòa An" in m.get_body(("plain",)).get_content()


def test_store_reads_only_open_dossiers_and_those_finished_in_the_period(db_url):
    _store(db_url)
    store = Store(db_url)
    try:
        f = store.reminder_dossiers("provincial", finished_since=date(2026, 2, 1)).set_index("code")
        assert set(f.index) == {"H99.01-260202-0001", "H99.02-260202-0002", "H99.03-260202-0005",
                                "H99.01-260202-0006"}
        assert f.loc["H99.01-260202-0001", "officer"] == "vp.hoang"
        assert f.loc["H99.03-260202-0005", "supplement_since"] == datetime(2026, 2, 12, 9)
        assert pd.isna(f.loc["H99.01-260202-0001", "supplement_since"])
        assert bool(f.loc["H99.01-260202-0006", "apology"]) is True
        assert pd.Timestamp(f.loc["H99.02-260202-0002", "due"]) == pd.Timestamp(2026, 2, 23, 17)
        since_2025 = store.reminder_dossiers("provincial", finished_since=date(2025, 1, 1))
        assert "H99.03-250102-0003" in set(since_2025["code"])
    finally:
        store.dispose()


def test_store_reads_the_current_step_and_only_the_finished_dossiers_a_rule_names(db_url):
    """The last step is the current one; of the dossiers finished since the period's start only those
    finished on a day after their due day without an apology are read (no_apology), and the period's
    standings count every finished one per unit (resolved = done or returned; late by the day)."""
    feb = datetime(2026, 2, 2, 8)
    store = Store(db_url)
    store.migrate()

    def done(code, unit, status, due, ended, **kw):
        return _dossier(code, unit, status, due, finished_at=ended, returned_at=ended, **kw)

    two_steps = (ProcessingStep(officer="a.truoc", started_at=feb, at=datetime(2026, 2, 3, 9),
                                step_due=datetime(2026, 2, 3, 17)),
                 ProcessingStep(officer="b.sau", started_at=datetime(2026, 2, 3, 9), step_due=datetime(2026, 2, 9, 17)))
    last_done = (ProcessingStep(officer="c.xong", started_at=feb, at=datetime(2026, 2, 4, 9),
                                step_due=datetime(2026, 2, 4, 17)),)
    store.upsert_page("provincial", [
        replace(_dossier("H99.01-260202-0101", "H99.99.01", Status.PROCESSING, datetime(2026, 2, 20, 17)),
                steps=two_steps),
        replace(_dossier("H99.01-260202-0102", "H99.99.01", Status.RECEIVED, datetime(2026, 2, 20, 17)),
                steps=last_done),
        done("H99.01-260202-0103", "H99.99.01", Status.DONE, datetime(2026, 2, 5, 17), datetime(2026, 2, 6, 9)),
        done("H99.01-260202-0104", "H99.99.01", Status.RETURNED, datetime(2026, 2, 10, 9), datetime(2026, 2, 10, 16)),
        done("H99.01-260202-0105", "H99.99.01", Status.DONE, datetime(2026, 2, 5, 17), datetime(2026, 2, 9, 9),
             apology=True),
        done("H99.02-260202-0106", "H99.99.02", Status.WITHDRAWN, datetime(2026, 2, 5, 17), datetime(2026, 2, 9, 9)),
        done("H99.02-260102-0107", "H99.99.02", Status.DONE, datetime(2026, 1, 5, 17), datetime(2026, 1, 20, 9)),
    ])
    try:
        f = store.reminder_dossiers("provincial", finished_since=date(2026, 2, 1)).set_index("code")
        assert set(f.index) == {"H99.01-260202-0101", "H99.01-260202-0102", "H99.01-260202-0103",
                                "H99.02-260202-0106"}
        assert f.loc["H99.01-260202-0101", "officer"] == "b.sau"
        assert pd.Timestamp(f.loc["H99.01-260202-0101", "step_due"]) == pd.Timestamp(2026, 2, 9, 17)
        assert f.loc["H99.01-260202-0102", "officer"] == "c.xong" and pd.isna(f.loc["H99.01-260202-0102", "step_due"])
        assert pd.isna(f.loc["H99.01-260202-0103", "officer"])  # finished: no step read
        s = store.finished_standings("provincial", date(2026, 2, 1)).set_index("unit_code")
        assert s.loc["H99.99.01"].to_dict() == {"finished": 3, "resolved": 3, "late": 2}
        assert s.loc["H99.99.02"].to_dict() == {"finished": 1, "resolved": 0, "late": 0}
        assert store.finished_standings("provincial", date(2026, 3, 1)).empty
    finally:
        store.dispose()


def test_postgresql_columnar_read_gives_the_dbapi_frame(pg_url, monkeypatch):
    """On PostgreSQL the reminders' read goes through the columnar path (binary COPY, kept
    connection); it gives the DB-API path's frame, column for column, types and missing values
    included (no officer, no step deadline, no pending supplement)."""
    from cchc.connectors.store import repository

    _store(pg_url)
    store = Store(pg_url)
    try:
        calls = []
        real = repository.read_frame

        def spy(*a, **k):
            calls.append(1)
            return real(*a, **k)

        monkeypatch.setattr(repository, "read_frame", spy)
        columnar = store.reminder_dossiers("provincial", finished_since=date(2025, 1, 1))
        assert calls, "the columnar path was not taken"
        monkeypatch.setattr(repository, "read_frame", lambda *a, **k: None)
        dbapi = store.reminder_dossiers("provincial", finished_since=date(2025, 1, 1))
        assert len(columnar) == len(dbapi) >= 5
        assert columnar["officer"].isna().any() and columnar["supplement_since"].notna().any()
        a = columnar.sort_values("code").reset_index(drop=True)
        b = dbapi.sort_values("code").reset_index(drop=True)
        assert list(a.columns) == list(b.columns)
        assert [t.kind for t in a.dtypes] == [t.kind for t in b.dtypes]  # (the text path's time unit varies)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    finally:
        store.dispose()


def test_migration_0011_fills_the_current_step_of_the_stored_open_dossiers(db_url):
    """A store migrated past 0010 with dossiers already in it: the open ones get their current step's
    officer and open deadline from their stored steps (what the ingestion now writes with the row)."""
    from sqlalchemy import text

    store = Store(db_url)
    store.migrate()
    steps = (ProcessingStep(officer="a.truoc", at=datetime(2026, 2, 3, 9), step_due=datetime(2026, 2, 3, 17)),
             ProcessingStep(officer="b.sau", step_due=datetime(2026, 2, 9, 17)))
    store.upsert_page("provincial", [
        replace(_dossier("H99.01-260202-0201", "H99.99.01", Status.PROCESSING, datetime(2026, 2, 20, 17)), steps=steps),
        _dossier("H99.01-260202-0202", "H99.99.01", Status.DONE, datetime(2026, 2, 5, 17), "c.xong",
                 finished_at=datetime(2026, 2, 4, 9)),
    ])
    read = "SELECT code, step_officer, step_due_open FROM dossiers ORDER BY code"
    try:
        with store.engine.begin() as conn:
            written = [tuple(r) for r in conn.execute(text(read))]
            conn.execute(text("ALTER TABLE dossiers DROP COLUMN step_officer"))
            conn.execute(text("ALTER TABLE dossiers DROP COLUMN step_due_open"))
            conn.execute(text("UPDATE alembic_version SET version_num = '0010'"))
        assert written[0][1] == "b.sau" and written[1][1] == "c.xong"  # the ingestion's, for every dossier
        store.migrate()
        with store.engine.connect() as conn:
            (code, officer, due), (done_code, done_officer, _) = [tuple(r) for r in conn.execute(text(read))]
        assert (code, officer) == ("H99.01-260202-0201", "b.sau")
        assert pd.Timestamp(due) == pd.Timestamp(2026, 2, 9, 17)
        assert done_code == "H99.01-260202-0202" and done_officer is None  # finished: filled at its next write
    finally:
        store.dispose()


def test_flow_parameters_are_described_and_sending_retries_only_unreachable_servers(monkeypatch):
    from prefect.states import Failed
    from prefect.utilities.callables import parameter_schema

    from cchc.connectors.mail import MailError
    from cchc.flows.daily_reminders import daily_reminders
    from cchc.tasks.daily_reminders import smtp_unreachable

    props = parameter_schema(daily_reminders.fn).model_dump()["properties"]
    assert set(props) == {"config_path", "date", "dry_run"} and all(p.get("description") for p in props.values())
    down = Failed(data=MailError("smtp.host/smtp.port: không kết nối được", "smtp.host"))
    bad_port = Failed(data=MailError("CCHC_SMTP_PORT: phải là số cổng", "CCHC_SMTP_PORT"))
    assert smtp_unreachable(None, None, down) is False  # from the command line: no waiting
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", "7dba42a4-0000-4000-8000-000000000000")
    assert smtp_unreachable(None, None, down) is True
    assert smtp_unreachable(None, None, bad_port) is False


def test_a_make_up_saturday_is_a_reminder_day_and_a_plain_saturday_is_not(tmp_path):
    from cchc.config import load_config
    from cchc.tasks.daily_reminders import is_working_day

    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["calendar"]["extra_working_days"] = ["2026-02-28"]
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(p)
    assert is_working_day(cfg, date(2026, 2, 28)) is True
    assert is_working_day(cfg, date(2026, 3, 7)) is False
    assert is_working_day(cfg, HOLIDAY) is False and is_working_day(cfg, DAY) is True
