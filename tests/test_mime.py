"""The direct wire form of a digest (cchc.connectors.mime): what a mail reader decodes from it is what
was given, by the email package's parser and by the RFC 2047 decoder (`email.header.decode_header`,
which drops the space between adjacent encoded words as the RFC says, and as mail clients do); it is
7-bit, CRLF, in lines of at most 78 characters; what it does not write falls back to the email
package."""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.connectors.mail import SmtpSettings, build_message, outbox_message, wire_bytes
from cchc.connectors.mime import WireMessage, plain_message
from cchc.connectors.store.outbox import ClaimedMessage

DATE = email.utils.format_datetime(datetime(2026, 11, 20, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
WARD_SENDER = "Hệ thống nhắc việc CCHC - Phường Hòa An (mô phỏng)"


def _rfc2047(value: str) -> str:
    """A header value as an RFC 2047 decoder reads it (the legacy, standard-following decoder)."""
    return str(email.header.make_header(email.header.decode_header(value)))


def _normal(text: str) -> str:
    return "\n".join(text.splitlines()) + "\n"


def _check(wire: WireMessage, *, sender_name: str, to_name: str, subject: str, text: str, html: str | None):
    assert wire.data.isascii() and b"\r\n" in wire.data
    assert b"\n" not in wire.data.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in wire.data.split(b"\r\n")) <= 78
    m = email.message_from_bytes(wire.data, policy=email.policy.default)
    assert not m.defects
    assert m["Subject"] == subject and m["Date"] == DATE
    assert m["From"].addresses[0].display_name == sender_name and m["To"].addresses[0].display_name == to_name
    assert m["To"].addresses[0].addr_spec == wire.recipients[0]
    raw_headers = email.message_from_bytes(wire.data, policy=email.policy.compat32)
    assert _rfc2047(raw_headers["Subject"]) == subject
    for header, name in (("From", sender_name), ("To", to_name)):
        if name:  # the display name as an RFC 2047 reader sees it: the part before <addr>
            phrase = raw_headers[header].rsplit("<", 1)[0].replace("\r\n", "").strip()
            assert _rfc2047(phrase) == name
    assert m.get_body(("plain",)).get_content() == _normal(text)
    if html is None:
        assert m.get_content_type() == "text/plain"
    else:
        assert m.get_content_type() == "multipart/alternative"
        assert m.get_body(("html",)).get_content() == _normal(html)


def test_a_digest_with_the_wards_long_sender_name_reads_back_both_ways():
    subject = "[CCHC] Nhắc việc ngày 20/11/2026: 587 việc (586 quá hạn) — Phường Hòa An (mô phỏng)"
    text = "Kính gửi: Lê Quốc Bảo\r\n\r\n1. Hồ sơ quá hạn (200)\n   - H99.99-260721-0655677 | Đăng ký biến động\n"
    html = "<p>Kính gửi: <b>Lê Quốc Bảo</b></p>\r\n<table><tr><td>Hồ sơ quá hạn</td></tr></table>"
    wire = plain_message(sender="nhacviec@hoaan.example.vn", sender_name=WARD_SENDER,
                         to="truongphong.kthtdt@hoaan.example.vn", to_name="Lê Quốc Bảo", subject=subject,
                         text=text, html=html, msg_id="<k1@hoaan.example.vn>", date=DATE)
    assert wire is not None and wire.recipients == ("truongphong.kthtdt@hoaan.example.vn",)
    _check(wire, sender_name=WARD_SENDER, to_name="Lê Quốc Bảo", subject=subject, text=text, html=html)
    assert email.message_from_bytes(wire.data, policy=email.policy.default)["Message-ID"] == "<k1@hoaan.example.vn>"
    # text that looks like an encoded word is encoded itself, not left for a reader to decode
    lookalike = "=?utf-8?b?QQ==?="
    wire = plain_message(sender="a@hoaan.example.vn", sender_name=lookalike, to="b@hoaan.example.vn",
                         to_name=f"X {lookalike}", subject=lookalike, text="x", date=DATE)
    _check(wire, sender_name=lookalike, to_name=f"X {lookalike}", subject=lookalike, text="x", html=None)


def test_the_email_packages_own_folding_of_that_name_reads_differently_to_an_rfc_2047_reader():
    """Why display names are written here as they are: the email package splits the ward's name
    between two adjacent encoded words at a space, which RFC 2047 readers drop."""
    msg = build_message(sender="nhacviec@hoaan.example.vn", sender_name=WARD_SENDER, to="a@hoaan.example.vn",
                        subject="x", text="x")
    raw = email.message_from_bytes(wire_bytes(msg), policy=email.policy.compat32)
    assert _rfc2047(raw["From"].rsplit("<", 1)[0].replace("\r\n", "").strip()) != WARD_SENDER


_VI = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹĐƯƠ"
_word = st.text(alphabet=st.sampled_from("abcXYZ019-().,@:;\"'<>[]!#&=?" + _VI), min_size=1, max_size=12)
_name = st.lists(_word, max_size=8).map(" ".join)
_line = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=120)
_body = st.lists(st.tuples(_line, st.sampled_from(["\n", "\r\n", "\r"])), max_size=12).map(
    lambda parts: "".join(a + b for a, b in parts))


_ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")


def _longest_run(name: str) -> int:
    """UTF-8 bytes of the longest run of words that are not plain atoms, spaces included."""
    runs, run = [], []
    for w in name.split(" "):
        if w and set(w) <= _ATEXT:
            runs.append(" ".join(run))
            run = []
        else:
            run.append(w)
    runs.append(" ".join(run))
    return max(len(r.encode()) for r in runs)


@settings(max_examples=300, deadline=None)
@given(sender_name=_name, to_name=_name, subject=st.text(min_size=1, max_size=200).map(str.strip).filter(
    lambda s: s and s.isprintable()), text=_body, html=st.one_of(st.none(), _body))
def test_any_digest_reads_back_as_given_or_is_left_to_the_email_package(sender_name, to_name, subject, text, html):
    wire = plain_message(sender="nhacviec@hoaan.example.vn", sender_name=sender_name, to="b.c@hoaan.example.vn",
                         to_name=to_name, subject=subject, text=text, html=html, msg_id="<k@hoaan.example.vn>",
                         date=DATE)
    if wire is None:  # only for a display name with a run of encoded text longer than one encoded word
        assert _longest_run(sender_name) > 45 or _longest_run(to_name) > 45
        return
    _check(wire, sender_name=sender_name, to_name=to_name, subject=subject, text=text, html=html)


def _claimed(**kw) -> ClaimedMessage:
    base = dict(id=1, key="nhac-viec|officer:a|2026-11-20", kind="nhac-viec", recipient="a@hoaan.example.vn",
                recipient_name="Nguyễn Văn A", subject="Nhắc việc", body_text="Nội dung", body_html="<p>Nội dung</p>",
                attachments=(), attempts=0, claim_token="t")
    return ClaimedMessage(**{**base, **kw})


def test_outbox_messages_take_the_direct_form_unless_it_cannot_write_them():
    s = SmtpSettings(sender="nhacviec@hoaan.example.vn", sender_name=WARD_SENDER)
    assert isinstance(outbox_message(_claimed(), s), WireMessage)
    for address in ("a@hòa-an.example.vn", '"a b"@hoaan.example.vn'):  # not plain ASCII atoms
        assert isinstance(outbox_message(_claimed(recipient=address), s), email.message.EmailMessage)
    long_name = "Nguyễn Thị Hương Trần Lê Phương Thảo Ánh Ngọc Diệp"  # no plain word: one run over 45 bytes
    fallback = outbox_message(_claimed(recipient_name=long_name), s)
    assert isinstance(fallback, email.message.EmailMessage)
    assert fallback["To"].addresses[0].display_name == long_name


def test_a_message_with_attachments_takes_the_email_packages_parts_under_headers_written_here(tmp_path):
    """The monthly report: its MIME parts (text, HTML with the inline chart, the files) from the email
    package, made 7-bit; From, To and Subject written here, so a mail client reads the ward's name as
    the email package's parser does."""
    xlsx = tmp_path / "Báo cáo tháng 11-2026.xlsx"
    xlsx.write_bytes(b"PK\x03\x04fake")
    s = SmtpSettings(sender="tonghop@hoaan.example.vn", sender_name=WARD_SENDER)
    m = _claimed(recipient="chutich@hoaan.example.vn", recipient_name="Nguyễn Thị Thanh",
                 subject="[MÔ PHỎNG] Tổng hợp tình hình giải quyết TTHC tháng 11/2026 — Phường Hòa An (mô phỏng)",
                 body_text="Kính gửi lãnh đạo\nTỷ lệ đúng hạn 95,25%", body_html='<p>Kính gửi</p><img src="cid:c1">',
                 attachments=({"data": b"\x89PNGfake", "filename": "bieu-do.png", "cid": "c1",
                               "content_type": "image/png"}, {"path": str(xlsx)}))
    wire = outbox_message(m, s)
    assert isinstance(wire, WireMessage) and wire.data.isascii() and wire.recipients == ("chutich@hoaan.example.vn",)
    parsed = email.message_from_bytes(wire.data, policy=email.policy.default)
    assert not parsed.defects and parsed.get_content_type() == "multipart/mixed"
    assert parsed["Subject"] == m.subject and parsed["To"].addresses[0].display_name == "Nguyễn Thị Thanh"
    assert parsed["From"].addresses[0].display_name == WARD_SENDER
    raw = email.message_from_bytes(wire.data, policy=email.policy.compat32)
    assert _rfc2047(raw["From"].rsplit("<", 1)[0].replace("\r\n", "").strip()) == WARD_SENDER
    assert [h for h in ("From", "To", "Subject", "Date", "Message-ID") if len(parsed.get_all(h)) != 1] == []
    assert parsed.get_body(("plain",)).get_content() == "Kính gửi lãnh đạo\nTỷ lệ đúng hạn 95,25%\n"
    [att] = list(parsed.iter_attachments())
    assert att.get_filename() == xlsx.name and att.get_content() == xlsx.read_bytes()
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<c1>" and image.get_content() == b"\x89PNGfake"
    fallback = outbox_message(_claimed(recipient_name="Nguyễn Thị Hương Trần Lê Phương Thảo Ánh Ngọc Diệp",
                                       attachments=m.attachments), s)
    assert isinstance(fallback, email.message.EmailMessage) and fallback.get_content_type() == "multipart/mixed"
