"""Ward configuration: a YAML file validated on load, with environment overrides.

Environment variables override the file, as operators expect:
CCHC_CONFIG (path, default config/demo.yaml), CCHC_DATABASE_URL, CCHC_PROVINCIAL_URL,
CCHC_NATIONAL_URL. Credentials are read from the environment variables the file names
(`token_env`, `username_env`, `password_env`, `salt_env`), never from the file itself.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator

from cchc.domain.calendar import VN_TZ_NAME
from cchc.domain.redact import mask_secrets, userinfo_has_raw_at
from cchc.errors import UserError

DEFAULT_CONFIG = "config/demo.yaml"
DEFAULT_DATABASE_URL = "sqlite:///var/cchc.sqlite"
DEFAULT_TIMEZONE = VN_TZ_NAME


class ConfigError(UserError):
    """A configuration problem, with a message naming the file and the key (credentials masked)."""

    def __init__(self, message: str):
        super().__init__(mask_secrets(message))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ward(_Model):
    name: str = Field(min_length=1)
    province: str = Field(min_length=1)
    national_id: str = Field(min_length=1)
    simulated: bool = False
    #: the place name of the date line ("Hòa An, ngày … tháng … năm …"); default: the name without
    #: "Phường"/"Xã"/"Thị trấn" and without a parenthesis
    place: str | None = None
    #: the body that receives the ward's reports (Biểu 06 "Đơn vị nhận báo cáo"); default: the
    #: provincial People's Committee ("Ủy ban nhân dân tỉnh …")
    reports_to: str | None = None

    @property
    def slug(self) -> str:
        from cchc.domain.text import slugify

        return slugify(self.name)

    @property
    def place_name(self) -> str:
        if self.place:
            return self.place
        name = re.sub(r"\s*\(.*?\)\s*", " ", self.name).strip()
        for prefix in ("Phường ", "Xã ", "Thị trấn ", "Đặc khu "):
            if name.startswith(prefix):
                return name[len(prefix):].strip()
        return name

    @property
    def receiving_body(self) -> str:
        if self.reports_to:
            return self.reports_to
        province = self.province.strip()
        for prefix in ("Tỉnh ", "Thành phố "):
            if province.startswith(prefix):
                province = prefix.lower() + province[len(prefix):]
                break
        return f"Ủy ban nhân dân {province}"


class CalendarOverrides(_Model):
    extra_holidays: list[date] = []
    extra_working_days: list[date] = []


class Unit(_Model):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parent: str | None = None
    national_id: str = Field(min_length=1)
    head_name: str = ""
    head_email: EmailStr | None = None


class Officer(_Model):
    username: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit: str
    email: EmailStr | None = None


class Leader(_Model):
    name: str = Field(min_length=1)
    title: str = ""
    email: EmailStr


class ProvincialSource(_Model):
    base_url: str
    list_path: str = "/api/v1/hoso"
    page_size: int = Field(default=500, ge=1, le=1000)
    start_date: date | None = None
    lookback_days: int = Field(default=15, ge=0, le=366)
    timeout_s: float = Field(default=30, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)  # a request's total time, retries included
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_s: float = Field(default=1.0, ge=0)
    date_param_format: str = "%Y-%m-%d"
    token_env: str | None = None
    field_map: dict[str, str] = {}

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)


class NationalSource(_Model):
    base_url: str
    unit_code: str = Field(min_length=1)
    batch_size: int = Field(default=100, ge=1, le=500)
    login_path: str = "/dvcqg/login"
    service_path: str = "/dvcqg/service"
    timeout_s: float = Field(default=30, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)  # a request's total time, retries included
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_s: float = Field(default=1.0, ge=0)
    username_env: str = "CCHC_NATIONAL_USERNAME"
    password_env: str = "CCHC_NATIONAL_PASSWORD"

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)


class Sources(_Model):
    provincial: ProvincialSource | None = None
    national: NationalSource | None = None


class Reporting(_Model):
    period_mode: Literal["calendar", "administrative"] = "calendar"
    timeliness_compare: Literal["date", "timestamp"] = "date"
    #: The source the reports read when the store holds several (domain/sources.py); None: the one held.
    source: Literal["provincial", "national", "excel"] | None = None
    # A report refuses to compute from data whose last successful sync is older (hours); None: no limit.
    max_data_age_hours: float | None = Field(default=None, gt=0)


class Score766Indicator(_Model):
    max_points: float = Field(gt=0)
    threshold: float = Field(gt=0, le=100)  # percent


def _default_766() -> dict[str, Score766Indicator]:
    # Readings of QĐ 766 for the indicators computable from dossier data (DOMAIN.md §5).
    return {
        "tien_do": Score766Indicator(max_points=20, threshold=100),
        "truc_tuyen": Score766Indicator(max_points=12, threshold=50),
        "thanh_toan": Score766Indicator(max_points=10, threshold=80),
        "so_hoa": Score766Indicator(max_points=12, threshold=80),
        "tai_su_dung": Score766Indicator(max_points=10, threshold=80),
        "hai_long": Score766Indicator(max_points=18, threshold=90),
        "dong_bo": Score766Indicator(max_points=18, threshold=100),
    }


class InspectionWave(_Model):
    """One wave of periodic inspections (đợt kiểm tra định kỳ): a date window."""

    start: date
    end: date

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError(f"ngày kết thúc {self.end:%d/%m/%Y} trước ngày bắt đầu {self.start:%d/%m/%Y} "
                             "(end before start)")
        return self


class InspectionRisk(_Model):
    """Risk weights of the periodic draw (cchc.domain.inspection_risk.RiskPolicy)."""

    coefficients: dict[str, float] = {}  # indicator -> coefficient (unnamed ones: 1)
    floor: float = Field(default=1.0, gt=0)
    previous_wave_factor: float = Field(default=0.5, gt=0, le=1)
    months: int = Field(default=6, ge=1, le=24)  # the preceding months the figures cover

    @field_validator("coefficients")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        _check_indicators(v)
        if any(c < 0 for c in v.values()):
            raise ValueError("hệ số rủi ro không được âm (coefficients must not be negative)")
        return v


class SpotCheckConfig(_Model):
    """Spot checks (kiểm tra đột xuất): indicator thresholds, complaints, a random share."""

    thresholds: dict[str, float] = {}  # indicator -> fires when strictly above
    complaints_min: int = Field(default=1, ge=1)
    random_share: float = Field(default=0.0, ge=0, le=1)

    @field_validator("thresholds")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        _check_indicators(v)
        return v


class SamplingConfig(_Model):
    """Dossier sampling (bóc mẫu hồ sơ): ISO 2859-1 level II by lot size, or a fixed n."""

    method: Literal["iso2859_level_ii", "fixed"] = "iso2859_level_ii"
    fixed_n: int | None = Field(default=None, ge=1)
    high_risk_cap: int | None = Field(default=None, ge=0)  # None: every high-risk dossier

    @model_validator(mode="after")
    def _n(self):
        if self.method == "fixed" and self.fixed_n is None:
            raise ValueError("method: fixed cần fixed_n (cỡ mẫu cố định) (fixed needs fixed_n)")
        if self.method != "fixed" and self.fixed_n is not None:
            raise ValueError("fixed_n chỉ dùng với method: fixed (fixed_n needs method: fixed)")
        return self


class Inspection(_Model):
    """The year's inspection plan (Kế hoạch kiểm tra CCHC, DOMAIN.md §1, §7). The public random
    sources are not configuration: they are given when the draw is made."""

    year: int = Field(ge=2000, le=2100)
    waves: list[InspectionWave] = Field(min_length=1)
    pool: list[str] = Field(min_length=1)  # unit codes, in the published order
    units_per_wave: int = Field(ge=1)
    always: list[str] = []
    never: list[str] = []
    visits_per_day: int = Field(default=1, ge=1)
    notice_lead_days: int = Field(default=5, ge=0, le=60)  # working days before the visit
    report_lead_days: int = Field(default=5, ge=0, le=60)  # pre-inspection report, working days before
    self_report_deadlines: list[date] = []
    deadline_roll: Literal["following", "preceding"] = "following"
    risk: InspectionRisk = InspectionRisk()
    spot_check: SpotCheckConfig = SpotCheckConfig()
    sampling: SamplingConfig = SamplingConfig()

    @model_validator(mode="after")
    def _plan(self):
        for i, w in enumerate(self.waves):
            if w.start.year != self.year or w.end.year != self.year:
                raise ValueError(f"waves[{i}]: đợt {i + 1} ({w.start:%d/%m/%Y}–{w.end:%d/%m/%Y}) không nằm "
                                 f"trong năm {self.year} (wave outside the plan's year)")
            if i and w.start <= self.waves[i - 1].end:
                raise ValueError(f"waves[{i}]: đợt {i + 1} phải bắt đầu sau khi đợt {i} kết thúc "
                                 f"(waves in order, not overlapping)")
        for i, d in enumerate(self.self_report_deadlines):
            if d.year != self.year:
                raise ValueError(f"self_report_deadlines[{i}]: {d:%d/%m/%Y} không thuộc năm {self.year}")
        for key in ("pool", "always", "never"):
            listed = getattr(self, key)
            dup = sorted({c for c in listed if listed.count(c) > 1})
            if dup:
                raise ValueError(f"{key}: mã đơn vị trùng {', '.join(dup)} (duplicate unit code)")
        for key in ("always", "never"):
            outside = [c for c in getattr(self, key) if c not in self.pool]
            if outside:
                raise ValueError(f"{key}: {', '.join(outside)} không có trong pool (not in the pool)")
        both = sorted(set(self.always) & set(self.never))
        if both:
            raise ValueError(f"always và never cùng có {', '.join(both)} (both always and never)")
        if len(self.always) > self.units_per_wave:
            raise ValueError(f"always có {len(self.always)} đơn vị, nhiều hơn units_per_wave = "
                             f"{self.units_per_wave} (more forced units than units per wave)")
        eligible = len(self.pool) - len(self.never)
        if self.units_per_wave > eligible:
            raise ValueError(f"units_per_wave = {self.units_per_wave} nhưng pool chỉ còn {eligible} đơn vị "
                             "sau khi trừ never (not enough units)")
        return self

    # --- to the domain ------------------------------------------------------------------
    def domain_waves(self):
        from cchc.domain.inspection_plan import Wave

        return [Wave(i, w.start, w.end) for i, w in enumerate(self.waves, start=1)]

    def plan_rules(self):
        from cchc.domain.inspection_plan import PlanRules

        return PlanRules(units_per_wave=self.units_per_wave, always=frozenset(self.always),
                         never=frozenset(self.never), visits_per_day=self.visits_per_day,
                         notice_lead_days=self.notice_lead_days, report_lead_days=self.report_lead_days,
                         self_report_deadlines=tuple(self.self_report_deadlines),
                         deadline_roll=self.deadline_roll)

    def risk_policy(self):
        from cchc.domain.inspection_risk import INDICATORS, RiskPolicy

        coefficients = {i: self.risk.coefficients.get(i, 1.0) for i in INDICATORS}
        return RiskPolicy(coefficients=coefficients, floor=self.risk.floor,
                          previous_wave_factor=self.risk.previous_wave_factor)

    def spot_check_policy(self):
        from cchc.domain.inspection_risk import SpotCheckPolicy, random_count_from_share

        eligible = len(self.pool) - len(self.never)
        return SpotCheckPolicy(thresholds=dict(self.spot_check.thresholds),
                               complaints_min=self.spot_check.complaints_min,
                               random_count=random_count_from_share(self.spot_check.random_share, eligible))


def _check_indicators(v: dict) -> None:
    from cchc.domain.inspection_risk import INDICATORS

    unknown = sorted(set(v) - set(INDICATORS))
    if unknown:
        raise ValueError(f"chỉ số không xác định {', '.join(unknown)}; hợp lệ: {', '.join(INDICATORS)} "
                         "(unknown indicator)")


class Reminders(_Model):
    """Lead times (working days) and thresholds of the daily reminders (cchc.domain.reminders)."""

    #: open dossiers due within this many working days: to the handling officer
    due_soon_days: int = Field(default=2, ge=0, le=60)
    #: a pending supplement request older than this many working days: to the officer
    supplement_pause_days: int = Field(default=10, ge=1, le=365)
    #: working days before a self-/pre-inspection report deadline on which unit heads are reminded
    report_lead_days: list[int] = [5, 2, 0]
    #: working days before a remediation deadline on which the unit head is reminded
    remediation_lead_days: list[int] = [5, 2, 0]
    #: after a remediation deadline: remind on the 1st working day late, then every N working days
    remediation_overdue_every_days: int = Field(default=5, ge=1, le=60)
    #: escalation to leadership when a unit has at least this many overdue open dossiers (None: off)
    escalation_overdue_count: int | None = Field(default=10, ge=1)
    #: ... or when its late rate (percent of resolved dossiers) reaches this (None: off)
    escalation_late_rate: float | None = Field(default=10.0, gt=0, le=100)
    #: sending: attempts before a message is marked failed, and the first retry delay (doubling)
    max_attempts: int = Field(default=5, ge=1, le=50)
    retry_backoff_minutes: float = Field(default=15, gt=0, le=24 * 60)
    #: a digest lists at most this many items per section (rule), the most urgent first, then
    #: "và X hồ sơ khác"; the counts stay complete
    digest_list_limit: int = Field(default=20, ge=1, le=10000)

    @field_validator("report_lead_days", "remediation_lead_days")
    @classmethod
    def _leads(cls, v: list[int]) -> list[int]:
        bad = [d for d in v if not isinstance(d, int) or d < 0 or d > 60]
        if bad:
            raise ValueError(f"số ngày làm việc phải từ 0 đến 60, không phải {bad[0]!r} (lead days must be 0-60)")
        return sorted(set(v), reverse=True)

    def rules(self):
        """The domain's ReminderRules of this section."""
        from cchc.domain.reminders import ReminderRules

        return ReminderRules(
            due_soon_days=self.due_soon_days,
            supplement_pause_days=self.supplement_pause_days,
            report_lead_days=tuple(self.report_lead_days),
            remediation_lead_days=tuple(self.remediation_lead_days),
            remediation_overdue_every_days=self.remediation_overdue_every_days,
            escalation_overdue_count=self.escalation_overdue_count,
            escalation_late_rate=self.escalation_late_rate,
        )


class Smtp(_Model):
    """Non-secret SMTP settings. CCHC_SMTP_HOST, CCHC_SMTP_PORT, CCHC_SMTP_USER, CCHC_SMTP_TLS override
    them; the password comes only from CCHC_SMTP_PASSWORD or, when that is not set, from the Prefect
    Secret block named by `password_secret` (cchc.connectors.mail) — never from this file."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8025, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    #: the NAME of a Prefect Secret block holding the SMTP password (e.g. "smtp-password"), read at run time
    password_secret: str | None = None
    sender: EmailStr = "nhacviec@localhost.example.vn"
    sender_name: str = "Hệ thống nhắc việc CCHC"
    timeout_s: float = Field(default=30, gt=0, le=600)
    #: messages claimed per sending batch
    batch_size: int = Field(default=200, ge=1, le=10000)
    #: SMTP sessions open at once while sending a batch (each message on one of them; 1: one by one)
    connections: int = Field(default=4, ge=1, le=16)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if any(c.isspace() for c in v) or "/" in v or "@" in v:
            raise ValueError(f"không phải tên máy chủ (not a host name): {mask_secrets(repr(v))}")
        return v

    @field_validator("password_secret")
    @classmethod
    def _secret_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,99}", v):
            raise ValueError(f"tên Secret block của Prefect chỉ gồm chữ thường, số và dấu '-', không phải {v!r} "
                             "(a Prefect block name: lowercase letters, digits, dashes)")
        return v


#: The headline rates of the monthly summary that take a target (keys of `cchc stats --json`).
MONTHLY_TARGET_KEYS = ("on_time_rate", "online_rate", "full_online_rate", "online_payment_rate",
                       "digitization_rate", "apology_rate")


class MonthlyRecipient(_Model):
    name: str = Field(min_length=1)
    title: str = ""
    email: EmailStr


class MonthlyReport(_Model):
    """The monthly summary for leadership (issue 13): who receives it, when, the ward's targets per
    headline rate (percent), and the Word report's number, symbol, signer and "Nơi nhận"."""

    #: empty: the `leadership` list
    recipients: list[MonthlyRecipient] = []
    #: day of the month the summary is sent (the deployment's schedule); None: the 1st, or the 15th
    #: under the administrative regime (the month ends on the 14th)
    send_day: int | None = Field(default=None, ge=1, le=28)
    send_time: time = time(7, 30)
    #: headline rate -> target percent (MONTHLY_TARGET_KEYS); a rate without one is shown without "Đạt"
    targets: dict[str, float] = {}
    number: int | str | None = None  # None: left blank for the document system
    symbol: str = Field(default="BC-UBND", min_length=1)
    #: the name of a `leadership` member who signs; None: the first one
    signer: str | None = None
    receivers: list[str] = ["Thường trực Đảng ủy phường", "Thường trực HĐND phường",
                            "Chủ tịch, các Phó Chủ tịch UBND phường", "Các đơn vị thuộc UBND phường"]
    archive: str = "VT"

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(MONTHLY_TARGET_KEYS))
        if unknown:
            raise ValueError(f"chỉ tiêu không xác định {', '.join(unknown)}; hợp lệ: "
                             f"{', '.join(MONTHLY_TARGET_KEYS)} (unknown target)")
        bad = [k for k, t in v.items() if not 0 <= t <= 100]
        if bad:
            raise ValueError(f"{bad[0]}: mục tiêu phải từ 0 đến 100 (%), không phải {v[bad[0]]!r} "
                             "(target must be a percent 0-100)")
        return v


class Alerts(_Model):
    """Failure alerts (issue 13): a scheduled run that fails or crashes e-mails the ward's IT officer
    through the outbox, once per run (cchc.tasks.alerts)."""

    #: who is told; None: no alert is sent
    it_officer_email: EmailStr | None = None
    it_officer_name: str = "Cán bộ phụ trách CNTT"
    #: the Prefect UI's address (e.g. http://127.0.0.1:4200): the alert links to the run; None: no link
    ui_url: str | None = None
    #: only runs of a deployment (scheduled or started from the UI); false: every run, also from `cchc`
    scheduled_only: bool = True

    @field_validator("ui_url")
    @classmethod
    def _ui_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"phải là địa chỉ http(s)://máy:cổng (must be an http(s) URL): {mask_secrets(repr(v))}")
        return v.rstrip("/")


class Config(_Model):
    ward: Ward
    timezone: str = DEFAULT_TIMEZONE
    office_hours: list[tuple[time, time]] = [(time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))]
    calendar: CalendarOverrides = CalendarOverrides()
    units: list[Unit] = Field(min_length=1)
    officers: list[Officer] = []
    leadership: list[Leader] = []
    sources: Sources = Sources()
    database_url: str = DEFAULT_DATABASE_URL
    reporting: Reporting = Reporting()
    score_766: dict[str, Score766Indicator] = Field(default_factory=_default_766)
    salt_env: str = "CCHC_SALT"
    inspection: Inspection | None = None
    reminders: Reminders = Reminders()
    smtp: Smtp = Smtp()
    monthly_report: MonthlyReport = MonthlyReport()
    alerts: Alerts = Alerts()
    #: A folder of the ward's own report templates (jinja2), searched before the package's
    #: (cchc/report/templates/): an officer changes wording without code. Relative to the config file.
    templates_dir: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"múi giờ không tồn tại (unknown time zone): {v!r}") from None
        return v

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, v):
        if not v:
            raise ValueError("cần ít nhất một buổi làm việc (at least one office session is required)")
        prev_end = None
        for start, end in v:
            if end <= start:
                raise ValueError(f"buổi {start:%H:%M}-{end:%H:%M} kết thúc trước khi bắt đầu "
                                 "(session ends before it starts)")
            if prev_end and start < prev_end:
                raise ValueError("các buổi phải theo thứ tự và không chồng nhau (sessions must be in order and "
                                 "not overlap)")
            prev_end = end
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        if "://" not in v:
            raise ValueError(f"không phải URL CSDL, ví dụ sqlite:///var/cchc.sqlite (not a database URL): "
                             f"{mask_secrets(repr(v))}")
        _check_authority(v, port=False)  # a driver may accept more (libpq multi-host): it reports its own
        return v

    @model_validator(mode="after")
    def _references(self):
        problems = reference_errors(self.model_dump(mode="json"))
        if problems:
            raise _ReferenceErrors(problems)
        return self

    # --- derived helpers -------------------------------------------------------------------
    def unit_by_code(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def monthly_recipients(self) -> list[MonthlyRecipient]:
        """Who receives the monthly summary: `monthly_report.recipients`, else the leadership."""
        if self.monthly_report.recipients:
            return list(self.monthly_report.recipients)
        return [MonthlyRecipient(name=x.name, title=x.title, email=x.email) for x in self.leadership]

    def monthly_signer(self) -> Leader | None:
        """The leader who signs the monthly Word report (`monthly_report.signer`, else the first)."""
        name = self.monthly_report.signer
        if name is None:
            return self.leadership[0] if self.leadership else None
        return next(x for x in self.leadership if x.name == name)

    def monthly_send_day(self) -> int:
        """The day of the month the summary is sent: configured, else 1 (calendar) or 15 (administrative)."""
        if self.monthly_report.send_day is not None:
            return self.monthly_report.send_day
        return 15 if self.reporting.period_mode == "administrative" else 1

    def plan_units(self):
        """The inspection pool as domain `PlanUnit`s, in the published order (needs `inspection`)."""
        from cchc.domain.inspection_plan import PlanUnit

        if self.inspection is None:
            raise ConfigError("cấu hình chưa có mục inspection (kế hoạch kiểm tra)")
        return [PlanUnit(code, self.unit_by_code(code).name) for code in self.inspection.pool]

    def now(self):
        """The ward's local time (aware): every 'today' of the system is the ward's date, not the server's."""
        from datetime import datetime

        return datetime.now(ZoneInfo(self.timezone))

    def today(self) -> date:
        return self.now().date()

    def salt(self) -> bytes | None:
        v = os.environ.get(self.salt_env)
        return v.encode() if v else None

    def make_calendar(self):
        from cchc.domain.calendar import OfficeHours, WorkCalendar

        return WorkCalendar(
            extra_holidays=self.calendar.extra_holidays,
            extra_working_days=self.calendar.extra_working_days,
            office_hours=OfficeHours(tuple(self.office_hours)),
            tz=self.timezone,
        )


class _ReferenceErrors(ValueError):
    """Every cross-reference problem of a configuration at once: [(key, message)]."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _items(data, key) -> list:
    v = data.get(key) if isinstance(data, dict) else None
    return v if isinstance(v, list) else []


def _field(item, key):
    return item.get(key) if isinstance(item, dict) else None


def _under(nid: str, parent_nid: str) -> bool:
    """The roll-up rule (metrics.unit_matches): nid is parent_nid or lies under it."""
    a, b = str(nid).strip(), str(parent_nid).strip().rstrip(".")
    return a == b or a.startswith(b + ".")


def _note_duplicate(out: list, seen: dict, value, i: int, key: str, label: str, of: str, gloss: str) -> None:
    """A non-empty text `value` seen before (at `seen[value]`) is an error at `key`; else remember it."""
    if not (isinstance(value, str) and value):
        return
    if value in seen:
        out.append((key, f"{label} {value!r} trùng với {of} thứ {seen[value] + 1} ({gloss})"))
    else:
        seen[value] = i


def reference_errors(data: dict) -> list[tuple[str, str]]:
    """(key, message) for every problem between entries of a configuration (raw YAML data, possibly
    invalid elsewhere): duplicate unit codes, identifiers and officer usernames; a parent, an
    officer's unit that does not exist; a parent cycle; a sub-unit whose identifier is not under its
    parent's (roll-ups match by identifier prefix); top-level units whose identifiers overlap (they
    would be counted twice in the total); a date both extra holiday and extra working day; an
    unknown 766 indicator."""
    out: list[tuple[str, str]] = []
    units = _items(data, "units")
    by_code: dict[str, int] = {}
    by_nid: dict[str, int] = {}
    for i, u in enumerate(units):
        _note_duplicate(out, by_code, _field(u, "code"), i, f"units[{i}].code", "mã đơn vị", "đơn vị",
                        "duplicate unit code")
        _note_duplicate(out, by_nid, _field(u, "national_id"), i, f"units[{i}].national_id", "mã định danh",
                        "đơn vị", "duplicate national id")
    for i, u in enumerate(units):
        parent = _field(u, "parent")
        if parent is None:
            continue
        if parent not in by_code:
            out.append((f"units[{i}].parent", f"đơn vị cha {parent!r} không có trong units (unknown unit code)"))
            continue
        if parent == _field(u, "code"):
            out.append((f"units[{i}].parent", "đơn vị không thể là cha của chính nó (a unit cannot be its own "
                                              "parent)"))
            continue
        seen, cur = {_field(u, "code")}, parent
        while cur is not None and cur in by_code and cur not in seen:
            seen.add(cur)
            cur = _field(units[by_code[cur]], "parent")
        if cur is not None and cur in seen:
            out.append((f"units[{i}].parent", f"vòng lặp đơn vị cha qua {cur!r} (parent cycle)"))
            continue
        nid, pnid = _field(u, "national_id"), _field(units[by_code[parent]], "national_id")
        if isinstance(nid, str) and isinstance(pnid, str) and nid and pnid and (nid == pnid or not _under(nid, pnid)):
            out.append((f"units[{i}].national_id", f"mã định danh {nid!r} phải nằm dưới mã của đơn vị cha {parent!r} "
                                                   f"({pnid}.…) để được cộng dồn (must lie under the parent's id)"))
    tops = [(i, _field(u, "national_id")) for i, u in enumerate(units)
            if _field(u, "parent") is None and isinstance(_field(u, "national_id"), str)]
    for i, nid in tops:
        for j, other in tops:
            if i != j and nid != other and _under(nid, other):
                out.append((f"units[{i}].parent", f"mã định danh {nid!r} nằm dưới đơn vị thứ {j + 1} ({other}): khai "
                                                  f"báo parent, nếu không hồ sơ bị tính hai lần trong tổng "
                                                  f"(overlaps another top-level unit)"))
    names: dict[str, int] = {}
    for i, o in enumerate(_items(data, "officers")):
        unit = _field(o, "unit")
        _note_duplicate(out, names, _field(o, "username"), i, f"officers[{i}].username", "tên đăng nhập", "cán bộ",
                        "duplicate username")
        if unit is not None and unit not in by_code:
            out.append((f"officers[{i}].unit", f"đơn vị {unit!r} không có trong units (unknown unit code)"))
    cal = data.get("calendar") if isinstance(data.get("calendar"), dict) else {}
    holidays = {str(d) for d in (cal.get("extra_holidays") or []) if d is not None}
    for i, d in enumerate(cal.get("extra_working_days") or []):
        if d is not None and str(d) in holidays:
            out.append((f"calendar.extra_working_days[{i}]", f"ngày {d} vừa là ngày nghỉ thêm vừa là ngày làm bù "
                                                             "(both a holiday and a working day)"))
    plan = data.get("inspection")
    if isinstance(plan, dict):
        for key in ("pool", "always", "never"):
            listed = plan.get(key)
            for i, code in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(code, str) and code not in by_code:
                    out.append((f"inspection.{key}[{i}]", f"đơn vị {code!r} không có trong units (unknown unit "
                                                         "code)"))
    monthly = data.get("monthly_report")
    if isinstance(monthly, dict) and isinstance(monthly.get("signer"), str):
        leaders = [_field(x, "name") for x in _items(data, "leadership")]
        if monthly["signer"] not in leaders:
            out.append(("monthly_report.signer", f"{monthly['signer']!r} không có trong leadership (the signer "
                                                 "must be a member of the leadership)"))
    weights = data.get("score_766")
    if isinstance(weights, dict):
        from cchc.domain.score766 import INDICATORS

        for key in weights:
            if key not in INDICATORS:
                out.append((f"score_766.{key}", f"chỉ số 766 không xác định; hợp lệ: {', '.join(INDICATORS)} "
                                                "(unknown 766 indicator)"))
    return out


def _check_url(v: str) -> str:
    if not (v.startswith("http://") or v.startswith("https://")):
        raise ValueError(f"không phải URL http(s) (not an http(s) URL): {mask_secrets(repr(v))}")
    _check_authority(v)
    if not urlsplit(v).hostname:
        raise ValueError(f"URL không có tên máy (URL has no host name): {mask_secrets(repr(v))}")
    return v.rstrip("/")


def _check_authority(v: str, port: bool = True) -> None:
    """A password with a raw "@" (must be written %40) or a port outside 1-65535: say so (masked)."""
    if userinfo_has_raw_at(v):
        raise ValueError(f"the password in {mask_secrets(repr(v))} contains '@': write it as %40 "
                         "(mật khẩu chứa '@' phải viết là %40)")
    if not port:
        return
    try:
        number = urlsplit(v).port
    except ValueError:
        number = -1
    if number is not None and not 1 <= number <= 65535:
        raise ValueError(f"port out of range 1-65535 in {mask_secrets(repr(v))} (cổng không hợp lệ)")


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(gốc)"


_LIST_NAMES_VI = {"units": ("đơn vị", "code"), "officers": ("cán bộ", "username"),
                  "leadership": ("lãnh đạo", "name"), "office_hours": ("buổi làm việc", None)}


def _where(key: str, data) -> str:
    """The 1-based position of a list entry, named: 'units[2].parent' -> 'đơn vị thứ 3 (KTHTDT)'."""
    m = re.match(r"^(\w+)\[(\d+)\]", key)
    if not m or m.group(1) not in _LIST_NAMES_VI:
        return ""
    what, name_key = _LIST_NAMES_VI[m.group(1)]
    i = int(m.group(2))
    items = _items(data, m.group(1))
    name = _field(items[i], name_key) if name_key and i < len(items) else None
    return f"{what} thứ {i + 1}" + (f" ({name})" if isinstance(name, str) and name else "")


def _located(key: str, msg: str, data) -> str:
    where = _where(key, data) if data is not None else ""
    return f"{key} — {where}: {msg}" if where else f"{key}: {msg}"


#: pydantic error types -> Vietnamese (English) messages; {placeholders} from the error's ctx
_TYPE_MESSAGES = {
    "missing": "bắt buộc, chưa khai báo (required)",
    "extra_forbidden": "khóa không hợp lệ (unknown key)",
    "string_too_short": "không được để trống (must not be empty)",
    "too_short": "cần ít nhất {min_length} mục (at least {min_length} required)",
    "string_type": "phải là chuỗi ký tự (must be a string)",
    "int_parsing": "phải là số nguyên (must be an integer)",
    "int_type": "phải là số nguyên (must be an integer)",
    "int_from_float": "phải là số nguyên (must be an integer)",
    "float_parsing": "phải là số (must be a number)",
    "float_type": "phải là số (must be a number)",
    "bool_parsing": "phải là true hoặc false (must be true or false)",
    "bool_type": "phải là true hoặc false (must be true or false)",
    "date_parsing": "ngày không hợp lệ, dạng YYYY-MM-DD (invalid date)",
    "date_from_datetime_parsing": "ngày không hợp lệ, dạng YYYY-MM-DD (invalid date)",
    "date_type": "ngày không hợp lệ, dạng YYYY-MM-DD (invalid date)",
    "time_parsing": "giờ không hợp lệ, dạng HH:MM (invalid time)",
    "time_type": "giờ không hợp lệ, dạng HH:MM (invalid time)",
    "greater_than": "phải lớn hơn {gt} (must be > {gt})",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge} (must be ≥ {ge})",
    "less_than": "phải nhỏ hơn {lt} (must be < {lt})",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le} (must be ≤ {le})",
    "literal_error": "phải là một trong {expected} (must be one of {expected})",
    "list_type": "phải là một danh sách (must be a list)",
    "tuple_type": "phải là một danh sách (must be a list)",
    "dict_type": "phải là một ánh xạ khóa: giá trị (must be a mapping)",
    "model_type": "phải là một ánh xạ khóa: giá trị (must be a mapping)",
    "model_attributes_type": "phải là một ánh xạ khóa: giá trị (must be a mapping)",
}


def _messages(err: dict, data=None) -> list[str]:
    """The message(s) of one pydantic error: 'units[2].head_email — đơn vị thứ 3 (KTHTDT): …'."""
    ctx = err.get("ctx") or {}
    inner = ctx.get("error")
    if isinstance(inner, _ReferenceErrors):
        return [_located(k, m, data) for k, m in inner.problems]
    msg, kind = err.get("msg", ""), err.get("type", "")
    if kind == "value_error" and "email" in msg.lower():
        msg = "không phải địa chỉ email (not an email address)"
    elif kind in _TYPE_MESSAGES:
        try:
            msg = _TYPE_MESSAGES[kind].format(**ctx)
        except (KeyError, IndexError):
            msg = _TYPE_MESSAGES[kind]
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return [_located(_loc(tuple(err["loc"])), msg, data)]


def config_path() -> Path:
    return Path(os.environ.get("CCHC_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike | None = None, env: dict | None = None) -> Config:
    """Load, override from the environment and validate. Raises ConfigError with one clear message."""
    env = os.environ if env is None else env
    p = Path(path) if path else Path(env.get("CCHC_CONFIG") or DEFAULT_CONFIG)
    data = _read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: tệp cấu hình phải là một ánh xạ YAML (a mapping)")
    data = _apply_env(data, env)
    data = _resolve_templates_dir(data, p)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        errors = _all_messages(e, data)
        more = f" (và {len(errors) - 1} lỗi khác, xem `cchc config check`)" if len(errors) > 1 else ""
        raise ConfigError(f"{p}: {errors[0]}{more}") from None


def _read_yaml(p: Path):
    """The parsed YAML of `p`, or ConfigError in one line: missing, unreadable, not UTF-8 text
    (UTF-16, binary), or not valid YAML."""
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: không tìm thấy tệp cấu hình (configuration file not found)") from None
    except OSError as e:
        raise ConfigError(f"{p}: không đọc được tệp cấu hình ({e.strerror or type(e).__name__})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{p}: tệp cấu hình mã hóa UTF-16; hãy lưu lại dạng UTF-8 "
                          "(the configuration file must be UTF-8 text, not UTF-16)")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(f"{p} dòng {line}: chứa byte NUL (tệp UTF-16 hoặc nhị phân?); tệp cấu hình phải là "
                          "văn bản YAML mã hóa UTF-8 (contains a NUL byte: UTF-16 or a binary file?)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{p} dòng {line}: không phải văn bản UTF-8 (byte 0x{raw[e.start]:02x} ở vị trí "
                          f"{e.start}); tệp cấu hình phải là YAML mã hóa UTF-8 "
                          "(not UTF-8 text: a binary file?)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" dòng {mark.line + 1}, cột {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(f"{p}{where}: YAML không hợp lệ ({problem})") from None
    except RecursionError:
        raise ConfigError(f"{p}: YAML lồng nhau quá sâu (YAML nested too deeply)") from None
    except (ValueError, TypeError, OverflowError) as e:  # a YAML date such as 2026-13-45
        raise ConfigError(f"{p}: YAML có giá trị không hợp lệ ({' '.join(str(e).split())})") from None


def _resolve_templates_dir(data: dict, p: Path) -> dict:
    """`templates_dir` relative to the configuration file; it must be a folder that exists."""
    value = data.get("templates_dir")
    if value is None:
        return data
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{p}: templates_dir: phải là đường dẫn một thư mục (must be a folder path)")
    folder = Path(value).expanduser()
    if not folder.is_absolute():
        folder = p.parent / folder
    if not folder.is_dir():
        raise ConfigError(f"{p}: templates_dir: không tìm thấy thư mục {folder} (folder not found)")
    return dict(data, templates_dir=str(folder))


def _apply_env(data: dict, env) -> dict:
    data = dict(data)
    if env.get("CCHC_DATABASE_URL"):
        data["database_url"] = env["CCHC_DATABASE_URL"]
    sources = dict(data.get("sources") or {})
    for key, var in (("provincial", "CCHC_PROVINCIAL_URL"), ("national", "CCHC_NATIONAL_URL")):
        if env.get(var):
            src = dict(sources.get(key) or {})
            src["base_url"] = env[var]
            if key == "national":
                src.setdefault("unit_code", (data.get("ward") or {}).get("national_id", "unknown"))
            sources[key] = src
    if sources:
        data["sources"] = sources
    return data


def all_errors(path) -> list[str]:
    """Every problem of a configuration file, one message each (for `cchc config check`): the
    value errors and, even when there are some, the cross-references between entries."""
    try:
        load_config(path)
        return []
    except ConfigError as e:
        first = str(e)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return [first]
        data = _apply_env(data, os.environ)
    except Exception:  # unreadable or not YAML: load_config's message says where
        return [first]
    try:
        Config.model_validate(data)
    except ValidationError as e:
        return [f"{path}: {m}" for m in _all_messages(e, data)]
    return [first]


def _all_messages(e: ValidationError, data: dict) -> list[str]:
    """The value errors, then the cross-references (pydantic skips the model check when a value is
    wrong, so they are checked on the raw data too)."""
    out = [m for err in e.errors() for m in _messages(err, data)]
    refs = [_located(k, m, data) for k, m in reference_errors(data)]
    return out + [r for r in refs if r not in out]
