"""The outbox: messages to send, each keyed by an idempotency key, and every send attempt.

A message is written once (`enqueue`: INSERT ... ON CONFLICT DO NOTHING on the unique key, so a
retried task, a re-run flow or two overlapping runs enqueue it once) and then moves through

    queued ──claim──▶ sending ──mark_sent──▶ sent
      ▲                  │
      └──mark_failed─────┤ (attempts < max: back to queued, next attempt after a doubling backoff)
                         └──────────────▶ failed (attempts == max: given up, reported)

`claim` hands each due message to one sender only: on PostgreSQL a `SELECT ... FOR UPDATE SKIP
LOCKED` then an update in the same transaction; on SQLite one conditional UPDATE (SQLite runs one
writer at a time, and the statement re-checks the status under the write lock). A claim carries a
token and a lease: the marks only apply with the token, and a claim whose sender died is claimable
again once its lease ends (the one case where a message may be sent twice: the sender died after
the server accepted it and before it was marked). `release` puts claimed messages back untouched
(a batch stopped by a broken connection).

Times are naive, in the ward's local time (Vietnam), like the rest of the store; `now` is always
given by the caller (tests and re-runs control the clock). Errors are stored scrubbed (no
credentials, e-mail addresses or ID-shaped numbers).

The tables are created by migration 0006 (they are declared here, on their own MetaData, so that
this slice stays in its own files; they may move to schema.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from cchc.domain.redact import mask_secrets
from cchc.domain.wire import scrub_text

VN = ZoneInfo("Asia/Ho_Chi_Minh")

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATUSES = (QUEUED, SENDING, SENT, FAILED)

metadata = MetaData()

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("recipient_name", String(200), nullable=False, default=""),
    Column("subject", String(500), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("attachments", JSON),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claim_token", String(64)),
    Column("claimed_until", DateTime),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("result", String(16), nullable=False),  # sent | failed | refused
    Column("error", Text),
)


@dataclass(frozen=True)
class OutboxMessage:
    """A message to enqueue. `attachments`: metadata dicts, e.g. {"path": "var/reports/x.xlsx",
    "filename": "x.xlsx", "content_type": "application/vnd...", "cid": None} (a `cid` makes it an
    inline image of the HTML part); the files are read when the message is sent."""

    key: str
    kind: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None
    recipient_name: str = ""
    attachments: tuple[dict, ...] = ()


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    key: str
    kind: str
    recipient: str
    recipient_name: str
    subject: str
    body_text: str
    body_html: str | None
    attachments: tuple[dict, ...]
    attempts: int  # attempts made before this one
    claim_token: str


@dataclass
class EnqueueResult:
    inserted: int = 0
    existing: int = 0
    inserted_keys: list[str] = field(default_factory=list)


def _naive(now: datetime) -> datetime:
    if now.tzinfo is not None and now.utcoffset() is not None:
        now = now.astimezone(VN).replace(tzinfo=None)
    return now.replace(microsecond=0)


def scrub_error(text: str, limit: int = 500) -> str:
    """An error fit to store and show: one line, no credentials, addresses or ID-shaped numbers."""
    one = " ".join(str(text).split())
    return scrub_text(mask_secrets(one))[:limit]


class Outbox:
    """The outbox of a store (its `engine`; the tables come from migration 0006)."""

    def __init__(self, engine: Engine, *, max_attempts: int = 5, backoff: timedelta = timedelta(minutes=15),
                 max_backoff: timedelta = timedelta(hours=24), lease: timedelta = timedelta(minutes=10)):
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.engine = engine
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.lease = lease

    # ------------------------------------------------------------------------------ writing

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(outbox)

    def enqueue(self, messages: Iterable[OutboxMessage], now: datetime) -> EnqueueResult:
        """Insert the messages whose key is not in the outbox yet (atomically: a concurrent run's
        copy is skipped, never duplicated). One transaction."""
        now = _naive(now)
        result = EnqueueResult()
        stmt = self._insert().on_conflict_do_nothing(index_elements=["key"])
        with self.engine.begin() as conn:
            for m in messages:
                row = {"key": m.key, "kind": m.kind, "recipient": m.recipient, "recipient_name": m.recipient_name,
                       "subject": m.subject, "body_text": m.body_text, "body_html": m.body_html,
                       "attachments": list(m.attachments) or None, "status": QUEUED, "attempts": 0,
                       "next_attempt_at": now, "created_at": now}
                if conn.execute(stmt, row).rowcount == 1:
                    result.inserted += 1
                    result.inserted_keys.append(m.key)
                else:
                    result.existing += 1
        return result

    @staticmethod
    def _claimable(now: datetime):
        return or_(and_(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= now),
                   and_(outbox.c.status == SENDING, outbox.c.claimed_until < now))

    def claim(self, now: datetime, limit: int = 100) -> list[ClaimedMessage]:
        """Up to `limit` due messages (queued and due, or a dead sender's expired claim), oldest first,
        each to this caller only."""
        now = _naive(now)
        token = uuid.uuid4().hex
        values = {"status": SENDING, "claim_token": token, "claimed_until": now + self.lease}
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                ids = conn.execute(select(outbox.c.id).where(self._claimable(now)).order_by(outbox.c.id)
                                   .limit(limit).with_for_update(skip_locked=True)).scalars().all()
                if not ids:
                    return []
                conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(**values))
            else:
                due = select(outbox.c.id).where(self._claimable(now)).order_by(outbox.c.id).limit(limit)
                conn.execute(update(outbox).where(outbox.c.id.in_(due.scalar_subquery()), self._claimable(now))
                             .values(**values))
            rows = conn.execute(select(outbox).where(outbox.c.claim_token == token).order_by(outbox.c.id)).mappings()
            return [ClaimedMessage(id=r["id"], key=r["key"], kind=r["kind"], recipient=r["recipient"],
                                   recipient_name=r["recipient_name"], subject=r["subject"],
                                   body_text=r["body_text"], body_html=r["body_html"],
                                   attachments=tuple(r["attachments"] or ()), attempts=r["attempts"],
                                   claim_token=token) for r in rows]

    def _mine(self, m: ClaimedMessage):
        return and_(outbox.c.id == m.id, outbox.c.claim_token == m.claim_token, outbox.c.status == SENDING)

    def _attempt(self, conn, m: ClaimedMessage, now: datetime, result: str, error: str | None) -> None:
        conn.execute(outbox_attempts.insert().values(outbox_id=m.id, recipient=m.recipient, subject=m.subject,
                                                     at=now, result=result, error=error))

    def mark_sent(self, m: ClaimedMessage, now: datetime) -> bool:
        """Record a delivered message; False when the claim was lost (lease expired and re-claimed)."""
        now = _naive(now)
        with self.engine.begin() as conn:
            n = conn.execute(update(outbox).where(self._mine(m)).values(
                status=SENT, sent_at=now, attempts=outbox.c.attempts + 1, claim_token=None, claimed_until=None,
                last_error=None)).rowcount
            self._attempt(conn, m, now, SENT, None)
        return n == 1

    def retry_delay(self, attempts: int) -> timedelta:
        """Delay before the next attempt after `attempts` failed ones: backoff, doubling, capped."""
        return min(self.backoff * (2 ** max(0, attempts - 1)), self.max_backoff)

    def mark_failed(self, m: ClaimedMessage, now: datetime, error: str, result: str = "failed") -> str:
        """Record a failed attempt (`result`: "failed", or "refused" for a recipient the server
        refused). Back to queued with a backoff, or FAILED once max_attempts is reached. Returns the
        new status ("" when the claim was lost)."""
        now = _naive(now)
        attempts = m.attempts + 1
        status = FAILED if attempts >= self.max_attempts else QUEUED
        error = scrub_error(error)
        with self.engine.begin() as conn:
            n = conn.execute(update(outbox).where(self._mine(m)).values(
                status=status, attempts=attempts, next_attempt_at=now + self.retry_delay(attempts),
                claim_token=None, claimed_until=None, last_error=error)).rowcount
            self._attempt(conn, m, now, result, error)
        return status if n == 1 else ""

    def release(self, messages: Sequence[ClaimedMessage]) -> int:
        """Put claimed messages back in the queue, no attempt counted (a batch that stopped early)."""
        n = 0
        with self.engine.begin() as conn:
            for m in messages:
                n += conn.execute(update(outbox).where(self._mine(m)).values(
                    status=QUEUED, claim_token=None, claimed_until=None)).rowcount
        return n

    # ------------------------------------------------------------------------------ reading

    def counts(self, kind: str | None = None) -> dict[str, int]:
        """Messages per status (every status present, 0 when none)."""
        q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if kind is not None:
            q = q.where(outbox.c.kind == kind)
        out = dict.fromkeys(STATUSES, 0)
        with self.engine.connect() as conn:
            for status, n in conn.execute(q):
                out[status] = n
        return out

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` are already in the outbox (for a dry run: what would be new)."""
        keys = list(keys)
        out: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                out |= set(conn.execute(select(outbox.c.key).where(outbox.c.key.in_(keys[i:i + 500]))).scalars())
        return out

    def messages(self, status: str | None = None, kind: str | None = None) -> list[dict]:
        """Summary rows (key, kind, recipient, subject, status, attempts, next_attempt_at,
        last_error, created_at, sent_at), oldest first."""
        cols = [outbox.c[c] for c in ("id", "key", "kind", "recipient", "subject", "status", "attempts",
                                      "next_attempt_at", "last_error", "created_at", "sent_at")]
        q = select(*cols).order_by(outbox.c.id)
        if status is not None:
            q = q.where(outbox.c.status == status)
        if kind is not None:
            q = q.where(outbox.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def attempts(self, key: str | None = None) -> list[dict]:
        """Every attempt (key, recipient, subject, at, result, error), in order."""
        q = (select(outbox.c.key, outbox_attempts.c.recipient, outbox_attempts.c.subject, outbox_attempts.c.at,
                    outbox_attempts.c.result, outbox_attempts.c.error)
             .join(outbox, outbox.c.id == outbox_attempts.c.outbox_id).order_by(outbox_attempts.c.id))
        if key is not None:
            q = q.where(outbox.c.key == key)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]
