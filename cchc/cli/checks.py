"""Checks made before a flow starts, so that a bad configuration or a Prefect server that does not
answer is one clear line, not a traceback from inside the run."""

from __future__ import annotations

import os

from cchc.errors import UsageError


def prefect_unreachable_message(api: str) -> str:
    return (f"không kết nối được Prefect server {api} (PREFECT_API_URL): chạy `prefect server start` hoặc bỏ "
            "PREFECT_API_URL để chạy không cần server / cannot reach the Prefect server")


def check_prefect_api() -> None:
    """With PREFECT_API_URL set, the server must answer before a flow starts: one line, not Prefect's
    110-line traceback. Without it Prefect runs a temporary local server (nothing to check)."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if not api:
        return
    try:
        httpx.get(api.rstrip("/") + "/health", timeout=10)
    except httpx.HTTPError:
        raise UsageError(prefect_unreachable_message(api)) from None


def check_config() -> None:
    """Before any flow starts: a bad value in the configuration, or a Prefect server that does not
    answer, is one clear line."""
    from cchc.config import load_config

    load_config(os.environ.get("CCHC_CONFIG"))
    check_prefect_api()
