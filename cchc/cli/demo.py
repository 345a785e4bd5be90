"""`cchc demo`: the whole system on the simulated ward, in one command, in the demo's own store.

It starts the simulator and a local mail server (`cchc mailbox`'s, .eml files under var/mail), then
runs the flows a ward runs: the sync, the month's indicators, the year's inspection plan with a
verifiable draw (units, dossier samples, notices, sheets), records a finding, the reminders of a
working day and the monthly summary to leadership — and says where to look. A second run with the
same parameters changes nothing and sends nothing: the sync is incremental, the plan reuses the
stored selection, the finding is recorded once, the outbox knows every message it sent.
"""

from __future__ import annotations

import os
from datetime import date

from cchc.cli.checks import check_prefect_api
from cchc.cli.output import print_sync_summary
from cchc.cli.simulate import ward_of
from cchc.errors import UsageError

MAIL_DIR = "var/mail"
STEPS = 8


def _step(n: int, text: str) -> None:
    print(f"{n}/{STEPS} {text}", flush=True)


def _mailbox(cfg, received: list):
    """The local mail server on the configured SMTP port (or a free one when it is taken); the flows
    are pointed at it, whatever CCHC_SMTP_* said: the demo never sends mail anywhere else."""
    from cchc.connectors.mailbox import Mailbox, MailboxError, free_port

    def arrived(m) -> None:
        received.append(m)
        print(f"     thư đến / mail: {m.line()}", flush=True)

    port = int(cfg.smtp.port or 8025) if cfg.smtp else 8025
    try:
        box = Mailbox(directory=MAIL_DIR, host="127.0.0.1", port=port, on_message=arrived).start()
    except MailboxError:  # the port is taken (a `cchc mailbox` of the user's, say): a free one
        box = Mailbox(directory=MAIL_DIR, host="127.0.0.1", port=free_port(), on_message=arrived).start()
    os.environ.update({"CCHC_SMTP_HOST": "127.0.0.1", "CCHC_SMTP_PORT": str(box.port), "CCHC_SMTP_TLS": "none"})
    for name in ("CCHC_SMTP_USER", "CCHC_SMTP_PASSWORD"):
        os.environ.pop(name, None)
    return box


def _ui_hint() -> str:
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    if api:
        return f"mở {api.rstrip('/').removesuffix('/api')}/runs"
    return ("chạy `.venv/bin/prefect server start` rồi mở http://127.0.0.1:4200/runs (các lượt chạy của demo "
            "được ghi vào CSDL Prefect cục bộ ~/.prefect)")


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
    ward = ward_of(args)
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
    received: list = []
    _step(1, f"Khởi động trình mô phỏng ({ward.n_dossiers} hồ sơ mô phỏng đến ngày {ward.as_of:%d/%m/%Y}, DỮ LIỆU "
             f"GIẢ LẬP) và hộp thư cục bộ (thư lưu ở {MAIL_DIR}/)")
    box = _mailbox(cfg, received)
    try:
        with running(ward) as url:
            os.environ["CCHC_PROVINCIAL_URL"] = url
            os.environ["CCHC_NATIONAL_URL"] = url
            _step(2, f"Đồng bộ hồ sơ (flow sync_dossiers) vào {safe_url(db_url)}...")
            from cchc.flows.sync_dossiers import sync_dossiers

            summary = sync_dossiers(config_path=os.environ.get("CCHC_CONFIG"), today=ward.as_of.isoformat())
            mark_demo_store(store, params, "done")
            print_sync_summary(summary)
        period, artifacts, files = _the_rest(cfg, store, ward.as_of, quick=args.quick)
    finally:
        box.stop()
        store.dispose()
    _where_to_look(configured_url, db_url, period, artifacts, files, received, quick=args.quick)
    return 0


def _the_rest(cfg, store, as_of: date, quick: bool = False) -> tuple[str, list[str], list[str]]:
    """Steps 3–7: indicators, plan (with samples), a finding, the reminders, the monthly summary
    (with `quick`, the indicators only)."""
    from cchc.cli.reports import unit_table_text
    from cchc.domain.periods import last_full_month
    from cchc.domain.text import format_int
    from cchc.flows.compute_indicators import compute_indicators
    from cchc.flows.daily_reminders import daily_reminders
    from cchc.flows.monthly_report import monthly_report
    from cchc.flows.plan_inspections import plan_inspections
    from cchc.pipeline.demo import DEMO_DRAW_SOURCES, record_demo_finding, reminder_day

    config_path = os.environ.get("CCHC_CONFIG")
    period = last_full_month(as_of, cfg.reporting.period_mode)
    _step(3, f"Tính chỉ số {period.label} (flow compute_indicators)...")
    result = compute_indicators(config_path=config_path, period=period.slug, today=as_of.isoformat())
    print(unit_table_text(result))
    artifacts, files = list(result["artifact_keys"]), [result["xlsx"]] if result.get("xlsx") else []
    if quick:
        print("   (--quick: bỏ qua bước 4–7: kế hoạch kiểm tra, kết luận, nhắc việc, thư tháng)")
        return period.slug, artifacts, files

    year = cfg.inspection.year if cfg.inspection else None
    _step(4, f"Lập kế hoạch kiểm tra năm {year}: chọn đơn vị bằng rút thăm kiểm chứng được (RFC 3797, nguồn "
             f"ngẫu nhiên mô phỏng {' | '.join(DEMO_DRAW_SOURCES)}), bóc mẫu hồ sơ (flow plan_inspections)...")
    plan = plan_inspections(sources=list(DEMO_DRAW_SOURCES), year=year, config_path=config_path)
    for w in plan["waves"]:
        print(f"   Đợt {w['number']}: " + "; ".join(f"{v['unit_name']} ngày {date.fromisoformat(v['visit_date']):%d/%m}"
                                               for v in w["visits"]) + f" (mã lựa chọn {w['selection_id']})")
    print(f"   Kiểm chứng / verify: cchc verify-selection {plan['selection_id']}")
    artifacts += plan["artifact_keys"]
    files += plan["files"]

    _step(5, "Ghi một kết luận kiểm tra (mô phỏng) và hạn khắc phục...")
    finding = record_demo_finding(store, cfg, plan, as_of)
    if finding is None:
        print("   Chưa có buổi kiểm tra nào trước ngày dữ liệu: không ghi kết luận.")
    else:
        fid, added = finding
        print(f"   Kết luận số {fid}: " + ("đã ghi." if added else "đã có từ lần chạy trước, không ghi thêm."))

    day = reminder_day(cfg, as_of)
    _step(6, f"Nhắc việc ngày {day:%d/%m/%Y} (flow daily_reminders, gửi qua hộp thư đi tới hộp thư cục bộ)...")
    rem = daily_reminders(config_path=config_path, date=day.isoformat())
    print(f"   Đã gửi {format_int(rem['sent'])} thư, bỏ qua {format_int(rem['skipped'])} (đã gửi trước đó), "
          f"thất bại {format_int(rem['failed'])}.")
    if rem["pending"]:
        print(f"   Còn chờ gửi {format_int(rem['pending'])} thư (lượt trước bị ngắt giữa chừng hoặc máy chủ thư lỗi): "
              "gửi ở lượt sau, mỗi thư đúng một lần.")
    for line in rem["missing_recipients"]:
        print(f"   Thiếu email: {line}")
    if rem.get("artifact_key"):
        artifacts.append(rem["artifact_key"])

    _step(7, f"Tổng hợp tháng gửi lãnh đạo {period.label} (flow monthly_report)...")
    monthly = monthly_report(config_path=config_path, period=period.slug, today=as_of.isoformat())
    print(f"   Thư mới vào hàng đợi: {monthly['queued']} (đã có từ trước: {monthly['already_queued']}); "
          f"đã gửi: {monthly['sent']}.")
    artifacts += monthly["artifact_keys"]
    files += list(monthly["files"].values())
    return period.slug, artifacts, files


def _where_to_look(configured_url: str, db_url: str, period: str, artifacts: list[str], files: list[str],
                   received: list, quick: bool = False) -> None:
    from cchc.connectors.store import safe_url

    _step(8, "Xem kết quả ở đâu:")
    if quick:
        print("   - Không gửi thư (--quick bỏ qua nhắc việc và thư tháng)")
    elif received:
        print(f"   - Thư nhận được lần này: {len(received)} thư, tệp .eml trong {os.path.abspath(MAIL_DIR)}/")
    else:
        print(f"   - Không có thư mới (mọi thư đã gửi ở lần chạy trước; các tệp .eml trong "
              f"{os.path.abspath(MAIL_DIR)}/)")
    folders = sorted({os.path.dirname(os.path.abspath(f)) for f in files})
    print(f"   - Tệp báo cáo ({len(files)} tệp: Biểu 06, thông báo và phiếu kiểm tra, mẫu hồ sơ, báo cáo tháng): "
          + ", ".join(folders))
    print(f"   - Prefect UI: {_ui_hint()}; artifact: " + ", ".join(dict.fromkeys(artifacts)))
    env = "" if configured_url == db_url else f"CCHC_DATABASE_URL={safe_url(db_url)} "
    print(f"   - Dòng lệnh: {env}cchc stats --period {period} --by procedure  |  cchc finding list  |  "
          "cchc verify-selection <mã lựa chọn>")
