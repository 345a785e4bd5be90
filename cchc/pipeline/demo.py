"""The demo's store: its own (var/demo.sqlite unless told otherwise), never one holding real data.

The demo marks a store it writes with a `sync_state` entry "demo": its parameters (seed, number of
dossiers, as-of date), the last dossier change it made (`dossier_changes` id) and whether its sync
finished. Before writing anything, `check_demo_store` refuses a store that holds dossiers the demo
did not write:

- a store with dossiers and no demo mark (a ward's real store);
- a demo store with dossiers of a source the demo never writes (an imported Excel export);
- a demo store changed after the demo's last finished sync (another sync wrote into it).

So `reset_demo_rows` (new seed or size) deletes only rows the demo wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from cchc.connectors.store import Store, StoreError, safe_url
from cchc.connectors.store.schema import (
    dossier_changes,
    dossiers,
    period_cells,
    processing_steps,
    quarantine,
    sync_runs,
    sync_state,
)
from cchc.domain.text import format_int
from cchc.errors import UserError

DEMO_DATABASE_URL = "sqlite:///var/demo.sqlite"
MARK = "demo"
#: The sources the demo writes (the simulator plays the provincial system and the national portal).
DEMO_SOURCES = ("provincial", "national")


class DemoStoreRefused(UserError, ValueError):
    """The store holds data the demo did not write: nothing was written to it."""


@dataclass(frozen=True)
class DemoStore:
    mark: dict | None  # the demo's mark, None for a new store
    dossiers: int


def _last_change(store: Store, tables: set[str]) -> int:
    if "dossier_changes" not in tables:
        return 0
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.max(dossier_changes.c.id))).scalar() or 0)


def check_demo_store(store: Store) -> DemoStore:
    """What the store holds, read without writing; `DemoStoreRefused` (one line naming the store,
    password masked) when it holds dossiers the demo did not write."""
    where = safe_url(store.url)
    hint = ("chạy demo với một --db mới" if store.url == DEMO_DATABASE_URL else
            f"chạy demo với kho riêng của nó ({DEMO_DATABASE_URL}) hoặc một --db mới")
    try:
        tables = set(inspect(store.engine).get_table_names())
        if not tables:
            return DemoStore(None, 0)
        if "dossiers" not in tables or "sync_state" not in tables:
            raise DemoStoreRefused(f"{where}: không phải kho dữ liệu cchc (có bảng khác) — demo không ghi vào "
                                   f"đây; {hint} (not a cchc store)")
        with store.engine.connect() as conn:
            counts = {s: int(n) for s, n in conn.execute(
                select(dossiers.c.source, func.count()).group_by(dossiers.c.source))}
            mark = conn.execute(select(sync_state.c.cursor).where(sync_state.c.source == MARK)).scalar()
        last = _last_change(store, tables)
    except SQLAlchemyError as e:
        raise StoreError(f"Không đọc được cơ sở dữ liệu {where}: {getattr(e, 'orig', e)}") from None
    total = sum(counts.values())
    if mark is None:
        if total:
            raise DemoStoreRefused(f"{where}: kho có {format_int(total)} hồ sơ không do lệnh demo ghi (không phải "
                                   f"dữ liệu mô phỏng của demo) — demo không ghi vào đây; {hint} "
                                   f"(holds dossiers the demo did not write)")
        return DemoStore(None, 0)
    foreign = {s: n for s, n in counts.items() if s not in DEMO_SOURCES}
    if foreign:
        what = ", ".join(f"{format_int(n)} hồ sơ nguồn {s}" for s, n in sorted(foreign.items()))
        raise DemoStoreRefused(f"{where}: kho mô phỏng có thêm {what} không do demo ghi — demo không ghi vào "
                               f"đây; {hint} (holds dossiers the demo did not write)")
    if mark.get("state") == "done" and last > int(mark.get("change_id") or 0):
        raise DemoStoreRefused(f"{where}: kho mô phỏng đã được lệnh khác ghi thêm hồ sơ sau lần demo trước — "
                               f"demo không ghi vào đây; {hint} (changed by another sync)")
    return DemoStore(mark, total)


def mark_demo_store(store: Store, params: dict, state: str) -> None:
    """Write the demo's mark: its parameters, the last dossier change so far, `state` "syncing"/"done"."""
    tables = set(inspect(store.engine).get_table_names())
    store.save_cursor(MARK, {**params, "state": state, "change_id": _last_change(store, tables)})


def reset_demo_rows(store: Store) -> None:
    """Delete what the demo wrote (its sources' dossiers, steps, cursors, runs, quarantine, changes and
    cells), in one transaction. Only after `check_demo_store` said every dossier is the demo's."""
    with store.engine.begin() as conn:
        for table in (processing_steps, dossiers, quarantine, sync_runs, dossier_changes, period_cells):
            conn.execute(delete(table).where(table.c.source.in_(DEMO_SOURCES)))
        conn.execute(delete(sync_state).where(sync_state.c.source.in_(DEMO_SOURCES)))


# ----------------------------------------------------------------- the rest of the demo's day

#: The demo's public random sources. A ward gives the results of a stated public draw held AFTER its
#: pool was published (e.g. the lottery's special prize of a named day); these stand in for them.
DEMO_DRAW_SOURCES = ("123456", "7 19 28 33 41")

#: The finding the demo records after the first visit (simulated; a ward records its own).
DEMO_FINDING = ("Một số hồ sơ trễ hạn chưa có phiếu xin lỗi; sổ theo dõi hồ sơ chưa cập nhật đầy đủ "
                "(kết luận mô phỏng)")
DEMO_REMEDIATION = "Lập phiếu xin lỗi cho các hồ sơ trễ hạn; cập nhật sổ theo dõi hồ sơ"


def reminder_day(cfg, as_of: date) -> date:
    """The working day the demo runs the reminders for: the data's date, or the next working day."""
    return cfg.make_calendar().add_working_days(as_of, 0)


def record_demo_finding(store: Store, cfg, plan: dict, today: date) -> tuple[int, bool] | None:
    """The finding of the first visit done by `today` (remediation due in 2 working days, so that
    the reminders have something to say): recorded once — a second run finds it and adds nothing.
    Returns (finding id, whether it was added now); None when no visit is done yet."""
    from cchc.connectors.store.inspections import Inspections

    done = sorted((v["visit_date"], v["unit"], w["selection_id"]) for w in plan["waves"] for v in w["visits"]
                  if date.fromisoformat(v["visit_date"]) <= today)
    if not done:
        return None
    _, unit, selection_id = done[0]
    ins = Inspections(store)
    for f in ins.findings(unit_code=unit):
        if f.finding == DEMO_FINDING:
            return f.id, False
    deadline = cfg.make_calendar().add_working_days(today, 2)
    responsible = cfg.unit_by_code(unit)
    fid = ins.add_finding(unit, DEMO_FINDING, DEMO_REMEDIATION, responsible.name if responsible else unit, deadline,
                          selection_id=selection_id)
    return fid, True
