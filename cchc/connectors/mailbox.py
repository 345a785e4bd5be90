"""A real SMTP server on loopback (aiosmtpd) for the demo and the tests: every message it accepts
is written, as received, to an .eml file in a directory, and reported (one `ReceivedMessage` per
message to the `on_message` callback; `ReceivedMessage.line()` is the line a command prints).

For fault tests it can refuse chosen recipients (550 at RCPT) and stop accepting after a number of
messages (421 "closing" at MAIL and DATA, then the connection is closed), as a server that goes away
mid-batch does.

    with Mailbox(directory="var/mail", port=8025, on_message=lambda m: print(m.line())) as box:
        ...                                    # box.port, box.messages(), box.received
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from cchc.errors import UserError

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class MailboxError(UserError):
    """The local mail server cannot start (port taken, directory not writable): one line."""


@dataclass(frozen=True)
class ReceivedMessage:
    path: Path
    sender: str
    recipients: tuple[str, ...]
    subject: str  # decoded
    at: datetime
    size: int

    def line(self) -> str:
        """'07:30:02  → hoang.duc@… | Nhắc việc … | var/mail/20260213-073002-0001.eml'"""
        return f"{self.at:%H:%M:%S}  → {', '.join(self.recipients)} | {self.subject} | {self.path}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.box._closing():
            return "421 4.3.2 Máy chủ ngừng nhận thư (service not available, closing channel)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.box._refuses(address):
            return "550 5.1.1 Người nhận bị từ chối (recipient refused)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.box._closing():
            return "421 4.3.2 Máy chủ ngừng nhận thư (service not available, closing channel)"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.box._store(envelope.mail_from, tuple(envelope.rcpt_tos), raw)
        return "250 2.0.0 Đã nhận thư (message accepted)"


class Mailbox:
    """A local SMTP server writing each message to `directory` as an .eml file."""

    def __init__(self, directory: str | Path = "var/mail", host: str = "127.0.0.1", port: int = 8025,
                 on_message: Callable[[ReceivedMessage], None] | None = None,
                 refuse: Iterable[str] = (), accept_limit: int | None = None):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.on_message = on_message
        #: recipients (addresses, case-insensitive) answered 550
        self.refuse = {a.lower() for a in refuse}
        #: after this many accepted messages, answer 421 to everything (a server going away)
        self.accept_limit = accept_limit
        self.received: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._controller: Controller | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> Mailbox:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise MailboxError(f"{self.directory}: không ghi được thư mục hộp thư ({e.strerror or e})") from None
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
                s.bind((self.host, self.port))
        except OSError as e:
            raise MailboxError(f"--port {self.port}: không mở được cổng {self.host}:{self.port} "
                               f"({e.strerror or e}; cổng đang được dùng?)") from None
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
        try:
            self._controller.start()
        except Exception as e:  # aiosmtpd reports a failed start in several ways
            self._controller = None
            raise MailboxError(f"--port {self.port}: máy chủ thư không khởi động được ({type(e).__name__}: {e})") from None
        return self

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ behaviour
    def _refuses(self, address: str) -> bool:
        return address.lower() in self.refuse

    def _closing(self) -> bool:
        with self._lock:
            return self.accept_limit is not None and self._seq >= self.accept_limit

    def _store(self, sender: str, recipients: tuple[str, ...], raw: bytes) -> None:
        now = datetime.now(VN).replace(microsecond=0, tzinfo=None)
        with self._lock:
            self._seq += 1
            seq = self._seq
        path = self.directory / f"{now:%Y%m%d-%H%M%S}-{seq:04d}-{uuid.uuid4().hex[:6]}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)  # a reader never sees half a message
        # the printed line needs the subject only: parse the headers, not the bodies (large digests)
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
        subject = re.sub(r"\s+", " ", str(msg.get("Subject", ""))).strip()
        rec = ReceivedMessage(path=path, sender=sender, recipients=recipients, subject=subject, at=now,
                              size=len(raw))
        with self._lock:
            self.received.append(rec)
        if self.on_message is not None:
            self.on_message(rec)

    # ------------------------------------------------------------------ reading
    def files(self) -> list[Path]:
        """The .eml files in the directory, oldest first."""
        return sorted(self.directory.glob("*.eml"))

    def messages(self) -> list[email.message.EmailMessage]:
        """Every stored message, parsed (email.policy.default)."""
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in self.files()]
