"""Publishing results to the Prefect UI as artifacts with stable keys (lowercase, dashes)."""

from __future__ import annotations

import math
import numbers
import re

from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.artifacts import update_progress_artifact as _update_progress

from cchc.domain.text import format_int, slugify

_KEY_OK = re.compile(r"^[a-z0-9-]+$")


def artifact_key(*parts: str) -> str:
    """A stable artifact key from parts: artifact_key('dong-bo', 'Phường Hòa An') -> 'dong-bo-phuong-hoa-an'."""
    key = "-".join(slugify(p) for p in parts if p)
    if not _KEY_OK.match(key):
        raise ValueError(f"invalid artifact key {key!r}")
    return key


def _clean(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "không phát sinh"
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return format_int(v)  # what people read: 2.284, not 2284
    return v


def publish_table(key: str, rows: list[dict], description: str) -> None:
    """A table artifact; NaN never reaches the UI (shown as 'không phát sinh'), counts are shown with
    the Vietnamese thousands separator ('2.284')."""
    create_table_artifact(table=[{k: _clean(v) for k, v in r.items()} for r in rows], key=key,
                          description=description)


def publish_markdown(key: str, markdown: str, description: str) -> None:
    create_markdown_artifact(markdown=markdown, key=key, description=description)


def start_progress(key: str, description: str):
    return create_progress_artifact(progress=0.0, key=key, description=description)


def update_progress(artifact_id, percent: float) -> None:
    if artifact_id is not None:
        _update_progress(artifact_id=artifact_id, progress=max(0.0, min(100.0, float(percent))))
