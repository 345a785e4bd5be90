"""Handlers of the `cchc` subcommands: read arguments, call a flow, print a summary."""

from __future__ import annotations

import os
import sys

from cchc.cli import print_json
from cchc.errors import FileMissing, UsageError


def prefect_unreachable_message(api: str) -> str:
    return (f"không kết nối được Prefect server {api} (PREFECT_API_URL): chạy `prefect server start` hoặc bỏ "
            "PREFECT_API_URL để chạy không cần server / cannot reach the Prefect server")


def _check_prefect_api() -> None:
    """With PREFECT_API_URL set, the server must answer before a flow starts: one line, not Prefect's
    110-line traceback. Without it Prefect runs a temporary local server (nothing to check)."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if not api:
        return
    try:
        httpx.get(api.rstrip("/") + "/health", timeout=10)
    except httpx.HTTPError:
        raise UsageError(prefect_unreachable_message(api)) from None


# --- sync ------------------------------------------------------------------------------------
def _print_sync_summary(summary: dict) -> None:
    from cchc.domain.text import format_int as n

    names = {"provincial": "Hệ thống TTHC tỉnh", "national": "Cổng DVCQG", "excel": "Tệp Excel"}
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


def _check_config() -> None:
    """Before any flow starts: a bad value in the configuration, or a Prefect server that does not
    answer, is one clear line."""
    from cchc.config import load_config

    load_config(os.environ.get("CCHC_CONFIG"))
    _check_prefect_api()


def cmd_sync(args) -> int:
    from cchc.flows.sync_dossiers import sync_dossiers

    _check_config()

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
        _print_sync_summary(summary)
    return 0


def cmd_import_excel(args) -> int:
    from cchc.flows.sync_dossiers import sync_dossiers

    _check_config()
    if not os.path.exists(args.file):
        raise FileMissing(f"{args.file}: không tìm thấy tệp (file not found)")
    summary = sync_dossiers(config_path=os.environ.get("CCHC_CONFIG"), excel_file=os.path.abspath(args.file),
                            excel_encoding=getattr(args, "encoding", None))
    if args.json:
        print_json({k: summary[k] for k in ("fetched", "inserted", "updated", "unchanged", "quarantined", "total")}
                   | {"errors": summary["row_errors"],
                      "errors_total": summary.get("row_errors_total", len(summary["row_errors"]))})
    else:
        _print_sync_summary(summary)
    return 0


# --- simulator -------------------------------------------------------------------------------
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


# --- demo ------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    """The end-to-end demo, in its own store (var/demo.sqlite unless --db): it refuses a store that holds
    dossiers it did not write, and deletes only its own rows when --seed/--dossiers change."""
    from cchc.config import load_config
    from cchc.connectors.store import Store, safe_url
    from cchc.simulator.server import running
    from cchc.tasks.demo import DEMO_DATABASE_URL, check_demo_store, mark_demo_store, reset_demo_rows

    # The demo's store, never the configured one (a ward's real store); the flows read this variable.
    db_url = args.db or DEMO_DATABASE_URL
    configured_url = load_config(os.environ.get("CCHC_CONFIG")).database_url
    os.environ["CCHC_DATABASE_URL"] = db_url
    # the simulator accepts any account; real credentials come from the environment only
    os.environ.setdefault("CCHC_NATIONAL_USERNAME", "demo")
    os.environ.setdefault("CCHC_NATIONAL_PASSWORD", "demo")
    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    _check_prefect_api()
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
        _print_sync_summary(summary)
    print("3/3 Tính chỉ số tháng trước (flow compute_indicators)...", flush=True)
    from cchc.domain.periods import last_full_month
    from cchc.flows.compute_indicators import compute_indicators

    period = last_full_month(ward.as_of, cfg.reporting.period_mode)
    result = compute_indicators(config_path=os.environ.get("CCHC_CONFIG"), period=period.slug,
                                today=ward.as_of.isoformat())
    print(result["unit_table_text"])
    if result.get("xlsx"):
        print(f"\nBiểu 06: {result['xlsx']}")
    env = "" if configured_url == db_url else f"CCHC_DATABASE_URL={safe_url(db_url)} "
    print(f"Xem thêm: {env}cchc stats --period {period.slug} --by procedure"
          "  |  artifact: " + ", ".join(result["artifact_keys"][:3]) + ", ...")
    return 0


# --- indicators ------------------------------------------------------------------------------
def cmd_stats(args) -> int:
    from cchc.tasks.indicators import stats_command

    return stats_command(args)


def cmd_indicators(args) -> int:
    from cchc.domain.periods import parse_period
    from cchc.flows.compute_indicators import compute_indicators

    _check_config()
    if args.period:
        try:
            parse_period(args.period)
        except ValueError as e:
            raise UsageError(str(e)) from None
    source = _reporting_source(args.source)
    result = compute_indicators(config_path=os.environ.get("CCHC_CONFIG"), period=args.period, source=source)
    print(result["unit_table_text"])
    print("Artifacts: " + ", ".join(result["artifact_keys"]))
    _print_files(result.get("files") or ([result["xlsx"]] if result.get("xlsx") else []))
    return 0


def _print_files(paths) -> None:
    """The files a command wrote, one absolute path a line."""
    for path in paths:
        print(f"Đã ghi tệp / wrote: {os.path.abspath(path)}")


def _period_data(args, with_national: bool = True):
    """(cfg, period, data, notes, provisional) for the commands that read one period from the store."""
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.domain.periods import period_notes
    from cchc.tasks import indicators as ti

    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    period = ti.period_from_args(args, cfg)
    store = Store(cfg.database_url)
    store.migrate()
    data = ti.load_period(store, cfg, period, source=args.source, with_national=with_national)
    today = cfg.today()
    return cfg, period, data, period_notes(period, today, ti.has_dossiers(data)), period.state(today) != "finished"


def cmd_reconcile(args) -> int:
    """`cchc reconcile`: the reconciliation with the national portal, as the flow computes it."""
    from cchc.domain.text import format_int
    from cchc.tasks import indicators as ti

    cfg, period, data, notes, provisional = _period_data(args)
    summary, mismatches = ti.reconciliation(data, cfg)
    if args.xlsx:
        from cchc.connectors.xlsx_report import write_table_xlsx

        write_table_xlsx(args.xlsx, {"Tổng hợp": ti.reconcile_summary_display(summary),
                                     "Hồ sơ chênh lệch": ti.reconcile_detail_display(mismatches, cfg, limit=None)},
                         title=f"Đối soát với Cổng DVCQG — {cfg.ward.name} — {period.title}")
    if args.json:
        print_json(ti.reconcile_json(data, cfg, summary, mismatches, notes, provisional))
    else:
        lines = [f"ĐỐI SOÁT VỚI CỔNG DVCQG — {cfg.ward.name} — {period.title}",
                 *[f"Lưu ý: {n}." for n in notes], "", ti.rows_text(ti.reconcile_summary_display(summary)), ""]
        detail = ti.reconcile_detail_display(mismatches, cfg, limit=args.limit)
        if detail:
            cut = ti.shown_of(len(detail), len(mismatches))
            lines += [f"HỒ SƠ CHÊNH LỆCH: {format_int(len(mismatches))} dòng" + (f" ({cut})" if cut else ""), "",
                      ti.rows_text(detail, left=3)]
        else:
            lines.append("Không có hồ sơ chênh lệch.")
        print("\n".join(lines))
        if args.xlsx:
            _print_files([args.xlsx])
    return 0


def cmd_score766(args) -> int:
    """`cchc score766`: the 766 points computable from dossier data, as the flow computes them."""
    from cchc.tasks import indicators as ti

    cfg, period, data, notes, provisional = _period_data(args)
    summary, _ = ti.reconciliation(data, cfg)
    scores = ti.scores(ti.unit_table_766(data, cfg), summary, cfg)
    if args.json:
        print_json(ti.scores_json(period, scores, cfg, notes, provisional))
    else:
        print("\n".join([f"ĐIỂM BỘ CHỈ SỐ 766 (PHẦN TÍNH ĐƯỢC TỪ DỮ LIỆU HỒ SƠ) — {cfg.ward.name} — {period.title}",
                         *[f"Lưu ý: {n}." for n in notes], "", ti.rows_text(ti.scores_display(scores))]))
    return 0


def _reporting_source(requested: str | None) -> str:
    """The source the report reads, chosen before any flow starts: a bad choice is one line."""
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.tasks.indicators import choose_source

    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    store = Store(cfg.database_url)
    try:
        store.migrate()
        return choose_source(store, cfg, requested)
    finally:
        store.dispose()


def cmd_serve(args) -> int:
    from cchc.flows.schedule import deployment_specs, serve_all

    _check_config()
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
    from cchc.benchmarks import main as bench_main

    return bench_main(args.what, args.dossiers, args.db)

