"""Reminder digests delivered exactly once through the outbox to a REAL local SMTP server
(cchc.connectors.mailbox, aiosmtpd on loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from factories import LeaderRow, OfficerRow, UnitRow

from cchc.connectors.mail import (
    MailError,
    SmtpSender,
    SmtpSettings,
    build_message,
    check_connection,
    send_outbox,
)
from cchc.connectors.mailbox import Mailbox, MailboxError, free_port
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox, OutboxMessage
from cchc.domain.calendar import WorkCalendar
from cchc.domain.reminders import Directory, OpenDossier, ReminderRules, UnitStanding, plan_reminders
from cchc.report.reminders import environment, render_digest, render_digests

DAY = date(2026, 2, 13)  # Friday before Tết
NOW = datetime(2026, 2, 13, 7, 30)
WARD = "Phường Hòa An (mô phỏng)"
#: applicant data that exists in the source systems: none of it may reach a message
APPLICANT = ("Nguyễn Văn Bí Mật", "001099012345", "0912345678", "bimat@gmail.com")


DIRECTORY = Directory.build(
    units=[UnitRow("VP", "Văn phòng HĐND và UBND", "Nguyễn Văn Minh", "chanhvanphong@hoaan.example.vn"),
           UnitRow("VHXH", "Phòng Văn hóa - Xã hội", "Trần Thị Lan", "truongphong.vhxh@hoaan.example.vn"),
           UnitRow("KT", "Phòng Kinh tế - Hạ tầng và Đô thị", "Lê Quốc Bảo", None)],
    officers=[OfficerRow("vp.hoang", "Hoàng Văn Đức", "VP", "hoang.duc@hoaan.example.vn"),
              OfficerRow("vhxh.vu", "Vũ Thị Hồng", "VHXH", "vu.hong@hoaan.example.vn"),
              OfficerRow("kt.do", "Đỗ Văn Nam", "KT", "do.nam@hoaan.example.vn")],
    leadership=[LeaderRow("Nguyễn Thị Thanh", "chutich@hoaan.example.vn")],
)


def _plan():
    dossiers = [
        OpenDossier("H99.01-260201-0001", "Chứng thực bản sao từ bản chính", "VP", 4, date(2026, 2, 12),
                    officer="vp.hoang"),
        OpenDossier("H99.01-260201-0002", "Đăng ký khai sinh", "VP", 4, date(2026, 2, 23), officer="vp.hoang"),
        OpenDossier("H99.02-260201-0003", "Cấp giấy phép tổ chức lễ hội", "VHXH", 4, date(2026, 2, 24),
                    officer="vhxh.vu", step_due=date(2026, 2, 11)),
        OpenDossier("H99.03-260201-0004", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "KT", 4, date(2026, 2, 10),
                    officer="kt.do"),
    ]
    return plan_reminders(DAY, WorkCalendar(), ReminderRules(), DIRECTORY, dossiers,
                          standings=[UnitStanding("KT", overdue=11)])


EXPECTED = {"chanhvanphong@hoaan.example.vn", "hoang.duc@hoaan.example.vn", "vu.hong@hoaan.example.vn",
            "do.nam@hoaan.example.vn", "chutich@hoaan.example.vn"}


def _outbox(db_url, **kw) -> Outbox:
    s = Store(db_url)
    s.migrate()
    return Outbox(s.engine, **kw)


def _enqueue(ob: Outbox, plan=None, now=NOW):
    rendered = render_digests((plan or _plan()).digests, WARD)
    return ob.enqueue([OutboxMessage(**r.outbox_fields()) for r in rendered], now)


def _settings(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="nhacviec@hoaan.example.vn", timeout_s=5)


@pytest.fixture
def mailbox(tmp_path):
    with Mailbox(directory=tmp_path / "mail", port=free_port()) as box:
        yield box


def _recipients(box: Mailbox) -> list[str]:
    return sorted(r for m in box.received for r in m.recipients)


def test_plan_gives_one_digest_per_recipient_and_reports_the_missing_head():
    plan = _plan()
    assert {d.recipient.email for d in plan.digests} == EXPECTED
    assert [m.recipient.key for m in plan.missing] == ["head:KT"]


def test_batch_sent_exactly_once_and_messages_parse_with_vietnamese_intact(db_url, mailbox):
    ob = _outbox(db_url)
    assert _enqueue(ob).inserted == 5
    report = send_outbox(ob, SmtpSender(_settings(mailbox.port)), NOW)
    assert (report.sent, report.refused, report.released, report.interrupted) == (5, 0, 0, "")
    assert _recipients(mailbox) == sorted(EXPECTED)
    assert len(mailbox.files()) == 5
    # a second run (re-enqueue + send) sends nothing
    assert _enqueue(ob).inserted == 0
    again = send_outbox(ob, SmtpSender(_settings(mailbox.port)), NOW + timedelta(hours=1))
    assert again.sent == 0 and len(mailbox.files()) == 5
    assert ob.counts() == {"queued": 0, "sending": 0, "sent": 5, "failed": 0}

    by_to = {}
    for path in mailbox.files():
        raw = path.read_bytes()
        assert raw.isascii()  # every header and body part encoded for the wire
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        by_to[msg["To"].addresses[0].addr_spec] = msg
        assert msg["Subject"].startswith("[CCHC] Nhắc việc ngày 13/02/2026:")
        assert "=?utf-8?" in raw.decode("ascii").split("\n\n", 1)[0].lower()  # RFC 2047 subject
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "NHẮC VIỆC NGÀY 13/02/2026" in text and "Kính gửi:" in html
        for bad in ("http://", "https://", "<img", "<link", "<script", "src="):
            assert bad not in html
        for secret in APPLICANT:
            assert secret not in raw.decode("ascii") and secret not in text and secret not in html
        assert msg["Message-ID"].endswith("@hoaan.example.vn>")
    officer = by_to["hoang.duc@hoaan.example.vn"]
    assert str(officer["To"]) == "Hoàng Văn Đức <hoang.duc@hoaan.example.vn>"
    text = officer.get_body(("plain",)).get_content()
    assert "H99.01-260201-0001" in text and "quá hạn 1 ngày làm việc" in text
    assert "Đăng ký khai sinh" in text and "còn 1 ngày làm việc" in text and "23/02/2026" in text
    html = by_to["vu.hong@hoaan.example.vn"].get_body(("html",)).get_content()
    assert "Bước xử lý quá hạn" in html and "Cấp giấy phép tổ chức lễ hội" in html
    lead = by_to["chutich@hoaan.example.vn"].get_body(("plain",)).get_content()
    assert "11 hồ sơ quá hạn (ngưỡng 10)" in lead
    attempts = ob.attempts()
    assert len(attempts) == 5 and {a["result"] for a in attempts} == {"sent"}
    assert {a["recipient"] for a in attempts} == EXPECTED


def test_an_address_no_message_can_be_written_for_is_refused_alone_not_the_batch(db_url, mailbox):
    """A configured address the email package cannot write (a non-ASCII local part, which the
    configuration's e-mail check admits): that message gets a refused attempt naming why, the rest of
    the batch goes out."""
    ob = _outbox(db_url, max_attempts=1)
    rendered = render_digests(_plan().digests, WARD)
    bad = {**rendered[0].outbox_fields(), "recipient": "nguyễn.văn@hoaan.example.vn"}
    ob.enqueue([OutboxMessage(**bad)] + [OutboxMessage(**r.outbox_fields()) for r in rendered[1:]], NOW)
    report = send_outbox(ob, SmtpSender(_settings(mailbox.port)), NOW)
    assert (report.sent, report.refused, report.failed, report.interrupted) == (len(rendered) - 1, 1, 1, "")
    assert "không tạo được thư" in report.errors[0] and "NonASCIILocalPart" in report.errors[0]
    assert ob.counts() == {"queued": 0, "sending": 0, "sent": len(rendered) - 1, "failed": 1}


def test_refused_recipients_are_reported_then_retried_up_to_the_limit(db_url, tmp_path):
    refused = "vu.hong@hoaan.example.vn"
    with Mailbox(directory=tmp_path / "mail", port=free_port(), refuse=[refused]) as box:
        ob = _outbox(db_url, max_attempts=2, backoff=timedelta(minutes=10))
        _enqueue(ob)
        r1 = send_outbox(ob, SmtpSender(_settings(box.port)), NOW)
        assert (r1.sent, r1.refused, r1.failed, r1.interrupted) == (4, 1, 0, "")
        assert r1.errors and r1.errors[0].startswith(refused) and "550" in r1.errors[0]
        assert refused not in _recipients(box) and len(box.files()) == 4
        # rerun before the backoff: nothing; after it: the refused one again, given up at the limit
        assert send_outbox(ob, SmtpSender(_settings(box.port)), NOW + timedelta(minutes=5)).refused == 0
        r2 = send_outbox(ob, SmtpSender(_settings(box.port)), NOW + timedelta(minutes=10))
        assert (r2.sent, r2.refused, r2.failed) == (0, 1, 1)
        box.refuse.clear()
        assert send_outbox(ob, SmtpSender(_settings(box.port)), NOW + timedelta(days=1)).sent == 0
        assert ob.counts() == {"queued": 0, "sending": 0, "sent": 4, "failed": 1}
        [failed] = ob.messages(status="failed")
        assert failed["recipient"] == refused and "550" in failed["last_error"]
        assert [a["result"] for a in ob.attempts(failed["key"])] == ["refused", "refused"]
        assert len(box.files()) == 4  # each delivered message once


def test_server_stopping_mid_batch_then_rerun_delivers_the_rest_once(db_url, tmp_path):
    port = free_port()
    ob = _outbox(db_url, backoff=timedelta(minutes=10))
    _enqueue(ob)
    with Mailbox(directory=tmp_path / "mail", port=port, accept_limit=2) as box:
        r1 = send_outbox(ob, SmtpSender(_settings(port)), NOW)
        assert r1.sent == 2 and r1.interrupted and "421" in r1.interrupted
        assert r1.released == 2  # never tried: still queued, no attempt counted
        assert ob.counts() == {"queued": 3, "sending": 0, "sent": 2, "failed": 0}
        first = {r for m in box.received for r in m.recipients}
    # the server is gone altogether: a one-line error naming the setting, nothing lost
    with pytest.raises(MailError, match=r"smtp\.host/smtp\.port .*127\.0\.0\.1:\d+"):
        send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(minutes=1))
    assert ob.counts()["queued"] == 3
    with Mailbox(directory=tmp_path / "mail", port=port) as box:
        r2 = send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(minutes=2))
        assert r2.sent == 2  # the message in flight at the break waits for its backoff
        r3 = send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(minutes=15))
        assert r3.sent == 1
        assert send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(hours=2)).sent == 0
        second = {r for m in box.received for r in m.recipients}
    assert first | second == EXPECTED and not first & second
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 5
    assert ob.counts() == {"queued": 0, "sending": 0, "sent": 5, "failed": 0}


class _StoppingSender(SmtpSender):
    """Stops the real server after `after` messages of the batch (a server that goes away)."""

    def __init__(self, settings, box: Mailbox, after: int):
        super().__init__(settings)
        self.box, self.after = box, after

    def session(self):
        inner = super().session()
        outer = self

        class S:
            n = 0

            async def __aenter__(self):
                await inner.__aenter__()
                return self

            async def send(self, message):
                if S.n == outer.after:
                    await asyncio.to_thread(outer.box.stop)
                S.n += 1
                await inner.send(message)

            async def __aexit__(self, *exc):
                await inner.__aexit__(*exc)

        return S()


def test_server_killed_mid_batch_then_rerun(db_url, tmp_path):
    port = free_port()
    ob = _outbox(db_url, backoff=timedelta(minutes=10))
    _enqueue(ob)
    box = Mailbox(directory=tmp_path / "mail", port=port).start()
    try:
        r1 = send_outbox(ob, _StoppingSender(_settings(port), box, after=3), NOW)
    finally:
        box.stop()
    assert r1.sent == 3 and r1.interrupted and r1.released == 1
    with Mailbox(directory=tmp_path / "mail", port=port):
        assert send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(hours=1)).sent == 2
    files = list((tmp_path / "mail").glob("*.eml"))
    tos = sorted(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["To"].addresses[0].addr_spec
                 for p in files)
    assert tos == sorted(EXPECTED)


def test_two_senders_at_once_send_each_message_once(db_url, mailbox):
    ob = _outbox(db_url)
    plan = _plan()
    many = []
    for i in range(12):  # 60 messages: the five digests for 12 days
        day = DAY + timedelta(days=i)
        for r in render_digests(plan.digests, WARD):
            f = r.outbox_fields()
            many.append(OutboxMessage(**{**f, "key": f["key"].replace(DAY.isoformat(), day.isoformat())}))
    assert ob.enqueue(many, NOW).inserted == 60
    reports, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            reports.append(send_outbox(ob, SmtpSender(_settings(mailbox.port)), NOW, limit=4))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.sent for r in reports) == 60
    assert all(r.sent > 0 for r in reports)  # both really sent
    ids = [m["Message-ID"] for m in mailbox.messages()]
    assert len(ids) == 60 and len(set(ids)) == 60  # each message once
    assert ob.counts()["sent"] == 60 and len(ob.attempts()) == 60


class _CountingSender(SmtpSender):
    """Counts the sessions open at once; sessions after the first `accept` ones fail to open (a
    server that takes fewer connections than asked for)."""

    def __init__(self, settings, accept: int = 99):
        super().__init__(settings)
        self.accept, self.opened, self.open_now, self.most = accept, 0, 0, 0
        self.per_session: list[int] = []

    def session(self):
        inner, outer = super().session(), self

        class S:
            async def __aenter__(self):
                outer.opened += 1
                if outer.opened > outer.accept:
                    raise MailError("smtp.host: quá nhiều kết nối", "smtp.host")
                await inner.__aenter__()
                outer.open_now += 1
                outer.most = max(outer.most, outer.open_now)
                self.i = len(outer.per_session)
                outer.per_session.append(0)
                return self

            async def send(self, message):
                await inner.send(message)
                outer.per_session[self.i] += 1

            async def __aexit__(self, *exc):
                outer.open_now -= 1
                await inner.__aexit__(*exc)

        return S()


def _many(ob: Outbox, days: int) -> int:
    """The five digests for `days` days, enqueued: how many."""
    out = []
    for i in range(days):
        for r in render_digests(_plan().digests, WARD):
            f = r.outbox_fields()
            out.append(OutboxMessage(**{**f, "key": f["key"].replace(DAY.isoformat(), (DAY + timedelta(days=i)).isoformat())}))
    return ob.enqueue(out, NOW).inserted


def test_several_connections_at_once_send_each_message_once(db_url, mailbox):
    ob = _outbox(db_url)
    assert _many(ob, 6) == 30
    sender = _CountingSender(_settings(mailbox.port))
    report = send_outbox(ob, sender, NOW, connections=4)
    assert (report.sent, report.refused, report.released, report.interrupted) == (30, 0, 0, "")
    assert sender.most == 4 and len(sender.per_session) == 4 and sum(sender.per_session) == 30
    ids = [m["Message-ID"] for m in mailbox.messages()]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sorted(report.sent_keys) == sorted(m["key"] for m in ob.messages(status="sent"))
    assert ob.counts()["sent"] == 30 and len(ob.attempts()) == 30
    assert send_outbox(ob, _CountingSender(_settings(mailbox.port)), NOW, connections=4).sent == 0


def test_connections_the_server_refuses_leave_their_share_to_the_first(db_url, mailbox):
    ob = _outbox(db_url)
    assert _many(ob, 2) == 10
    sender = _CountingSender(_settings(mailbox.port), accept=1)
    report = send_outbox(ob, sender, NOW, connections=4)
    assert (report.sent, report.released, report.interrupted) == (10, 0, "")
    assert sender.opened == 4 and sender.per_session == [10]
    assert len(mailbox.files()) == 10
    ob.enqueue([OutboxMessage(**{**r.outbox_fields(), "key": "khac|" + r.key}) for r in render_digests(
        _plan().digests, WARD)], NOW)
    with pytest.raises(MailError, match="smtp.host"):  # not even the first: nothing sent, all released
        send_outbox(ob, _CountingSender(_settings(mailbox.port), accept=0), NOW, connections=4)
    assert ob.counts() == {"queued": 5, "sending": 0, "sent": 10, "failed": 0} and len(mailbox.files()) == 10


def test_server_stopping_with_several_connections_then_rerun_delivers_the_rest_once(db_url, tmp_path):
    port = free_port()
    ob = _outbox(db_url, backoff=timedelta(minutes=10))
    assert _many(ob, 4) == 20
    with Mailbox(directory=tmp_path / "mail", port=port, accept_limit=6):
        r1 = send_outbox(ob, SmtpSender(_settings(port)), NOW, connections=3)
        assert r1.sent == 6 and r1.interrupted and "421" in r1.interrupted
        counts = ob.counts()
        in_flight = counts["queued"] - r1.released  # failed attempts, waiting for their backoff
        assert counts["sent"] == 6 and counts["sending"] == 0 and 1 <= in_flight <= 3
        assert r1.released == 20 - 6 - in_flight
    with Mailbox(directory=tmp_path / "mail", port=port):
        r2 = send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(minutes=1), connections=3)
        assert r2.sent == r1.released
        r3 = send_outbox(ob, SmtpSender(_settings(port)), NOW + timedelta(minutes=15), connections=3)
        assert r3.sent == in_flight
    ids = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Message-ID"]
           for p in (tmp_path / "mail").glob("*.eml")]
    assert len(ids) == 20 and len(set(ids)) == 20  # each message delivered once
    assert ob.counts() == {"queued": 0, "sending": 0, "sent": 20, "failed": 0}


def test_messages_go_out_byte_for_byte_as_aiosmtplib_would_flatten_them():
    from aiosmtplib.email import flatten_message

    from cchc.connectors.mail import wire_bytes

    name = "Hệ thống nhắc việc CCHC - Phường Hòa An (mô phỏng)"  # a long display name: folded once, reused
    for r in render_digests(_plan().digests, WARD):
        f = r.outbox_fields()
        msg = build_message(sender="nhacviec@hoaan.example.vn", sender_name=name, to=f["recipient"],
                            to_name=f["recipient_name"], subject=f["subject"], text=f["body_text"],
                            html=f["body_html"], msg_id="<k@hoaan.example.vn>")
        for utf8, cte in ((False, "8bit"), (False, "7bit"), (True, "8bit")):
            ours = wire_bytes(msg, utf8=utf8, cte_type=cte)
            assert ours == flatten_message(msg, utf8=utf8, cte_type=cte) == wire_bytes(msg, utf8=utf8, cte_type=cte)
        parsed = email.message_from_bytes(wire_bytes(msg), policy=email.policy.default)
        assert parsed["From"].addresses[0].display_name == name and parsed["Subject"] == f["subject"]


def test_enqueue_after_render_is_idempotent_across_two_runs_at_once(db_url, mailbox):
    ob = _outbox(db_url)
    barrier = threading.Barrier(2)
    results = []

    def run():
        barrier.wait()
        results.append(_enqueue(ob))
        send_outbox(ob, SmtpSender(_settings(mailbox.port)), NOW)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.inserted for r in results) in ([0, 5], [1, 4], [2, 3])
    assert sum(r.inserted for r in results) == 5
    assert _recipients(mailbox) == sorted(EXPECTED)


# ------------------------------------------------------------------------------ settings


def test_env_overrides_config_and_password_is_never_shown():
    @dataclass
    class Cfg:
        host: str = "mail.hoaan.example.vn"
        port: int = 587
        tls: str = "starttls"
        username: str | None = None
        sender: str = "nhacviec@hoaan.example.vn"
        sender_name: str = "Nhắc việc"
        timeout_s: float = 10

    s = SmtpSettings.resolve(Cfg(), env={"CCHC_SMTP_HOST": "smtp.tinh.example.vn", "CCHC_SMTP_PORT": "465",
                                         "CCHC_SMTP_TLS": "ssl", "CCHC_SMTP_USER": "ubnd",
                                         "CCHC_SMTP_PASSWORD": "Secr3t-Pa55"})
    assert (s.host, s.port, s.tls, s.username, s.password) == ("smtp.tinh.example.vn", 465, "tls", "ubnd",
                                                                "Secr3t-Pa55")
    for shown in (repr(s), s.describe(), repr(SmtpSender(s))):
        assert "Secr3t-Pa55" not in shown
    assert SmtpSettings.resolve(Cfg(), env={}).host == "mail.hoaan.example.vn"


@pytest.mark.parametrize("env, setting", [
    ({"CCHC_SMTP_PORT": "abc"}, "CCHC_SMTP_PORT"),
    ({"CCHC_SMTP_PORT": "70000"}, "CCHC_SMTP_PORT"),
    ({"CCHC_SMTP_TLS": "maybe"}, "CCHC_SMTP_TLS"),
    ({"CCHC_SMTP_HOST": "bad host"}, "CCHC_SMTP_HOST"),
    ({"CCHC_SMTP_USER": "ubnd"}, "CCHC_SMTP_PASSWORD"),
    ({"CCHC_SMTP_HOST": "smtp.tinh.example.vn", "CCHC_SMTP_USER": "u", "CCHC_SMTP_PASSWORD": "pw-123456"},
     "CCHC_SMTP_TLS"),
])
def test_broken_settings_give_one_line_naming_the_setting(env, setting):
    with pytest.raises(MailError) as e:
        SmtpSettings.resolve(None, env=env)
    msg = str(e.value)
    assert setting in msg and "\n" not in msg and "pw-123456" not in msg


def test_unreachable_server_is_one_line_naming_host_and_port(db_url):
    port = free_port()
    ob = _outbox(db_url)
    _enqueue(ob)
    with pytest.raises(MailError) as e:
        send_outbox(ob, SmtpSender(_settings(port)), NOW)
    msg = str(e.value)
    assert "smtp.host/smtp.port" in msg and f"127.0.0.1:{port}" in msg and "\n" not in msg
    assert ob.counts()["queued"] == 5 and ob.attempts() == []  # nothing lost, nothing counted
    with pytest.raises(MailError, match="CCHC_SMTP_HOST"):
        asyncio.run(check_connection(_settings(port)))


def test_tls_to_a_plain_server_names_the_tls_setting(mailbox):
    s = SmtpSettings(host="127.0.0.1", port=mailbox.port, tls="tls", timeout_s=3)
    with pytest.raises(MailError) as e:
        asyncio.run(check_connection(s))
    assert "smtp" in str(e.value) and "\n" not in str(e.value)


def test_mailbox_port_taken_is_one_line(tmp_path, mailbox):
    with pytest.raises(MailboxError, match=rf"--port {mailbox.port}"):
        Mailbox(directory=tmp_path / "other", port=mailbox.port).start()


def test_mailbox_reports_a_line_per_message(tmp_path):
    lines = []
    with Mailbox(directory=tmp_path / "m", port=free_port(), on_message=lambda m: lines.append(m.line())) as box:
        ob_msg = build_message(sender="a@hoaan.example.vn", to="b@hoaan.example.vn", subject="Thử tiếng Việt: ữ ặ đ",
                               text="Nội dung", html="<p>Nội dung</p>")

        async def go():
            async with SmtpSender(_settings(box.port)).session() as s:
                await s.send(ob_msg)

        asyncio.run(go())
    assert len(lines) == 1 and "b@hoaan.example.vn" in lines[0] and "Thử tiếng Việt: ữ ặ đ" in lines[0]
    assert lines[0].endswith(".eml")


# ------------------------------------------------------------------------------ messages


def test_message_with_attachment_and_inline_image(tmp_path):
    png = tmp_path / "bieu-do.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    xlsx = tmp_path / "Báo cáo tháng 02-2026.xlsx"
    xlsx.write_bytes(b"PK\x03\x04fake")
    msg = build_message(sender="nhacviec@hoaan.example.vn", sender_name="Hệ thống nhắc việc",
                        to="chutich@hoaan.example.vn", to_name="Nguyễn Thị Thanh",
                        subject="Báo cáo tháng 02/2026 — tỷ lệ đúng hạn 95,25%", text="Kính gửi lãnh đạo",
                        html='<p>Kính gửi</p><img src="cid:chart1">',
                        attachments=[{"path": str(png), "cid": "chart1", "content_type": "image/png"},
                                     {"path": str(xlsx)}])
    parsed = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert parsed["Subject"] == "Báo cáo tháng 02/2026 — tỷ lệ đúng hạn 95,25%"
    assert parsed.get_content_type() == "multipart/mixed"
    [att] = list(parsed.iter_attachments())
    assert att.get_filename() == "Báo cáo tháng 02-2026.xlsx" and att.get_content() == b"PK\x03\x04fake"
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart1>" and image.get_content() == png.read_bytes()
    with pytest.raises(MailError, match="attachments"):
        build_message(sender="a@hoaan.example.vn", to="b@hoaan.example.vn", subject="x", text="x",
                      attachments=[{"path": str(tmp_path / "missing.xlsx")}])


def test_ward_templates_override_the_package_wording(tmp_path):
    plan = _plan()
    digest = next(d for d in plan.digests if d.recipient.key == "officer:vp.hoang")
    (tmp_path / "reminders").mkdir()
    (tmp_path / "reminders" / "subject.txt.j2").write_text("Phường nhắc {{ recipient_name }}: {{ total }} việc",
                                                         encoding="utf-8")
    r = render_digest(digest, WARD, templates_dir=tmp_path)
    assert r.subject == "Phường nhắc Hoàng Văn Đức: 2 việc"
    assert "NHẮC VIỆC NGÀY 13/02/2026" in r.text  # the other templates still come from the package
    default = render_digest(digest, WARD, env=environment())
    assert default.subject == f"[CCHC] Nhắc việc ngày 13/02/2026: 2 việc (1 quá hạn) — {WARD}"
    assert "<td" in default.html and "style=" in default.html
    assert "&lt;" not in render_digest(digest, "Phường <Hòa An>").subject  # the subject is text
    assert "Phường &lt;Hòa An&gt;" in render_digest(digest, "Phường <Hòa An>").html  # the HTML is escaped


def test_a_long_section_lists_the_most_urgent_items_and_counts_the_rest():
    """Per section at most `list_limit` lines, the latest-overdue first, then 'và X hồ sơ khác'; the
    heading, the subject and the digest's counts stay complete; short sections are untouched."""
    late = [OpenDossier(f"H99.01-260101-{i:04d}", "Chứng thực bản sao từ bản chính", "VP", 4,
                        date(2026, 1, 5) + timedelta(days=i % 30), officer="vp.hoang") for i in range(1, 13)]
    soon = [OpenDossier("H99.01-260201-0002", "Đăng ký khai sinh", "VP", 4, date(2026, 2, 23), officer="vp.hoang")]
    plan = plan_reminders(DAY, WorkCalendar(), ReminderRules(), DIRECTORY, late + soon)
    digest = next(d for d in plan.digests if d.recipient.key == "officer:vp.hoang")
    assert digest.rule_counts() == {"overdue": 12, "due_soon": 1}
    full = render_digest(digest, WARD, list_limit=50)
    short = render_digest(digest, WARD, list_limit=5)
    listed = [line for line in short.text.splitlines() if "Hồ sơ H99.01-2601" in line]
    assert len(listed) == 5 and "và 7 hồ sơ khác" in short.text and "và 7 hồ sơ khác" in short.html
    due_of = {d.code: d.due for d in late}
    shown = [line.split("Hồ sơ ")[1].split(" |")[0] for line in listed]
    hidden = set(due_of) - set(shown)
    assert len(hidden) == 7 and max(due_of[c] for c in shown) <= min(due_of[c] for c in hidden)  # latest first
    assert [due_of[c] for c in shown] == sorted(due_of[c] for c in shown)
    assert "1. Hồ sơ quá hạn (12)" in short.text and "Hồ sơ quá hạn (12)</h2>" in short.html
    assert "Đăng ký khai sinh" in short.text and "khác" not in short.text.split("Hồ sơ sắp đến hạn")[1]
    assert short.subject == full.subject and short.items == full.items == 13
    assert short.rule_counts == full.rule_counts
    assert "khác" not in full.text.split("Kính gửi")[1].split("Đây là thư")[0]
    assert len([line for line in full.text.splitlines() if "Hồ sơ H99.01-2601" in line]) == 12
    # every item of a section asks the same: the action is said once per section, not on every line
    assert full.text.count("Việc cần làm:") == 2 and "Việc cần làm</th>" not in full.html
