"""Cells of sub-periods kept in the store (table `period_cells`) and whether they are still current.

An entry is current when its fingerprint (rules' code, settings, catalogue) is the caller's and no
dossier change committed after it (table `dossier_changes`, written by `Store.upsert_page` in the
page's own transaction) reaches back into its sub-period: a change whose earliest reception or step
time is after the sub-period's end cannot alter it. A kind that also depends on other sources' rows
(the reconciliation's cells: the national copies) is read with those sources (`also`): their
changes reach back too (a national page's change records the reception times of the dossiers its
copies copy, `Store.upsert_page`). Frames travel as Arrow IPC streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.engine import Engine

from cchc.connectors.store.schema import dossier_changes, period_cells
from cchc.domain.timeliness import VN_TZ


def encode(frame: pd.DataFrame) -> bytes:
    frame = frame.copy(deep=False)
    frame.attrs = {}  # rebuilt by the reader from the key; a Period is not JSON
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode(payload: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(pa.py_buffer(payload)).read_all().to_pandas()


def last_change_id(engine: Engine, source: str, also: Sequence[str] = ()) -> int:
    """The last change recorded for `source` (and the sources `also`): ids grow across sources, so
    one id marks what a read that follows has seen of all of them."""
    with engine.connect() as conn:
        value = conn.execute(select(func.max(dossier_changes.c.id)).where(
            dossier_changes.c.source.in_([source, *also]))).scalar()
    return int(value or 0)


def get(engine: Engine, source: str, start: date, end: date, fingerprint: str,
        kinds: Sequence[str], also: Sequence[str] = ()) -> dict[str, pd.DataFrame] | None:
    """The stored frames of every kind of (source, [start, end]) if all are there and current, else None."""
    return get_many(engine, source, [(start, end)], fingerprint, kinds, also)[0]


def get_many(engine: Engine, source: str, ranges: Sequence[tuple[date, date]], fingerprint: str,
             kinds: Sequence[str], also: Sequence[str] = ()) -> list[dict[str, pd.DataFrame] | None]:
    """`get` for each (start, end) of `ranges`, in order, in two queries whatever their number: the
    entries, then whether a later change (of `source` or of the sources `also`) reaches back into each."""
    c = period_cells.c
    with engine.connect() as conn:
        rows = {(r.period_start, r.period_end, r.kind): r for r in conn.execute(
            select(c.kind, c.period_start, c.period_end, c.fingerprint, c.change_id, c.payload).where(
                c.source == source, c.kind.in_(list(kinds)), c.period_start.in_(sorted({s for s, _ in ranges}))))}
        since: dict[int, int] = {}  # range -> the oldest change its entries include
        for i, (start, end) in enumerate(ranges):
            got = [rows.get((start, end, k)) for k in kinds]
            if all(r is not None and r.fingerprint == fingerprint for r in got):
                since[i] = min(r.change_id for r in got)
        stale = _reaching_back(conn, [source, *also], {i: (cid, ranges[i][1]) for i, cid in since.items()})
    return [{k: decode(rows[(start, end, k)].payload) for k in kinds} if i in since and i not in stale else None
            for i, (start, end) in enumerate(ranges)]


def _reaching_back(conn, sources: Sequence[str], entries: dict[int, tuple[int, date]]) -> set[int]:
    """The keys of `entries` (change id, end of the sub-period) that a change committed after the
    id reaches back into (its earliest time before the end's next day, or not placed), in one query."""
    if not entries:
        return set()
    d = dossier_changes.c
    counts = [func.sum(case((and_(d.id > cid, or_(d.unplaced, d.first_received < _next_day(end))), 1), else_=0))
              for cid, end in entries.values()]
    row = conn.execute(select(*counts).where(d.source.in_(list(sources)), d.id > min(cid for cid, _ in entries.values()))).one()
    return {key for key, n in zip(entries, row, strict=True) if n}


def _next_day(end: date) -> datetime:
    return datetime.combine(end + timedelta(days=1), datetime.min.time())


def put(engine: Engine, source: str, start: date, end: date, fingerprint: str, change_id: int,
        frames: dict[str, pd.DataFrame]) -> None:
    """Store (replace) the frames by kind of (source, [start, end]) computed from data up to `change_id`."""
    c = period_cells.c
    now = datetime.now(VN_TZ).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        conn.execute(delete(period_cells).where(and_(
            c.source == source, c.kind.in_(list(frames)), c.period_start == start, c.period_end == end)))
        conn.execute(period_cells.insert(), [{
            "source": source, "kind": kind, "period_start": start, "period_end": end,
            "fingerprint": fingerprint, "change_id": change_id, "computed_at": now,
            "payload": encode(frame)} for kind, frame in frames.items()])


def entries(engine: Engine, source: str) -> list[dict]:
    """What is stored (no payloads): for `cchc` status output and tests."""
    c = period_cells.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.kind, c.period_start, c.period_end, c.fingerprint, c.change_id,
                                   c.computed_at).where(c.source == source)
                            .order_by(c.period_start, c.kind)).all()
    return [dict(r._mapping) for r in rows]
