"""Sending mail: the SMTP settings, the message builder, and `send_outbox` (claim, send, mark).

Settings come from the configuration's `smtp:` section (non-secret: host, port, tls, username,
sender), overridden by the environment: CCHC_SMTP_HOST, CCHC_SMTP_PORT, CCHC_SMTP_USER,
CCHC_SMTP_TLS (none | starttls | tls); the password only from CCHC_SMTP_PASSWORD or, when that is
not set, from the Prefect Secret block named by `smtp.password_secret` (`secret_block_value`). The
password is never part of a message, a repr or a log line. A broken setting is a `MailError` whose one-line
message names the setting (and the environment variable that overrides it).

Outbox messages go out in a 7-bit wire form whose addressing headers `cchc.connectors.mime` writes:
a digest (text and HTML) entirely there, a message with attachments (the monthly report) with its
MIME parts built by the email package (`build_message`). An address or name that form does not write:
the whole message from the email package. A message that cannot be written at all (an address the
email package refuses) is a refused attempt of its own.

`send_outbox` claims due messages, sends them over one SMTP connection (or up to `connections` at once,
each message on one of them), and marks each one:
- delivered → sent;
- refused by the server for that message (5xx: recipient, sender or data refused) → an attempt
  recorded ("refused"), retried with backoff, failed after the outbox's max attempts; the batch
  goes on;
- the connection breaks (server gone, 421, timeout) → the message in flight gets a failed attempt
  (retried with backoff; with several connections, each one in flight), the rest of the batch is
  released untouched (still queued), and the
  report says why; a rerun delivers the rest exactly once;
- the server cannot be reached or refuses the login/TLS at all → every claimed message is
  released and `MailError` names the setting.
"""

from __future__ import annotations

import asyncio
import email.errors
import email.generator
import email.policy
import functools
import hashlib
import io
import ipaddress
import mimetypes
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib

from cchc.connectors.mime import WireMessage, addressed, plain_message
from cchc.connectors.store.outbox import ClaimedMessage, Outbox, scrub_error
from cchc.domain.redact import mask_secrets
from cchc.errors import UserError

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TLS_MODES = ("none", "starttls", "tls")
_TLS_ALIASES = {"none": "none", "off": "none", "false": "none", "0": "none", "no": "none", "plain": "none",
                "starttls": "starttls", "tls": "tls", "ssl": "tls", "smtps": "tls"}


class MailError(UserError):
    """An SMTP setting or server problem, in one line naming the setting (secrets masked)."""

    def __init__(self, message: str, setting: str = ""):
        self.setting = setting
        super().__init__(" ".join(mask_secrets(message).split()))


# ------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    tls: str = "none"  # none | starttls | tls (implicit TLS, e.g. port 465)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "nhacviec@localhost.example.vn"
    sender_name: str = "Hệ thống nhắc việc CCHC"
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise MailError(f"smtp.tls (CCHC_SMTP_TLS): phải là một trong {', '.join(TLS_MODES)}, không phải "
                            f"{self.tls!r}", "smtp.tls")
        if not self.host or any(c.isspace() for c in self.host) or "/" in self.host or "@" in self.host:
            raise MailError(f"smtp.host (CCHC_SMTP_HOST): không phải tên máy chủ: {self.host!r}", "smtp.host")
        if not 1 <= int(self.port) <= 65535:
            raise MailError(f"smtp.port (CCHC_SMTP_PORT): cổng phải từ 1 đến 65535, không phải {self.port}",
                            "smtp.port")
        if bool(self.username) != bool(self.password):
            missing = "CCHC_SMTP_PASSWORD (hoặc smtp.password_secret)" if self.username else \
                "smtp.username (CCHC_SMTP_USER)"
            raise MailError(f"{missing}: đăng nhập SMTP cần cả tên đăng nhập và mật khẩu", missing)
        if self.password and self.tls == "none" and not _loopback(self.host):
            raise MailError(f"smtp.tls (CCHC_SMTP_TLS): không gửi mật khẩu SMTP tới {self.host} khi không mã hóa; "
                            "đặt starttls hoặc tls", "smtp.tls")
        if "@" not in self.sender:
            raise MailError(f"smtp.sender: không phải địa chỉ email: {self.sender!r}", "smtp.sender")

    @classmethod
    def resolve(cls, config=None, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """From the configuration's `smtp` section (any object with its attributes, or None for the
        defaults) and the environment (CCHC_SMTP_*: they win)."""
        env = os.environ if env is None else env
        base = cls()
        values = {k: getattr(config, k, getattr(base, k)) for k in
                  ("host", "port", "tls", "username", "sender", "sender_name", "timeout_s")}
        values["sender"] = str(values["sender"])
        if env.get("CCHC_SMTP_HOST"):
            values["host"] = env["CCHC_SMTP_HOST"].strip()
        if env.get("CCHC_SMTP_PORT"):
            raw = env["CCHC_SMTP_PORT"].strip()
            try:
                values["port"] = int(raw)
            except ValueError:
                raise MailError(f"CCHC_SMTP_PORT: phải là số cổng 1-65535, không phải {raw!r}",
                                "CCHC_SMTP_PORT") from None
            if not 1 <= values["port"] <= 65535:
                raise MailError(f"CCHC_SMTP_PORT: cổng phải từ 1 đến 65535, không phải {raw}", "CCHC_SMTP_PORT")
        if env.get("CCHC_SMTP_TLS"):
            raw = env["CCHC_SMTP_TLS"].strip().lower()
            if raw not in _TLS_ALIASES:
                raise MailError(f"CCHC_SMTP_TLS: phải là none, starttls hoặc tls, không phải {raw!r}",
                                "CCHC_SMTP_TLS")
            values["tls"] = _TLS_ALIASES[raw]
        if env.get("CCHC_SMTP_USER"):
            values["username"] = env["CCHC_SMTP_USER"].strip()
        values["password"] = env.get("CCHC_SMTP_PASSWORD") or None
        block = getattr(config, "password_secret", None)
        if values["password"] is None and block:
            values["password"] = secret_block_value(block)
        return cls(**values)

    def describe(self) -> str:
        """'127.0.0.1:8025 (không mã hóa)' — never the password."""
        mode = {"none": "không mã hóa", "starttls": "STARTTLS", "tls": "TLS"}[self.tls]
        who = f", đăng nhập {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({mode}{who})"


def secret_block_value(name: str) -> str:
    """The value of the Prefect Secret block `name` (`prefect.blocks.system.Secret.load`), as text.
    A block that does not exist, or a Prefect API that cannot be reached, is a MailError naming
    `smtp.password_secret` and the block (never the value)."""
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL

    where = f"smtp.password_secret: Secret block {name!r} của Prefect"
    api = PREFECT_API_URL.value()
    try:
        block = Secret.load(name)
    except ValueError as e:
        if "Unable to find block document" not in str(e):
            raise MailError(f"{where}: không đọc được ({_reason(e)})", "smtp.password_secret") from None
        hint = "" if api else " (PREFECT_API_URL chưa đặt: Prefect đang dùng máy chủ tạm, không có block nào)"
        raise MailError(f"{where} không tồn tại{hint}; tạo block Secret tên đó trong Prefect UI (Blocks) "
                        "(block not found)", "smtp.password_secret") from None
    except Exception as e:  # httpx / Prefect client errors when the API is down or refuses
        raise MailError(f"{where}: không kết nối được Prefect API {api or '(máy chủ tạm)'} "
                        f"({type(e).__name__}: {_reason(e)})", "smtp.password_secret") from None
    value = block.value.get_secret_value() if hasattr(block.value, "get_secret_value") else block.value
    if not isinstance(value, str) or not value:
        raise MailError(f"{where}: giá trị phải là một chuỗi mật khẩu không rỗng", "smtp.password_secret")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------ messages


def _address(addr: str, name: str = "") -> Address:
    return Address(display_name=name or "", addr_spec=addr)


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the outbox key: a receiver sees a resend as the same message."""
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


@functools.lru_cache(maxsize=32)
def _from_header(sender: str, name: str):
    """The From header, made once per sender and shared by every message: the email package folds a
    long Vietnamese display name in milliseconds (7 ms for "Hệ thống nhắc việc CCHC - Phường …", more
    than the rest of a message's headers together), and `wire_bytes` folds this object once."""
    header = email.policy.default.header_factory("From", _address(sender, name))
    _SHARED_HEADERS[id(header)] = (header, {})
    return header


#: header objects shared by many messages (`_from_header`), with their folded forms per wire policy
_SHARED_HEADERS: dict[int, tuple[object, dict]] = {}


class _WirePolicy(email.policy.EmailPolicy):
    """`email.policy.SMTP` (what aiosmtplib flattens with) whose folding of a shared header object is
    looked up after the first time: the same bytes, once."""

    def fold_binary(self, name, value):
        shared = _SHARED_HEADERS.get(id(value))
        if shared is None or shared[0] is not value:
            return super().fold_binary(name, value)
        key = (name, self.utf8, self.cte_type, self.linesep, self.max_line_length)
        folded = shared[1].get(key)
        if folded is None:
            folded = shared[1][key] = super().fold_binary(name, value)
        return folded


_WIRE = _WirePolicy(linesep="\r\n")  # = email.policy.SMTP


def wire_bytes(message: EmailMessage, *, utf8: bool = False, cte_type: str = "8bit") -> bytes:
    """The message as sent (as aiosmtplib's `flatten_message` writes it, byte for byte; no Bcc is ever
    set here), the shared headers' folding reused."""
    policy = _WIRE.clone(utf8=utf8, cte_type=cte_type)
    with io.BytesIO() as out:
        email.generator.BytesGenerator(out, policy=policy).flatten(message)
        return out.getvalue()


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None = None,
                  sender_name: str = "", to_name: str = "", attachments: Sequence[dict] = (),
                  msg_id: str | None = None, date: datetime | None = None) -> EmailMessage:
    """A MIME message: plain text, an HTML alternative (with its inline images: attachments with a
    "cid"), then the attachments. Subject and names are encoded (RFC 2047), bodies are UTF-8.
    An attachment is {"path" or "data", "filename", "content_type", "cid"}; a missing file is a
    MailError naming it."""
    msg = EmailMessage()
    msg["From"] = _from_header(sender, sender_name)
    msg["To"] = _address(to, to_name)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(VN))
    if msg_id:
        msg["Message-ID"] = msg_id
    msg.set_content(text, charset="utf-8")
    inline = [a for a in attachments if a.get("cid")]
    files = [a for a in attachments if not a.get("cid")]
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
        html_part = msg.get_payload()[-1]
        for a in inline:
            data, maintype, subtype, filename = _attachment(a)
            html_part.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{a['cid']}>",
                                  filename=filename)
    for a in files:
        data, maintype, subtype, filename = _attachment(a)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _attachment(a: dict) -> tuple[bytes, str, str, str]:
    filename = a.get("filename") or (Path(a["path"]).name if a.get("path") else "tep-dinh-kem")
    if "data" in a:
        data = a["data"] if isinstance(a["data"], bytes) else str(a["data"]).encode("utf-8")
    else:
        try:
            data = Path(a["path"]).read_bytes()
        except (OSError, KeyError) as e:
            raise MailError(f"attachments: không đọc được tệp đính kèm {a.get('path')!r} "
                            f"({getattr(e, 'strerror', None) or type(e).__name__})", "attachments") from None
    ctype = a.get("content_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    maintype, _, subtype = ctype.partition("/")
    return data, maintype, subtype or "octet-stream", filename


def outbox_message(m: ClaimedMessage, settings: SmtpSettings, date: datetime | None = None
                   ) -> WireMessage | EmailMessage:
    """An outbox message as sent, in a 7-bit wire form whose addressing headers `cchc.connectors.mime`
    writes: a digest (text and HTML) entirely there; a message with attachments (the monthly report)
    with its MIME parts from the email package. An address or name that form does not write: the
    whole message from the email package."""
    msg_id = message_id(m.key, settings.sender)
    heads = {"sender": settings.sender, "sender_name": settings.sender_name, "to": m.recipient,
             "to_name": m.recipient_name, "subject": m.subject, "msg_id": msg_id}
    stamp = format_datetime(date or datetime.now(VN))
    full = None
    if not m.attachments:
        wire = plain_message(text=m.body_text, html=m.body_html, date=stamp, **heads)
    else:
        full = build_message(text=m.body_text, html=m.body_html, attachments=m.attachments, date=date, **heads)
        entity = EmailMessage(policy=full.policy)
        for name, value in full.items():
            if name.lower() not in ("from", "to", "subject", "date", "message-id"):
                entity[name] = value
        entity.set_payload(full.get_payload())
        wire = addressed(wire_bytes(entity, cte_type="7bit"), date=stamp, **heads)
    if wire is not None:
        return wire
    return full or build_message(text=m.body_text, html=m.body_html, attachments=m.attachments, date=date, **heads)


# ------------------------------------------------------------------------------------ sending


class Refused(Exception):
    """The server refused this message (its recipient, sender or content): the batch goes on."""


class ConnectionLost(Exception):
    """The connection broke while sending: the batch stops."""


class SmtpSender:
    """Opens SMTP sessions with the settings; `session()` is an async context manager whose
    `send(message)` raises Refused or ConnectionLost."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def __repr__(self) -> str:
        return f"SmtpSender({self.settings.describe()})"

    def session(self) -> _Session:
        return _Session(self.settings)


class _Session:
    def __init__(self, settings: SmtpSettings):
        self.s = settings
        self.client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> _Session:
        s = self.s
        where = f"{s.host}:{s.port}"
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.tls == "tls",
                                 start_tls=True if s.tls == "starttls" else False, timeout=s.timeout_s)
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectTimeoutError:
            raise MailError(f"smtp.host/smtp.port (CCHC_SMTP_HOST/CCHC_SMTP_PORT): máy chủ SMTP {where} không trả "
                            f"lời sau {s.timeout_s:g} giây", "smtp.host") from None
        except aiosmtplib.SMTPConnectResponseError as e:
            raise MailError(f"smtp.host (CCHC_SMTP_HOST): máy chủ SMTP {where} từ chối kết nối ({e.code} "
                            f"{e.message})", "smtp.host") from None
        except (aiosmtplib.SMTPConnectError, OSError) as e:
            reason = _reason(e)
            if "ssl" in reason.lower() or "tls" in reason.lower():
                raise MailError(f"smtp.tls (CCHC_SMTP_TLS): bắt tay TLS với {where} thất bại ({reason})",
                                "smtp.tls") from None
            raise MailError(f"smtp.host/smtp.port (CCHC_SMTP_HOST/CCHC_SMTP_PORT): không kết nối được máy chủ SMTP "
                            f"{where} ({reason})", "smtp.host") from None
        except aiosmtplib.SMTPException as e:
            raise MailError(f"smtp.tls (CCHC_SMTP_TLS): máy chủ SMTP {where} không thiết lập được phiên "
                            f"{s.tls} ({_reason(e)})", "smtp.tls") from None
        if s.username:
            try:
                await client.login(s.username, s.password or "")
            except aiosmtplib.SMTPAuthenticationError as e:
                client.close()
                raise MailError(f"CCHC_SMTP_USER/CCHC_SMTP_PASSWORD: máy chủ SMTP {where} từ chối đăng nhập "
                                f"của {s.username!r} ({e.code})", "CCHC_SMTP_PASSWORD") from None
            except aiosmtplib.SMTPException as e:
                client.close()
                raise MailError(f"smtp.tls (CCHC_SMTP_TLS): máy chủ SMTP {where} không cho đăng nhập "
                                f"({_reason(e)}; cần starttls hoặc tls?)", "smtp.tls") from None
        self.client = client
        return self

    async def send(self, message: EmailMessage | WireMessage) -> None:
        """`aiosmtplib.SMTP.send_message` for one sender and one recipient: the message flattened by
        `wire_bytes`, or already in its (7-bit) wire form."""
        assert self.client is not None
        client = self.client
        try:
            if isinstance(message, WireMessage):
                sender, recipients = message.sender, list(message.recipients)
            else:
                sender, recipients = str(message["From"].addresses[0].addr_spec), [
                    str(a.addr_spec) for a in message["To"].addresses]
            if client.is_ehlo_or_helo_needed:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
            options, utf8 = [], not (sender + "".join(recipients)).isascii()
            if utf8:
                if not client.supports_extension("smtputf8"):
                    raise Refused("SMTPUTF8 is not supported by this server (non-ASCII address)")
                options.append("SMTPUTF8")
            if isinstance(message, WireMessage):  # 7-bit: needs no extension
                data = message.data
            else:
                cte_type = "7bit"
                if client.supports_extension("8BITMIME"):
                    options.append("BODY=8BITMIME")
                    cte_type = "8bit"
                data = wire_bytes(message, utf8=utf8, cte_type=cte_type)
            errors, _ = await client.sendmail(sender, recipients, data, mail_options=options)
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise Refused("; ".join(f"{r.code} {r.message}" for r in e.recipients) or "recipient refused") from None
        except aiosmtplib.SMTPResponseException as e:
            if e.code == 421 or not self.client.is_connected:
                raise ConnectionLost(f"{e.code} {e.message}") from None
            if 400 <= e.code < 500:
                raise ConnectionLost(f"{e.code} {e.message}") from None  # transient: try later, batch stops
            raise Refused(f"{e.code} {e.message}") from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as e:
            raise ConnectionLost(_reason(e)) from None
        if errors:  # some recipients refused (a message has one recipient: only with several)
            raise Refused("; ".join(f"{addr}: {r.code} {r.message}" for addr, r in errors.items()))

    async def __aexit__(self, *exc) -> None:
        if self.client is not None and self.client.is_connected:
            try:
                await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())[:200]


@dataclass
class SendReport:
    sent: int = 0
    refused: int = 0  # attempts the server refused (to be retried, or failed)
    failed: int = 0  # messages given up on this run (max attempts reached)
    released: int = 0  # claimed but left queued (the batch stopped)
    interrupted: str = ""  # why the batch stopped early ("" when it did not)
    sent_keys: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per failed attempt: recipient and reason

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.refused += other.refused
        self.failed += other.failed
        self.released += other.released
        self.interrupted = other.interrupted or self.interrupted
        self.sent_keys += other.sent_keys
        self.errors += other.errors


async def send_batch(outbox: Outbox, sender: SmtpSender, now: datetime, limit: int = 200,
                     connections: int = 1) -> SendReport:
    """Claim up to `limit` due messages and send them over up to `connections` sessions at once (see
    the module doc). Each claimed message is taken by one session only and marked as soon as the
    server answers; the first session is opened before any other (a server that cannot be reached
    is a MailError, everything released), a further one the server does not accept just leaves its
    share to the others. A broken connection stops every session from taking another message."""
    report = SendReport()
    batch = outbox.claim(now, limit)
    if not batch:
        return report
    settings = sender.settings
    todo = list(reversed(batch))  # popped from the end: oldest first
    tried: set[int] = set()
    halt: list[BaseException] = []  # a session crashed: the others take nothing more

    async def work(session: _Session) -> None:
        # The marks run in a worker thread: a session waiting for its commit (a WAL flush on
        # PostgreSQL) does not hold up the others' SMTP exchanges, and concurrent commits share flushes.
        while todo and not report.interrupted and not halt:
            m = todo.pop()
            tried.add(m.id)
            try:
                try:
                    message = outbox_message(m, settings)
                except (ValueError, TypeError, email.errors.MessageError) as e:  # an address the email
                    # package cannot write (e.g. a non-ASCII local part): this message only, not the batch
                    raise Refused(f"không tạo được thư ({type(e).__name__}: {_reason(e)})") from None
                await session.send(message)
            except (Refused, MailError) as e:
                status = await asyncio.to_thread(outbox.mark_failed, m, now, str(e), result="refused")
                report.refused += 1
                report.failed += status == "failed"
                report.errors.append(f"{m.recipient}: {scrub_error(str(e))}")
            except ConnectionLost as e:
                report.interrupted = f"mất kết nối SMTP ({scrub_error(str(e))})"
                status = await asyncio.to_thread(outbox.mark_failed, m, now, str(e))
                report.failed += status == "failed"
                report.errors.append(f"{m.recipient}: {scrub_error(str(e))}")
                return
            except BaseException as e:
                halt.append(e)
                raise
            else:
                await asyncio.to_thread(outbox.mark_sent, m, now)
                report.sent += 1
                report.sent_keys.append(m.key)

    async def more() -> None:  # a further session: one the server refuses leaves its share to the others
        try:
            async with sender.session() as session:
                await work(session)
        except MailError:
            return

    try:
        async with sender.session() as first:
            extra = [asyncio.ensure_future(more()) for _ in range(min(connections, len(batch)) - 1)]
            try:
                await work(first)
            finally:
                if extra:
                    await asyncio.gather(*extra)
    finally:
        # Whatever stopped the batch (a lost connection, a setting error, a crash): the messages not
        # tried are put back untouched, for the next run.
        report.released = outbox.release([m for m in batch if m.id not in tried])
    return report


async def send_outbox_async(outbox: Outbox, sender: SmtpSender, now: datetime, limit: int = 200,
                            max_batches: int | None = None, connections: int = 1) -> SendReport:
    """Send due messages in batches of `limit` (each over up to `connections` SMTP sessions at once)
    until none is due, a batch is interrupted, or `max_batches` batches were sent."""
    report = SendReport()
    n = 0
    while max_batches is None or n < max_batches:
        r = await send_batch(outbox, sender, now, limit, connections)
        report.add(r)
        n += 1
        if r.interrupted or (r.sent + r.refused) == 0 or (r.sent + r.refused) < limit:
            break
    return report


def send_outbox(outbox: Outbox, sender: SmtpSender, now: datetime, limit: int = 200,
                max_batches: int | None = None, connections: int = 1) -> SendReport:
    """Synchronous `send_outbox_async` (runs its own event loop; in a thread when the caller is
    already inside one, e.g. an async Prefect task)."""
    coro = send_outbox_async(outbox, sender, now, limit, max_batches, connections)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict = {}

    def run() -> None:
        try:
            box["r"] = asyncio.run(coro)
        except BaseException as e:  # re-raised in the caller's thread
            box["e"] = e

    t = threading.Thread(target=run, name="cchc-send-outbox")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["r"]


async def check_connection(settings: SmtpSettings) -> None:
    """Connect (and log in) once: MailError naming the setting when it fails."""
    async with SmtpSender(settings).session():
        return None
