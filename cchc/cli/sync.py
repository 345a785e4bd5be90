"""`cchc sync` and `cchc import-excel`: run the sync_dossiers flow, print its summary."""

from __future__ import annotations

import os

from cchc.cli.checks import check_config
from cchc.cli.output import print_json, print_sync_summary
from cchc.cli.progress import terminal_progress, wanted
from cchc.errors import FileMissing


def cmd_sync(args) -> int:
    from cchc.flows.sync_dossiers import sync_dossiers

    check_config()

    with terminal_progress(wanted(args)):
        summary = sync_dossiers(
            config_path=os.environ.get("CCHC_CONFIG"),
            sources=args.source,
            full=args.full,
            today=args.today.isoformat() if args.today else None,
        )
    if args.json:
        print_json({k: summary[k] for k in ("fetched", "inserted", "updated", "unchanged", "quarantined", "total",
                                            "by_source")})
    else:
        print_sync_summary(summary)
    return 0


def cmd_import_excel(args) -> int:
    from cchc.flows.sync_dossiers import sync_dossiers

    check_config()
    if not os.path.exists(args.file):
        raise FileMissing(f"{args.file}: không tìm thấy tệp (file not found)")
    with terminal_progress(wanted(args)):
        summary = sync_dossiers(config_path=os.environ.get("CCHC_CONFIG"), excel_file=os.path.abspath(args.file),
                                excel_encoding=getattr(args, "encoding", None))
    if args.json:
        print_json({k: summary[k] for k in ("fetched", "inserted", "updated", "unchanged", "quarantined", "total")}
                   | {"errors": summary["row_errors"],
                      "errors_total": summary.get("row_errors_total", len(summary["row_errors"]))})
    else:
        print_sync_summary(summary)
    return 0
