"""Messages in their wire form, their addressing headers written here: a digest (text and an HTML
alternative) entirely, without the email package (which spends about 1.5 ms a digest building and
flattening one: folding the Vietnamese headers and re-encoding the bodies); a message with
attachments (`addressed`) from the email package's 7-bit flattening of its MIME parts.

The form is 7-bit clean whatever the server supports: non-ASCII header text as RFC 2047 encoded
words (UTF-8, base64), bodies in UTF-8 as base64 in lines of 76, CRLF line ends. So the bytes are
the same for every server (SMTPUTF8 and 8BITMIME are not needed), and `email.message_from_bytes`
gives back every header and body as given (the text's line ends as LF, with a final one, as the
email package's `set_content` leaves them).

Display names: each run of words that are not plain ASCII atoms is ONE encoded word, between plain
words, because decoders differ on the space between two adjacent encoded words: RFC 2047 (and mail
clients) drop it, the email package's parser keeps it. The email package's own folding of a long
name (the ward's sender name) splits it at a space between two encoded words, which a mail client
reads with the two words joined. A name with a run longer than one encoded word (45 bytes), an
address that is not plain ASCII, or a header with a line break is not written here: the functions
return None and `cchc.connectors.mail` builds the whole message with the email package.
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
        if _ATOM.fullmatch(word) and "=?" not in word:  # a plain word a reader would not take for encoded
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


def _headers(*, sender: str, to: str, subject: str, sender_name: str, to_name: str, msg_id: str | None,
             date: str) -> bytes | None:
    """From, To, Subject, Date and Message-ID as written here, or None when they are not (see the
    module doc)."""
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
    return "\r\n".join(lines).encode("ascii") + b"\r\n"


def addressed(entity: bytes, *, sender: str, to: str, subject: str, sender_name: str = "", to_name: str = "",
              msg_id: str | None = None, date: str) -> WireMessage | None:
    """A MIME entity already in 7-bit wire form (its MIME-Version, Content-Type and body, e.g. the
    email package's flattening of a message with attachments and no addressing headers) with the
    addressing headers written here in front; None when they are not written here."""
    head = _headers(sender=sender, to=to, subject=subject, sender_name=sender_name, to_name=to_name, msg_id=msg_id,
                    date=date)
    return None if head is None else WireMessage(sender, (to,), head + entity)


def plain_message(*, sender: str, to: str, subject: str, text: str, html: str | None = None,
                  sender_name: str = "", to_name: str = "", msg_id: str | None = None,
                  date: str) -> WireMessage | None:
    """The wire form of a message of text (and HTML), or None when it needs the email package (see
    the module doc). `date` is the Date header's value (RFC 5322, `email.utils.format_datetime`)."""
    if html is None:
        entity = b"MIME-Version: 1.0\r\n" + _part("plain", text)
    else:
        b = _boundary()
        sep = f"--{b}\r\n".encode("ascii")
        entity = (f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{b}"\r\n\r\n'
                  .encode("ascii") + sep + _part("plain", text) + sep + _part("html", html)
                  + f"--{b}--\r\n".encode("ascii"))
    return addressed(entity, sender=sender, to=to, subject=subject, sender_name=sender_name, to_name=to_name,
                     msg_id=msg_id, date=date)
