"""The wire form of a plain message — text, and an HTML alternative — written directly, without the
email package (which spends about 1.5 ms a digest building and flattening one: folding the
Vietnamese headers and re-encoding the bodies).

The form is 7-bit clean whatever the server supports: non-ASCII header text as RFC 2047 encoded
words (UTF-8, base64; consecutive words join without the folding space when decoded), bodies in
UTF-8 as base64 in lines of 76, CRLF line ends. So the bytes are the same for every server
(SMTPUTF8 and 8BITMIME are not needed), and `email.message_from_bytes` gives back every header and
body as given (the text's line ends as LF, with a final one, as the email package's `set_content`
leaves them; tests compare both ways of writing a message).

`plain_message` returns None for what it does not write — attachments, an address that is not
plain ASCII, a header with a line break — and `cchc.connectors.mail` builds those with the email
package.
"""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass

#: what an address may hold here (ASCII, no space, quote or angle bracket); anything else is left to
#: the email package, which knows how to write or refuse it
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
#: a word of a display name written as it is (RFC 5322 atext); a run of any others is encoded
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_WORD_BYTES = 39  # UTF-8 bytes per encoded word of a Subject: 52 base64 characters, a 64-character word
_PHRASE_WORD_BYTES = 45  # of a display name: 60 base64 characters, a 72-character word (RFC 2047: 75 at most)


@dataclass(frozen=True)
class WireMessage:
    """A message in its wire form: envelope sender, recipients, and the bytes after DATA."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8, base64), each at most 64 characters, never splitting a
    character's bytes."""
    words, chunk, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > _WORD_BYTES and chunk:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    if chunk:
        words.append("".join(chunk))
    return [f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def _unstructured(name: str, value: str) -> str:
    """A header of free text (Subject): as it is when short plain ASCII, else encoded words, one per
    line."""
    if value.isascii() and len(name) + 2 + len(value) <= 78 and "=?" not in value:
        return f"{name}: {value}"
    return f"{name}: " + "\r\n ".join(encoded_words(value))


def _phrase(display: str) -> list[str] | None:
    """A display name as tokens: plain words (ASCII atoms) as they are, each run of the others as
    ONE encoded word (its spaces inside it). Two encoded words are never adjacent: decoders differ
    on the space between them (RFC 2047 drops it, the email package's parser keeps it). None when a
    run does not fit one encoded word (75 characters)."""
    if display != " ".join(display.split()) or not display.isprintable():  # tabs, double spaces, controls
        return None
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> bool:
        if run:
            text = " ".join(run)
            if len(text.encode("utf-8")) > _PHRASE_WORD_BYTES:
                return False
            tokens.append(f"=?utf-8?b?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?=")
            run.clear()
        return True

    for word in display.split(" "):
        if _ATOM.fullmatch(word):
            if not flush():
                return None
            tokens.append(word)
        else:
            run.append(word)
    return tokens if flush() else None


def _mailbox(name: str, display: str, addr: str) -> str | None:
    """An address header (From, To): `Name <addr>`, folded at spaces; None when the name is not
    written here (`_phrase`)."""
    if not display:
        return f"{name}: {addr}"
    tokens = _phrase(display)
    if tokens is None:
        return None
    lines, line = [], f"{name}:"
    for t in [*tokens, f"<{addr}>"]:
        if len(line) + 1 + len(t) > 78 and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + t
    return "\r\n".join([*lines, line])


def _body(text: str) -> bytes:
    """UTF-8 text, line ends made LF with a final one (as `set_content` does), as base64 lines."""
    raw = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    return base64.encodebytes(raw).replace(b"\n", b"\r\n")  # lines of 76 characters (57 bytes)


def _part(subtype: str, text: str) -> bytes:
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            .encode("ascii") + _body(text))


def _boundary() -> str:
    return "===============" + "".join(random.choices("0123456789", k=19)) + "=="


def plain_message(*, sender: str, to: str, subject: str, text: str, html: str | None = None,
                  sender_name: str = "", to_name: str = "", msg_id: str | None = None,
                  date: str) -> WireMessage | None:
    """The wire form of a message of text (and HTML), or None when it needs the email package (see
    the module doc). `date` is the Date header's value (RFC 5322, `email.utils.format_datetime`)."""
    if (not _PLAIN_ADDRESS.fullmatch(sender) or not _PLAIN_ADDRESS.fullmatch(to) or subject != subject.strip()
            or not subject.isprintable() or not (msg_id or "").isascii() or not date.isascii()
            or any(c in h for c in "\r\n" for h in (msg_id or "", date))):
        return None
    addresses = [_mailbox("From", sender_name, sender), _mailbox("To", to_name, to)]
    if None in addresses:
        return None
    lines = [*addresses, _unstructured("Subject", subject), f"Date: {date}"]
    if msg_id:
        lines.append(f"Message-ID: {msg_id}")
    lines.append("MIME-Version: 1.0")
    if html is None:
        head = "\r\n".join(lines).encode("ascii") + b"\r\n"
        return WireMessage(sender, (to,), head + _part("plain", text))
    b = _boundary()
    lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{b}"')
    sep = f"--{b}\r\n".encode("ascii")
    data = ("\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + sep + _part("plain", text) + sep + _part("html", html)
            + f"--{b}--\r\n".encode("ascii"))
    return WireMessage(sender, (to,), data)
