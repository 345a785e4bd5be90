"""The progress bar on the terminal for long syncs and imports (rows or pages done, rate, time left),
drawn with `rich.progress` from what the pipeline reports (`cchc.pipeline.progress`). Off when the
output is not a terminal or --json is given: then nothing at all is written."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from cchc.pipeline import progress


def wanted(args) -> bool:
    """A bar only for a person at a terminal: stdout and stderr both TTYs, and no --json."""
    if getattr(args, "json", False):
        return False
    return all(bool(getattr(s, "isatty", None)) and s.isatty() for s in (sys.stdout, sys.stderr))


@contextlib.contextmanager
def terminal_progress(enabled: bool, file=None) -> Iterator[None]:
    """Draw a bar (on stderr, or `file`) for each kind of work reported inside the block."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} {task.fields['unit']}/s")

    console = Console(file=file or sys.stderr)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                   TextColumn("còn"), TimeRemainingColumn(), console=console, transient=False)
    tasks: dict[str, int] = {}

    def show(label: str, done: int, total: int | None, unit: str) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total, unit=unit)
        bar.update(tasks[label], completed=done, total=total)

    with bar, progress.listening(show):
        yield
