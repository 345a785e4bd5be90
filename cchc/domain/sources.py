"""Which source of the store a report reads (pure rule, no I/O).

A store holds dossiers of up to three sources: the provincial system, the national portal (copies of
the provincial dossiers, looked up for reconciliation) and Excel exports. A report reads one of them:

1. the source asked for (`--source`, the flow's parameter), when given: it must be a known name;
2. else the configuration's `reporting.source`, when set;
3. else the one source the store holds (the national copies do not count beside the provincial
   dossiers they copy); an empty store reads the provincial source;
4. a store with several sources and no choice is an error that says how to choose.
"""

from __future__ import annotations

from collections.abc import Mapping

from cchc.domain.text import format_int
from cchc.errors import UserError

SOURCES = ("provincial", "national", "excel")
SOURCE_NAMES_VI = {"provincial": "Hệ thống TTHC tỉnh", "national": "Cổng DVCQG", "excel": "Tệp Excel"}
DEFAULT_SOURCE = "provincial"
#: The national portal's copies of the dossiers, which reconciliation compares with a reporting source.
COPY_SOURCE = "national"


class SourceChoiceError(UserError, ValueError):
    """The source cannot be chosen: unknown name, or several in the store and no choice made."""


def source_label(source: str) -> str:
    """'Tệp Excel (excel)': how outputs name the source they read."""
    return f"{SOURCE_NAMES_VI.get(source, source)} ({source})"


def check_source(name: str, where: str = "--source") -> str:
    """`name` if it is a known source, else a one-line error naming `where` and the known names."""
    if name not in SOURCES:
        raise SourceChoiceError(f"{where} {name!r}: nguồn không hợp lệ — chọn một trong "
                                f"{', '.join(SOURCES)} (unknown source)")
    return name


def reporting_source(requested: str | None, configured: str | None, counts: Mapping[str, int]) -> str:
    """The source a report reads (see the module's docstring). `counts`: dossiers per source."""
    if requested:
        return check_source(requested)
    if configured:
        return check_source(configured, "reporting.source")
    held = [s for s in SOURCES if counts.get(s, 0) > 0]
    if "provincial" in held and "national" in held:
        held.remove("national")  # the national copies of the provincial dossiers
    if not held:
        return DEFAULT_SOURCE
    if len(held) == 1:
        return held[0]
    found = ", ".join(f"{source_label(s)}: {format_int(counts[s])} hồ sơ" for s in held)
    raise SourceChoiceError(f"kho dữ liệu có nhiều nguồn ({found}) — chọn nguồn báo cáo bằng --source "
                            f"hoặc khóa reporting.source của cấu hình (several sources in the store)")
