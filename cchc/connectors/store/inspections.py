"""The inspection tables of the store (issue 11): verifiable selections, visits, complaints, spot
checks, findings; and the read of the dossiers a sample is drawn from.

    ins = Inspections(store)                  # store: a migrated cchc.connectors.store.Store
    saved = ins.save_plan(plan, year=2026)    # plan: cchc.domain.inspection_plan.InspectionPlan
    ins.verify_selection(saved.id)            # Verification(ok, reason) — recomputed from the DB
    verify(ins.load_record(saved.wave_ids[0]))  # the same through cchc.domain.draw.verify

Selections. A row holds one draw (`DrawRecord`: pool, SHA-256, sources, key, method, tickets,
count, result) or none (every candidate was needed), and `reasons`: one object per chosen item,
`{"item": code, "reasons": [...], "draw_order": k | null, ...}`. A row without a parent may group
children: a plan (kind "periodic", wave null) groups its waves; a sample (kind "sample", unit and
period) groups its draws (the high-risk cap, each stratum) and lists every sampled dossier.
`verify_selection` recomputes every draw of the row and of its children and checks that the
items said to be drawn are the pool's entries at the drawn positions.

Complaints keep no complainant identity: unit, procedure, dossier code, date, category, summary
(the summary is scrubbed of e-mail addresses and phone- or ID-shaped numbers); an import ignores any
other column (names, phones, addresses) without reading it. Findings are "open" or "done"; an open
finding past its deadline reads "overdue" (`finding_status`).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from cchc.connectors.excel_import import RowError, parse_cell_datetime
from cchc.connectors.store.schema import (
    complaints,
    findings,
    inspection_selections,
    inspection_visits,
    spot_checks,
)
from cchc.domain.draw import DrawRecord, Verification, matches_published, verify
from cchc.domain.inspection_plan import InspectionPlan, WavePlan
from cchc.domain.inspection_risk import Complaint, SpotCheckResult, SpotTrigger
from cchc.domain.metrics import classify, unit_matches
from cchc.domain.periods import Period
from cchc.domain.sampling import KIND_HIGH_RISK, KIND_RANDOM, SamplePlan
from cchc.domain.text import fold
from cchc.domain.wire import scrub_text
from cchc.errors import UserError

VN = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ("periodic", "spot", "sample")
FINDING_STATUSES = ("open", "done")  # stored; "overdue" is derived
STATUS_LABELS_VI = {"open": "đang khắc phục", "done": "đã khắc phục", "overdue": "quá hạn khắc phục"}


class InspectionError(UserError, ValueError):
    """Something a user asked that the inspection records cannot do (one Vietnamese line)."""


def _now() -> datetime:
    return datetime.now(VN).replace(tzinfo=None, microsecond=0)


def _date(v) -> date | None:
    if v is None or isinstance(v, date) and not isinstance(v, datetime):
        return v
    if isinstance(v, datetime):
        return v.date()
    return date.fromisoformat(str(v)[:10])


def finding_status(stored: str, deadline: date | None, today: date) -> str:
    """"done"; "overdue" when open and the deadline has passed (the deadline day itself is in time);
    else "open"."""
    if stored == "done":
        return "done"
    return "overdue" if deadline is not None and deadline < today else "open"


# ------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class StoredSelection:
    id: int
    kind: str
    parent_id: int | None
    year: int | None
    wave: int | None
    unit_code: str | None
    period_start: date | None
    period_end: date | None
    label: str
    created_at: datetime
    record: DrawRecord | None  # None: nothing was drawn (a group, or every candidate needed)
    reasons: list[dict]
    notes: list[str]
    children: tuple[int, ...] = ()


@dataclass(frozen=True)
class SavedPlan:
    id: int  # the plan's selection (the group)
    wave_ids: tuple[int, ...]  # one selection per wave, in wave order


@dataclass(frozen=True)
class StoredVisit:
    selection_id: int
    seq: int
    unit_code: str
    visit_date: date
    notice_date: date
    report_due: date
    forced: bool
    draw_order: int | None


@dataclass(frozen=True)
class StoredComplaint:
    id: int
    unit_code: str
    received_on: date
    category: str
    summary: str
    procedure_code: str | None
    dossier_code: str | None

    def to_domain(self) -> Complaint:
        return Complaint(self.unit_code, self.received_on, self.category, self.summary, self.procedure_code,
                         self.dossier_code)


@dataclass(frozen=True)
class StoredSpotCheck:
    id: int
    unit_code: str
    trigger_kind: str
    reason: str
    fired_on: date
    selection_id: int | None


@dataclass(frozen=True)
class Finding:
    id: int
    unit_code: str
    finding: str
    remediation: str
    responsible_unit: str
    deadline: date | None
    status: str  # open / done / overdue (derived from the deadline and `today`)
    stored_status: str  # open / done
    selection_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def status_vi(self) -> str:
        return STATUS_LABELS_VI[self.status]


@dataclass
class TableImport:
    """The result of importing a CSV or Excel file: rows added, row errors (row, column, reason)."""

    added: list[int] = field(default_factory=list)  # ids of the rows stored
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


# ------------------------------------------------------------------------------ the accessor


class Inspections:
    """The inspection records of one store (a `Store`, migrated)."""

    def __init__(self, store):
        self.store = store
        self.engine = store.engine

    # --- selections ------------------------------------------------------------------------
    def _insert_selection(self, conn: Connection, kind: str, record: DrawRecord | None, reasons: list[dict],
                          *, pool: Sequence[str] | None = None, parent_id: int | None = None,
                          year: int | None = None, wave: int | None = None, unit_code: str | None = None,
                          period: Period | None = None, label: str = "", notes: Sequence[str] = (),
                          created_at: datetime | None = None, fingerprint: str | None = None) -> int:
        if kind not in KINDS:
            raise InspectionError(f"loại lựa chọn {kind!r} không hợp lệ; hợp lệ: {', '.join(KINDS)}")
        row = {
            "parent_id": parent_id, "kind": kind, "year": year, "wave": wave, "unit_code": unit_code,
            "period_start": period.start if period else None, "period_end": period.end if period else None,
            "label": label, "created_at": created_at or _now(), "reasons": reasons, "notes": list(notes),
            "pool": None, "pool_sha256": None, "sources": None, "draw_key": None, "method_version": None,
            "tickets": None, "draw_count": None, "result": None, "fingerprint": fingerprint,
        }
        if record is not None:
            row.update(pool=list(record.pool), pool_sha256=record.pool_sha256, sources=list(record.sources),
                       draw_key=record.key, method_version=record.method_version,
                       tickets=None if record.tickets is None else list(record.tickets),
                       draw_count=record.count, result=list(record.selected))
        elif pool is not None:
            row["pool"] = list(pool)
        return int(conn.execute(insert(inspection_selections).values(**row)).inserted_primary_key[0])

    def save_selection(self, kind: str, record: DrawRecord | None, reasons: Sequence[Mapping] = (), *,
                       pool: Sequence[str] | None = None, parent_id: int | None = None, year: int | None = None,
                       wave: int | None = None, unit_code: str | None = None, period: Period | None = None,
                       label: str = "", notes: Sequence[str] = ()) -> int:
        """Store one selection (a draw, or none with the `pool` it chose from); returns its id."""
        with self.engine.begin() as conn:
            return self._insert_selection(conn, kind, record, [dict(r) for r in reasons], pool=pool,
                                          parent_id=parent_id, year=year, wave=wave, unit_code=unit_code,
                                          period=period, label=label, notes=notes)

    def save_plan(self, plan: InspectionPlan, year: int, pool: Sequence[str] = ()) -> SavedPlan:
        """Store a plan: a group (kind "periodic", the self-inspection deadlines in its notes), one
        selection per wave (its draw, reasons per unit) and the wave's visits. One transaction.
        A plan identical to one stored (same figures, sources, draws, dates) is not stored again:
        the stored one is returned, so planning twice with the same inputs gives the same ids."""
        notes = [f"hạn báo cáo tự kiểm tra: {d.due:%d/%m/%Y}" + (
            f" (ngày {d.configured:%d/%m/%Y} là ngày nghỉ)" if d.due != d.configured else "")
            for d in plan.self_report_deadlines]
        fp = _fingerprint("plan", year, list(pool), notes, [_wave_payload(w) for w in plan.waves])
        with self.engine.begin() as conn:
            group = _stored(conn, "periodic", fp, None)
            if group is not None:
                return SavedPlan(group, _children(conn, group))
            group = self._insert_selection(conn, "periodic", None, [], pool=list(pool) or None, year=year,
                                           label=f"kế hoạch kiểm tra năm {year}", notes=notes, fingerprint=fp)
            ids = [self._save_wave(conn, w, year, group) for w in plan.waves]
        return SavedPlan(group, tuple(ids))

    def save_wave(self, wave: WavePlan, year: int) -> int:
        """Store one wave planned alone (no group); returns its selection id (the stored one when an
        identical wave was stored before)."""
        with self.engine.begin() as conn:
            found = _stored(conn, "periodic", _fingerprint("wave", year, _wave_payload(wave)), None)
            return found if found is not None else self._save_wave(conn, wave, year, None)

    def _save_wave(self, conn: Connection, w: WavePlan, year: int, parent: int | None) -> int:
        payload = _wave_payload(w)
        sid = self._insert_selection(conn, "periodic", w.draw, payload["reasons"], pool=payload["pool"],
                                     parent_id=parent, year=year, wave=w.wave.number, label=w.wave.label(),
                                     notes=list(w.notes), fingerprint=_fingerprint("wave", year, payload))
        if w.visits:
            conn.execute(insert(inspection_visits), [
                {"selection_id": sid, "seq": i, "unit_code": v.unit_code, "visit_date": v.visit_date,
                 "notice_date": v.notice_date, "report_due": v.report_due, "forced": v.forced,
                 "draw_order": v.draw_order} for i, v in enumerate(w.visits)])
        return sid

    def save_sample(self, sample: SamplePlan, unit_code: str, period: Period, *, year: int | None = None,
                    parent_id: int | None = None) -> int:
        """Store a unit's dossier sample: a group row listing every sampled dossier (code, procedure,
        why chosen) and one child per draw (the high-risk cap, each drawn stratum). A sample identical
        to one stored under the same parent is not stored again (its id is returned)."""
        rows = [{"item": r.code, "procedure_code": r.procedure_code, "reason": r.reason, "kind": r.kind,
                 "position": r.position, "draw_order": r.draw_order} for r in sample.rows]
        notes = [f"cỡ lô {sample.lot_size}", f"cỡ mẫu {sample.sample_size}",
                 f"hồ sơ rủi ro cao {sample.high_risk_taken}/{sample.high_risk_count}"]
        fp = _fingerprint("sample", year, unit_code, period.start, period.end, rows, notes,
                          [(label, _record_payload(record)) for label, record in sample.draws])
        with self.engine.begin() as conn:
            found = _stored(conn, "sample", fp, parent_id)
            if found is not None:
                return found
            group = self._insert_selection(conn, "sample", None, rows, parent_id=parent_id, year=year,
                                           unit_code=unit_code, period=period,
                                           label=f"bóc mẫu hồ sơ {unit_code}, {period.label}", notes=notes,
                                           fingerprint=fp)
            capped = sample.high_risk_cap is not None and sample.high_risk_count > sample.high_risk_cap
            for i, (label, record) in enumerate(sample.draws):
                kind = KIND_HIGH_RISK if capped and i == 0 else KIND_RANDOM
                pool = set(record.pool)
                mine = [r for r in rows if r["kind"] == kind and r["draw_order"] is not None and r["item"] in pool]
                self._insert_selection(conn, "sample", record, mine, parent_id=group, year=year,
                                       unit_code=unit_code, period=period, label=label)
        return group

    def save_spot_check(self, result: SpotCheckResult, year: int | None = None) -> int:
        """Store a spot-check run: its random pick (kind "spot", the draw if any, every trigger as
        a reason) and one `spot_checks` row per trigger. Returns the selection id."""
        reasons = [{"item": t.unit_code, "kind": t.kind, "reasons": [t.reason], "fired_on": t.fired_on.isoformat(),
                    "draw_order": _random_order(result, t)} for t in result.triggers]
        with self.engine.begin() as conn:
            sid = self._insert_selection(conn, "spot", result.draw, reasons, year=year, label="kiểm tra đột xuất")
            if result.triggers:
                now = _now()
                conn.execute(insert(spot_checks), [
                    {"unit_code": t.unit_code, "trigger_kind": t.kind, "reason": scrub_text(t.reason),
                     "fired_on": t.fired_on, "selection_id": sid, "created_at": now} for t in result.triggers])
        return sid

    def load_selection(self, selection_id: int) -> StoredSelection:
        with self.engine.connect() as conn:
            row = conn.execute(select(inspection_selections).where(
                inspection_selections.c.id == selection_id)).mappings().first()
            if row is None:
                raise InspectionError(f"không có lựa chọn số {selection_id} trong kho")
            children = _children(conn, selection_id)
        return _selection(row, children)

    def load_record(self, selection_id: int) -> DrawRecord:
        """The stored draw of a selection, for `cchc.domain.draw.verify`."""
        sel = self.load_selection(selection_id)
        if sel.record is None:
            raise InspectionError(f"lựa chọn số {selection_id} không có lượt rút ngẫu nhiên nào")
        return sel.record

    def selections(self, kind: str | None = None, year: int | None = None, top_level: bool = True
                   ) -> list[StoredSelection]:
        q = select(inspection_selections).order_by(inspection_selections.c.id)
        if kind:
            q = q.where(inspection_selections.c.kind == kind)
        if year is not None:
            q = q.where(inspection_selections.c.year == year)
        if top_level:
            q = q.where(inspection_selections.c.parent_id.is_(None))
        with self.engine.connect() as conn:
            return [_selection(r, ()) for r in conn.execute(q).mappings()]

    def verify_selection(self, selection_id: int, sha256: str | None = None, key: str | None = None
                         ) -> Verification:
        """Recompute the selection's draw and its children's from the stored inputs (one line); with
        `sha256` (its first digits, `draw.published_sha256`) and/or `key` as a wave's notice published
        them, also check that the selection's one draw is the published one (`draw.matches_published`).
        The values of a notice are one draw's: a selection of several (a plan's waves) is an
        InspectionError naming the waves' selection ids."""
        sel = self.load_selection(selection_id)
        parts = [sel] + [self.load_selection(c) for c in sel.children]
        check = _recompute(selection_id, parts)
        if not check.ok or (sha256 is None and key is None):
            return check
        drawn = [part for part in parts if part.record is not None]
        if not drawn:
            return Verification(False, f"lựa chọn số {selection_id}: không có lượt rút nào để so với thông báo")
        if len(drawn) > 1:
            raise InspectionError(f"lựa chọn số {selection_id} gồm {len(drawn)} lượt rút; --sha256/--key là của một "
                                  "lượt: nhập mã lựa chọn in trên thông báo của đợt ("
                                  + ", ".join(str(part.id) for part in drawn) + ")")
        published = matches_published(drawn[0].record, sha256, key)
        return Verification(published.ok, f"{check.reason}; {published.reason}")

    def visits(self, selection_id: int) -> list[StoredVisit]:
        """The visits of a wave's selection, or of every wave of a plan's group, in order."""
        ids = [selection_id, *self.load_selection(selection_id).children]
        q = (select(inspection_visits).where(inspection_visits.c.selection_id.in_(ids))
             .order_by(inspection_visits.c.selection_id, inspection_visits.c.seq))
        with self.engine.connect() as conn:
            return [StoredVisit(r.selection_id, r.seq, r.unit_code, _date(r.visit_date), _date(r.notice_date),
                                _date(r.report_due), bool(r.forced), r.draw_order) for r in conn.execute(q)]

    def inspected_units(self, year: int, before_wave: int) -> set[str]:
        """Units visited in the latest stored wave of `year` before `before_wave` (the previous wave)."""
        q = (select(inspection_selections.c.id, inspection_selections.c.wave)
             .where(inspection_selections.c.kind == "periodic", inspection_selections.c.year == year,
                    inspection_selections.c.wave < before_wave)
             .order_by(inspection_selections.c.wave.desc(), inspection_selections.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
            if row is None:
                return set()
            return set(conn.execute(select(inspection_visits.c.unit_code).where(
                inspection_visits.c.selection_id == row.id)).scalars())

    # --- complaints ----------------------------------------------------------------------
    def add_complaint(self, complaint: Complaint) -> int:
        row = _complaint_row(complaint)
        with self.engine.begin() as conn:
            return int(conn.execute(insert(complaints).values(**row, created_at=_now())).inserted_primary_key[0])

    def complaints(self, unit_code: str | None = None, since: date | None = None, until: date | None = None
                   ) -> list[StoredComplaint]:
        q = select(complaints).order_by(complaints.c.received_on, complaints.c.id)
        if unit_code:
            q = q.where(complaints.c.unit_code == unit_code)
        if since:
            q = q.where(complaints.c.received_on >= since)
        if until:
            q = q.where(complaints.c.received_on <= until)
        with self.engine.connect() as conn:
            return [StoredComplaint(r.id, r.unit_code, _date(r.received_on), r.category, r.summary,
                                    r.procedure_code, r.dossier_code) for r in conn.execute(q)]

    def import_complaints(self, path: str | Path, units: Iterable[str], encoding: str | None = None
                          ) -> TableImport:
        """Complaints from a CSV or Excel file (header aliases in COMPLAINT_COLUMNS). A bad row is
        reported by row and column and the others are stored; columns that could name the person
        who complained are never read."""
        out = TableImport()
        good: list[dict] = []
        for values in _valid_rows(path, COMPLAINT_COLUMNS, encoding, set(units), out):
            good.append(_complaint_row(Complaint(values["unit_code"], values["received_on"],
                                                 values.get("category") or "", values.get("summary") or "",
                                                 values.get("procedure_code"), values.get("dossier_code"))))
        if good:
            now = _now()
            with self.engine.begin() as conn:
                for row in good:
                    out.added.append(int(conn.execute(insert(complaints).values(**row, created_at=now))
                                         .inserted_primary_key[0]))
        return out

    # --- spot checks ---------------------------------------------------------------------
    def add_spot_check(self, unit_code: str, trigger_kind: str, reason: str, fired_on: date,
                       selection_id: int | None = None) -> int:
        """One fired trigger (e.g. a leadership request: `cchc spot-check --unit U --reason ...`)."""
        if not str(reason).strip():
            raise InspectionError("cần lý do kiểm tra đột xuất (--reason)")
        row = {"unit_code": unit_code, "trigger_kind": trigger_kind, "reason": scrub_text(reason.strip()),
               "fired_on": fired_on, "selection_id": selection_id, "created_at": _now()}
        with self.engine.begin() as conn:
            return int(conn.execute(insert(spot_checks).values(**row)).inserted_primary_key[0])

    def spot_checks(self, unit_code: str | None = None) -> list[StoredSpotCheck]:
        q = select(spot_checks).order_by(spot_checks.c.fired_on, spot_checks.c.id)
        if unit_code:
            q = q.where(spot_checks.c.unit_code == unit_code)
        with self.engine.connect() as conn:
            return [StoredSpotCheck(r.id, r.unit_code, r.trigger_kind, r.reason, _date(r.fired_on), r.selection_id)
                    for r in conn.execute(q)]

    # --- findings ------------------------------------------------------------------------
    def add_finding(self, unit_code: str, finding: str, remediation: str = "", responsible_unit: str = "",
                    deadline: date | None = None, selection_id: int | None = None, status: str = "open") -> int:
        if not str(finding).strip():
            raise InspectionError("nội dung kết luận (tồn tại, hạn chế) không được để trống")
        if status not in FINDING_STATUSES:
            raise InspectionError(f"trạng thái {status!r} không hợp lệ; hợp lệ: open (đang khắc phục), done (đã "
                                  "khắc phục); quá hạn được tính từ hạn khắc phục")
        now = _now()
        row = {"unit_code": unit_code, "selection_id": selection_id, "finding": scrub_text(finding.strip()),
               "remediation": scrub_text(remediation.strip()), "responsible_unit": responsible_unit.strip()[:200],
               "deadline": deadline, "status": status, "created_at": now, "updated_at": now}
        with self.engine.begin() as conn:
            return int(conn.execute(insert(findings).values(**row)).inserted_primary_key[0])

    _UNSET = object()

    def update_finding(self, finding_id: int, *, status: str | None = None, remediation: str | None = None,
                       responsible_unit: str | None = None, deadline=_UNSET, finding: str | None = None) -> None:
        values: dict = {}
        if status is not None:
            if status not in FINDING_STATUSES:
                raise InspectionError(f"trạng thái {status!r} không hợp lệ; hợp lệ: open, done (quá hạn được tính "
                                      "từ hạn khắc phục)")
            values["status"] = status
        if remediation is not None:
            values["remediation"] = scrub_text(remediation.strip())
        if responsible_unit is not None:
            values["responsible_unit"] = responsible_unit.strip()[:200]
        if finding is not None:
            if not finding.strip():
                raise InspectionError("nội dung kết luận không được để trống")
            values["finding"] = scrub_text(finding.strip())
        if deadline is not self._UNSET:
            values["deadline"] = deadline
        if not values:
            return
        values["updated_at"] = _now()
        with self.engine.begin() as conn:
            n = conn.execute(update(findings).where(findings.c.id == finding_id).values(**values)).rowcount
        if not n:
            raise InspectionError(f"không có kết luận số {finding_id} trong kho")

    def findings(self, unit_code: str | None = None, status: str | None = None, today: date | None = None
                 ) -> list[Finding]:
        """Findings (by unit, then deadline), with the derived status as of `today` (the ward's date);
        `status` filters on it (open / done / overdue)."""
        today = today or datetime.now(VN).date()
        q = select(findings).order_by(findings.c.unit_code, findings.c.deadline, findings.c.id)
        if unit_code:
            q = q.where(findings.c.unit_code == unit_code)
        with self.engine.connect() as conn:
            out = [Finding(r.id, r.unit_code, r.finding, r.remediation, r.responsible_unit, _date(r.deadline),
                           finding_status(r.status, _date(r.deadline), today), r.status, r.selection_id,
                           r.created_at, r.updated_at) for r in conn.execute(q)]
        return [f for f in out if status is None or f.status == status]

    def import_findings(self, path: str | Path, units: Iterable[str], encoding: str | None = None,
                        selection_id: int | None = None) -> TableImport:
        """Findings from a CSV or Excel file (header aliases in FINDING_COLUMNS); bad rows reported."""
        out = TableImport()
        good = list(_valid_rows(path, FINDING_COLUMNS, encoding, set(units), out))
        for v in good:
            out.added.append(self.add_finding(v["unit_code"], v["finding"], v.get("remediation") or "",
                                              v.get("responsible_unit") or "", v.get("deadline"), selection_id,
                                              v.get("status") or "open"))
        return out

    def delete_selection(self, selection_id: int) -> None:
        """Remove a selection, its children and their visits (a plan re-made before it was published)."""
        ids = [selection_id, *self.load_selection(selection_id).children]
        with self.engine.begin() as conn:
            conn.execute(delete(inspection_visits).where(inspection_visits.c.selection_id.in_(ids)))
            conn.execute(delete(inspection_selections).where(inspection_selections.c.id.in_(ids)))


def _fingerprint(*parts) -> str:
    """SHA-256 of a selection's stored content (canonical JSON), the key of "the same inputs"."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _record_payload(record: DrawRecord | None) -> list | None:
    if record is None:
        return None
    return [list(record.pool), record.pool_sha256, list(record.sources), record.key, record.method_version,
            None if record.tickets is None else list(record.tickets), record.count, list(record.selected)]


def _wave_payload(w: WavePlan) -> dict:
    """What a wave's selection stores: reasons per unit, the pool, the draw, notes, the visits."""
    return {"wave": w.wave.number, "label": w.wave.label(), "notes": list(w.notes),
            "pool": [x.unit_code for x in w.risk.weights], "draw": _record_payload(w.draw),
            "reasons": [{"item": v.unit_code, "name": v.unit_name, "reasons": list(v.reasons), "forced": v.forced,
                         "draw_order": v.draw_order, "weight": v.weight} for v in w.visits],
            "visits": [[v.unit_code, v.visit_date, v.notice_date, v.report_due, v.forced, v.draw_order]
                       for v in w.visits]}


def _stored(conn: Connection, kind: str, fingerprint: str, parent_id: int | None) -> int | None:
    """The first stored selection of `kind` under `parent_id` with this fingerprint, if any."""
    c = inspection_selections.c
    parent = c.parent_id.is_(None) if parent_id is None else c.parent_id == parent_id
    return conn.execute(select(c.id).where(c.kind == kind, c.fingerprint == fingerprint, parent)
                        .order_by(c.id).limit(1)).scalar()


def _children(conn: Connection, selection_id: int) -> tuple[int, ...]:
    c = inspection_selections.c
    return tuple(conn.execute(select(c.id).where(c.parent_id == selection_id).order_by(c.id)).scalars())


def _random_order(result: SpotCheckResult, t: SpotTrigger) -> int | None:
    if t.kind != "random" or result.draw is None:
        return None
    for order, p in enumerate(result.draw.selected, start=1):
        if result.draw.pool[p - 1] == t.unit_code:
            return order
    return None


def _selection(row, children: tuple[int, ...]) -> StoredSelection:
    record = None
    if row["method_version"] is not None:
        record = DrawRecord(
            pool=tuple(row["pool"] or ()), pool_sha256=row["pool_sha256"] or "",
            sources=tuple(row["sources"] or ()), count=int(row["draw_count"] or 0), key=row["draw_key"] or "",
            selected=tuple(int(x) for x in (row["result"] or ())), method_version=row["method_version"],
            tickets=None if row["tickets"] is None else tuple(int(t) for t in row["tickets"]))
    return StoredSelection(row["id"], row["kind"], row["parent_id"], row["year"], row["wave"], row["unit_code"],
                           _date(row["period_start"]), _date(row["period_end"]), row["label"] or "",
                           row["created_at"], record, list(row["reasons"] or []), list(row["notes"] or []), children)


def _recompute(selection_id: int, parts: Sequence[StoredSelection]) -> Verification:
    """Each draw of a selection (itself, then its children: `parts`) recomputed from its stored
    inputs, and its reasons checked against the pool (one line)."""
    drawn, last = 0, None
    for part in parts:
        where = f"lựa chọn số {part.id}" + (f" ({part.label})" if part.label else "")
        if part.record is None:
            continue
        last = verify(part.record)
        if not last.ok:
            return Verification(False, f"{where}: {last.reason}")
        problem = _reasons_disagree(part)
        if problem:
            return Verification(False, f"{where}: {problem}")
        drawn += 1
    if not drawn:
        return Verification(True, f"lựa chọn số {selection_id}: không có lượt rút ngẫu nhiên (chọn toàn bộ "
                                  "hoặc theo kế hoạch), không có gì để tính lại")
    if len(parts) == 1:
        return Verification(True, f"lựa chọn số {selection_id}: {last.reason}")
    return Verification(True, f"lựa chọn số {selection_id}: {drawn} lượt rút đều khớp khi tính lại")


def _reasons_disagree(sel: StoredSelection) -> str | None:
    """The items the reasons say were drawn must be the pool's entries at the drawn positions."""
    record = sel.record
    for r in sel.reasons:
        order = r.get("draw_order")
        if order is None:
            continue
        if not 1 <= int(order) <= len(record.selected):
            return f"lý do của {r.get('item')!r} ghi lượt rút {order}, ngoài {len(record.selected)} lượt đã rút"
        expected = record.pool[record.selected[int(order) - 1] - 1]
        if r.get("item") != expected:
            return (f"lượt rút {order} chọn {expected!r} theo danh sách đã lưu, nhưng kết quả ghi "
                    f"{r.get('item')!r}")
    return None


def _complaint_row(c: Complaint) -> dict:
    if not str(c.unit_code).strip():
        raise InspectionError("phản ánh cần mã đơn vị (--unit)")
    return {"unit_code": c.unit_code.strip(), "procedure_code": (c.procedure_code or "").strip()[:32] or None,
            "dossier_code": (c.dossier_code or "").strip()[:64] or None, "received_on": c.received_on,
            "category": scrub_text((c.category or "").strip())[:120], "summary": scrub_text((c.summary or "").strip())}


# ------------------------------------------------------------------------ CSV / Excel tables


@dataclass(frozen=True)
class TableColumn:
    key: str
    header: str
    kind: str  # text | date | status
    required: bool = False
    aliases: tuple[str, ...] = ()


COMPLAINT_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("unit_code", "Mã đơn vị", "text", True, ("Đơn vị", "Đơn vị bị phản ánh", "Mã ĐV")),
    TableColumn("received_on", "Ngày tiếp nhận", "date", True, ("Ngày", "Ngày phản ánh", "Ngày nhận")),
    TableColumn("procedure_code", "Mã TTHC", "text", False, ("Mã thủ tục", "Thủ tục")),
    TableColumn("dossier_code", "Mã hồ sơ", "text", False, ("Số hồ sơ", "Mã HS")),
    TableColumn("category", "Phân loại", "text", False, ("Loại", "Loại phản ánh", "Lĩnh vực phản ánh")),
    TableColumn("summary", "Nội dung", "text", False, ("Tóm tắt", "Nội dung phản ánh", "Nội dung tóm tắt")),
)

FINDING_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("unit_code", "Mã đơn vị", "text", True, ("Đơn vị", "Đơn vị được kiểm tra", "Mã ĐV")),
    TableColumn("finding", "Tồn tại, hạn chế", "text", True, ("Nội dung", "Kết luận", "Phát hiện",
                                                             "Nội dung tồn tại", "Tồn tại")),
    TableColumn("remediation", "Yêu cầu khắc phục", "text", False, ("Biện pháp khắc phục", "Khắc phục")),
    TableColumn("responsible_unit", "Đơn vị chịu trách nhiệm", "text", False, ("Đơn vị thực hiện",
                                                                              "Trách nhiệm")),
    TableColumn("deadline", "Hạn khắc phục", "date", False, ("Thời hạn", "Hạn", "Thời hạn khắc phục")),
    TableColumn("status", "Trạng thái", "status", False, ("Tình trạng",)),
)

_STATUS_WORDS = {"open": "open", "done": "done", "dang khac phuc": "open", "chua khac phuc": "open",
                 "chua": "open", "da khac phuc": "done", "hoan thanh": "done", "xong": "done"}


def _key(text: str) -> str:
    return " ".join(fold(text).replace("*", " ").strip(" :.").split())


def _map_header(header: Sequence, columns: Sequence[TableColumn]) -> dict[str, tuple[int, str]]:
    aliases = {_key(n): c.key for c in columns for n in (c.header, *c.aliases)}
    found: dict[str, tuple[int, str]] = {}
    for i, h in enumerate(header):
        if h is None:
            continue
        k = aliases.get(_key(str(h)))
        if k and k not in found:
            found[k] = (i, str(h).strip())
    return found


def _valid_rows(path, columns, encoding, known_units: set, out: TableImport):
    """The parsed rows of a complaints/findings table whose unit is configured; each bad row's errors
    (by row and column) go to `out.errors`, every row read is counted in `out.rows_read`."""
    for number, cells in _table_rows(path, columns, encoding):
        out.rows_read += 1
        values, errors = _parse_row(number, cells, columns)
        if not errors and values["unit_code"] not in known_units:
            errors.append(RowError(number, cells["unit_code"][0], f"đơn vị {values['unit_code']!r} không có "
                                                                "trong cấu hình (units)"))
        if errors:
            out.errors.extend(errors)
            continue
        yield values


def _table_rows(path: str | Path, columns: Sequence[TableColumn], encoding: str | None
                ) -> Iterator[tuple[int, dict[str, tuple[str, object]]]]:
    """(row number as the file shows it, {key: (header as written, cell)}) of each non-empty row;
    only the known columns are read."""
    p = Path(path)
    rows = _read_xlsx(p) if p.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(p, encoding)
    try:
        header = next(rows)
    except StopIteration:
        raise InspectionError(f"Tệp '{p.name}': trống, không có dòng tiêu đề") from None
    mapped = _map_header(header, columns)
    missing = [c.header for c in columns if c.required and c.key not in mapped]
    if missing:
        raise InspectionError(f"Tệp '{p.name}': thiếu cột {', '.join(missing)} (dòng tiêu đề là dòng 1)")
    for number, row in enumerate(rows, start=2):
        cells = {k: (h, row[i] if i < len(row) else None) for k, (i, h) in mapped.items()}
        if all(v is None or str(v).strip() == "" for _, v in cells.values()):
            continue
        yield number, cells


def _read_csv(p: Path, encoding: str | None) -> Iterator[list]:
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InspectionError(f"Tệp '{p}': không đọc được ({e.strerror or type(e).__name__})") from None
    if encoding is None:
        encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise InspectionError(f"Tệp '{p.name}': không đọc được theo mã {encoding}; lưu lại dạng CSV UTF-8 hoặc "
                              "chỉ định bảng mã (ví dụ cp1258)") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _read_xlsx(p: Path) -> Iterator[list]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as e:  # not a workbook, corrupt, missing
        raise InspectionError(f"Tệp '{p.name}': không mở được như tệp Excel ({type(e).__name__})") from None
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def _parse_row(number: int, cells: Mapping[str, tuple[str, object]], columns: Sequence[TableColumn]
               ) -> tuple[dict, list[RowError]]:
    values: dict = {}
    errors: list[RowError] = []
    for c in columns:
        if c.key not in cells:
            continue
        header, v = cells[c.key]
        blank = v is None or str(v).strip() == ""
        if blank:
            if c.required:
                errors.append(RowError(number, header, "bắt buộc, đang để trống"))
            values[c.key] = None
            continue
        if c.kind == "date":
            try:
                values[c.key] = parse_cell_datetime(v).date()
            except (ValueError, OverflowError):
                errors.append(RowError(number, header, "ngày không hợp lệ (dạng dd/mm/yyyy)"))
        elif c.kind == "status":
            s = _STATUS_WORDS.get(_key(str(v)))
            if s is None:
                errors.append(RowError(number, header, "trạng thái không hợp lệ (đang khắc phục / đã khắc phục)"))
            values[c.key] = s
        else:
            values[c.key] = str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v))
    return values, errors


# ---------------------------------------------------------------------- the sampling frame

#: The dossier columns a lot is classified from (no personal data: no applicant hash, no steps). The
#: procedure's name (long text) is read for the sampled dossiers only (`sampled_facts`).
SAMPLE_FACT_COLUMNS = ("code", "unit_code", "procedure_code", "status", "received_at", "due_at",
                       "effective_due_at", "finished_at", "returned_at", "refused_at", "supplement_count",
                       "supplement_pending", "apology")

#: Columns of `sampling_facts`' frames (the input of `cchc.domain.sampling.plan_sample`).
SAMPLE_COLUMNS = ("code", "unit_code", "procedure_code", "status", "received_at", "due_at", "end_at", "late",
                  "overdue_pending", "supplement_requests", "apology_slip", "complained")

#: Columns of `sampled_facts`: the dossier facts of the sample sheet.
SAMPLED_COLUMNS = (*SAMPLE_COLUMNS, "procedure_name")


def sampling_facts(store, source: str, units: Mapping[str, str], period: Period, *, mode: str = "bieu06",
                   compare: str = "date", complained_codes: Iterable[str] = ()
                   ) -> dict[str, pd.DataFrame]:
    """The lot of each unit for `period` (unit code -> national identifier in `units`): its dossiers
    in scope (received in the period or carried over into it, `metrics.classify`), one row each,
    with the flags of `cchc.domain.sampling` taken from the classification: late = resolved late in
    the period, overdue_pending = pending and overdue at its end; supplement requests, apology slip,
    complained (the code is in `complained_codes`). Reads only these units' rows of the period, and
    only the columns the classification needs (`SAMPLE_FACT_COLUMNS`)."""
    facts = store.load_facts(source, period.start, period.end, columns=SAMPLE_FACT_COLUMNS,
                             unit_ids=list(units.values()), scoped=True, units_index=True)
    c = classify(facts, period, mode=mode, compare=compare)  # no calendar: processing days are not read
    c = c[c["in_scope"].to_numpy(dtype=bool)]
    due = c["effective_due_at"].where(c["effective_due_at"].notna(), c["due_at"])
    complained = set(complained_codes)
    frame = pd.DataFrame({  # Series, not arrays: Arrow-backed text stays Arrow (no object round trip)
        "code": c["code"].astype(str),
        "unit_code": c["unit_code"].astype(str),
        "procedure_code": c["procedure_code"].astype(str),
        "status": c["status"].astype(int),
        "received_at": c["received_at"],
        "due_at": due,
        "end_at": c["end_at"],
        "late": c["late"].astype(bool),
        "overdue_pending": c["pending_overdue"].astype(bool),
        "supplement_requests": c["supplement_count"].astype(int),
        "apology_slip": c["apology"].astype(bool),
        "complained": c["code"].astype(str).isin(complained).astype(bool),
    }, columns=list(SAMPLE_COLUMNS)).reset_index(drop=True)
    return {code: frame[unit_matches(frame["unit_code"], nid)].reset_index(drop=True)
            for code, nid in units.items()}


def sampled_facts(store, source: str, lot: pd.DataFrame, sample: SamplePlan) -> pd.DataFrame:
    """The lot's rows of the sampled dossiers, in the sample's order, with the procedure's name as the
    source gave it (`SAMPLED_COLUMNS`; read for these codes only, by primary key)."""
    order = [r.code for r in sample.rows]
    rows = lot[lot["code"].isin(set(order))].drop_duplicates("code").set_index("code").reindex(order)
    names = store.procedure_names(source, order)
    rows["procedure_name"] = [names.get(c, "") for c in order]
    return rows.reset_index()[list(SAMPLED_COLUMNS)]


def sample_rows(sample: SamplePlan) -> list[dict]:
    """The sampled rows as plain dicts (for artifacts): code, procedure_code, reason, kind, ..."""
    return [asdict(r) for r in sample.rows]


__all__ = [
    "COMPLAINT_COLUMNS", "FINDING_COLUMNS", "FINDING_STATUSES", "Finding", "InspectionError", "Inspections",
    "SAMPLED_COLUMNS", "SAMPLE_COLUMNS", "SavedPlan", "StoredComplaint", "StoredSelection", "StoredSpotCheck", "StoredVisit",
    "TableImport", "finding_status", "sample_rows", "sampled_facts", "sampling_facts",
]
