"""How far a long sync or import has got, told to whoever listens — the CLI's progress bar — and to
no one otherwise. Nothing is printed here (only `cchc/cli/` prints): the pipeline calls `report`,
the CLI installs a listener with `listening`.

    from cchc.pipeline import progress
    progress.report(done, total, label="Nhập Excel", unit="dòng")   # e.g. after each batch of rows

A listener is called as `listener(label, done, total, unit)`; `total` may be None (not known yet).
Listeners are process-wide (a flow's tasks run in the process that started it); a failing listener
never fails the work it watches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Listener = Callable[[str, int, "int | None", str], None]

_listeners: list[Listener] = []


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every `report` made inside the block to `listener`."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def report(done: int, total: int | None, *, label: str, unit: str = "hồ sơ") -> None:
    """`done` of `total` (rows, dossiers...) of the work `label` names are done."""
    for listener in tuple(_listeners):
        with contextlib.suppress(Exception):  # a display problem is not the sync's problem
            listener(label, int(done), None if total is None else int(total), unit)
