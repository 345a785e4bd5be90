"""A period's cells for the reports, assembled from the cells of its months kept in the store.

A period splits into the months of its regime (calendar, or the administrative 15th–14th; a custom
range into month pieces). Each whole month's cells — Biểu 06 mode, 766 mode, the officer table, and
the reconciliation with the national copies (`domain.reconcile.reconcile_cells`, current while
neither the month's dossiers nor their national copies changed) — are read from the store when
current, else computed from the rows with the domain rules and kept (every kind at once); pieces of months (the edges of a custom range) are computed and not kept. The months then
compose into the period (`cchc.domain.cells`, property-tested to equal the direct computation).
So a year's report reads twelve months of cells instead of a million rows, and `refresh` — run by
the sync flow after it stores a change — keeps the recent months current.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from cchc.config import Config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.cells import compose_cells, compose_officers
from cchc.domain.periods import Period, period_of
from cchc.domain.reconcile import COPY_COLUMNS, compose_reconciliation, reconcile_cells
from cchc.domain.sources import COPY_SOURCE

KINDS = ("bieu06", "766", "officers")
#: The reconciliation's cells: kept with the others, read by the reports that show it.
RECONCILE = "reconcile"
ALL_KINDS = (*KINDS, RECONCILE)
#: The rules whose code is part of the fingerprint: a change to any of them recomputes the cells.
_RULE_MODULES = ("metrics", "classification", "tables", "cells", "timeliness", "calendar", "periods",
                 "records", "reconcile")
_DOMAIN = Path(__file__).resolve().parent.parent / "domain"


@dataclass(frozen=True)
class Cells:
    period: Period
    bieu06: pd.DataFrame
    c766: pd.DataFrame
    officers: pd.DataFrame
    reconcile: pd.DataFrame | None = None

    def frame(self, kind: str) -> pd.DataFrame:
        return {"bieu06": self.bieu06, "766": self.c766, "officers": self.officers, RECONCILE: self.reconcile}[kind]


def fingerprint(store: Store, cfg: Config) -> str:
    """What the cells depend on besides the dossiers: the rules' code, the settings they read (the
    comparison rule, the working-day calendar, office hours, time zone) and the catalogue's
    paper-result and fee flags."""
    h = hashlib.sha256()
    for name in _RULE_MODULES:
        h.update((_DOMAIN / f"{name}.py").read_bytes())
    settings = {"compare": cfg.reporting.timeliness_compare, "calendar": cfg.calendar.model_dump(mode="json"),
                "office_hours": [str(x) for x in cfg.office_hours], "tz": cfg.timezone,
                "paper": sorted(store.result_paper_by_procedure().items()),
                "fee": sorted(store.fee_by_procedure().items())}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def compute(store: Store, cfg: Config, period: Period, source: str = "provincial") -> Cells:
    """The cells of `period` straight from the rows."""
    return compute_pieces(store, cfg, [period], source)[0]


def compute_pieces(store: Store, cfg: Config, pieces: list[Period], source: str = "provincial") -> list[Cells]:
    """The cells of each piece from the rows, read once for all of them (facts, steps and the
    national copies side by side), then cut to each piece's rows (`metrics.can_matter`: the rows the
    piece's own read would give, so a month's cells do not depend on how they were read) for the
    rules. The reconciliation compares the piece's dossiers in scope with their national copies
    (the copies of all pieces' dossiers: matched by code, the others are not looked at)."""
    cal = cfg.make_calendar()
    compare = cfg.reporting.timeliness_compare
    start, end = min(p.start for p in pieces), max(p.end for p in pieces)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cchc-cells") as pool:
        steps_f = pool.submit(store.load_steps, source, start, end)
        # the copies of the dossiers `indicators.load_rows` reads (a dossier without a reception
        # time is in no scope), only the columns compared
        national_f = pool.submit(store.load_facts, COPY_SOURCE, start, end, scope_source=source,
                                 columns=COPY_COLUMNS, scoped=True)
        facts = store.load_facts(source, start, end)
        steps, national = steps_f.result(), national_f.result()
    copy_of = _copy_positions(facts, national)
    placed = facts["received_at"].notna().to_numpy()
    out = []
    for piece in pieces:
        cut = slice(None) if len(pieces) == 1 else np.asarray(m.can_matter(facts, piece), dtype=bool)
        f = facts if len(pieces) == 1 else facts[cut]
        st = steps if len(pieces) == 1 else steps[m.steps_can_matter(steps, piece)]
        classified = m.classify(f, piece, mode="bieu06", compare=compare, calendar=cal)
        b06 = m.cell_table(classified)
        c766 = m.cell_table(m.classify(f, piece, mode="766", compare=compare, calendar=cal))
        # the copies of the piece's dossiers, and how many of them its own read (`indicators.load_rows`:
        # the dossiers with a reception time) would reach
        pos = copy_of[cut]
        copies = national.iloc[np.sort(pos[pos >= 0])]
        rec = reconcile_cells(classified, copies, piece, compare, reached=int(((pos >= 0) & placed[cut]).sum()))
        out.append(Cells(piece, b06, c766, m.officer_table(st, piece, compare=compare), rec))
    return out


def _copy_positions(facts: pd.DataFrame, national: pd.DataFrame) -> np.ndarray:
    """For each row of `facts`, the position of its code's row in `national` (-1: none; codes are
    unique per source): one hash lookup for all pieces, which then take only their own copies."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(national) or not len(facts):
        return np.full(len(facts), -1, dtype=np.int64)
    pos = pc.index_in(pa.array(facts["code"].astype(str)), value_set=pa.array(national["code"].astype(str)))
    return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _attrs(kind: str, period: Period, cfg: Config) -> dict:
    if kind == "officers":
        return {"period": period, "table": "officers"}
    if kind == RECONCILE:
        return {"period": period, "compare": cfg.reporting.timeliness_compare, "mode": "bieu06",
                "table": "reconcile"}
    return {"period": period, "mode": kind, "compare": cfg.reporting.timeliness_compare,
            "processing_basis": "working", "table": "cells"}


def _keepable(piece: Period) -> bool:
    return piece.kind == "month"


def _stored(store: Store, cfg: Config, pieces: list[Period], source: str, fp: str,
            kinds: tuple[str, ...] = KINDS) -> list[dict[str, pd.DataFrame] | None]:
    """Each piece's frames of `kinds` from the store if it keeps them and they are current, else
    None; the kept pieces read together."""
    keep = [i for i, p in enumerate(pieces) if _keepable(p)]
    out: list[dict[str, pd.DataFrame] | None] = [None] * len(pieces)
    if not keep:
        return out
    also = (COPY_SOURCE,) if RECONCILE in kinds else ()  # the national copies' changes reach back too
    for i, frames in zip(keep, store.cached_cells_many(source, [(pieces[i].start, pieces[i].end) for i in keep],
                                                         fp, kinds, also), strict=True):
        if frames is not None:
            for kind, frame in frames.items():
                frame.attrs = _attrs(kind, pieces[i], cfg)
            out[i] = frames
    return out


def pieces_frames(store: Store, cfg: Config, pieces: list[Period], source: str, fp: str, kinds=KINDS
                  ) -> tuple[list[dict[str, pd.DataFrame]], list[str]]:
    """Each piece's frames of `kinds`: from the store when current, the others computed together
    from one read (every kind, kept when whole months). Returns (frames, slugs of the computed pieces)."""
    found: list[dict[str, pd.DataFrame] | None] = _stored(store, cfg, pieces, source, fp, kinds)
    missing = [i for i, c in enumerate(found) if c is None]
    if missing:
        # before reading: later changes (of the dossiers or of their national copies) make it stale
        change_id = store.cells_change_id(source, (COPY_SOURCE,))
        for i, cells in zip(missing, compute_pieces(store, cfg, [pieces[i] for i in missing], source), strict=True):
            found[i] = {kind: cells.frame(kind) for kind in kinds}
            if _keepable(cells.period):
                store.keep_cells(source, cells.period.start, cells.period.end, fp, change_id,
                                 {kind: cells.frame(kind) for kind in ALL_KINDS})
    return [c for c in found if c is not None], [pieces[i].slug for i in missing]


def pieces_cells(store: Store, cfg: Config, pieces: list[Period], source: str, fp: str
                 ) -> tuple[list[Cells], list[str]]:
    """Each piece's cells (every kind), as `pieces_frames`."""
    found, computed = pieces_frames(store, cfg, pieces, source, fp)
    return [Cells(p, f["bieu06"], f["766"], f["officers"]) for p, f in zip(pieces, found, strict=True)], computed


def period_frames(store: Store, cfg: Config, period: Period, source: str = "provincial", kinds=KINDS
                  ) -> dict[str, pd.DataFrame]:
    """The frames of `kinds` of `period`, composed from its months' (see the module's docstring):
    a caller that needs one kind reads and composes only that one."""
    parts, _ = pieces_frames(store, cfg, period.sub_periods("month"), source, fingerprint(store, cfg), kinds)
    frames = {}
    for kind in kinds:
        if len(parts) == 1:
            f = parts[0][kind].copy(deep=False)
            f.attrs = {**parts[0][kind].attrs, "period": period}
        elif kind == "officers":
            f = compose_officers([p[kind] for p in parts], period)
        elif kind == RECONCILE:
            f = compose_reconciliation([p[kind] for p in parts], period)
        else:
            f = compose_cells([p[kind] for p in parts], period)
        frames[kind] = f
    return frames


def period_cells(store: Store, cfg: Config, period: Period, source: str = "provincial") -> Cells:
    """The cells of `period`, composed from its months' (see the module's docstring)."""
    f = period_frames(store, cfg, period, source)
    return Cells(period, f["bieu06"], f["766"], f["officers"])


def month_frames(store: Store, cfg: Config, months: list[Period], source: str = "provincial",
                 kind: str = "bieu06") -> list[pd.DataFrame]:
    """One kind of cells (not composed) of each of `months`, in order: the kept ones read together,
    only that kind decoded; the others computed together from one read, and kept (`pieces_frames`)."""
    frames, _ = pieces_frames(store, cfg, months, source, fingerprint(store, cfg), (kind,))
    return [f[kind] for f in frames]


def refresh(store: Store, cfg: Config, source: str = "provincial", months: int = 13,
            today: date | None = None) -> dict:
    """Bring the cells of the last `months` months (the current one included) up to date, every
    kind (the reconciliation's too): the sync flow's last step, so that reports read current cells.
    Returns what it did."""
    mode = cfg.reporting.period_mode
    current = period_of(today or cfg.today(), "month", mode)
    pieces = [current]
    while len(pieces) < months:
        pieces.insert(0, pieces[0].previous())
    _, computed = pieces_frames(store, cfg, pieces, source, fingerprint(store, cfg), ALL_KINDS)
    return {"months": len(pieces), "computed": computed, "mode": mode}
