"""A resilient JSON client over `requests.Session`, the base of the provincial and national connectors.

- Retries with exponential backoff (plus a little jitter) on connection errors, timeouts, HTTP 5xx
  and 429; on 429/503 the server's `Retry-After` (seconds or HTTP date) is honoured, capped at
  `max_backoff_s` (a `Retry-After` of 0 or less: the backoff).
- Every request has a total deadline (`deadline_s`, retries and waits included): `timeout_s` is per
  socket read, so a server dripping a byte at a time would otherwise hold a request forever. At
  the deadline a watchdog shuts the request's connections and the request fails (not retried).
- Other 4xx answers are not retried. Every failure ends in one `SourceError` whose bilingual
  message names the URL (without query string or credentials) and what happened.
- A body that is not JSON, or not of the expected type, is a `SourceError` too.
- Logging (logger "cchc.connectors"): retries at WARNING with URL, status and wait time. Bodies,
  tokens, passwords and sessions are never logged; registered secrets are scrubbed from every
  message this module builds.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from cchc.domain.redact import mask_secrets
from cchc.errors import UserError

logger = logging.getLogger("cchc.connectors")

#: HTTP statuses worth retrying besides 5xx.
_RETRY_STATUSES = frozenset({429})
#: Statuses whose Retry-After header is honoured.
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_SECRET_PARAM = re.compile(r"token|pass|pwd|secret|key|session|sig|auth|credential", re.IGNORECASE)
_MESSAGE_KEYS = (
    "message",
    "Message",
    "error_message",
    "errorMessage",
    "error_description",
    "detail",
    "title",
    "msg",
    "error",
)


class SourceError(UserError):
    """An outside system could not be read: the message says where (URL) and what happened."""

    def __init__(self, message: str, url: str, status: int | None = None, attempts: int = 1):
        message = mask_secrets(message)
        super().__init__(message)
        self.message = message
        self.url = mask_secrets(url)
        self.status = status
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes (Prefect task results, workers)
        return (type(self), (self.message, self.url, self.status, self.attempts))


def display_url(url: str) -> str:
    """The URL for messages: no user:password@, no query string, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # out of range or not a number: show it as written, never raise
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def log_url(url: str, params: dict | None = None) -> str:
    """The URL for logs: like `display_url` plus the query, with secret-looking values masked."""
    query = list(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    query += [(k, v) for k, v in (params or {}).items() if v is not None]
    base = display_url(url)
    if not query:
        return base
    safe = [(k, "***" if _SECRET_PARAM.search(str(k)) else v) for k, v in query]
    return f"{base}?{urlencode(safe)}"


def _connection_reason(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"hết thời gian chờ kết nối {timeout_s:g} s / connect timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"hết thời gian chờ phản hồi {timeout_s:g} s / read timeout"
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nameresolution" in text or "getaddrinfo" in text:
        return "không phân giải được tên máy chủ / name resolution failed"
    if "reset" in text:
        return "connection reset"
    if isinstance(exc, requests.exceptions.SSLError):
        return "lỗi SSL/TLS / SSL error"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "kết nối bị ngắt giữa chừng / connection broken"
    return type(exc).__name__


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or HTTP date), or None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _TrackingAdapter(HTTPAdapter):
    """An adapter that remembers the connections it opens, so a watchdog can shut them."""

    def __init__(self, live: weakref.WeakSet, **kwargs):
        self._live = live
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        live = self._live

        class Pool(HTTPConnectionPool):
            def _new_conn(self):
                conn = super()._new_conn()
                live.add(conn)
                return conn

        class SecurePool(HTTPSConnectionPool):
            def _new_conn(self):
                conn = super()._new_conn()
                live.add(conn)
                return conn

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}


class ResilientClient:
    """JSON over HTTP with retries. Subclasses add the paths, parameters and shapes of one system."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 30,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], object] = time.sleep,
        deadline_s: float | None = None,
        token: str | None = None,
    ):
        """The retry set-up both API clients share; `token` is sent as a Bearer authorization."""
        if token:
            headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        #: a request's total time, retries and waits included (default: 4 read timeouts, at least 120 s)
        self.deadline_s = float(deadline_s) if deadline_s else max(120.0, 4 * float(timeout_s))
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._random = random.Random()
        self._secrets: set[str] = set()
        self.session = requests.Session()
        self._live: weakref.WeakSet = weakref.WeakSet()
        self._expired = False
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _TrackingAdapter(self._live))
        self.session.headers.update({"Accept": "application/json", "User-Agent": "cchc/0.1"})
        if headers:
            self.session.headers.update(headers)
            for k, v in headers.items():
                if k.lower() in ("authorization", "x-api-key", "cookie") and v:
                    self.add_secret(v)
                    self.add_secret(v.split(" ", 1)[-1])

    # --- housekeeping --------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}({display_url(self.base_url)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def add_secret(self, value: str | None) -> None:
        """Register a value (token, password, session) to be scrubbed from every error message."""
        if value and len(value) >= 4:
            self._secrets.add(value)

    def scrub(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, "***")
        return text

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path:
            return self.base_url
        return f"{self.base_url}/{path.lstrip('/')}"

    def error(self, message: str, url: str, status: int | None = None, attempts: int = 1) -> SourceError:
        """A SourceError with secrets scrubbed and the URL shown without query or credentials."""
        return SourceError(self.scrub(message), display_url(url), status=status, attempts=attempts)

    def shape_error(self, url: str, problem: str, status: int | None = None) -> SourceError:
        return self.error(
            f"Phản hồi từ {display_url(url)} không đúng cấu trúc: {problem} / unexpected response shape",
            url,
            status=status,
        )

    # --- requests ------------------------------------------------------------------------------
    def get_json(self, path: str, params: dict | None = None, *, expect: type | None = dict):
        """GET and decode JSON. `expect` (default dict) is the required top-level type; None: any."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return self.request_json("GET", path, params=clean, expect=expect)

    def post_json(self, path: str, body=None, *, expect: type | None = dict, headers: dict | None = None):
        """POST a JSON body and decode the JSON answer (the body is never logged)."""
        return self.request_json("POST", path, json_body=body, expect=expect, headers=headers)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json_body=None,
        expect: type | None = dict,
        headers: dict | None = None,
    ):
        url = self.url_for(path)
        resp, attempts = self._send(method, url, params=params, json_body=json_body, headers=headers)
        try:
            data = decode_json(resp.content)
        except (ValueError, UnicodeDecodeError):
            ctype = resp.headers.get("Content-Type", "?").split(";")[0] or "?"
            raise self.error(
                f"Phản hồi từ {display_url(url)} không phải JSON (HTTP {resp.status_code}, "
                f"Content-Type {ctype}, {len(resp.content)} byte) / response is not JSON",
                url,
                status=resp.status_code,
                attempts=attempts,
            ) from None
        if expect is not None and not isinstance(data, expect):
            want = {dict: "một đối tượng JSON / an object", list: "một mảng JSON / an array"}.get(
                expect, expect.__name__
            )
            raise self.shape_error(url, f"cần {want}, nhận {type(data).__name__}", status=resp.status_code)
        return data

    def _abort(self) -> None:
        """The watchdog: the deadline has passed; shut this client's connections (wakes a blocked read)."""
        self._expired = True
        for conn in list(self._live):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _deadline_error(self, url: str, attempt: int) -> SourceError:
        return self.error(
            f"Máy chủ {display_url(url)} không trả đủ phản hồi trong {self.deadline_s:g} giây (tổng thời gian cho "
            f"một yêu cầu, {attempt} lần thử) / no complete response within the {self.deadline_s:g} s deadline",
            url,
            attempts=attempt,
        )

    def _send(self, method, url, *, params=None, json_body=None, headers=None):
        total = self.max_retries + 1
        deadline = time.monotonic() + self.deadline_s
        for attempt in range(1, total + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._deadline_error(url, attempt - 1)
            self._expired = False
            watchdog = threading.Timer(remaining, self._abort)
            watchdog.daemon = True
            watchdog.start()
            try:
                resp = self.session.request(
                    method, url, params=params, json=json_body, headers=headers,
                    timeout=min(self.timeout_s, remaining),
                )
            except requests.exceptions.RequestException as e:
                if self._expired:
                    raise self._deadline_error(url, attempt) from None
                if not isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                                      requests.exceptions.ChunkedEncodingError)):
                    # invalid URL, too many redirects...
                    raise self.error(
                        f"Không gửi được yêu cầu tới {display_url(url)} ({type(e).__name__}) / request failed",
                        url,
                        attempts=attempt,
                    ) from None
                reason = _connection_reason(e, self.timeout_s)
                if attempt >= total:
                    raise self.error(
                        f"Không kết nối được tới {display_url(url)} sau {attempt} lần thử ({reason}) / "
                        f"could not connect after {attempt} attempts",
                        url,
                        attempts=attempt,
                    ) from None
                self._wait(url, params, reason, self._backoff(attempt), attempt, total, deadline)
                continue
            finally:
                watchdog.cancel()

            status = resp.status_code
            if status < 400:
                return resp, attempt
            if status >= 500 or status in _RETRY_STATUSES:
                what = f"HTTP {status}" + (
                    " (quá nhiều yêu cầu / too many requests)" if status == 429 else ""
                )
                if attempt >= total:
                    raise self.error(
                        f"Máy chủ {display_url(url)} trả lỗi {what} sau {attempt} lần thử / "
                        f"server error after {attempt} attempts",
                        url,
                        status=status,
                        attempts=attempt,
                    )
                wait = None
                if status in _RETRY_AFTER_STATUSES:
                    wait = parse_retry_after(resp.headers.get("Retry-After"))
                    if wait is not None and wait > 0:
                        wait = min(wait, self.max_backoff_s)
                    else:  # absent, unreadable, zero or negative: our own backoff, never a busy loop
                        wait = None
                if wait is None:
                    wait = self._backoff(attempt)
                resp.close()
                self._wait(url, params, what, wait, attempt, total, deadline)
                continue
            raise self._client_error(resp, url, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _client_error(self, resp: requests.Response, url: str, attempts: int) -> SourceError:
        status = resp.status_code
        detail = _server_message(resp)
        hint = ""
        if status in (401, 403):
            hint = " — kiểm tra thông tin xác thực (token, tài khoản) / check credentials"
        elif status == 404:
            hint = " — kiểm tra địa chỉ và đường dẫn (base_url, path) / check the URL and path"
        reason = f" {resp.reason}" if resp.reason else ""
        return self.error(
            f"Máy chủ {display_url(url)} từ chối yêu cầu: HTTP {status}{reason}"
            f"{': ' + detail if detail else ''}{hint} (không thử lại / not retried)",
            url,
            status=status,
            attempts=attempts,
        )

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_s * (2 ** (attempt - 1)), self.max_backoff_s)
        return min(base + self._random.uniform(0, 0.1 * base), self.max_backoff_s)

    def _wait(self, url, params, what: str, wait: float, attempt: int, total: int,
              deadline: float | None = None) -> None:
        logger.warning(
            "Lỗi tạm thời từ %s: %s; thử lại sau %.1f s (lần %d/%d) / transient error, retrying",
            log_url(url, params),
            what,
            wait,
            attempt,
            total,
        )
        if deadline is not None:  # never sleep past the request's deadline
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        if wait > 0:
            self._sleep(wait)


#: Every digit to "0", everything else to " ": a run of 19 digits is then one `find` away.
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_NUMBER = b"0" * 19


def decode_json(body: bytes):
    """`json.loads(body)`, faster: orjson reads what it can (UTF-8, no NaN); anything else — another
    encoding, NaN, a lone surrogate — is read by the standard library exactly as before. orjson reads
    an integer beyond 64 bits as a float, so a body with a run of 19 digits or more (a fee of 10^30;
    no date, phone or ID number is that long) goes to the standard library too: the result never
    differs."""
    if body.translate(_DIGITS).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def _server_message(resp: requests.Response) -> str:
    """A short error message from a 4xx JSON body, if it has one (never the whole body)."""
    try:
        data = json.loads(resp.content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(data, dict):
        for key in _MESSAGE_KEYS:
            v = data.get(key)
            if isinstance(v, str) and v.strip():
                return _short(v)
            if isinstance(v, dict):
                inner = v.get("message") or v.get("Message")
                if isinstance(inner, str) and inner.strip():
                    return _short(inner)
    return ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def batched(items: Iterable, size: int):
    """Lists of at most `size` items (itertools.batched is Python 3.12+)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
