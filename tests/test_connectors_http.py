"""Connectors over HTTP: the resilient client, the provincial list, the national portal adapter.

Every test talks to a tiny scripted server on 127.0.0.1 (stdlib `http.server` in a thread); waits
go through an injected `sleep` recorder, so nothing here really sleeps.
"""

from __future__ import annotations

import json
import logging
import pickle
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest

from cchc.connectors.http import ResilientClient, SourceError, display_url, parse_retry_after
from cchc.connectors.national import NationalPortalClient
from cchc.connectors.provincial import Page, ProvincialClient, rename_records

PASSWORD = "mk-Bi-Mat-9731"
SESSION = "phien-abc-123456"

# ---------------------------------------------------------------- a scripted fake server


@dataclass
class Req:
    method: str
    path: str
    query: dict
    headers: dict
    body: object = None


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)  # dict/list -> JSON; str/bytes -> raw
    headers: dict = field(default_factory=dict)


class FakeServer:
    """Answers each request with the next scripted Reply, or with `handler(req) -> Reply`."""

    def __init__(self) -> None:
        self.requests: list[Req] = []
        self.replies: list[Reply] = []
        self.handler = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                req = Req(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    dict(self.headers.items()),
                    json.loads(raw) if raw else None,
                )
                fake.requests.append(req)
                reply = (
                    fake.handler(req) if fake.handler else (fake.replies.pop(0) if fake.replies else Reply())
                )
                body = reply.body
                if isinstance(body, (dict, list)):
                    data, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
                else:
                    data = body.encode() if isinstance(body, str) else body
                    ctype = "text/html; charset=utf-8"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(server: FakeServer, sleeps: list[float], **kw) -> ResilientClient:
    kw.setdefault("max_retries", 3)
    return ResilientClient(server.url, sleep=sleeps.append, **kw)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- resilient client


def test_retries_503_then_succeeds_with_exponential_backoff(server, sleeps, caplog) -> None:
    server.script(Reply(503), Reply(503), Reply(200, {"ok": 1}))
    with caplog.at_level(logging.WARNING, logger="cchc.connectors"):
        assert client(server, sleeps).get_json("/x", {"a": 1}) == {"ok": 1}
    assert len(server.requests) == 3
    assert server.requests[0].query == {"a": "1"}
    # backoff_s=1: ~1 s then ~2 s, each with at most 10 % jitter
    assert 1.0 <= sleeps[0] <= 1.1 and 2.0 <= sleeps[1] <= 2.2
    warnings = [r.getMessage() for r in caplog.records if r.name == "cchc.connectors"]
    assert len(warnings) == 2
    assert f"{server.url}/x?a=1" in warnings[0] and "HTTP 503" in warnings[0]
    assert f"sau {sleeps[0]:.1f} s (lần 1/4)" in warnings[0]


def test_429_honours_retry_after_seconds(server, sleeps) -> None:
    server.script(Reply(429, {}, {"Retry-After": "2"}), Reply(200, {"ok": True}))
    assert client(server, sleeps).get_json("/x") == {"ok": True}
    assert sleeps == [2.0]


def test_retry_after_http_date_and_cap(server, sleeps) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script(
        Reply(503, {}, {"Retry-After": soon}),
        Reply(429, {}, {"Retry-After": "3600"}),
        Reply(200, {"ok": 1}),
    )
    client(server, sleeps, max_backoff_s=60).get_json("/x")
    assert 25 <= sleeps[0] <= 30
    assert sleeps[1] == 60  # capped at max_backoff_s
    assert parse_retry_after("not a date") is None and parse_retry_after("-5") == 0.0


def test_exhausted_retries_raise_source_error_naming_url_and_attempts(server, sleeps) -> None:
    server.handler = lambda req: Reply(500, {"error": "boom"})
    with pytest.raises(SourceError) as ei:
        client(server, sleeps, max_retries=2).get_json("/api/v1/hoso", {"access_token": "tok-SECRET-1"})
    e = ei.value
    assert e.attempts == 3 and e.status == 500 and len(server.requests) == 3 and len(sleeps) == 2
    assert e.url == f"{server.url}/api/v1/hoso"
    assert f"{server.url}/api/v1/hoso" in str(e) and "3 lần thử" in str(e) and "HTTP 500" in str(e)
    assert "tok-SECRET-1" not in str(e)
    again = pickle.loads(pickle.dumps(e))
    assert (str(again), again.url, again.status, again.attempts) == (str(e), e.url, 500, 3)


def test_connection_refused_fails_fast_with_clear_message(sleeps) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    c = ResilientClient(url, max_retries=2, backoff_s=5, sleep=sleeps.append)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as ei:
        c.get_json("/api/v1/hoso")
    assert time.monotonic() - t0 < 3
    msg = str(ei.value)
    assert msg.startswith(f"Không kết nối được tới {url}/api/v1/hoso sau 3 lần thử (connection refused)")
    assert ei.value.attempts == 3 and ei.value.status is None
    assert len(sleeps) == 2 and sleeps[0] >= 5


def test_400_is_not_retried(server, sleeps) -> None:
    server.script(Reply(400, {"message": "TiepNhanFrom sai định dạng"}))
    with pytest.raises(SourceError) as ei:
        client(server, sleeps).get_json("/x")
    assert len(server.requests) == 1 and sleeps == []
    assert ei.value.status == 400 and ei.value.attempts == 1
    assert "HTTP 400" in str(ei.value) and "TiepNhanFrom sai định dạng" in str(ei.value)


def test_non_json_body_is_a_source_error(server, sleeps) -> None:
    server.script(Reply(200, "<html>Bảo trì hệ thống</html>"))
    with pytest.raises(SourceError) as ei:
        client(server, sleeps).get_json("/x")
    assert "không phải JSON" in str(ei.value) and f"{server.url}/x" in str(ei.value)
    assert "Bảo trì" not in str(ei.value)  # the body itself is never echoed


def test_wrong_top_level_type_is_a_source_error(server, sleeps) -> None:
    server.script(Reply(200, [1, 2]))
    with pytest.raises(SourceError, match="không đúng cấu trúc"):
        client(server, sleeps).get_json("/x")


def test_display_url_drops_credentials_and_query() -> None:
    assert display_url("https://u:pw@h.example:8443/a/b?token=x#f") == "https://h.example:8443/a/b"


# ---------------------------------------------------------------- provincial list

FIELD_MAP = {"SoHoSo": "MaHoSo", "MaTrangThai": "TrangThaiHoSo", "GroupCode": "DonViXuLy"}


def provincial_pages(total: int, size: int, has_next_override=None):
    rows = [
        {"SoHoSo": f"HS{i:03d}", "MaTrangThai": 4, "GroupCode": "VP", "NgayTiepNhan": "20251103080000"}
        for i in range(total)
    ]
    pages = max(1, -(-total // size))

    def handler(req: Req) -> Reply:
        n = int(req.query["PageNumber"])
        data = rows[(n - 1) * size : n * size]
        has_next = n < pages if has_next_override is None else has_next_override
        return Reply(
            200,
            {
                "Data": data,
                "CurrentPage": n,
                "TotalPages": pages,
                "TotalCount": total,
                "PageSize": size,
                "HasNextPage": has_next,
            },
        )

    return handler


def test_pagination_follows_has_next_and_renames_fields(server, sleeps) -> None:
    server.handler = provincial_pages(total=5, size=2)
    pc = ProvincialClient(
        server.url, page_size=2, field_map=FIELD_MAP, token="tok-ABCDEF", sleep=sleeps.append
    )
    pages = list(pc.iter_pages(date(2025, 11, 1), date(2025, 11, 30), unit="VP"))
    assert [p.page for p in pages] == [1, 2, 3]
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert pages[0].total_pages == 3 and pages[0].total_count == 5 and pages[0].has_next
    assert not pages[-1].has_next
    first = pages[0].records[0]
    assert first == {
        "MaHoSo": "HS000",
        "TrangThaiHoSo": 4,
        "DonViXuLy": "VP",
        "NgayTiepNhan": "20251103080000",
    }
    q = server.requests[0].query
    assert q == {
        "TiepNhanFrom": "2025-11-01",
        "TiepNhanTo": "2025-11-30",
        "GroupCode": "VP",
        "PageNumber": "1",
        "PageSize": "2",
    }
    assert all(r.headers["Authorization"] == "Bearer tok-ABCDEF" for r in server.requests)
    assert "tok-ABCDEF" not in repr(pc)


def test_pagination_stops_at_total_pages_or_empty_data(server, sleeps) -> None:
    # a server that always says "more"
    server.handler = provincial_pages(total=3, size=2, has_next_override=True)
    pc = ProvincialClient(server.url, page_size=2, sleep=sleeps.append)
    assert [len(p.records) for p in pc.iter_pages(date(2025, 11, 1), date(2025, 11, 30))] == [2, 1]
    server.requests.clear()
    server.handler = lambda req: Reply(
        200, {"Data": [], "CurrentPage": 1, "TotalPages": 9, "TotalCount": 0, "HasNextPage": True}
    )
    assert len(list(pc.iter_pages(date(2025, 11, 1), date(2025, 11, 30), start_page=4))) == 1
    assert server.requests[0].query["PageNumber"] == "4"


def test_fetch_page_filters_and_date_format(server, sleeps) -> None:
    server.handler = provincial_pages(total=1, size=10)
    pc = ProvincialClient(
        server.url, list_path="/hs", page_size=10, date_param_format="%d/%m/%Y", sleep=sleeps.append
    )
    page = pc.fetch_page(date(2025, 11, 1), date(2025, 11, 30), 1, status=4, channel=2)
    assert isinstance(page, Page) and page.records[0]["SoHoSo"] == "HS000"  # no map: keys kept
    q = server.requests[0].query
    assert server.requests[0].path == "/hs" and "Authorization" not in server.requests[0].headers
    assert (q["TiepNhanFrom"], q["MaTrangThai"], q["KenhThucHien"]) == ("01/11/2025", "4", "2")
    assert "GroupCode" not in q


@pytest.mark.parametrize("missing", ["Data", "TotalPages", "TotalCount"])
def test_bad_page_shape_names_the_missing_key(server, sleeps, missing) -> None:
    body = {"Data": [], "CurrentPage": 1, "TotalPages": 1, "TotalCount": 0, "HasNextPage": False}
    del body[missing]
    server.script(Reply(200, body))
    pc = ProvincialClient(server.url, sleep=sleeps.append)
    with pytest.raises(SourceError) as ei:
        pc.fetch_page(date(2025, 11, 1), date(2025, 11, 30), 1)
    assert repr(missing) in str(ei.value) and f"{server.url}/api/v1/hoso" in str(ei.value)


def test_data_must_be_a_list(server, sleeps) -> None:
    server.script(Reply(200, {"Data": {"x": 1}, "TotalPages": 1, "TotalCount": 1}))
    with pytest.raises(SourceError, match="'Data'"):
        ProvincialClient(server.url, sleep=sleeps.append).fetch_page(date(2025, 11, 1), date(2025, 11, 1), 1)


def test_rename_records_mapped_value_wins_and_non_dicts_pass() -> None:
    out = rename_records(
        [{"SoHoSo": "A", "MaHoSo": "old", "X": 1}, {"MaHoSo": "B"}, "junk"], {"SoHoSo": "MaHoSo"}
    )
    assert out == [{"MaHoSo": "A", "X": 1}, {"MaHoSo": "B"}, "junk"]
    assert rename_records([{"A": 1, "B": 2}], {"A": "B", "B": "A"}) == [{"B": 1, "A": 2}]
    assert rename_records([{"A": 1, "B": 2, "C": 3}], {"A": "B", "B": "C"}) == [{"B": 1, "C": 2}]
    recs = [{"SoHoSo": "A"}]
    assert rename_records(recs, {"SoHoSo": "MaHoSo"}) is recs and recs == [{"MaHoSo": "A"}]  # in place


def test_provincial_from_source(server, sleeps) -> None:
    src = SimpleNamespace(
        base_url=server.url,
        list_path="/p",
        page_size=7,
        field_map={"SoHoSo": "MaHoSo"},
        date_param_format="%Y%m%d",
        timeout_s=5,
        max_retries=1,
        backoff_s=0.5,
        token_env="X",
    )
    pc = ProvincialClient.from_source(src, token="t0ken-xyz", sleep=sleeps.append)
    assert (pc.list_path, pc.page_size, pc.max_retries, pc.field_map) == ("/p", 7, 1, {"SoHoSo": "MaHoSo"})
    server.handler = provincial_pages(total=1, size=7)
    pc.fetch_page(date(2025, 11, 1), date(2025, 11, 2), 1)
    assert server.requests[0].query["TiepNhanFrom"] == "20251101"
    assert server.requests[0].headers["Authorization"] == "Bearer t0ken-xyz"


# ---------------------------------------------------------------- national portal


class FakePortal:
    """The old adapter protocol: login -> session; service calls carry the session."""

    def __init__(self, known: set[str], expire_after: int | None = None, always_expire: bool = False):
        self.known = known
        self.logins = 0
        self.batches: list[list[str]] = []
        self.sessions: set[str] = set()
        self.expire_after = expire_after  # invalidate every session after this many service calls
        self.always_expire = always_expire
        self.calls = 0

    def __call__(self, req: Req) -> Reply:
        if req.path == "/dvcqg/login":
            if req.body != {"username": "hoaan", "password": PASSWORD}:
                return Reply(200, {"error_code": "1", "message": f"Sai mật khẩu {req.body.get('password')}"})
            self.logins += 1
            s = f"{SESSION}-{self.logins}"
            self.sessions.add(s)
            return Reply(200, {"error_code": "0", "session": s})
        assert req.path == "/dvcqg/service"
        self.calls += 1
        if self.always_expire or (self.expire_after is not None and self.calls == self.expire_after + 1):
            self.sessions.clear()
        if req.body.get("session") not in self.sessions:
            return Reply(200, {"error_code": "401", "message": "Session không hợp lệ hoặc đã hết hạn"})
        assert req.body["madonvi"] == "H99.99"
        if req.body["service"] == "TraCuuHoSo":
            codes = req.body["data"]["DanhSachMaHoSo"]
            self.batches.append(codes)
            return Reply(
                200,
                {
                    "error_code": "00",
                    "result": [{"MaHoSo": c, "TrangThaiHoSo": 10} for c in codes if c in self.known],
                },
            )
        if req.body["service"] == "LayThuTuc":
            return Reply(
                200,
                {
                    "error_code": "0",
                    "result": [
                        {
                            "MaTTHC": "1.001",
                            "TenTTHC": "Đăng ký khai sinh",
                            "MaLinhVuc": "HT",
                            "TenLinhVuc": "Hộ tịch",
                            "MucDo": 4,
                            "CoPhi": 0,
                            "KetQuaGiay": 1,
                            "SoNgayGiaiQuyet": 1,
                        }
                    ],
                },
            )
        return Reply(200, {"error_code": "99", "message": f"Dịch vụ {req.body['service']} không tồn tại"})


def portal(server: FakeServer, sleeps: list[float], **kw) -> NationalPortalClient:
    kw.setdefault("batch_size", 2)
    return NationalPortalClient(server.url, "H99.99", "hoaan", PASSWORD, sleep=sleeps.append, **kw)


def test_national_login_and_lookup_in_batches(server, sleeps) -> None:
    fake = FakePortal(known={"A", "B", "D", "E"})
    server.handler = fake
    npc = portal(server, sleeps)
    out = list(npc.lookup(["A", "B", "C", "D", "E", "A", ""]))
    assert [r["MaHoSo"] for r in out] == ["A", "B", "D", "E"]  # C unknown: simply absent
    assert fake.batches == [["A", "B"], ["C", "D"], ["E"]]
    assert fake.logins == 1
    assert all(r.body["session"] == f"{SESSION}-1" for r in server.requests[1:])


def test_national_procedures(server, sleeps) -> None:
    server.handler = FakePortal(known=set())
    procs = portal(server, sleeps).procedures()
    assert procs[0]["MaTTHC"] == "1.001" and procs[0]["SoNgayGiaiQuyet"] == 1


def test_session_expiry_triggers_one_relogin(server, sleeps) -> None:
    fake = FakePortal(known={"A", "C"}, expire_after=1)
    server.handler = fake
    out = list(portal(server, sleeps).lookup(["A", "B", "C"]))
    assert [r["MaHoSo"] for r in out] == ["A", "C"]
    assert fake.logins == 2 and fake.batches == [["A", "B"], ["C"]]


def test_session_expiry_twice_in_a_row_is_an_error(server, sleeps) -> None:
    fake = FakePortal(known={"A"}, always_expire=True)
    server.handler = fake
    with pytest.raises(SourceError, match="TraCuuHoSo"):
        list(portal(server, sleeps).lookup(["A"]))
    assert fake.logins == 2


def test_other_error_code_names_service_and_portal_message(server, sleeps) -> None:
    server.handler = FakePortal(known=set())
    with pytest.raises(SourceError) as ei:
        portal(server, sleeps).call("DongBoHoSoMC", {"x": 1})
    msg = str(ei.value)
    assert "DongBoHoSoMC" in msg and "Dịch vụ DongBoHoSoMC không tồn tại" in msg and "99" in msg
    assert f"{server.url}/dvcqg/service" in msg


def test_password_and_session_never_in_logs_exceptions_or_repr(server, sleeps, caplog) -> None:
    fake = FakePortal(known={"A"})
    flaky = {"n": 0}

    def handler(req: Req) -> Reply:
        if req.path == "/dvcqg/service" and flaky["n"] < 2:  # two transient failures: retries get logged
            flaky["n"] += 1
            return Reply(503, {"message": f"busy {req.body.get('session')}"})
        return fake(req)

    server.handler = handler
    npc = portal(server, sleeps)
    with caplog.at_level(logging.DEBUG):
        assert [r["MaHoSo"] for r in npc.lookup(["A"])] == ["A"]
        bad = NationalPortalClient(server.url, "H99.99", "hoaan", PASSWORD + "x", sleep=sleeps.append)
        with pytest.raises(SourceError) as ei:
            bad.login()
    assert len(sleeps) == 2 and any("HTTP 503" in r.getMessage() for r in caplog.records)
    assert "Sai mật khẩu" in str(ei.value)
    texts = [r.getMessage() for r in caplog.records] + [str(ei.value), repr(ei.value), repr(npc), repr(bad)]
    for t in texts:
        assert PASSWORD not in t and SESSION not in t


def test_bearer_token_mode_skips_login(server, sleeps) -> None:
    def handler(req: Req) -> Reply:
        assert req.path == "/dvcqg/service"
        return Reply(
            200, {"error_code": "0", "result": [{"MaHoSo": c} for c in req.body["data"]["DanhSachMaHoSo"]]}
        )

    server.handler = handler
    npc = NationalPortalClient(server.url, "H99.99", None, None, token="ngsp-TOKEN-1", sleep=sleeps.append)
    assert [r["MaHoSo"] for r in npc.lookup(["A", "B"])] == ["A", "B"]
    assert len(server.requests) == 1
    req = server.requests[0]
    assert req.headers["Authorization"] == "Bearer ngsp-TOKEN-1"
    assert "session" not in req.body and req.body["madonvi"] == "H99.99"
    assert "ngsp-TOKEN-1" not in repr(npc)


def test_http_401_in_token_mode_is_not_retried(server, sleeps) -> None:
    server.handler = lambda req: Reply(401, {"message": "invalid token ngsp-TOKEN-1"})
    npc = NationalPortalClient(server.url, "H99.99", None, None, token="ngsp-TOKEN-1", sleep=sleeps.append)
    with pytest.raises(SourceError) as ei:
        npc.procedures()
    assert ei.value.status == 401 and len(server.requests) == 1
    assert "ngsp-TOKEN-1" not in str(ei.value) and "HTTP 401" in str(ei.value)


def test_national_from_source(server, sleeps) -> None:
    server.handler = FakePortal(known={"A"})
    src = SimpleNamespace(
        base_url=server.url,
        unit_code="H99.99",
        batch_size=50,
        login_path="/dvcqg/login",
        service_path="/dvcqg/service",
        timeout_s=5,
        max_retries=1,
        backoff_s=0.1,
        username_env="U",
        password_env="P",
    )
    npc = NationalPortalClient.from_source(src, username="hoaan", password=PASSWORD, sleep=sleeps.append)
    assert npc.batch_size == 50 and npc.max_retries == 1
    assert [r["MaHoSo"] for r in npc.lookup(["A"])] == ["A"]


def test_missing_credentials_is_a_clear_error(server, sleeps) -> None:
    npc = NationalPortalClient(server.url, "H99.99", None, None, sleep=sleeps.append)
    with pytest.raises(SourceError, match="mật khẩu"):
        npc.procedures()
    assert server.requests == []
