"""`cchc report monthly`: the monthly summary for the ward's leadership (the monthly_report flow):
the email to each recipient through the outbox, the files under var/reports/<period>/, the artifacts."""

from __future__ import annotations

import os

from cchc.cli.checks import check_config
from cchc.cli.output import print_files, print_json
from cchc.errors import UsageError


def _check_month(period: str | None) -> None:
    from cchc.config import load_config
    from cchc.domain.periods import parse_period

    if not period:
        return
    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    try:
        per = parse_period(period, mode=cfg.reporting.period_mode)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if per.kind != "month":
        raise UsageError(f"--period {period}: bản tổng hợp gửi lãnh đạo là theo tháng, ví dụ 2026-10 "
                         "(the monthly summary takes a month)")


def cmd_report(args) -> int:
    from cchc.flows.monthly_report import monthly_report

    check_config()
    _check_month(args.period)
    result = monthly_report(config_path=os.environ.get("CCHC_CONFIG"), period=args.period, dry_run=args.dry_run,
                            today=args.today.isoformat() if args.today else None)
    if args.json:
        print_json(result)
        return 0
    print(f"TỔNG HỢP THÁNG GỬI LÃNH ĐẠO — {result['ward']} — {result['period_label']}"
          + (" — chạy thử, không gửi thư" if result["dry_run"] else ""))
    for h in result["headline"]:
        print(f"  {h['label']:<34} {h['text']:>16}   {h['change_text']}")
    if result["dry_run"]:
        print(f"Người nhận (chưa gửi): {', '.join(result['recipients'])}")
    else:
        print(f"Thư mới vào hàng đợi: {result['queued']} (đã có từ trước: {result['already_queued']}); "
              f"đã gửi: {result['sent']}")
        for line in result["send_errors"]:
            print(f"  Lỗi gửi: {line}")
    print("Artifacts: " + ", ".join(result["artifact_keys"]))
    print_files(result["files"].values())
    return 0
