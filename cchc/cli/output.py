"""What the command line prints: JSON, the files written, the sync summary."""

from __future__ import annotations

import contextlib
import json
import os
import sys


def print_json(obj) -> None:
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
        sys.stdout.flush()



def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


def print_files(paths) -> None:
    """The files a command wrote, one absolute path a line."""
    for path in paths:
        print(f"Đã ghi tệp / wrote: {os.path.abspath(path)}")


def print_sync_summary(summary: dict) -> None:
    from cchc.domain.text import format_int as n
    from cchc.report.labels import SOURCE_NAMES_VI as names
    print("KẾT QUẢ ĐỒNG BỘ HỒ SƠ")
    for src, c in summary.get("by_source", {}).items():
        print(f"  {names.get(src, src):<20} lấy {n(c['fetched']):>9}  thêm {n(c['inserted']):>9}  "
              f"cập nhật {n(c['updated']):>8}  không đổi {n(c['unchanged']):>9}  cách ly {n(c['quarantined']):>6}")
    print(f"  Tổng: lấy {n(summary['fetched'])}, thêm mới {n(summary['inserted'])}, cập nhật {n(summary['updated'])},"
          f" cách ly {n(summary['quarantined'])}. Kho hiện có {n(summary['total'])} hồ sơ.")
    errs = summary.get("row_errors") or []
    if errs:
        total = max(summary.get("row_errors_total") or 0, len(errs))
        shown = errs[:50]
        print(f"  Các dòng lỗi: {n(total)} (hiện {n(len(shown))} lỗi đầu):")
        for e in shown:
            print(f"    - {e}")
        if total > len(shown):
            print(f"    ... và {n(total - len(shown))} lỗi khác — xem đủ bằng: cchc quarantine --source excel "
                  f"--limit {total}")
