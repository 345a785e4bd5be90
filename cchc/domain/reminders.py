"""Daily reminder rules (issue 12): who must be told what, today. Pure: no I/O, no Prefect.

Inputs are plain records (or, for dossiers, a DataFrame with the same columns, so that a store of a
million dossiers is screened in vectorised steps): the open dossiers, the plan's report deadlines,
the findings' remediation deadlines, the units' standings, the configured recipients, the ward's
working-day calendar, the run date and the lead times (`ReminderRules`, in working days).

Rules (`RULES`, in the order a digest lists them):

- ``overdue``: an open dossier past its (effective) due date, not waiting for the citizen → the
  handling officer and the unit head.
- ``no_apology``: an overdue or late-finished dossier without an apology slip → the unit head.
- ``due_soon``: an open dossier due within ``due_soon_days`` working days (0: due today) → officer.
- ``step_overdue``: the current processing step past its step deadline → officer.
- ``supplement_pause``: a supplement request pending for more than ``supplement_pause_days``
  working days → officer.
- ``report_deadline``: a self-/pre-inspection report due in exactly one of ``report_lead_days``
  working days (e.g. 5, 2, 0) → the unit head.
- ``remediation``: a remediation deadline in one of ``remediation_lead_days`` working days, or past
  (the 1st working day late, then every ``remediation_overdue_every_days``) → the unit head.
- ``escalation``: a unit whose overdue count or late rate reaches its threshold → one note to
  each leader (one item per unit; a leader's digest gathers them).

Waiting for a supplement (status 5), a financial obligation (6) or stopped (8) count as within time
(DOMAIN.md §4): no due_soon / overdue for them. A dossier with no current officer goes to its unit
head instead. Then `digests` groups the items per recipient: ONE digest per recipient per day, with
an idempotency key (`digest_key`); recipients without an email address are listed in `missing`
with what they would have received, never silently dropped. On a day that is not a working day
(`is_reminder_day`) nothing is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import groupby

import pandas as pd

from cchc.domain.calendar import WorkCalendar
from cchc.domain.text import format_int, format_percent

RULES: tuple[str, ...] = ("overdue", "no_apology", "due_soon", "step_overdue", "supplement_pause",
                          "report_deadline", "remediation", "escalation")

RULE_NAMES_VI: dict[str, str] = {
    "overdue": "Hồ sơ quá hạn",
    "no_apology": "Hồ sơ trễ hạn chưa có phiếu xin lỗi",
    "due_soon": "Hồ sơ sắp đến hạn",
    "step_overdue": "Bước xử lý quá hạn",
    "supplement_pause": "Hồ sơ chờ bổ sung quá lâu",
    "report_deadline": "Hạn nộp báo cáo kiểm tra",
    "remediation": "Hạn khắc phục sau kiểm tra",
    "escalation": "Đơn vị vượt ngưỡng cảnh báo",
}

#: The kind of message the digests are (first part of the idempotency key).
DIGEST_KIND = "nhac-viec"

#: Statuses counted as within time whatever the date (DOMAIN.md §4).
_PAUSED = frozenset({5, 6, 8})
#: Finished statuses (resolved, withdrawn, stopped does not count: it is pending in Biểu 06).
_FINISHED = frozenset({7, 9, 10})
_EXCLUDED = frozenset({1, 3})

ROLE_OFFICER = "officer"
ROLE_HEAD = "unit_head"
ROLE_LEADER = "leadership"

REPORT_KINDS_VI = {"self_inspection": "báo cáo tự kiểm tra công tác CCHC",
                   "pre_inspection": "báo cáo phục vụ đoàn kiểm tra (trước kiểm tra)"}


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class ReminderRules:
    """Lead times in working days and escalation thresholds (configuration `reminders:`)."""

    due_soon_days: int = 2
    supplement_pause_days: int = 10
    report_lead_days: tuple[int, ...] = (5, 2, 0)
    remediation_lead_days: tuple[int, ...] = (5, 2, 0)
    remediation_overdue_every_days: int = 5
    escalation_overdue_count: int | None = 10
    escalation_late_rate: float | None = 10.0  # percent

    def __post_init__(self) -> None:
        for name in ("due_soon_days", "supplement_pause_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} phải không âm")
        if any(d < 0 for d in (*self.report_lead_days, *self.remediation_lead_days)):
            raise ValueError("số ngày nhắc trước phải không âm")
        if self.remediation_overdue_every_days < 1:
            raise ValueError("remediation_overdue_every_days phải >= 1")


@dataclass(frozen=True)
class OpenDossier:
    """What the rules need of one dossier (no applicant data). Dates are Vietnam calendar dates."""

    code: str
    procedure: str  # procedure name (TenTTHC)
    unit: str  # configured unit code
    status: int
    due: date | None  # effective due date (original NgayHenTra moved by supplement waits)
    officer: str | None = None  # username of the current step's officer
    step_due: date | None = None  # the current step's deadline
    supplement_since: date | None = None  # start of the pending supplement pause
    apology: bool = False
    finished: date | None = None  # end date of a finished dossier (late-finished → no_apology rule)


DOSSIER_COLUMNS: tuple[str, ...] = tuple(OpenDossier.__dataclass_fields__)


@dataclass(frozen=True)
class ReportDeadline:
    """A report a unit owes the inspection: kind "self_inspection" or "pre_inspection"."""

    unit: str
    kind: str
    due: date
    label: str = ""  # e.g. "6 tháng đầu năm 2026" or "đợt 1 (01/07/2026–10/07/2026)"


@dataclass(frozen=True)
class RemediationDeadline:
    """A finding of an inspection conclusion the unit must remedy by `due`."""

    finding_id: str
    unit: str
    due: date
    title: str = ""
    done: bool = False


@dataclass(frozen=True)
class UnitStanding:
    """A unit's figures for escalation: overdue open dossiers now, late among resolved (period)."""

    unit: str
    overdue: int = 0
    resolved: int = 0
    late: int = 0

    @property
    def late_rate(self) -> float | None:
        return None if self.resolved == 0 else 100.0 * self.late / self.resolved


@dataclass(frozen=True)
class Recipient:
    key: str  # stable: "officer:<username>", "head:<unit code>", "leader:<n>"
    role: str  # ROLE_OFFICER | ROLE_HEAD | ROLE_LEADER
    name: str
    email: str | None
    unit: str | None = None  # unit code


@dataclass(frozen=True)
class Directory:
    """The configured recipients and unit names."""

    officers: Mapping[str, Recipient]  # by username
    heads: Mapping[str, Recipient]  # by unit code
    leaders: tuple[Recipient, ...]
    unit_names: Mapping[str, str]

    @classmethod
    def build(cls, units: Iterable, officers: Iterable = (), leadership: Iterable = ()) -> Directory:
        """From objects with the configuration's attributes: units (code, name, head_name,
        head_email), officers (username, name, unit, email), leaders (name, title, email)."""
        units = list(units)
        heads = {u.code: Recipient(f"head:{u.code}", ROLE_HEAD, getattr(u, "head_name", "") or f"Trưởng {u.name}",
                                   _email(getattr(u, "head_email", None)), u.code) for u in units}
        offs = {o.username: Recipient(f"officer:{o.username}", ROLE_OFFICER, o.name, _email(o.email), o.unit)
                for o in officers}
        leaders = tuple(Recipient(f"leader:{i}", ROLE_LEADER, ldr.name, _email(ldr.email))
                        for i, ldr in enumerate(leadership))
        return cls(officers=offs, heads=heads, leaders=leaders, unit_names={u.code: u.name for u in units})

    def officer(self, username: str) -> Recipient:
        return self.officers.get(username) or Recipient(f"officer:{username}", ROLE_OFFICER, username, None)

    def head(self, unit: str) -> Recipient:
        return self.heads.get(unit) or Recipient(f"head:{unit}", ROLE_HEAD, f"Trưởng đơn vị {unit}", None, unit)

    def unit_name(self, unit: str) -> str:
        return self.unit_names.get(unit, unit)


def _email(v) -> str | None:
    return str(v) if v else None


# ----------------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class ReminderItem:
    rule: str
    entity: str  # what it is about: "dossier:<code>", "report:<unit>:<kind>:<date>", "finding:<id>", "unit:<code>"
    recipient: Recipient
    dossier_code: str  # "" when not about a dossier
    procedure: str
    unit: str  # unit name
    due: date
    days_left: int  # working days left (0: today); negative: working days late
    action: str  # Vietnamese: what is expected

    @property
    def key(self) -> str:
        """Idempotency key of the item (rule, entity, recipient); the day is the digest's."""
        return f"{self.rule}|{self.entity}|{self.recipient.key}"


@dataclass(frozen=True)
class Digest:
    """Everything one recipient is told on one day: one message."""

    recipient: Recipient
    day: date
    items: tuple[ReminderItem, ...]

    @property
    def key(self) -> str:
        return digest_key(self.recipient.key, self.day)

    def rule_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for it in self.items:
            out[it.rule] = out.get(it.rule, 0) + 1
        return out


@dataclass(frozen=True)
class MissingRecipient:
    """A recipient the rules chose but the configuration gives no email: reported in the summary."""

    recipient: Recipient
    items: int
    rules: tuple[str, ...]

    def describe(self) -> str:
        what = {ROLE_OFFICER: "cán bộ", ROLE_HEAD: "trưởng đơn vị", ROLE_LEADER: "lãnh đạo"}[self.recipient.role]
        unit = f", đơn vị {self.recipient.unit}" if self.recipient.unit and self.recipient.role != ROLE_LEADER else ""
        return (f"{what} {self.recipient.name} ({self.recipient.key}{unit}) chưa có email trong cấu hình: "
                f"{self.items} việc không gửi được ({', '.join(self.rules)})")


@dataclass(frozen=True)
class ReminderPlan:
    day: date
    items: tuple[ReminderItem, ...]
    digests: tuple[Digest, ...]
    missing: tuple[MissingRecipient, ...]

    def rule_counts(self) -> dict[str, int]:
        """Items per rule (every item, including those of recipients without email)."""
        out = {r: 0 for r in RULES}
        for it in self.items:
            out[it.rule] += 1
        return out


def digest_key(recipient_key: str, day: date) -> str:
    """The outbox idempotency key of a day's digest: one per (kind, recipient, day)."""
    return f"{DIGEST_KIND}|{recipient_key}|{day.isoformat()}"


# -------------------------------------------------------------------------------------- rules


def is_reminder_day(calendar: WorkCalendar, day: date) -> bool:
    """Reminders go out on working days only (a make-up Saturday is one; a holiday is not)."""
    return calendar.is_working_day(day)


def dossier_frame(dossiers: Iterable[OpenDossier]) -> pd.DataFrame:
    """The DataFrame form of dossier records (columns DOSSIER_COLUMNS)."""
    rows = [asdict(d) for d in dossiers]
    return pd.DataFrame(rows, columns=list(DOSSIER_COLUMNS))


@dataclass
class _Days:
    """Working days from `day` to a date (signed), through a per-date working-day index W
    (working_days_between(a, b) == W(b) - W(a)), memoised per distinct date."""

    calendar: WorkCalendar
    day: date
    memo: dict = field(default_factory=dict)

    def index(self, d: date) -> int:
        v = self.memo.get(d)
        if v is None:
            v = self.memo[d] = self.calendar.working_days_between(self.day, d)
        return v

    def __call__(self, d: date) -> int:
        return self.index(d)

    def series(self, s: pd.Series) -> pd.Series:
        """Signed working days from `day` to each date of a datetime64 series (NaT -> <NA>)."""
        uniq = s.dropna().unique()
        mapping = {u: self.index(pd.Timestamp(u).date()) for u in uniq}
        return s.map(mapping).astype("Int64")

    def between(self, a: pd.Series, b: pd.Series) -> pd.Series:
        """Working days in (a, b] for each pair (negative when b < a)."""
        return self.series(b) - self.series(a)


def _dates(col: pd.Series) -> pd.Series:
    """A column of dates/datetimes/None as datetime64 days (datetimes by their own wall-clock date)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        out = col
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None)
        return out.dt.normalize()
    def one(v):
        if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
            return pd.NaT
        if isinstance(v, datetime):
            v = v.date()
        return pd.Timestamp(v)

    return pd.to_datetime(col.map(one)).dt.normalize()


_ACTIONS = {
    ("overdue", ROLE_OFFICER): "Khẩn trương giải quyết hồ sơ đã quá hạn; nếu chưa có, lập Phiếu xin lỗi và hẹn lại "
                               "ngày trả kết quả.",
    ("overdue", ROLE_HEAD): "Chỉ đạo giải quyết ngay hồ sơ quá hạn của đơn vị.",
    ("no_apology", ROLE_HEAD): "Ban hành Phiếu xin lỗi và hẹn lại ngày trả kết quả cho hồ sơ trễ hạn (bắt buộc).",
    ("due_soon", ROLE_OFFICER): "Hoàn thành và trả kết quả đúng hạn; nếu không kịp, lập Phiếu xin lỗi và hẹn lại ngày "
                                "trả kết quả trước ngày hẹn trả.",
    ("due_soon", ROLE_HEAD): "Hồ sơ chưa có cán bộ xử lý: phân công và giải quyết trước ngày hẹn trả.",
    ("step_overdue", ROLE_OFFICER): "Hoàn thành bước xử lý đã quá thời hạn của bước và chuyển bước tiếp theo.",
    ("step_overdue", ROLE_HEAD): "Bước xử lý quá hạn chưa có cán bộ: phân công hoàn thành ngay.",
}


def _supplement_action(n: int) -> str:
    return (f"Hồ sơ chờ bổ sung quá {n} ngày làm việc: kiểm tra yêu cầu bổ sung, đôn đốc qua kênh của hệ thống "
            "hoặc xử lý theo quy định.")


def _dossier_items(frame: pd.DataFrame, day: date, rules: ReminderRules, directory: Directory,
                   days: _Days) -> list[ReminderItem]:
    if frame.empty:
        return []
    missing_cols = [c for c in DOSSIER_COLUMNS if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"thiếu cột dữ liệu hồ sơ: {', '.join(missing_cols)}")
    status = frame["status"].astype("int64")
    keep = ~status.isin(list(_EXCLUDED))
    f = frame[keep]
    status = status[keep]
    today = pd.Timestamp(day)
    due = _dates(f["due"])
    step_due = _dates(f["step_due"])
    pause = _dates(f["supplement_since"])
    finished_at = _dates(f["finished"])
    is_finished = status.isin(list(_FINISHED)) | finished_at.notna()
    is_open = ~is_finished
    paused = status.isin(list(_PAUSED))
    apology = f["apology"].fillna(False).astype(bool)

    overdue = is_open & ~paused & due.notna() & (due < today)
    horizon_ok = due.notna() & (due >= today)
    soon_candidates = is_open & ~paused & horizon_ok
    late_finished = is_finished & due.notna() & finished_at.notna() & (finished_at > due)
    no_apology = (overdue | late_finished) & ~apology
    step_late = is_open & step_due.notna() & (step_due < today)
    pause_open = is_open & pause.notna() & (pause <= today)

    # Working days only for the rows that may need them (a million rows: a few thousand dates).
    left = pd.Series(pd.NA, index=f.index, dtype="Int64")
    need = overdue | soon_candidates
    left[need] = days.series(due[need])
    # A dossier finished late: the working days it was late by (due to end), not to today.
    done_late = late_finished & ~need
    left[done_late] = -days.between(due[done_late], finished_at[done_late])
    soon = soon_candidates & (left <= rules.due_soon_days).fillna(False)
    step_left = days.series(step_due[step_late])
    # A pause is too long from the N-th working day after it started: due = that day.
    pause_limit = pause[pause_open].map(
        lambda t: pd.Timestamp(days.calendar.add_working_days(t.date(), rules.supplement_pause_days)))
    pause_left = days.series(pause_limit)
    long_pause = pause_left[pause_left < 0].index

    out: list[ReminderItem] = []
    unit_names: dict[str, str] = {}

    def targets_of(rule: str, officer, unit: str, to_head: bool, to_officer: bool) -> tuple:
        """(recipient, action, unit name) of each recipient of a `rule` item about a dossier of
        `unit` whose current officer is `officer`: the officer (the unit head when there is none)
        and/or the head, each once."""
        rs = []
        if to_officer:
            rs.append(directory.officer(officer) if officer else directory.head(unit))
        if to_head:
            rs.append(directory.head(unit))
        name = unit_names.get(unit)
        if name is None:
            name = unit_names[unit] = directory.unit_name(unit)
        seen, out_ = set(), []
        for r in rs:
            if r.key in seen:
                continue
            seen.add(r.key)
            action = (_supplement_action(rules.supplement_pause_days) if rule == "supplement_pause"
                      else _ACTIONS.get((rule, r.role)) or _ACTIONS[(rule, ROLE_OFFICER)])
            out_.append((r, action, name))
        return tuple(out_)

    def emit(rule: str, idx, to_head: bool, to_officer: bool, when: pd.Series, n_left: pd.Series) -> None:
        if len(idx) == 0:
            return
        sub = f.loc[idx, ["code", "procedure", "unit", "officer"]]
        # whole columns to Python values at once (text, dates, ints), not one pandas scalar per row;
        # the recipients, actions and unit name once per (officer, unit)
        columns = [sub[c].tolist() for c in sub.columns]
        dues = pd.to_datetime(when[idx]).dt.date.tolist()
        lefts = n_left[idx].astype("Int64").to_numpy(dtype="int64", na_value=0).tolist()
        memo: dict[tuple, tuple] = {}
        item = ReminderItem
        for code, procedure, unit, officer, w, n in zip(*columns, dues, lefts, strict=True):
            targets = memo.get((officer, unit))
            if targets is None:
                targets = memo[(officer, unit)] = targets_of(
                    rule, officer if isinstance(officer, str) and officer else None, str(unit), to_head, to_officer)
            code = str(code)
            procedure = str(procedure or "")
            entity = "dossier:" + code
            for r, action, name in targets:
                out.append(item(rule, entity, r, code, procedure, name, w, n, action))

    emit("overdue", f.index[overdue], True, True, due, left)
    emit("no_apology", f.index[no_apology], True, False, due, left)
    emit("due_soon", f.index[soon], False, True, due, left)
    emit("step_overdue", f.index[step_late], False, True, step_due, step_left)
    emit("supplement_pause", long_pause, False, True, pause_limit, pause_left)
    return out


def _report_items(reports: Iterable[ReportDeadline], day: date, rules: ReminderRules, directory: Directory,
                  days: _Days) -> list[ReminderItem]:
    out = []
    leads = set(rules.report_lead_days)
    for r in reports:
        if r.due < day:
            continue
        n = days(r.due)
        if n not in leads:
            continue
        what = REPORT_KINDS_VI.get(r.kind, r.kind)
        label = f" {r.label}" if r.label else ""
        when = "hôm nay" if n == 0 else f"trước ngày {r.due:%d/%m/%Y}"
        out.append(ReminderItem(
            rule="report_deadline", entity=f"report:{r.unit}:{r.kind}:{r.due.isoformat()}",
            recipient=directory.head(r.unit), dossier_code="", procedure=f"Nộp {what}{label}",
            unit=directory.unit_name(r.unit), due=r.due, days_left=n,
            action=f"Hoàn thành và gửi {what}{label} {when}."))
    return out


def _remediation_items(findings: Iterable[RemediationDeadline], day: date, rules: ReminderRules,
                       directory: Directory, days: _Days) -> list[ReminderItem]:
    out = []
    leads = set(rules.remediation_lead_days)
    for f in findings:
        if f.done:
            continue
        n = days(f.due)
        if f.due >= day:
            if n not in leads:
                continue
            action = (f"Hoàn thành khắc phục tồn tại theo kết luận kiểm tra và báo cáo kết quả "
                      f"{'hôm nay' if n == 0 else f'trước ngày {f.due:%d/%m/%Y}'}.")
        else:
            late = -n
            if late < 1 or (late - 1) % rules.remediation_overdue_every_days:
                continue
            action = "Đã quá hạn khắc phục: báo cáo ngay kết quả khắc phục và lý do chậm."
        out.append(ReminderItem(
            rule="remediation", entity=f"finding:{f.finding_id}", recipient=directory.head(f.unit),
            dossier_code="", procedure=f.title or f"Khắc phục sau kiểm tra ({f.finding_id})",
            unit=directory.unit_name(f.unit), due=f.due, days_left=n, action=action))
    return out


def _escalation_items(standings: Iterable[UnitStanding], day: date, rules: ReminderRules,
                      directory: Directory) -> list[ReminderItem]:
    out = []
    for s in standings:
        reasons = []
        if rules.escalation_overdue_count is not None and s.overdue >= rules.escalation_overdue_count:
            reasons.append(f"{format_int(s.overdue)} hồ sơ quá hạn (ngưỡng {format_int(rules.escalation_overdue_count)})")
        rate = s.late_rate
        if rules.escalation_late_rate is not None and rate is not None and rate >= rules.escalation_late_rate:
            reasons.append(f"tỷ lệ trễ hạn {format_percent(rate)} (ngưỡng {format_percent(rules.escalation_late_rate)})")
        if not reasons:
            continue
        for leader in directory.leaders:
            out.append(ReminderItem(
                rule="escalation", entity=f"unit:{s.unit}", recipient=leader, dossier_code="",
                procedure="Cảnh báo tiến độ giải quyết TTHC", unit=directory.unit_name(s.unit), due=day,
                days_left=0, action=f"Đơn vị có {' và '.join(reasons)}: đề nghị lãnh đạo chỉ đạo khắc phục."))
    return out


def reminder_items(day: date, calendar: WorkCalendar, rules: ReminderRules, directory: Directory,
                   dossiers: pd.DataFrame | Sequence[OpenDossier] = (),
                   reports: Iterable[ReportDeadline] = (), findings: Iterable[RemediationDeadline] = (),
                   standings: Iterable[UnitStanding] = ()) -> list[ReminderItem]:
    """Every reminder item of `day` (none on a day that is not a working day)."""
    if not is_reminder_day(calendar, day):
        return []
    frame = dossiers if isinstance(dossiers, pd.DataFrame) else dossier_frame(dossiers)
    days = _Days(calendar, day)
    items = _dossier_items(frame, day, rules, directory, days)
    items += _report_items(reports, day, rules, directory, days)
    items += _remediation_items(findings, day, rules, directory, days)
    items += _escalation_items(standings, day, rules, directory)
    # One item per (rule, entity, recipient): duplicated input rows never repeat a line.
    unique = {}
    for it in items:
        unique.setdefault(it.key, it)
    return list(unique.values())


_RULE_RANK = {r: i for i, r in enumerate(RULES)}


def _by_recipient(it: ReminderItem):
    """By recipient, then as a digest lists its items: by rule (`RULES`), the most urgent first.
    Every item is sorted once; each recipient's then form one run, in digest order."""
    return (it.recipient.key, _RULE_RANK[it.rule], it.days_left, it.due, it.unit, it.dossier_code, it.entity)


def digests(day: date, items: Iterable[ReminderItem]) -> tuple[tuple[Digest, ...], tuple[MissingRecipient, ...]]:
    """One digest per recipient with an email (items ordered by rule, then urgency), and the
    recipients without one (what they would have received, counted)."""
    return _digests_of_sorted(day, sorted(items, key=_by_recipient))


def _digests_of_sorted(day: date, items: Sequence[ReminderItem]) -> tuple[tuple[Digest, ...],
                                                                          tuple[MissingRecipient, ...]]:
    """`digests` of items already sorted by `_by_recipient` (each recipient's form one run)."""
    out, missing = [], []
    for _, group in groupby(items, key=lambda it: it.recipient.key):
        its = tuple(group)
        r = its[0].recipient
        if r.email:
            out.append(Digest(recipient=r, day=day, items=its))
        else:
            rules = tuple(dict.fromkeys(it.rule for it in its))
            missing.append(MissingRecipient(recipient=r, items=len(its), rules=rules))
    return tuple(out), tuple(missing)


def plan_reminders(day: date, calendar: WorkCalendar, rules: ReminderRules, directory: Directory,
                   dossiers: pd.DataFrame | Sequence[OpenDossier] = (),
                   reports: Iterable[ReportDeadline] = (), findings: Iterable[RemediationDeadline] = (),
                   standings: Iterable[UnitStanding] = ()) -> ReminderPlan:
    """The day's items (sorted once: by recipient, then as each digest lists them), digests and
    recipients without email."""
    items = tuple(sorted(reminder_items(day, calendar, rules, directory, dossiers, reports, findings, standings),
                         key=_by_recipient))
    ds, missing = _digests_of_sorted(day, items)
    return ReminderPlan(day=day, items=items, digests=ds, missing=missing)


def self_inspection_deadlines(units: Iterable[str], deadlines: Iterable[tuple[date, str]]) -> list[ReportDeadline]:
    """Every unit owes each self-inspection report: (due, label) -> one ReportDeadline per unit."""
    units = list(units)
    return [ReportDeadline(unit=u, kind="self_inspection", due=d, label=label) for d, label in deadlines for u in units]


def pre_inspection_deadlines(visits: Iterable) -> list[ReportDeadline]:
    """From the plan's visits (cchc.domain.inspection_plan.Visit: unit_code, report_due, visit_date)."""
    return [ReportDeadline(unit=v.unit_code, kind="pre_inspection", due=v.report_due,
                           label=f"(đoàn kiểm tra ngày {v.visit_date:%d/%m/%Y})") for v in visits]
