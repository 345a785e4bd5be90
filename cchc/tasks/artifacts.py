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


class Progress:
    """A progress artifact and where it has got to: a failed run leaves the bar where it stopped
    and says so in the description (never 100% for a run that did not finish)."""

    def __init__(self, artifact_id, description: str):
        self.id = artifact_id
        self.description = description
        self.percent = 0.0

    def update(self, percent: float, description: str | None = None) -> None:
        self.percent = max(0.0, min(100.0, float(percent)))
        if self.id is not None:
            _update_progress(artifact_id=self.id, progress=self.percent, description=description)

    def fail(self, where: str, error: str) -> None:
        """Keep the bar at the reached percentage; the description names the failure and the place."""
        pct = f"{self.percent:.0f}%"
        self.update(self.percent, f"{self.description}\n\n**THẤT BẠI** — dừng ở {pct} ({where}): {error}")

    def finish(self, note: str = "") -> None:
        self.update(100.0, f"{self.description}\n\nHoàn thành{': ' + note if note else ''}.")


def start_progress(key: str, description: str) -> Progress:
    return Progress(create_progress_artifact(progress=0.0, key=key, description=description), description)


def update_progress(progress: Progress | None, percent: float) -> None:
    if progress is not None:
        progress.update(percent)
