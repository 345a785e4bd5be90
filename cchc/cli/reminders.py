"""`cchc reminders` (the daily_reminders flow) and `cchc mailbox` (a local SMTP server that keeps
every message as an .eml file: for the demo and the tests)."""

from __future__ import annotations

import os

from cchc.cli.checks import check_config
from cchc.cli.output import print_json


def cmd_reminders(args) -> int:
    from cchc.config import load_config
    from cchc.connectors.mail import SmtpSettings
    from cchc.domain.reminders import RULE_NAMES_VI
    from cchc.domain.text import format_int
    from cchc.flows.daily_reminders import daily_reminders

    check_config()
    if not args.dry_run:  # a broken SMTP setting: one line naming it, before any run starts
        SmtpSettings.resolve(load_config(os.environ.get("CCHC_CONFIG")).smtp)
    s = daily_reminders(config_path=os.environ.get("CCHC_CONFIG"),
                        date=args.date.isoformat() if args.date else None, dry_run=args.dry_run)
    if args.json:
        print_json(s)
        return 0
    day = s["date"]
    if not s["working_day"]:
        print(f"Ngày {day}: ngày nghỉ theo lịch của phường, không gửi nhắc việc.")
        return 0
    if args.dry_run:
        print(f"Chạy thử ngày {day}: {format_int(s['digests'])} thư, {format_int(s['would_send'])} thư sẽ gửi "
              "(không gửi, không ghi gì).")
        for r in s["recipients"]:
            print(f"  {r['state']}: {r['recipient']} — {format_int(r['items'])} việc")
    else:
        print(f"Nhắc việc ngày {day}: đã gửi {format_int(s['sent'])}, bỏ qua {format_int(s['skipped'])}, "
              f"thất bại {format_int(s['failed'])}, còn chờ gửi {format_int(s['pending'])}.")
    for rule, n in s["rules"].items():
        if n:
            print(f"  {RULE_NAMES_VI[rule]}: {format_int(n)}")
    for line in s["missing_recipients"]:
        print(f"Thiếu email: {line}")
    if s["interrupted"]:
        print(f"Lượt gửi dừng giữa chừng: {s['interrupted']}; thư còn lại sẽ gửi ở lượt sau.")
    if s.get("artifact_key"):
        print(f"Artifact: {s['artifact_key']}")
    return 0


def cmd_mailbox(args) -> int:
    import threading

    from cchc.connectors.mailbox import Mailbox

    box = Mailbox(directory=args.dir, host=args.host, port=args.port,
                  on_message=lambda m: print(m.line(), flush=True))
    with box:
        print(f"Hộp thư cục bộ đang chạy tại {args.host}:{args.port}, lưu thư vào {args.dir} "
              "(Ctrl+C để dừng) / local mailbox running", flush=True)
        threading.Event().wait()
    return 0
