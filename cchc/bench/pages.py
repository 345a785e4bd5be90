"""Pre-rendered provincial pages for `cchc bench sync`: each page of the window is asked of the
simulator ONCE, before anything is timed, and kept on disk as the bytes it answered; a minimal static
server (its own process, stdlib only) then answers the list API by page number with those bytes. So
the bench measures the client — fetching, parsing, validating, storing — and not the simulator's
rendering of each record.

    python -m cchc.bench.pages DIR PORT    # serve DIR/00001.json ... on 127.0.0.1:PORT
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from cchc.bench.measure import HelperProcess

_READY = "ready.json"  # written last: a directory without it is an interrupted recording


def record_pages(url: str, list_path: str, params: dict, page_size: int, out: Path) -> dict:
    """Ask `url` for every page of the window (the query the sync will send) and keep each answer's
    bytes as out/NNNNN.json. Reuses a complete earlier recording of the same query."""
    kept = recorded(list_path, params, page_size, out)
    if kept is not None:
        return kept
    meta = {"url_path": list_path, "params": params, "page_size": page_size}
    done = out / _READY
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*.json"):
        p.unlink()
    sess = requests.Session()
    page, total, records, size = 1, 1, 0, 0
    while page <= total:
        r = sess.get(url + list_path, params={**params, "PageNumber": page, "PageSize": page_size}, timeout=120)
        r.raise_for_status()
        body = r.content
        head = json.loads(body)
        total, records, size = int(head["TotalPages"]), records + len(head["Data"]), size + len(body)
        (out / f"{page:05d}.json").write_bytes(body)
        if not head.get("HasNextPage"):
            break
        page += 1
    meta |= {"pages": page, "records": records, "bytes": size}
    done.write_text(json.dumps(meta))
    return meta


def recorded(list_path: str, params: dict, page_size: int, out: Path) -> dict | None:
    """The description of a complete recording of this query in `out`, else None."""
    meta = {"url_path": list_path, "params": params, "page_size": page_size}
    done = out / _READY
    if done.exists():
        kept = json.loads(done.read_text())
        if {k: kept.get(k) for k in meta} == meta:
            return kept
    return None


def fetch_only(url: str, list_path: str, params: dict, page_size: int) -> int:
    """Fetch the same pages the sync reads and discard them (the bytes only, no JSON parse): the
    speed of the transport alone, which the bench requires to be far above the baseline's."""
    sess = requests.Session()
    page, fetched = 1, 0
    while True:
        r = sess.get(url + list_path, params={**params, "PageNumber": page, "PageSize": page_size}, timeout=60)
        fetched += len(r.content)
        if r.headers.get("X-Last-Page") == "1":
            return page
        page += 1


class _Pages(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, folder: Path):
        self.folder = folder
        self.last = int(json.loads((folder / _READY).read_text())["pages"])
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Pages

    def log_message(self, format, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's signature)
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            self._send(200, b'{"status":"ok"}', False)
            return
        q = {k.lower(): v[-1] for k, v in parse_qs(url.query).items()}
        try:
            page = int(q.get("pagenumber", "1"))
            body = (self.server.folder / f"{page:05d}.json").read_bytes()
        except (ValueError, OSError):
            self._send(404, b'{"message":"no such page"}', False)
            return
        self._send(200, body, page >= self.server.last)

    def _send(self, code: int, body: bytes, last: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if last:
            self.send_header("X-Last-Page", "1")
        self.end_headers()
        self.wfile.write(body)


class PageServer(HelperProcess):
    """The static server in its own process, so its work and memory are not the bench's."""

    def __init__(self, folder: Path):
        super().__init__("cchc.bench.pages", str(folder), what="the page server", wait_s=30)


def main(argv: list[str]) -> None:
    folder, port = Path(argv[0]), int(argv[1])
    _Pages(("127.0.0.1", port), folder).serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main(sys.argv[1:])
