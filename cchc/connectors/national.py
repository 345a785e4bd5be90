"""The national public-service portal (Cổng DVCQG) through its sync adapter (DOMAIN.md §2).

Old adapter protocol:

    POST {login_path}   {"username", "password"}                       -> {"error_code": "0", "session"}
    POST {service_path} {"session", "madonvi", "service", "data": {...}} -> {"error_code": "0"|"00", "result"}

`error_code` "401" (or a message about the session) means the session expired: the client logs
in again once and repeats the call. Newer gateways (LGSP/NGSP) take an OAuth bearer token instead:
with `token` there is no login and no session in the body.

The password, the session and the token never appear in logs, exceptions or repr.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from cchc.connectors.http import ResilientClient, SourceError, batched, display_url

__all__ = ["NationalPortalClient", "SourceError"]

logger = logging.getLogger("cchc.connectors")

_OK = frozenset({"0", "00"})
_MESSAGE_KEYS = ("message", "error_message", "error_msg", "errorMessage", "msg", "error_desc", "description")
_SESSION_WORDS = (
    "session",
    "phiên làm việc",
    "phiên đăng nhập",
    "hết phiên",
    "phien lam viec",
    "phien dang nhap",
    "het phien",
    "đăng nhập lại",
    "dang nhap lai",
    "chưa đăng nhập",
)


def _portal_message(body: dict) -> str:
    for key in _MESSAGE_KEYS:
        v = body.get(key)
        if isinstance(v, str) and v.strip():
            v = " ".join(v.split())
            return v if len(v) <= 300 else v[:299] + "…"
    return ""


def _code(body: dict) -> str | None:
    v = body.get("error_code")
    return None if v is None else str(v).strip()


class NationalPortalClient(ResilientClient):
    """Dossier look-ups and the procedure list from the national portal."""

    def __init__(
        self,
        base_url: str,
        unit_code: str,
        username: str | None = None,
        password: str | None = None,
        login_path: str = "/dvcqg/login",
        service_path: str = "/dvcqg/service",
        batch_size: int = 100,
        timeout_s: float = 30,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        sleep: Callable[[float], object] = time.sleep,
        token: str | None = None,
        max_backoff_s: float = 60,
        deadline_s: float | None = None,
    ):
        # The retry parameters repeat the other client's signature on purpose (callers and the config name
        # them per source); what they set up is ResilientClient's, once.
        super().__init__(base_url, timeout_s=timeout_s, deadline_s=deadline_s, max_retries=max_retries,
                         backoff_s=backoff_s, max_backoff_s=max_backoff_s, token=token, sleep=sleep)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.unit_code = unit_code
        self.username = username
        self._password = password
        self.add_secret(password)
        self.login_path = login_path
        self.service_path = service_path
        self.batch_size = int(batch_size)
        self.token_mode = bool(token)
        self._session_id: str | None = None

    @classmethod
    def from_source(
        cls,
        src,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        **overrides,
    ) -> NationalPortalClient:
        """From an object with the attributes of the configuration's `NationalSource`."""
        kwargs = {
            name: getattr(src, name)
            for name in ("login_path", "service_path", "batch_size", "timeout_s", "deadline_s", "max_retries",
                         "backoff_s")
            if getattr(src, name, None) is not None
        }
        kwargs.update(overrides)
        return cls(src.base_url, src.unit_code, username, password, token=token, **kwargs)

    def __repr__(self) -> str:
        mode = "token" if self.token_mode else f"user={self.username!r}"
        return f"NationalPortalClient({display_url(self.base_url)!r}, unit={self.unit_code!r}, {mode})"

    @property
    def logged_in(self) -> bool:
        return self.token_mode or self._session_id is not None

    # --- protocol ------------------------------------------------------------------------------
    def login(self) -> None:
        """Open a session (old adapter). A no-op in bearer-token mode."""
        if self.token_mode:
            return
        url = self.url_for(self.login_path)
        if not self.username or not self._password:
            raise self.error(
                f"Thiếu tên đăng nhập hoặc mật khẩu cho Cổng DVCQG {display_url(url)} / "
                "missing username or password for the national portal",
                url,
            )
        self._session_id = None
        body = self.post_json(self.login_path, {"username": self.username, "password": self._password})
        code = _code(body)
        if code not in _OK:
            msg = _portal_message(body)
            raise self.error(
                f"Đăng nhập Cổng DVCQG {display_url(url)} thất bại (error_code {code or '?'})"
                f"{': ' + msg if msg else ''} / login failed",
                url,
            )
        session = body.get("session")
        if not isinstance(session, str) or not session:
            raise self.shape_error(url, "thiếu khóa 'session' / missing key 'session'")
        self.add_secret(session)
        self._session_id = session

    def call(self, service: str, data: dict | None = None):
        """One adapter call; returns its `result`. Re-logs in once when the session has expired."""
        if not self.logged_in:
            self.login()
        for retry in (False, True):
            try:
                body = self.post_json(self.service_path, self._envelope(service, data))
            except SourceError as e:
                if e.status == 401 and not self.token_mode and not retry:
                    self._relogin(service)
                    continue
                raise
            code = _code(body)
            if code in _OK:
                return body.get("result")
            msg = _portal_message(body)
            if code is None:
                raise self.shape_error(
                    self.url_for(self.service_path),
                    f"dịch vụ {service}: thiếu khóa 'error_code' / missing key",
                )
            if self._session_expired(code, msg) and not self.token_mode and not retry:
                self._relogin(service)
                continue
            raise self.error(
                f"Cổng DVCQG từ chối dịch vụ {service} tại {display_url(self.url_for(self.service_path))} "
                f"(error_code {code}){': ' + msg if msg else ''} / the portal refused service {service}",
                self.url_for(self.service_path),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def lookup(self, codes: Iterable[str]) -> Iterator[dict]:
        """Canonical records of the given dossier codes, `batch_size` codes per call.

        Codes the portal does not know are simply absent from the output.
        """
        seen: set[str] = set()
        wanted = []
        for c in codes:
            c = str(c).strip() if c is not None else ""
            if c and c not in seen:
                seen.add(c)
                wanted.append(c)
        for batch in batched(wanted, self.batch_size):
            result = self.call("TraCuuHoSo", {"DanhSachMaHoSo": batch})
            yield from self._records(result, "TraCuuHoSo", ("DanhSachHoSo", "HoSo", "data"))

    def procedures(self) -> list[dict]:
        """The procedure list (LayThuTuc): MaTTHC, TenTTHC, MaLinhVuc, TenLinhVuc, MucDo, CoPhi,
        KetQuaGiay, SoNgayGiaiQuyet, as the portal returns them."""
        result = self.call("LayThuTuc", {})
        return list(self._records(result, "LayThuTuc", ("DanhSachThuTuc", "ThuTuc", "data")))

    # --- helpers -------------------------------------------------------------------------------
    def _envelope(self, service: str, data: dict | None) -> dict:
        body = {"madonvi": self.unit_code, "service": service, "data": data or {}}
        if not self.token_mode:
            body = {"session": self._session_id, **body}
        return body

    def _relogin(self, service: str) -> None:
        logger.info(
            "Phiên Cổng DVCQG hết hạn khi gọi %s; đăng nhập lại / session expired, logging in again", service
        )
        self._session_id = None
        self.login()

    @staticmethod
    def _session_expired(code: str, msg: str) -> bool:
        if code == "401":
            return True
        low = msg.lower()
        return any(w in low for w in _SESSION_WORDS)

    def _records(self, result, service: str, list_keys: tuple[str, ...]) -> Iterator[dict]:
        url = self.url_for(self.service_path)
        if result is None:
            return
        if isinstance(result, dict):
            for key in list_keys:
                if key in result:
                    result = result[key] or []
                    break
            else:
                raise self.shape_error(url, f"dịch vụ {service}: 'result' không phải danh sách / not a list")
        if not isinstance(result, list):
            raise self.shape_error(url, f"dịch vụ {service}: 'result' không phải danh sách / not a list")
        for i, r in enumerate(result):
            if not isinstance(r, dict):
                raise self.shape_error(
                    url, f"dịch vụ {service}: result[{i}] không phải đối tượng / not an object"
                )
            yield r
