"""Ward configuration: a YAML file validated on load, with environment overrides.

Environment variables override the file, as operators expect:
CCHC_CONFIG (path, default config/demo.yaml), CCHC_DATABASE_URL, CCHC_PROVINCIAL_URL,
CCHC_NATIONAL_URL. Credentials are read from the environment variables the file names
(`token_env`, `username_env`, `password_env`, `salt_env`), never from the file itself.
"""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = "config/demo.yaml"
DEFAULT_DATABASE_URL = "sqlite:///var/cchc.sqlite"


class ConfigError(Exception):
    """A configuration problem, with a message naming the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ward(_Model):
    name: str = Field(min_length=1)
    province: str = Field(min_length=1)
    national_id: str = Field(min_length=1)
    simulated: bool = False

    @property
    def slug(self) -> str:
        from cchc.domain.text import slugify

        return slugify(self.name)


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


class Config(_Model):
    ward: Ward
    timezone: str = "Asia/Ho_Chi_Minh"
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

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, v):
        if not v:
            raise ValueError("at least one office session is required")
        prev_end = None
        for start, end in v:
            if end <= start:
                raise ValueError(f"session {start:%H:%M}-{end:%H:%M} ends before it starts")
            if prev_end and start < prev_end:
                raise ValueError("sessions must be in order and not overlap")
            prev_end = end
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        if "://" not in v:
            raise ValueError(f"not a database URL (expected e.g. sqlite:///var/cchc.sqlite): {v!r}")
        return v

    @model_validator(mode="after")
    def _references(self):
        codes = [u.code for u in self.units]
        seen = set()
        for i, c in enumerate(codes):
            if c in seen:
                raise _KeyError(f"units[{i}].code", f"duplicate unit code {c!r}")
            seen.add(c)
        for i, u in enumerate(self.units):
            if u.parent is not None and u.parent not in seen:
                raise _KeyError(f"units[{i}].parent", f"unknown unit code {u.parent!r}")
        for i, o in enumerate(self.officers):
            if o.unit not in seen:
                raise _KeyError(f"officers[{i}].unit", f"unknown unit code {o.unit!r}")
        return self

    # --- derived helpers -------------------------------------------------------------------
    def unit_by_code(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

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


class _KeyError(ValueError):
    def __init__(self, key: str, msg: str):
        self.key = key
        super().__init__(f"{key}: {msg}")


def _check_url(v: str) -> str:
    if not (v.startswith("http://") or v.startswith("https://")):
        raise ValueError(f"not an http(s) URL: {v!r}")
    return v.rstrip("/")


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(gốc)"


def _message(err: dict) -> str:
    msg = err.get("msg", "")
    ctx = err.get("ctx") or {}
    inner = ctx.get("error")
    if isinstance(inner, _KeyError):
        return str(inner)
    if err.get("type") == "value_error" and "email" in msg.lower():
        msg = "not an email address"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif err.get("type") == "extra_forbidden":
        msg = "unknown key (khóa không hợp lệ)"
    elif err.get("type") == "missing":
        msg = "required (bắt buộc)"
    return f"{_loc(tuple(err['loc']))}: {msg}"


def config_path() -> Path:
    return Path(os.environ.get("CCHC_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike | None = None, env: dict | None = None) -> Config:
    """Load, override from the environment and validate. Raises ConfigError with one clear message."""
    env = os.environ if env is None else env
    p = Path(path) if path else Path(env.get("CCHC_CONFIG") or DEFAULT_CONFIG)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: không tìm thấy tệp cấu hình (configuration file not found)") from None
    except OSError as e:
        raise ConfigError(f"{p}: không đọc được tệp cấu hình ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" dòng {mark.line + 1}, cột {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: YAML không hợp lệ ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: tệp cấu hình phải là một ánh xạ YAML (a mapping)")
    data = _apply_env(data, env)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        first = _message(errors[0])
        more = f" (và {len(errors) - 1} lỗi khác)" if len(errors) > 1 else ""
        raise ConfigError(f"{p}: {first}{more}") from None


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
    """Every problem of a configuration file, one message each (for `cchc config check`)."""
    try:
        load_config(path)
        return []
    except ConfigError as e:
        first = str(e)
    try:
        data = _apply_env(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}, os.environ)
        Config.model_validate(data)
    except ValidationError as e:
        return [f"{path}: {_message(err)}" for err in e.errors()]
    except Exception:
        pass
    return [first]
