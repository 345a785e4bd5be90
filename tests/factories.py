"""Small builders for facts/steps DataFrames and `Dossier` records in tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cchc.domain.metrics import FACTS_COLUMNS, normalize_facts
from cchc.domain.records import Dossier, Status, Supplement
from cchc.domain.timeliness import VN_TZ

_counter = iter(range(1, 10**9))


def ts(text: str | None) -> datetime | None:
    """'2026-10-05 08:00' or '2026-10-05' -> naive datetime (Vietnam wall clock); None -> None."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


def vn(text: str) -> datetime:
    """Aware Vietnam datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def fact(**overrides) -> dict:
    """One facts row: an in-person dossier of unit H99.99.04.01, received 05/10/2026 08:00, due
    09/10/2026 17:00, status 4 (processing). Timestamps may be given as text."""
    n = next(_counter)
    row = {
        "code": f"HS{n:06d}",
        "unit_code": "H99.99.04.01",
        "procedure_code": "1.001",
        "procedure_name": "Chứng thực bản sao",
        "field_code": "CT",
        "field_name": "Chứng thực",
        "status": 4,
        "channel": 1,
        "online_level": np.nan,
        "received_at": "2026-10-05 08:00",
        "due_at": "2026-10-09 17:00",
        "effective_due_at": None,
        "finished_at": None,
        "returned_at": None,
        "refused_at": None,
        # the defaults of metrics.BOOL_COLUMNS, restated: a test row says what it holds, not what the code fills in
        "owes_fee": False,
        "paid_online": False,
        "digitized_component": False,
        "reused_component": False,
        "e_result": False,
        "result_paper": True,
        "supplement_count": 0,
        "supplement_pending": False,
        "apology": False,
        "evaluation": np.nan,
    }
    row.update(overrides)
    if "effective_due_at" not in overrides:
        row["effective_due_at"] = row["due_at"]
    for key in ("received_at", "due_at", "effective_due_at", "finished_at", "returned_at", "refused_at"):
        if isinstance(row[key], str):
            row[key] = ts(row[key])
    return row


def facts(*rows: dict) -> pd.DataFrame:
    """A normalized facts frame from `fact()` rows (possibly empty)."""
    frame = pd.DataFrame(list(rows), columns=list(FACTS_COLUMNS))
    for key in ("received_at", "due_at", "effective_due_at", "finished_at", "returned_at", "refused_at"):
        if key in frame.columns:
            frame[key] = pd.to_datetime(frame[key])
    return normalize_facts(frame)


def done(received: str, due: str, finished: str, **kw) -> dict:
    """A dossier finished (status 10) at `finished`."""
    kw.setdefault("status", 10)
    return fact(received_at=received, due_at=due, finished_at=finished, returned_at=finished, **kw)


def steps(*rows: tuple) -> pd.DataFrame:
    """Steps frame from (code, officer, at, step_due) tuples (texts or None)."""
    frame = pd.DataFrame(
        [
            {"code": c, "unit_code": "H99.99.04.01", "officer": o, "at": ts(a), "step_due": ts(d)}
            for c, o, a, d in rows
        ],
        columns=["code", "unit_code", "officer", "at", "step_due"],
    )
    for key in ("at", "step_due"):
        frame[key] = pd.to_datetime(frame[key]).astype("datetime64[us]")
    return frame


def dossier(**kw) -> Dossier:
    """A `Dossier` with aware Vietnam datetimes given as text."""
    for key in ("received_at", "due_at", "finished_at", "returned_at", "refused_at"):
        if isinstance(kw.get(key), str):
            kw[key] = vn(kw[key])
    sups = []
    for s in kw.pop("supplements", ()):
        req, comp = s
        sups.append(Supplement(requested_at=vn(req), completed_at=vn(comp) if comp else None))
    kw.setdefault("source", "provincial")
    kw.setdefault("code", f"D{next(_counter):06d}")
    kw.setdefault("status", Status.PROCESSING)
    return Dossier(supplements=tuple(sups), **kw)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- the directory of a ward (units, officers, leaders) as the reminder rules read it -----------
@dataclass
class UnitRow:
    code: str
    name: str
    head_name: str
    head_email: str | None


@dataclass
class OfficerRow:
    username: str
    name: str
    unit: str
    email: str | None


@dataclass
class LeaderRow:
    name: str
    email: str


# --- a small simulated ward, synced without orchestration, with its configuration file ---------
def synced_ward(tmp: Path, ward, as_of: date, root: Path):
    """Serve `ward` on loopback, write a configuration (config/demo.yaml pointed at it and at a
    store in `tmp`), sync both sources into that store as of `as_of`; returns (cfg, path)."""
    import yaml

    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.sync import make_context, run_sources
    from cchc.simulator.server import running

    with running(ward) as url:
        data = yaml.safe_load((root / "config" / "demo.yaml").read_text(encoding="utf-8"))
        data["sources"]["provincial"].update(base_url=url, start_date="2025-11-01", page_size=250)
        data["sources"]["national"].update(base_url=url)
        data["database_url"] = f"sqlite:///{tmp}/store.sqlite"
        path = tmp / "ward.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        cfg = load_config(path, env={})
        store = Store(cfg.database_url)
        store.migrate()
        _, errors = run_sources(make_context(cfg, store), as_of)
        assert errors == []
        store.dispose()
    return cfg, path
