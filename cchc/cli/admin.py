"""`cchc serve`, `quarantine`, `config check`, `db`, `bench`: running the schedules, looking after the
store and the configuration, measuring."""

from __future__ import annotations

import os
import sys

from cchc.cli.checks import check_config
from cchc.errors import UsageError


def cmd_serve(args) -> int:
    from cchc.flows.schedule import deployment_specs, serve_all

    check_config()
    for spec in deployment_specs(args.file):
        when = "; ".join(f"{x['cron']} ({x['timezone']})" for x in spec["schedules"]) or "chạy tay / manual"
        print(f"  {spec['name']:<24} {when}")
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    hint = ("cần một Prefect server: chạy `prefect server start` rồi đặt "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (serve needs a running Prefect server)")
    if not api:
        raise UsageError(hint)
    print("Đang phục vụ các job theo lịch; Ctrl+C để dừng / serving; press Ctrl+C to stop.", flush=True)
    try:
        serve_all(args.file)
    except OSError as e:
        raise UsageError(f"{api}: {e} — {hint}") from None
    except Exception as e:
        if type(e).__name__ in ("ConnectError", "ConnectTimeout"):
            raise UsageError(f"không kết nối được Prefect server {api} — {hint}") from None
        raise
    return 0


def cmd_quarantine(args) -> int:
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.domain.text import format_int

    store = Store(load_config(os.environ.get("CCHC_CONFIG")).database_url)
    store.migrate()
    rows = store.quarantine_rows(args.source, limit=args.limit)
    total = store.count_quarantine(args.source)
    print(f"BẢN GHI BỊ CÁCH LY: {format_int(total)} (hiện {format_int(len(rows))})")
    for r in rows:
        print(f"  {r['last_seen']:%d/%m/%Y %H:%M}  {r['source']:<10} {r['record_key'] or '(không có mã)':<24} "
              f"{r['field']}: {r['reason']}")
    return 0


# --- config / db -----------------------------------------------------------------------------
def cmd_config(args) -> int:
    from cchc.config import all_errors, config_path
    from cchc.domain.redact import mask_secrets

    path = args.file or str(config_path())
    errors = all_errors(path)
    if errors:
        for e in errors:
            print(f"Lỗi / error: {mask_secrets(e)}", file=sys.stderr)
        if len(errors) > 1:  # one error stays one line
            print(f"{path}: {len(errors)} lỗi / error(s)", file=sys.stderr)
        return 1
    print(f"{path}: cấu hình hợp lệ / configuration is valid")
    return 0


def cmd_db(args) -> int:
    from cchc.config import load_config
    from cchc.connectors.store import Store, safe_url

    cfg = load_config()
    store = Store(cfg.database_url)
    if args.action == "upgrade":
        store.migrate()
    print(f"{safe_url(cfg.database_url)}: phiên bản lược đồ / schema revision {store.revision() or '(trống/empty)'}")
    return 0


# --- bench -----------------------------------------------------------------------------------
def cmd_bench(args) -> int:
    import json

    from cchc.bench import run

    result = run(args.what, args.dossiers, args.db, note=lambda text: print(text, file=sys.stderr))
    print(json.dumps(result, ensure_ascii=False))
    return 0
