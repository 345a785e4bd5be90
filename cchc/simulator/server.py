"""Loopback HTTP simulator of the provincial one-stop system and the national portal (DVCQG).

Both APIs answer on the same port (stdlib ``ThreadingHTTPServer``, no dependencies):

Provincial (JSON, optional bearer token)::

    GET /api/v1/hoso?TiepNhanFrom=YYYY-MM-DD&TiepNhanTo=YYYY-MM-DD&GroupCode=&MaTrangThai=
                    &KenhThucHien=&PageNumber=1&PageSize=500
    -> {"Data": [...], "CurrentPage", "TotalPages", "TotalCount", "PageSize", "HasNextPage"}

National portal, old adapter style (JSON bodies, success ``error_code`` "0")::

    POST /dvcqg/login    {"username", "password"}          -> {"error_code": "0", "session": "..."}
    POST /dvcqg/service  {"session", "madonvi", "service": "TraCuuHoSo",
                          "data": {"DanhSachMaHoSo": [...]}}  -> {"error_code": "0", "result": [...]}
    POST /dvcqg/service  {"session", "madonvi", "service": "LayThuTuc"}
                                                             -> {"error_code": "0", "result": [...]}

    GET /health -> {"status": "ok"}

Faults (`Faults.parse("5xx=0.1,429=0.05,slow=0.02,malformed=0.01,duplicate=0.05,retry_after=1,slow_s=2,
fail_after_pages=3,seed=0")`) are drawn per request from a RNG seeded by (seed, request counter).
Requests are logged at DEBUG level on the "cchc.simulator" logger, never with record contents.
"""

from __future__ import annotations

import json
import logging
import math
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cchc.simulator.ward import PROVINCIAL_FIELD_MAP, SyntheticWard

__all__ = ["MAX_CODES_PER_CALL", "MAX_PAGE_SIZE", "POISON_KINDS", "Faults", "SimulatorServer", "make_server", "running"]

log = logging.getLogger("cchc.simulator")

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_CODES_PER_CALL = 500
SESSION_ERROR = {"error_code": "401", "message": "Phiên làm việc không hợp lệ"}


# ---------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class Faults:
    """Injected failures. Probabilities are per request, except `malformed` (per record)."""

    server_error: float = 0.0  # "5xx": HTTP 503
    rate_limit: float = 0.0  # "429": HTTP 429 with Retry-After
    slow: float = 0.0  # sleep `slow_s` before answering
    malformed: float = 0.0  # per record: a corrupted record (bad status, bad date or no code)
    duplicate: float = 0.0  # per page: also repeat one record of the previous page
    retry_after: int = 1  # seconds, the Retry-After header of 429 answers
    slow_s: float = 2.0
    fail_after_pages: int | None = None  # every request for PageNumber > N gets 503
    seed: int = 0
    #: every N-th dossier (by index) carries a value the store cannot hold, the same on every request,
    #: of the kinds POISON_KINDS in turn (a fee of 10^30, a code too long, a NUL, 40000 in a small int...)
    poison_every: int | None = None
    poison_in: str = "both"  # "provincial", "national" or "both": which API serves the poison

    _ALIASES = {"5xx": "server_error", "503": "server_error", "429": "rate_limit"}

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """'5xx=0.1,429=0.05,slow=0.02,malformed=0.01,duplicate=0.05,retry_after=1,slow_s=2,
        fail_after_pages=3,seed=7' -> Faults. ValueError naming the bad item otherwise."""
        values: dict = {}
        names = {f.name for f in fields(cls)}
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            key, sep, val = item.partition("=")
            key, val = key.strip(), val.strip()
            name = cls._ALIASES.get(key, key)
            if name == "poison_in" and sep:
                if val not in ("both", "provincial", "national"):
                    raise ValueError(f"Lỗi giả lập không hợp lệ {item!r}: poison_in là both, provincial hoặc national")
                values[name] = val
                continue
            if not sep or name not in names:
                raise ValueError(
                    f"Lỗi giả lập không hợp lệ {item!r}: cần dạng khóa=giá trị, khóa là một trong "
                    "5xx, 429, slow, malformed, duplicate, retry_after, slow_s, fail_after_pages, seed, poison_every, poison_in"
                )
            try:
                if name in ("retry_after", "fail_after_pages", "seed", "poison_every"):
                    v: float | int = int(val)
                    if name != "seed" and v < 0 or name == "poison_every" and v < 1:
                        raise ValueError
                elif name == "slow_s":
                    v = float(val)
                    if not 0 <= v < 3600:
                        raise ValueError
                else:
                    v = float(val)
                    if not 0.0 <= v <= 1.0:
                        raise ValueError
            except ValueError:
                kind = (
                    "số nguyên không âm"
                    if name in ("retry_after", "fail_after_pages", "poison_every")
                    else (
                        "số nguyên"
                        if name == "seed"
                        else "số giây"
                        if name == "slow_s"
                        else "xác suất trong [0, 1]"
                    )
                )
                raise ValueError(f"Lỗi giả lập không hợp lệ {item!r}: giá trị phải là {kind}") from None
            values[name] = v
        return cls(**values)

    def __str__(self) -> str:
        parts = [
            f"5xx={self.server_error}",
            f"429={self.rate_limit}",
            f"slow={self.slow}",
            f"malformed={self.malformed}",
            f"duplicate={self.duplicate}",
            f"retry_after={self.retry_after}",
            f"slow_s={self.slow_s}",
            f"seed={self.seed}",
        ]
        if self.fail_after_pages is not None:
            parts.append(f"fail_after_pages={self.fail_after_pages}")
        if self.poison_every is not None:
            parts.append(f"poison_every={self.poison_every},poison_in={self.poison_in}")
        return ",".join(parts)

    def poison_kind(self, i: int, api: str | None = None) -> str | None:
        """The poison dossier `i` carries (on `api`), if any: stable across requests, a source that stays wrong."""
        n = self.poison_every
        if not n or i % n or api not in (None, self.poison_in) and self.poison_in != "both":
            return None
        return POISON_KINDS[(i // n) % len(POISON_KINDS)]


#: Values a store cannot hold, each in the field the store test expects to be named.
POISON_KINDS = ("fee", "long_code", "nul", "smallint", "float_status", "long_unit")


def _poison(rec: dict, kind: str, names: dict[str, str]) -> dict:
    """A copy of `rec` with one value the store cannot hold (field names as the wire uses them)."""
    rec = dict(rec)
    name = names.get
    if kind == "fee":
        rec[name("DanhSachLePhi", "DanhSachLePhi")] = [{"MaPhiLePhi": "LP", "TenPhiLePhi": "Lệ phí", "Gia": 10**30}]
    elif kind == "long_code":
        key = name("MaHoSo", "MaHoSo")
        rec[key] = str(rec.get(key, "")) + "-" + "X" * 80
    elif kind == "nul":
        key = name("TenTTHC", "TenTTHC")
        rec[key] = str(rec.get(key, "")) + "\x00"
    elif kind == "smallint":
        rec[name("MucDo", "MucDo")] = 40000
    elif kind == "float_status":
        rec[name("TrangThaiHoSo", "TrangThaiHoSo")] = 2.7
    elif kind == "long_unit":
        key = name("DonViXuLy", "DonViXuLy")
        rec[key] = str(rec.get(key, "")) + "." + "9" * 70
    return rec


def _corrupt(rec: dict, rng: random.Random, names: dict[str, str]) -> dict:
    """A copy of `rec` that parse_dossier rejects (field names as the wire uses them)."""
    rec = dict(rec)
    kind = rng.randrange(3)
    if kind == 0:
        rec[names.get("TrangThaiHoSo", "TrangThaiHoSo")] = "abc"
    elif kind == 1:
        rec[names.get("NgayTiepNhan", "NgayTiepNhan")] = "2026-13-45"
    else:
        rec.pop(names.get("MaHoSo", "MaHoSo"), None)
    return rec


# ---------------------------------------------------------------- server


class _BadRequest(Exception):
    pass


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address,
        ward: SyntheticWard,
        faults: Faults | None = None,
        *,
        token: str | None = None,
        credentials: tuple[str, str] | None = None,
        session_ttl: float = 1800.0,
    ):
        self.ward = ward
        self.faults = faults or Faults()
        self.token = token
        self.credentials = credentials
        self.session_ttl = session_ttl
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._selections: OrderedDict[tuple, object] = OrderedDict()
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def fault_rng(self) -> random.Random:
        with self._lock:
            self._counter += 1
            n = self._counter
        return random.Random((self.faults.seed << 32) ^ n)

    # sessions
    def new_session(self) -> str:
        tok = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._lock:
            for k in [k for k, exp in self._sessions.items() if exp < now]:
                del self._sessions[k]
            self._sessions[tok] = now + self.session_ttl
        return tok

    def session_ok(self, tok) -> bool:
        if not isinstance(tok, str):
            return False
        with self._lock:
            exp = self._sessions.get(tok)
        return exp is not None and exp >= time.monotonic()

    def expire_sessions(self) -> None:
        """Invalidate every session (clients must log in again)."""
        with self._lock:
            self._sessions.clear()

    # provincial selections, cached across pages
    def selection(
        self,
        frm: date | None,
        to: date | None,
        group: str | None,
        statuses: frozenset | None,
        channels: frozenset | None,
    ):
        key = (frm, to, group, statuses, channels)
        with self._lock:
            seq = self._selections.get(key)
            if seq is not None:
                self._selections.move_to_end(key)
                return seq
        w = self.ward
        seq = w.select(frm, to, group)
        if statuses or channels:
            seq = [
                i
                for i in seq
                if (not statuses or w.status_at(i) in statuses)
                and (not channels or w.channel_of(i) in channels)
            ]
        with self._lock:
            self._selections[key] = seq
            while len(self._selections) > 32:
                self._selections.popitem(last=False)
        return seq

    def handle_error(self, request, client_address) -> None:  # no tracebacks on stderr
        log.debug("lỗi khi xử lý yêu cầu từ %s", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CCHC-Simulator/1.0"
    server: SimulatorServer

    def log_message(self, format, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's signature)
        log.debug("%s %s", self.address_string(), format % args)

    # -------------------------------------------------------- plumbing

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unsupported method...) as JSON too."""
        self.close_connection = True
        body = json.dumps({"message": message or HTTPStatus(code).phrase}, ensure_ascii=False).encode("utf-8")
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _send(self, code: int, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _gate(self, page: int | None = None) -> random.Random | None:
        """Apply the per-request faults; None if an error answer was already sent."""
        f = self.server.faults
        rng = self.server.fault_rng()
        r5, r429, rslow = rng.random(), rng.random(), rng.random()
        if f.fail_after_pages is not None and page is not None and page > f.fail_after_pages:
            self._send(503, {"message": "Máy chủ tạm thời không phục vụ (mô phỏng)"})
            return None
        if r5 < f.server_error:
            self._send(503, {"message": "Máy chủ tạm thời không phục vụ (mô phỏng)"})
            return None
        if r429 < f.rate_limit:
            self._send(429, {"message": "Quá nhiều yêu cầu (mô phỏng)"}, {"Retry-After": str(f.retry_after)})
            return None
        if rslow < f.slow:
            time.sleep(f.slow_s)
        return rng

    # -------------------------------------------------------- routes

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            self._send(200, {"status": "ok"})
        elif url.path == "/api/v1/hoso":
            self._provincial(url.query)
        elif url.path in ("/dvcqg/login", "/dvcqg/service"):
            self._send(405, {"message": "Chỉ chấp nhận POST"}, {"Allow": "POST"})
        else:
            self._send(404, {"message": "Không tìm thấy"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        raw = self._read_body()
        if url.path not in ("/dvcqg/login", "/dvcqg/service"):
            self._send(404 if url.path != "/api/v1/hoso" else 405, {"message": "Không tìm thấy"})
            return
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            self._send(400, {"error_code": "400", "message": "Thân yêu cầu phải là một đối tượng JSON"})
            return
        rng = self._gate()
        if rng is None:
            return
        if url.path == "/dvcqg/login":
            self._login(body)
        else:
            self._service(body, rng)

    # -------------------------------------------------------- provincial

    _PARAMS = {
        "tiepnhanfrom": "TiepNhanFrom",
        "tiepnhanto": "TiepNhanTo",
        "groupcode": "GroupCode",
        "matrangthai": "MaTrangThai",
        "kenhthuchien": "KenhThucHien",
        "pagenumber": "PageNumber",
        "pagesize": "PageSize",
    }

    def _provincial(self, query: str) -> None:
        srv = self.server
        if srv.token is not None and self.headers.get("Authorization", "") != f"Bearer {srv.token}":
            self._send(
                401,
                {"message": "Thiếu hoặc sai mã truy cập (Bearer token)"},
                {"WWW-Authenticate": 'Bearer realm="cchc-simulator"'},
            )
            return
        try:
            p = self._parse_params(query)
        except _BadRequest as e:
            self._send(400, {"message": str(e)})
            return
        rng = self._gate(p["page"])
        if rng is None:
            return
        f = srv.faults
        dup = rng.random() < f.duplicate
        seq = srv.selection(p["from"], p["to"], p["group"], p["statuses"], p["channels"])
        total, size, page = len(seq), p["size"], p["page"]
        start = (page - 1) * size
        idx = seq[start : start + size]
        w = srv.ward
        data = []
        for i in idx:
            rec = w.provincial(i)
            if (kind := f.poison_kind(i, "provincial")) is not None:
                rec = _poison(rec, kind, PROVINCIAL_FIELD_MAP)
            if f.malformed and rng.random() < f.malformed:
                rec = _corrupt(rec, rng, PROVINCIAL_FIELD_MAP)
            data.append(rec)
        if dup and idx and start > 0:
            data.insert(0, w.provincial(seq[start - 1]))
        pages = math.ceil(total / size)
        self._send(
            200,
            {
                "Data": data,
                "CurrentPage": page,
                "TotalPages": pages,
                "TotalCount": total,
                "PageSize": size,
                "HasNextPage": page < pages,
            },
        )

    def _parse_params(self, query: str) -> dict:
        raw: dict[str, str] = {}
        for k, vals in parse_qs(query, keep_blank_values=True).items():
            name = self._PARAMS.get(k.lower())
            if name is None:
                raise _BadRequest(f"Tham số không được hỗ trợ: {k}")
            raw[name] = vals[-1].strip()

        def day(name: str) -> date | None:
            v = raw.get(name, "")
            if not v:
                return None
            try:
                return date.fromisoformat(v[:10])
            except ValueError:
                raise _BadRequest(f"{name} không phải ngày dạng YYYY-MM-DD: {v[:30]!r}") from None

        def ints(name: str, lo: int, hi: int) -> frozenset | None:
            v = raw.get(name, "")
            if not v:
                return None
            try:
                out = frozenset(int(x) for x in v.split(","))
            except ValueError:
                raise _BadRequest(f"{name} không hợp lệ: {v[:30]!r}") from None
            if not all(lo <= x <= hi for x in out):
                raise _BadRequest(f"{name} ngoài khoảng {lo}..{hi}: {v[:30]!r}")
            return out

        def num(name: str, default: int, lo: int, hi: int) -> int:
            v = raw.get(name, "")
            if not v:
                return default
            try:
                x = int(v)
            except ValueError:
                raise _BadRequest(f"{name} phải là số nguyên: {v[:30]!r}") from None
            if not lo <= x <= hi:
                raise _BadRequest(f"{name} phải trong khoảng {lo}..{hi}")
            return x

        frm, to = day("TiepNhanFrom"), day("TiepNhanTo")
        if frm and to and frm > to:
            raise _BadRequest("TiepNhanFrom sau TiepNhanTo")
        return {
            "from": frm,
            "to": to,
            "group": raw.get("GroupCode") or None,
            "statuses": ints("MaTrangThai", 1, 10),
            "channels": ints("KenhThucHien", 1, 3),
            "page": num("PageNumber", 1, 1, 10**9),
            "size": num("PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        }

    # -------------------------------------------------------- national

    def _login(self, body: dict) -> None:
        user, pwd = body.get("username"), body.get("password")
        srv = self.server
        ok = isinstance(user, str) and isinstance(pwd, str) and bool(user) and bool(pwd)
        if ok and srv.credentials is not None:
            ok = (user, pwd) == tuple(srv.credentials)
        if not ok:
            self._send(200, {"error_code": "1", "message": "Sai tên đăng nhập hoặc mật khẩu"})
            return
        self._send(200, {"error_code": "0", "session": srv.new_session()})

    def _service(self, body: dict, rng: random.Random) -> None:
        srv, w, f = self.server, self.server.ward, self.server.faults
        if not srv.session_ok(body.get("session")):
            self._send(200, SESSION_ERROR)
            return
        service = body.get("service")
        if service == "LayThuTuc":
            self._send(200, {"error_code": "0", "result": [p.to_wire() for p in w.procedures()]})
            return
        if service != "TraCuuHoSo":
            self._send(200, {"error_code": "2", "message": f"Dịch vụ không được hỗ trợ: {str(service)[:40]}"})
            return
        data = body.get("data")
        codes = data.get("DanhSachMaHoSo") if isinstance(data, dict) else None
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            self._send(200, {"error_code": "3", "message": "data.DanhSachMaHoSo phải là danh sách mã hồ sơ"})
            return
        if len(codes) > MAX_CODES_PER_CALL:
            self._send(
                200, {"error_code": "4", "message": f"Tối đa {MAX_CODES_PER_CALL} mã hồ sơ mỗi lần tra cứu"}
            )
            return
        unit = str(body.get("madonvi") or "").strip()
        dup = rng.random() < f.duplicate
        result = []
        for code in codes:
            i = w.index_of(code)
            if i is None:
                continue
            u = w.unit_of(i).national_id
            if unit and not (u == unit or u.startswith(unit + ".")):
                continue
            rec = w.national(i)
            if rec is None:
                continue
            if (kind := f.poison_kind(i, "national")) is not None:
                rec = _poison(rec, kind, {})
            if f.malformed and rng.random() < f.malformed:
                rec = _corrupt(rec, rng, {})
            result.append(rec)
        if dup and result:
            result.append(dict(result[0]))
        self._send(200, {"error_code": "0", "result": result})


# ---------------------------------------------------------------- entry points


def make_server(
    ward: SyntheticWard,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    *,
    token: str | None = None,
    credentials: tuple[str, str] | None = None,
    session_ttl: float = 1800.0,
) -> SimulatorServer:
    """A bound (not yet serving) simulator; call `serve_forever()` on it. port=0: any free port."""
    return SimulatorServer(
        (host, port), ward, faults, token=token, credentials=credentials, session_ttl=session_ttl
    )


@contextmanager
def running(ward: SyntheticWard, faults: Faults | None = None, port: int = 0, **kwargs) -> Iterator[str]:
    """Serve in a background thread; yields the base URL ("http://127.0.0.1:PORT"). kwargs go to
    make_server (host, token, credentials, session_ttl)."""
    srv = make_server(ward, port=port, faults=faults, **kwargs)
    t = threading.Thread(
        target=srv.serve_forever, kwargs={"poll_interval": 0.05}, name="cchc-simulator", daemon=True
    )
    t.start()
    try:
        yield srv.base_url
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(timeout=5)
