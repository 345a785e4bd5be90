"""The provincial one-stop system's dossier list (DOMAIN.md §2), read page by page.

    GET {base_url}{list_path}?TiepNhanFrom=..&TiepNhanTo=..&GroupCode=..&MaTrangThai=..
        &KenhThucHien=..&PageNumber=1&PageSize=500
    -> {"Data": [...], "CurrentPage", "TotalPages", "TotalCount", "PageSize", "HasNextPage"}

Field names differ between provinces: `field_map` (provincial name -> canonical name, from the
ward configuration) renames the keys of each record; unmapped keys are kept as they are, so the
domain parser sees the canonical vocabulary. Records are otherwise passed on raw: validation and
quarantine are the domain's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from cchc.connectors.http import ResilientClient, SourceError

__all__ = ["Page", "ProvincialClient", "SourceError", "rename_records"]


@dataclass(slots=True)
class Page:
    """One page of the list: `page` is the 1-based number that was requested."""

    records: list[dict]
    page: int
    total_pages: int
    total_count: int
    has_next: bool


def rename_records(records: list, field_map: dict[str, str]) -> list:
    """Rename record keys by `field_map` (provincial -> canonical), IN PLACE; returns `records`.

    Unmapped keys are kept; non-dict items are passed through for the domain to quarantine. When a
    record holds both a mapped provincial key and a key already named like its canonical target,
    the mapped (configured) value wins. Only the mapped keys are touched, so a page of records
    costs a few dict operations per record (about 1 s per million records).
    """
    if not field_map:
        return records
    items = tuple((src, dst) for src, dst in field_map.items() if src != dst)
    sources = frozenset(src for src, _ in items)
    if not sources.isdisjoint(dst for _, dst in items):
        # Chained or swapped names (A -> B, B -> A): rename from an untouched copy.
        for i, r in enumerate(records):
            if r.__class__ is dict:
                d = {k: v for k, v in r.items() if k not in sources}
                for src, dst in items:
                    if src in r:
                        d[dst] = r[src]
                records[i] = d
        return records
    for r in records:
        if r.__class__ is dict:
            for src, dst in items:
                if src in r:
                    r[dst] = r.pop(src)
    return records


def _int(body: dict, key: str, url: str, client: ResilientClient) -> int:
    v = body.get(key)
    if v is None:
        raise client.shape_error(url, f"thiếu khóa {key!r} / missing key {key!r}")
    if isinstance(v, bool):
        raise client.shape_error(url, f"{key!r} phải là số nguyên / must be an integer, got {v!r}")
    try:
        return int(v)
    except (TypeError, ValueError):
        raise client.shape_error(
            url, f"{key!r} phải là số nguyên / must be an integer, got {str(v)[:20]!r}"
        ) from None


class ProvincialClient(ResilientClient):
    """Reads the provincial system's dossier list. Raises SourceError with a clear message."""

    def __init__(
        self,
        base_url: str,
        list_path: str = "/api/v1/hoso",
        page_size: int = 500,
        field_map: dict[str, str] | None = None,
        token: str | None = None,
        date_param_format: str = "%Y-%m-%d",
        timeout_s: float = 30,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        sleep: Callable[[float], object] = time.sleep,
        max_backoff_s: float = 60,
        deadline_s: float | None = None,
    ):
        # The retry parameters repeat the other client's signature on purpose (callers and the config name
        # them per source); what they set up is ResilientClient's, once.
        super().__init__(base_url, timeout_s=timeout_s, deadline_s=deadline_s, max_retries=max_retries,
                         backoff_s=backoff_s, max_backoff_s=max_backoff_s, token=token, sleep=sleep)
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.list_path = list_path
        self.page_size = int(page_size)
        self.field_map = dict(field_map or {})
        self.date_param_format = date_param_format

    @classmethod
    def from_source(cls, src, token: str | None = None, **overrides) -> ProvincialClient:
        """From an object with the attributes of the configuration's `ProvincialSource`."""
        kwargs = {
            name: getattr(src, name)
            for name in (
                "list_path",
                "page_size",
                "field_map",
                "date_param_format",
                "timeout_s",
                "deadline_s",
                "max_retries",
                "backoff_s",
            )
            if getattr(src, name, None) is not None
        }
        kwargs.update(overrides)
        return cls(src.base_url, token=token, **kwargs)

    def __repr__(self) -> str:
        return f"ProvincialClient({self.url_for(self.list_path)!r}, page_size={self.page_size})"

    def fetch_page(
        self,
        received_from: date,
        received_to: date,
        page: int,
        unit: str | None = None,
        status: int | None = None,
        channel: int | None = None,
    ) -> Page:
        """One page (1-based) of dossiers received in [received_from, received_to]."""
        fmt = self.date_param_format
        params = {
            "TiepNhanFrom": received_from.strftime(fmt),
            "TiepNhanTo": received_to.strftime(fmt),
            "GroupCode": unit,
            "MaTrangThai": status,
            "KenhThucHien": channel,
            "PageNumber": page,
            "PageSize": self.page_size,
        }
        url = self.url_for(self.list_path)
        body = self.get_json(self.list_path, params)
        if "Data" not in body:
            raise self.shape_error(url, "thiếu khóa 'Data' / missing key 'Data'")
        data = body["Data"]
        if data is None:
            data = []
        if not isinstance(data, list):
            raise self.shape_error(
                url, f"'Data' phải là một danh sách / must be a list, got {type(data).__name__}"
            )
        total_pages = _int(body, "TotalPages", url, self)
        total_count = _int(body, "TotalCount", url, self)
        has_next = body.get("HasNextPage")
        if has_next is None:
            has_next = page < total_pages
        elif not isinstance(has_next, bool):
            if str(has_next).strip().lower() in ("true", "1"):
                has_next = True
            elif str(has_next).strip().lower() in ("false", "0", ""):
                has_next = False
            else:
                raise self.shape_error(url, f"'HasNextPage' phải là true/false, got {str(has_next)[:20]!r}")
        return Page(
            records=rename_records(data, self.field_map),
            page=page,
            total_pages=total_pages,
            total_count=total_count,
            has_next=has_next,
        )

    def iter_pages(
        self,
        received_from: date,
        received_to: date,
        start_page: int = 1,
        unit: str | None = None,
        status: int | None = None,
        channel: int | None = None,
    ) -> Iterator[Page]:
        """Pages from `start_page` on, following HasNextPage (stops at TotalPages or an empty page)."""
        number = start_page
        while True:
            page = self.fetch_page(
                received_from, received_to, number, unit=unit, status=status, channel=channel
            )
            yield page
            if not page.has_next or not page.records or number >= page.total_pages:
                return
            number += 1
