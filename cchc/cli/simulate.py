"""`cchc simulate`: the simulated ward on loopback (its Excel export with --export-excel)."""

from __future__ import annotations

from cchc.errors import UsageError


def ward_of(args):
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

    ward = ward_of(args)
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
