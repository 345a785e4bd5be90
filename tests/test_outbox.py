"""The outbox on SQLite and PostgreSQL: enqueue once per key, claims that never overlap, backoff,
give-up, every attempt recorded."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import inspect

from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox, OutboxMessage, scrub_error

T0 = datetime(2026, 2, 13, 7, 30)


def _outbox(db_url, **kw) -> Outbox:
    s = Store(db_url)
    s.migrate()
    return Outbox(s.engine, **kw)


def _msg(i: int, kind: str = "nhac-viec") -> OutboxMessage:
    return OutboxMessage(key=f"{kind}|officer:u{i}|2026-02-13", kind=kind, recipient=f"u{i}@hoaan.example.vn",
                         subject=f"Nhắc việc ngày 13/02/2026 — {i} việc", body_text=f"Xin chào {i}",
                         body_html=f"<p>Xin chào {i}</p>", recipient_name=f"Cán bộ {i}")


def test_migration_creates_the_outbox_tables(db_url):
    ob = _outbox(db_url)
    insp = inspect(ob.engine)
    assert {"outbox", "outbox_attempts"} <= set(insp.get_table_names())
    uniques = [u["column_names"] for u in insp.get_unique_constraints("outbox")]
    assert ["key"] in uniques


def test_enqueue_is_insert_if_absent(db_url):
    ob = _outbox(db_url)
    r1 = ob.enqueue([_msg(1), _msg(2)], T0)
    assert (r1.inserted, r1.existing) == (2, 0)
    changed = OutboxMessage(**{**_msg(1).__dict__, "subject": "khác"})
    r2 = ob.enqueue([changed, _msg(3)], T0 + timedelta(hours=1))
    assert (r2.inserted, r2.existing, r2.inserted_keys) == (1, 1, [_msg(3).key])
    assert ob.counts() == {"queued": 3, "sending": 0, "sent": 0, "failed": 0}
    first = next(m for m in ob.messages() if m["key"] == _msg(1).key)
    assert first["subject"] == _msg(1).subject  # the first copy stays
    assert ob.existing_keys([_msg(1).key, "nope"]) == {_msg(1).key}


def test_concurrent_enqueue_inserts_each_key_once(db_url):
    ob = _outbox(db_url)
    msgs = [_msg(i) for i in range(40)]
    results, errors = [], []
    barrier = threading.Barrier(4)

    def run():
        try:
            barrier.wait()
            results.append(ob.enqueue(msgs, T0))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.inserted for r in results) == 40
    assert sum(r.existing for r in results) == 3 * 40
    assert ob.counts()["queued"] == 40


def test_claim_mark_sent_and_attempts(db_url):
    ob = _outbox(db_url)
    ob.enqueue([_msg(i) for i in range(5)], T0)
    batch = ob.claim(T0, limit=3)
    assert [m.key for m in batch] == [_msg(i).key for i in range(3)]
    assert ob.claim(T0, limit=3) and ob.counts()["sending"] == 5  # the other two, nothing twice
    assert ob.claim(T0, limit=10) == []
    assert ob.mark_sent(batch[0], T0)
    assert not ob.mark_sent(batch[0], T0)  # no longer claimed: nothing changes
    c = ob.counts()
    assert (c["sent"], c["sending"]) == (1, 4)
    [att] = [a for a in ob.attempts(batch[0].key) if a["result"] == "sent"][:1]
    assert att["recipient"] == "u0@hoaan.example.vn" and att["subject"] == _msg(0).subject and att["at"] == T0


def test_failure_backs_off_then_gives_up(db_url):
    ob = _outbox(db_url, max_attempts=3, backoff=timedelta(minutes=10))
    ob.enqueue([_msg(1)], T0)
    [m] = ob.claim(T0)
    err = "450 mailbox busy for u1@hoaan.example.vn, login postgresql://u:secretpw@db/x"
    assert ob.mark_failed(m, T0, err) == "queued"
    row = ob.messages()[0]
    assert row["attempts"] == 1 and row["next_attempt_at"] == T0 + timedelta(minutes=10)
    assert "secretpw" not in row["last_error"] and "u1@hoaan.example.vn" not in row["last_error"]
    assert ob.claim(T0 + timedelta(minutes=9)) == []  # not yet due
    [m] = ob.claim(T0 + timedelta(minutes=10))
    assert m.attempts == 1
    assert ob.mark_failed(m, T0 + timedelta(minutes=10), "timeout") == "queued"
    assert ob.messages()[0]["next_attempt_at"] == T0 + timedelta(minutes=30)  # 10 then 20: doubling
    [m] = ob.claim(T0 + timedelta(hours=1))
    assert ob.mark_failed(m, T0 + timedelta(hours=1), "550 refused", result="refused") == "failed"
    assert ob.claim(T0 + timedelta(days=5)) == []  # given up
    assert ob.counts()["failed"] == 1
    assert [a["result"] for a in ob.attempts()] == ["failed", "failed", "refused"]


def test_release_and_expired_claims(db_url):
    ob = _outbox(db_url, lease=timedelta(minutes=5))
    ob.enqueue([_msg(1), _msg(2)], T0)
    a = ob.claim(T0, limit=1)
    assert ob.release(a) == 1 and ob.counts()["queued"] == 2
    [dead] = ob.claim(T0, limit=1)  # a sender that dies holding its claim
    assert [m.key for m in ob.claim(T0 + timedelta(minutes=4))] == [_msg(2).key]
    [again] = ob.claim(T0 + timedelta(minutes=6))  # lease over: claimable again
    assert again.key == dead.key and again.claim_token != dead.claim_token
    assert not ob.mark_sent(dead, T0 + timedelta(minutes=7))  # the dead claim cannot mark it
    assert ob.mark_sent(again, T0 + timedelta(minutes=7))


def test_two_claimers_at_once_never_share_a_message(db_url):
    ob = _outbox(db_url)
    ob.enqueue([_msg(i) for i in range(60)], T0)
    got: dict[int, list[str]] = {0: [], 1: [], 2: []}
    barrier = threading.Barrier(3)

    def run(n):
        barrier.wait()
        while batch := ob.claim(T0, limit=7):
            got[n].extend(m.key for m in batch)
            for m in batch:
                ob.mark_sent(m, T0)

    threads = [threading.Thread(target=run, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [k for ks in got.values() for k in ks]
    assert sorted(keys) == sorted(_msg(i).key for i in range(60))  # each exactly once
    assert ob.counts()["sent"] == 60
    assert len(ob.attempts()) == 60


def test_scrub_error_is_one_line():
    assert scrub_error("a\nb  c") == "a b c"
    assert "0912345678" not in scrub_error("call 0912345678")
