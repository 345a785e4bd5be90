"""The SMTP password from a Prefect Secret block (`smtp.password_secret`), against the session's real
Prefect test server and a real local SMTP server that requires a login (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cchc.config import Smtp
from cchc.connectors.mail import MailError, SmtpSender, SmtpSettings, build_message, check_connection
from cchc.connectors.mailbox import free_port

PASSWORD = "Blk-Secr3t-9f2c"


class _Accept:
    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def login_server():
    """A local SMTP server that accepts mail only after AUTH as ubnd / PASSWORD; records the
    logins tried."""
    tried: list[tuple[str, str]] = []

    def auth(server, session, envelope, mechanism, data):
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        tried.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=(data.login, data.password) == (b"ubnd", PASSWORD.encode()), handled=False)

    handler = _Accept()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, authenticator=auth, auth_required=True,
                     auth_require_tls=False)
    ctl.start()
    try:
        yield port, tried, handler
    finally:
        ctl.stop()


def _block(value: str) -> str:
    from prefect.blocks.system import Secret

    name = f"smtp-password-{uuid.uuid4().hex[:8]}"
    Secret(value=value).save(name)
    return name


def _send_one(settings: SmtpSettings) -> None:
    async def go():
        async with SmtpSender(settings).session() as s:
            await s.send(build_message(sender=settings.sender, to="chanhvanphong@hoaan.example.vn",
                                       subject="Nhắc việc", text="Kiểm tra đăng nhập."))
    asyncio.run(go())


def test_password_from_a_secret_block_logs_in_and_is_never_logged(prefect_harness, login_server, caplog):
    port, tried, handler = login_server
    name = _block(PASSWORD)
    cfg = Smtp(host="127.0.0.1", port=port, username="ubnd", password_secret=name)
    caplog.set_level(logging.DEBUG)
    settings = SmtpSettings.resolve(cfg, env={})
    assert settings.password == PASSWORD
    _send_one(settings)
    assert tried == [("ubnd", PASSWORD)]
    assert len(handler.messages) == 1
    for shown in (caplog.text, repr(settings), settings.describe(), repr(SmtpSender(settings))):
        assert PASSWORD not in shown


def test_a_wrong_password_in_the_block_is_refused_without_showing_it(prefect_harness, login_server, caplog):
    port, tried, _ = login_server
    wrong = "Wr0ng-" + uuid.uuid4().hex[:6]
    cfg = Smtp(host="127.0.0.1", port=port, username="ubnd", password_secret=_block(wrong))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MailError) as e:
        asyncio.run(check_connection(SmtpSettings.resolve(cfg, env={})))
    assert tried and set(tried) == {("ubnd", wrong)}  # the client tries each mechanism the server offers
    assert "từ chối đăng nhập" in str(e.value) and "\n" not in str(e.value)
    assert wrong not in str(e.value) and wrong not in caplog.text


def test_the_environment_password_wins_and_the_block_is_not_read(login_server):
    """No Prefect server here: CCHC_SMTP_PASSWORD set, the block (which does not exist) is not read."""
    port, tried, _ = login_server
    cfg = Smtp(host="127.0.0.1", port=port, username="ubnd", password_secret="khong-ton-tai")
    settings = SmtpSettings.resolve(cfg, env={"CCHC_SMTP_PASSWORD": PASSWORD})
    _send_one(settings)
    assert tried == [("ubnd", PASSWORD)]


def test_a_missing_block_is_one_line_naming_the_key_and_the_block(prefect_harness):
    cfg = Smtp(username="ubnd", password_secret="chua-tao-block-nay")
    with pytest.raises(MailError) as e:
        SmtpSettings.resolve(cfg, env={})
    msg = str(e.value)
    assert "\n" not in msg
    assert "smtp.password_secret" in msg and "'chua-tao-block-nay'" in msg and "không tồn tại" in msg
    assert e.value.setting == "smtp.password_secret"


def test_an_unreachable_prefect_api_is_one_line(prefect_harness):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}), pytest.raises(MailError) as e:
        SmtpSettings.resolve(Smtp(username="ubnd", password_secret="smtp-password"), env={})
    msg = str(e.value)
    assert "\n" not in msg
    assert "smtp.password_secret" in msg and "không kết nối được Prefect API" in msg and url in msg

