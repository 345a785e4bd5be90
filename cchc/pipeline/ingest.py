"""Turn pages of raw records into stored dossiers: parse with domain rules, quarantine the bad ones,
upsert the page with its cursor. Plain functions (no Prefect) so the flow, the CLI and the benchmark
share one path; `cchc.tasks.sync` wraps them as Prefect tasks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from cchc.connectors.store import QuarantineItem, Store, UpsertResult
from cchc.domain.records import Dossier, RecordError
from cchc.domain.timeliness import effective_due
from cchc.domain.wire import page_dates, parse_dossier, parse_wire_datetime, quarantine_payload, scrub_text

UNKNOWN_UNIT = "(không rõ đơn vị)"
COUNT_KEYS = ("fetched", "inserted", "updated", "unchanged", "quarantined")


@dataclass
class SyncCounts:
    """Counts per (source, unit): what the sync artifact and the CLI summary show."""

    by_key: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def merge(self, other: SyncCounts) -> None:
        for k, c in other.by_key.items():
            self.by_key[k].update(c)
        self.errors.extend(other.errors)

    def total(self, source: str | None = None) -> Counter:
        out: Counter = Counter({k: 0 for k in COUNT_KEYS})
        for (src, _unit), c in self.by_key.items():
            if source is None or src == source:
                out.update(c)
        return out

    def rows(self) -> list[dict]:
        return [
            {"source": src, "unit": unit, **{k: int(c.get(k, 0)) for k in COUNT_KEYS}}
            for (src, unit), c in sorted(self.by_key.items())
        ]

    def to_dict(self) -> dict:
        return {"rows": self.rows(), "errors": list(self.errors)}

    @classmethod
    def from_dict(cls, data: dict) -> SyncCounts:
        out = cls()
        for r in data.get("rows", []):
            out.by_key[(r["source"], r["unit"])].update({k: r[k] for k in COUNT_KEYS})
        out.errors.extend(data.get("errors", []))
        return out


def parse_records(raws: list, source: str, salt: bytes | None,
                  window: tuple[date, date | None] | None = None) -> tuple[list[Dossier], list[QuarantineItem]]:
    """Parse each raw record; a record that fails goes to quarantine with the field named, a scrubbed
    reason and only its allow-listed fields (wire.WIRE_ALLOW_LIST), never the raw record.

    `window`: the received dates the page was asked for. A quarantined record keeps its own
    received date when it can be read (else the window's) so a later sync asks for it again."""
    good: list[Dossier] = []
    bad: list[QuarantineItem] = []
    dates = page_dates(raws)  # the page's distinct times, read together
    for raw in raws:
        try:
            good.append(parse_dossier(raw, source, salt, dates))
        except RecordError as e:
            key = e.code if e.code else (raw.get("MaHoSo") if isinstance(raw, dict) else None)
            item = QuarantineItem(source, key and str(key), e.field, scrub_text(e.reason), quarantine_payload(raw))
            if window is not None:
                own = _received_day(raw)
                item.retry_from, item.retry_to = (own, own) if own else window
            bad.append(item)
    return good, bad


def _received_day(raw) -> date | None:
    if not isinstance(raw, dict):
        return None
    try:
        at = parse_wire_datetime(raw.get("NgayTiepNhan"), "NgayTiepNhan")
    except RecordError:
        return None
    return at.date() if at is not None else None


def store_page(
    store: Store,
    source: str,
    raws: list,
    salt: bytes | None,
    calendar,
    cursor: dict | None,
    cursor_key: str | None = None,
    run_id: str | None = None,
    extra_quarantine: list[QuarantineItem] | None = None,
    unit_of: Callable[[str], str] | None = None,
    window: tuple[date, date | None] | None = None,
) -> tuple[UpsertResult, SyncCounts]:
    """Parse and upsert one page together with its cursor (one transaction)."""
    good, bad = parse_records(raws, source, salt, window)
    if extra_quarantine:
        bad.extend(extra_quarantine)
    return store_dossiers(store, source, good, bad, calendar, cursor, cursor_key, run_id, fetched=len(raws),
                          unit_of=unit_of)


def store_dossiers(
    store: Store,
    source: str,
    good: list[Dossier],
    bad: list[QuarantineItem],
    calendar,
    cursor: dict | None,
    cursor_key: str | None = None,
    run_id: str | None = None,
    fetched: int | None = None,
    unit_of: Callable[[str], str] | None = None,
) -> tuple[UpsertResult, SyncCounts]:
    """Upsert parsed dossiers (their unit column first resolved by `unit_of`, `domain.units`: a
    unit's code or name becomes its national id) with the quarantined records and the cursor."""
    if unit_of is not None:
        good = [d if (u := unit_of(d.unit_code)) == d.unit_code else replace(d, unit_code=u) for d in good]
    result = store.upsert_page(
        source, good, bad, cursor=cursor, cursor_key=cursor_key,
        effective_due=lambda d: effective_due(d, calendar), run_id=run_id,
    )
    counts = SyncCounts()
    seen: set[str] = set()
    for d in good:
        c = counts.by_key[(source, d.unit_code or UNKNOWN_UNIT)]
        c["fetched"] += 1
        if d.code in result.refused_codes:  # the store could not hold it: quarantined, field named
            if d.code not in seen:
                c["quarantined"] += 1
            seen.add(d.code)
            continue
        if d.code in seen:  # repeated within the page: fetched twice, stored once
            c["unchanged"] += 1
            continue
        seen.add(d.code)
        if d.code in result.inserted_codes:
            c["inserted"] += 1
        elif d.code in result.updated_codes:
            c["updated"] += 1
        else:
            c["unchanged"] += 1
    for q in bad:
        unit = q.raw.get("DonViXuLy") if isinstance(q.raw, dict) else None
        c = counts.by_key[(source, str(unit) if unit else UNKNOWN_UNIT)]
        c["quarantined"] += 1
        c["fetched"] += 0 if fetched is None else 1
    return result, counts
