"""`cchc simulate` and `cchc demo`: the simulated ward on loopback, and the end-to-end demo."""

from __future__ import annotations

import os

from cchc.cli.checks import check_prefect_api
from cchc.cli.output import print_sync_summary
from cchc.errors import UsageError


def _ward(args):
    from cchc.simulator.ward import SyntheticWard

    kwargs = {"seed": args.seed, "n_dossiers": args.dossiers}
    if getattr(args, "as_of", None):
        kwargs["as_of"] = args.as_of
    if getattr(args, "national_missing", None) is not None:
        kwargs["national_missing_share"] = args.national_missing
    if getattr(args, "extra_personal", False):
        kwargs["extra_personal"] = True
    return SyntheticWard(**kwargs)


def cmd_simulate(args) -> int:
    from cchc.domain.text import format_int
    from cchc.simulator.server import Faults, make_server

    ward = _ward(args)
    if args.export_excel:
        from cchc.simulator.excel_export import export_excel

        n = export_excel(ward, args.export_excel)
        print(f"Đã ghi {format_int(n)} hồ sơ mô phỏng vào {args.export_excel}")
        return 0
    try:
        faults = Faults.parse(args.faults) if args.faults else None
    except ValueError as e:
        raise UsageError(f"--faults: {e}") from None
    try:
        server = make_server(ward, host=args.host, port=args.port, faults=faults)
    except OSError as e:
        raise UsageError(f"không mở được cổng {args.host}:{args.port} ({e.strerror})") from None
    host, port = server.server_address[:2]
    print(f"Trình mô phỏng (DỮ LIỆU GIẢ LẬP) đang chạy tại http://{host}:{port}  —  {format_int(ward.n_dossiers)} hồ sơ, "
          f"seed {args.seed}, đến ngày {ward.as_of:%d/%m/%Y}", flush=True)
    print(f"  Hệ thống tỉnh: GET  http://{host}:{port}/api/v1/hoso", flush=True)
    print(f"  Cổng DVCQG:    POST http://{host}:{port}/dvcqg/login, /dvcqg/service", flush=True)
    print("  Nhấn Ctrl+C để dừng / press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def cmd_demo(args) -> int:
    """The end-to-end demo, in its own store (var/demo.sqlite unless --db): it refuses a store that holds
    dossiers it did not write, and deletes only its own rows when --seed/--dossiers change."""
    from cchc.config import load_config
    from cchc.connectors.store import Store, safe_url
    from cchc.pipeline.demo import DEMO_DATABASE_URL, check_demo_store, mark_demo_store, reset_demo_rows
    from cchc.simulator.server import running

    # The demo's store, never the configured one (a ward's real store); the flows read this variable.
    db_url = args.db or DEMO_DATABASE_URL
    configured_url = load_config(os.environ.get("CCHC_CONFIG")).database_url
    os.environ["CCHC_DATABASE_URL"] = db_url
    # the simulator accepts any account; real credentials come from the environment only
    os.environ.setdefault("CCHC_NATIONAL_USERNAME", "demo")
    os.environ.setdefault("CCHC_NATIONAL_PASSWORD", "demo")
    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    check_prefect_api()
    if not cfg.ward.simulated:
        raise UsageError(f"{os.environ.get('CCHC_CONFIG') or 'config/demo.yaml'}: ward.simulated không bật — "
                              "lệnh demo chỉ chạy với cấu hình mô phỏng (demo runs on a simulated ward only)")
    ward = _ward(args)
    store = Store(db_url)
    found = check_demo_store(store)  # before any write: a store with real data is refused as it is
    store.migrate()
    params = {"seed": args.seed, "dossiers": args.dossiers, "as_of": ward.as_of.isoformat()}
    last = found.mark
    if last is not None and found.dossiers and (last.get("seed"), last.get("dossiers")) != (args.seed, args.dossiers):
        print(f"   (dữ liệu mô phỏng khác lần trước: xóa {found.dossiers} hồ sơ mô phỏng demo đã ghi trong "
              f"{safe_url(db_url)})", flush=True)
        reset_demo_rows(store)
    mark_demo_store(store, params, "syncing")
    print(f"1/3 Khởi động trình mô phỏng: {ward.n_dossiers} hồ sơ mô phỏng đến ngày {ward.as_of:%d/%m/%Y} "
          "(DỮ LIỆU GIẢ LẬP)", flush=True)
    with running(ward) as url:
        os.environ["CCHC_PROVINCIAL_URL"] = url
        os.environ["CCHC_NATIONAL_URL"] = url
        print(f"2/3 Đồng bộ hồ sơ (flow sync_dossiers) vào {safe_url(db_url)}...", flush=True)
        from cchc.flows.sync_dossiers import sync_dossiers

        summary = sync_dossiers(config_path=os.environ.get("CCHC_CONFIG"), today=ward.as_of.isoformat())
        mark_demo_store(store, params, "done")
        print_sync_summary(summary)
    print("3/3 Tính chỉ số tháng trước (flow compute_indicators)...", flush=True)
    from cchc.domain.periods import last_full_month
    from cchc.flows.compute_indicators import compute_indicators

    period = last_full_month(ward.as_of, cfg.reporting.period_mode)
    result = compute_indicators(config_path=os.environ.get("CCHC_CONFIG"), period=period.slug,
                                today=ward.as_of.isoformat())
    from cchc.cli.reports import unit_table_text

    print(unit_table_text(result))
    if result.get("xlsx"):
        print(f"\nBiểu 06: {result['xlsx']}")
    env = "" if configured_url == db_url else f"CCHC_DATABASE_URL={safe_url(db_url)} "
    print(f"Xem thêm: {env}cchc stats --period {period.slug} --by procedure"
          "  |  artifact: " + ", ".join(result["artifact_keys"][:3]) + ", ...")
    return 0
