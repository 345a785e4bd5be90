"""One Prefect global concurrency limit per ward store, so that two syncs of one store never overlap,
whoever starts them: the hourly deployment, the weekly full one, a manual `cchc sync` or
`cchc import-excel`. The per-deployment limit of prefect.yaml only covers runs of one deployment.

The limit is named after the ward and its store (`dong-bo-<ward>-<hash of the database URL>`),
created with one slot when absent, and visible in the UI under Concurrency. A sync that finds the
slot taken says so in its log and waits. Without a Prefect server (PREFECT_API_URL unset, Prefect's
temporary local server) there is no shared server to hold the slot: the limit is skipped (the
store's own lock still keeps two writers apart)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

LIMIT_PREFIX = "dong-bo"


def store_key(database_url: str) -> str:
    """The store a URL points at, without password or driver, relative SQLite paths made absolute:
    two spellings of one store give one key."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 — an unparsable URL fails later, where the store opens it
        return database_url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        database = os.path.abspath(database)
    return f"{url.get_backend_name()}://{url.username or ''}@{url.host or ''}:{url.port or ''}/{database}"


def sync_limit_name(ward_slug: str, database_url: str) -> str:
    digest = hashlib.sha256(store_key(database_url).encode("utf-8")).hexdigest()[:10]
    return f"{LIMIT_PREFIX}-{ward_slug}-{digest}"


def ensure_limit(name: str, slots: int = 1) -> None:
    """Create the global concurrency limit with `slots` slots when it does not exist yet."""
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
        except ObjectAlreadyExists:  # another sync created it a moment ago
            pass


def _slot_taken(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(getattr(cause, "response", None), "status_code", None) == 423


@contextmanager
def ward_store_slot(ward_slug: str, database_url: str, log) -> Iterator[str | None]:
    """Hold the one sync slot of this ward's store for the duration of the block (waits for it)."""
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        log.info("Không có Prefect server (PREFECT_API_URL): bỏ qua giới hạn đồng thời toàn cục của kho")
        yield None
        return
    name = sync_limit_name(ward_slug, database_url)
    ensure_limit(name)
    with ExitStack() as stack:
        try:
            stack.enter_context(concurrency(name, occupy=1, strict=True, max_retries=0))
        except ConcurrencySlotAcquisitionError as e:
            if not _slot_taken(e):
                raise
            log.info("Kho dữ liệu đang được một lần đồng bộ khác dùng (giới hạn %s): chờ đến lượt", name)
            stack.enter_context(concurrency(name, occupy=1, strict=True))
            log.info("Đã đến lượt: bắt đầu đồng bộ")
        yield name
