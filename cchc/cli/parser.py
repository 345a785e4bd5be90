"""The `cchc` argument parser: every command and option, with the same bilingual (Vietnamese /
English) help wording everywhere."""

from __future__ import annotations

import argparse
import sys
from datetime import date

EXIT_USAGE = 2

_SOURCE_HELP = ("Nguồn báo cáo / source: provincial, excel, national (mặc định: nguồn duy nhất trong kho, "
                "hoặc reporting.source khi kho có nhiều nguồn / default: the one source held, or reporting.source)")



def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ngày không hợp lệ / invalid date: {text!r} (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 1:
        raise argparse.ArgumentTypeError(f"phải là số nguyên dương / must be a positive integer: {text!r}")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse with the same bilingual (Vietnamese / English) wording everywhere."""

    def __init__(self, *args, **kwargs):
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "đối số / arguments"
        self._optionals.title = "tùy chọn / options"
        self.add_argument("-h", "--help", action="help", help="Hiện trợ giúp này / show this help and exit")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Lỗi / error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cchc",
        description="Dữ liệu kiểm tra CCHC cấp phường / CCHC inspection data for a ward.",
        epilog="Biến môi trường / environment: CCHC_CONFIG, CCHC_DATABASE_URL, CCHC_PROVINCIAL_URL, "
        "CCHC_NATIONAL_URL.",
    )
    p.add_argument("--config", help="Tệp cấu hình phường / ward configuration file (mặc định/default: "
                                    "$CCHC_CONFIG hoặc/or config/demo.yaml)")
    sub = p.add_subparsers(dest="command", metavar="LỆNH/COMMAND", parser_class=_Parser)

    d = sub.add_parser("demo", help="Chạy thử trọn gói: mô phỏng + đồng bộ + chỉ số / "
                                    "end-to-end demo: the whole system on a simulated ward")
    d.add_argument("--dossiers", type=_positive, default=20000,
                   help="Số hồ sơ mô phỏng / simulated dossiers (mặc định/default 20000)")
    d.add_argument("--seed", type=int, default=1, help="Hạt giống ngẫu nhiên / random seed")
    d.add_argument("--as-of", type=_date, help="Ngày dữ liệu / data as-of date (YYYY-MM-DD, mặc định hôm nay)")
    d.add_argument("--quick", action="store_true", help="Chỉ đồng bộ và tính chỉ số (bỏ kế hoạch kiểm tra, nhắc "
                                                        "việc, thư tháng) / sync and indicators only")
    d.add_argument("--db", help="URL CSDL của demo / the demo's database URL (mặc định/default: kho riêng "
                                "sqlite:///var/demo.sqlite; không bao giờ ghi vào kho có dữ liệu thật / never a "
                                "store holding real data)")

    s = sub.add_parser("simulate", help="Chạy trình mô phỏng hệ thống tỉnh và Cổng DVCQG / "
                                        "run the provincial + national portal simulator")
    s.add_argument("--port", type=int, default=8765, help="Cổng / port (mặc định/default 8765)")
    s.add_argument("--host", default="127.0.0.1", help="Địa chỉ / host (mặc định/default 127.0.0.1)")
    s.add_argument("--seed", type=int, default=1, help="Hạt giống ngẫu nhiên / random seed")
    s.add_argument("--dossiers", type=_positive, default=20000, help="Số hồ sơ / number of dossiers")
    s.add_argument("--as-of", type=_date, help="Ngày dữ liệu / as-of date (mặc định/default: hôm nay/today)")
    s.add_argument("--faults", default="", help="Lỗi giả lập / injected faults, e.g. "
                                                "5xx=0.1,429=0.05,slow=0.02,malformed=0.01,duplicate=0.05")
    s.add_argument("--national-missing", type=float, default=0.03,
                   help="Tỉ lệ hồ sơ thiếu trên Cổng DVCQG / share missing on the national portal")
    s.add_argument("--export-excel", metavar="FILE", help="Ghi dữ liệu ra tệp Excel rồi thoát / "
                                                          "write the data as a one-stop Excel export and exit")
    s.add_argument("--extra-personal", action="store_true",
                   help="Thêm dữ liệu cá nhân giả dưới tên trường lạ và trong văn bản tự do (kiểm thử "
                        "bảo vệ dữ liệu) / also emit fake applicant data under non-standard names and in free text")

    y = sub.add_parser("sync", help="Đồng bộ hồ sơ từ hệ thống tỉnh và Cổng DVCQG / "
                                    "sync dossiers from the provincial system and the national portal")
    y.add_argument("--source", choices=["provincial", "national"], action="append",
                   help="Chỉ đồng bộ nguồn này / only this source (lặp lại được / repeatable)")
    y.add_argument("--full", action="store_true", help="Lấy lại toàn bộ từ ngày bắt đầu / full re-pull")
    y.add_argument("--today", type=_date, help="Ngày chạy / run date (YYYY-MM-DD), mặc định hôm nay")
    y.add_argument("--json", action="store_true", help="In kết quả dạng JSON / print JSON")

    x = sub.add_parser("import-excel", help="Nhập tệp Excel/CSV xuất từ một cửa / "
                                            "import a one-stop Excel/CSV export")
    x.add_argument("file", help="Tệp .xlsx, .xls hoặc .csv / .xlsx, .xls or .csv file")
    x.add_argument("--json", action="store_true", help="In kết quả dạng JSON / print JSON")
    x.add_argument("--encoding", help="Bảng mã của tệp CSV khi không phải UTF-8/UTF-16 có BOM, ví dụ cp1258 / "
                                      "a CSV's encoding when not UTF-8 or UTF-16 with a BOM, e.g. cp1258")

    st = sub.add_parser("stats", help="Chỉ số theo kỳ / indicators for a period")
    st.add_argument("--period", help="Kỳ / period: 2026-10, 2026-Q3, 2026-H1, 2026 (mặc định/default: "
                                     "tháng trước / last full month)")
    st.add_argument("--from", dest="date_from", type=_date, help="Từ ngày / from (YYYY-MM-DD)")
    st.add_argument("--to", dest="date_to", type=_date, help="Đến ngày / to (YYYY-MM-DD)")
    st.add_argument("--by", choices=["unit", "officer", "procedure", "field", "channel"], default="unit",
                    help="Nhóm theo / group by (mặc định/default unit)")
    st.add_argument("--mode", choices=["calendar", "administrative"],
                    help="Kỳ theo lịch hay kỳ báo cáo hành chính / calendar or administrative periods")
    st.add_argument("--source", help=_SOURCE_HELP)
    st.add_argument("--json", action="store_true", help="In JSON / print JSON")
    st.add_argument("--xlsx", metavar="FILE", help="Ghi Biểu 06 ra tệp Excel / write Biểu 06 to .xlsx")

    ind = sub.add_parser("indicators", help="Chạy flow tính chỉ số và đăng lên Prefect / "
                                            "run the compute_indicators flow (artifacts)")
    ind.add_argument("--period", help="Kỳ / period (như/as in stats)")
    ind.add_argument("--source", help=_SOURCE_HELP)

    sv = sub.add_parser("serve", help="Chạy các job theo lịch của prefect.yaml trên máy này / "
                                      "serve the prefect.yaml schedules on this machine")
    sv.add_argument("--file", default="prefect.yaml", help="Tệp deployment / deployments file")

    q = sub.add_parser("quarantine", help="Xem các bản ghi bị cách ly vì lỗi / list quarantined records")
    q.add_argument("--source", help="Nguồn / source (provincial, national, excel)")
    q.add_argument("--limit", type=_positive, default=50, help="Số dòng / rows (mặc định/default 50)")

    c = sub.add_parser("config", help="Kiểm tra cấu hình / check a configuration")
    c.add_argument("action", choices=["check"], help="check")
    c.add_argument("file", nargs="?", help="Tệp / file (mặc định/default $CCHC_CONFIG)")

    db = sub.add_parser("db", help="Cơ sở dữ liệu / database")
    db.add_argument("action", choices=["upgrade", "status"], help="upgrade: áp dụng migration / apply "
                                                                  "migrations; status: phiên bản / revision")

    rc = sub.add_parser("reconcile", help="Đối soát với Cổng DVCQG theo kỳ / reconciliation with the national "
                                          "portal for a period")
    _period_arguments(rc)
    rc.add_argument("--xlsx", metavar="FILE", help="Ghi bảng tổng hợp và mọi hồ sơ chênh lệch ra .xlsx / write the "
                                                   "summary and every mismatch to .xlsx")
    rc.add_argument("--limit", type=_positive, default=50,
                    help="Số hồ sơ chênh lệch in ra / mismatches printed (mặc định/default 50)")
    rc.add_argument("--json", action="store_true", help="In JSON (mọi hồ sơ chênh lệch) / print JSON")

    sc = sub.add_parser("score766", help="Điểm 766 tính được từ dữ liệu hồ sơ / the computable 766 points")
    _period_arguments(sc)
    sc.add_argument("--json", action="store_true", help="In JSON / print JSON")

    rp = sub.add_parser("report", help="Báo cáo gửi lãnh đạo / reports for the leadership")
    rp.add_argument("kind", choices=["monthly"], help="monthly: tổng hợp tháng qua thư / the monthly summary by email")
    rp.add_argument("--period", help="Tháng / month, ví dụ/e.g. 2026-10 (mặc định/default: tháng trước / last month)")
    rp.add_argument("--dry-run", action="store_true", help="Chỉ tạo thư và tệp, không đưa vào hàng đợi, không gửi / "
                                                           "render only: nothing queued or sent")
    rp.add_argument("--today", type=_date, help="Ngày chạy / run date (YYYY-MM-DD), mặc định hôm nay")
    rp.add_argument("--json", action="store_true", help="In JSON / print JSON")

    b = sub.add_parser("bench", help="Đo hiệu năng / benchmarks")
    b.add_argument("what", choices=["sync", "indicators", "sample", "reminders", "report", "import-excel"],
                   help="sync | indicators | sample | reminders | report (tổng hợp tháng / the monthly summary) | "
                        "import-excel")
    b.add_argument("--dossiers", type=_positive, default=100000, help="Số hồ sơ / dossiers")
    b.add_argument("--rows", dest="dossiers", type=_positive,
                   help="import-excel: số dòng của tệp xuất Excel / rows of the Excel export (= --dossiers)")
    b.add_argument("--db", help="URL CSDL / database URL (mặc định/default: SQLite tạm / temporary SQLite)")
    _inspection_commands(sub)
    _reminder_commands(sub)
    _config_after_subcommand(sub)
    return p


def _inspection_commands(sub) -> None:
    """Inspection planning (issue 11): plan, draw, verify-selection, complaint, spot-check, finding."""
    src = ("Nguồn ngẫu nhiên công khai / public random source, e.g. \"9319\" or \"2 5 12 8 10\" (lặp lại được, "
           "theo thứ tự / repeatable, in order)")
    pl = sub.add_parser("plan", help="Lập kế hoạch kiểm tra: chọn đơn vị, bóc mẫu, thông báo / plan the inspections")
    pl.add_argument("--year", type=int, help="Năm kế hoạch / plan year (mặc định/default: inspection.year)")
    pl.add_argument("--wave", type=_positive, help="Chỉ một đợt / one wave only (1, 2, ...)")
    pl.add_argument("--source", dest="sources", action="append", default=[], metavar="TEXT", help=src)
    pl.add_argument("--data-source", dest="source", help=_SOURCE_HELP)
    pl.add_argument("--json", action="store_true", help="In JSON / print JSON")

    dr = sub.add_parser("draw", help="Rút thăm kiểm chứng được (RFC 3797) / a verifiable draw (RFC 3797)")
    dr.add_argument("--pool-size", type=_positive, required=True, help="Số phần tử của danh sách / pool size")
    dr.add_argument("--count", type=_positive, required=True, help="Số phần tử cần chọn / how many to select")
    dr.add_argument("--source", dest="sources", action="append", default=[], metavar="TEXT", help=src)
    dr.add_argument("--json", action="store_true", help="In JSON / print JSON")

    vs = sub.add_parser("verify-selection", help="Kiểm chứng một lựa chọn đã lưu / verify a stored selection")
    vs.add_argument("id", type=_positive, help="Mã lựa chọn / selection id")
    vs.add_argument("--sha256", metavar="HEX", help="Các chữ số đầu SHA-256 danh sách in trên thông báo: kiểm tra "
                    "lượt rút đã lưu là lượt đã công bố / the pool digest a notice printed")
    vs.add_argument("--key", metavar="KEY", help="Khóa in trên thông báo / the key a notice printed")

    co = sub.add_parser("complaint", help="Phản ánh, kiến nghị / complaints")
    cs = co.add_subparsers(dest="action", metavar="add|import", required=True, parser_class=_Parser)
    ca = cs.add_parser("add", help="Ghi một phản ánh (không lưu danh tính người phản ánh) / add one")
    ca.add_argument("--unit", required=True, help="Mã đơn vị / unit code")
    ca.add_argument("--procedure", help="Mã TTHC / procedure code")
    ca.add_argument("--dossier", help="Mã hồ sơ / dossier code")
    ca.add_argument("--category", default="", help="Loại / category")
    ca.add_argument("--date", type=_date, help="Ngày nhận / received on (mặc định hôm nay / default today)")
    ca.add_argument("--summary", required=True, help="Tóm tắt nội dung / summary")
    ci = cs.add_parser("import", help="Nhập phản ánh từ CSV/Excel / import from CSV or Excel")
    ci.add_argument("file", help="Tệp .csv hoặc .xlsx / file")
    ci.add_argument("--encoding", help="Bảng mã CSV / CSV encoding")

    sp = sub.add_parser("spot-check", help="Kiểm tra đột xuất: yêu cầu của lãnh đạo, ngưỡng, phản ánh, ngẫu nhiên / "
                                           "spot checks")
    sp.add_argument("--unit", help="Đơn vị lãnh đạo yêu cầu kiểm tra / unit requested by the leadership")
    sp.add_argument("--reason", help="Lý do / reason (cùng --unit)")
    sp.add_argument("--source", dest="sources", action="append", default=[], metavar="TEXT", help=src)
    sp.add_argument("--today", type=_date, help="Ngày xét / as of (YYYY-MM-DD)")
    sp.add_argument("--json", action="store_true", help="In JSON / print JSON")

    fi = sub.add_parser("finding", help="Kết luận kiểm tra và khắc phục / findings and remediation")
    fs = fi.add_subparsers(dest="action", metavar="add|list|update|import", required=True, parser_class=_Parser)
    fa = fs.add_parser("add", help="Ghi một kết luận / add a finding")
    fa.add_argument("--unit", required=True, help="Mã đơn vị / unit code")
    fa.add_argument("--finding", required=True, help="Tồn tại, hạn chế / the finding")
    fa.add_argument("--remediation", default="", help="Yêu cầu khắc phục / required remediation")
    fa.add_argument("--responsible", default="", help="Đơn vị chịu trách nhiệm / responsible unit")
    fa.add_argument("--deadline", type=_date, help="Hạn khắc phục / deadline (YYYY-MM-DD)")
    fl = fs.add_parser("list", help="Danh sách kết luận / list findings")
    fl.add_argument("--unit", help="Mã đơn vị / unit code")
    fl.add_argument("--status", choices=["open", "done", "overdue"], help="Trạng thái / status")
    fl.add_argument("--json", action="store_true", help="In JSON / print JSON")
    fu = fs.add_parser("update", help="Cập nhật một kết luận / update a finding")
    fu.add_argument("id", type=_positive, help="Số kết luận / finding id")
    fu.add_argument("--status", choices=["open", "done"], help="Trạng thái / status")
    fu.add_argument("--remediation", help="Yêu cầu khắc phục / remediation")
    fu.add_argument("--responsible", help="Đơn vị chịu trách nhiệm / responsible unit")
    fu.add_argument("--deadline", type=_date, help="Hạn khắc phục / deadline (YYYY-MM-DD)")
    fm = fs.add_parser("import", help="Nhập kết luận từ CSV/Excel / import findings")
    fm.add_argument("file", help="Tệp .csv hoặc .xlsx / file")
    fm.add_argument("--encoding", help="Bảng mã CSV / CSV encoding")


def _reminder_commands(sub) -> None:
    """`cchc reminders` and `cchc mailbox` (issue 12)."""
    r = sub.add_parser("reminders", help="Gửi thư nhắc việc hôm nay (flow daily_reminders) / "
                                         "send today's reminder digests")
    r.add_argument("--date", type=_date, help="Ngày nhắc việc / reminder day (YYYY-MM-DD, mặc định hôm nay)")
    r.add_argument("--dry-run", action="store_true", help="Chạy thử: soạn và liệt kê, không gửi, không ghi / "
                                                          "render and list only, send and write nothing")
    r.add_argument("--json", action="store_true", help="In JSON / print JSON")
    m = sub.add_parser("mailbox", help="Máy chủ thư cục bộ lưu thư ra tệp .eml / "
                                       "local SMTP server keeping each message as .eml")
    m.add_argument("--port", type=_port, default=8025, help="Cổng / port (mặc định/default 8025)")
    m.add_argument("--dir", default="var/mail", help="Thư mục lưu thư / directory (mặc định/default var/mail)")
    m.add_argument("--host", default="127.0.0.1", help="Địa chỉ / host (mặc định/default 127.0.0.1)")


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 1 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"cổng phải từ 1 đến 65535 / port must be 1-65535: {text!r}")
    return v


def _period_arguments(parser) -> None:
    """--period | --from/--to, --mode, --source: as in `cchc stats`."""
    parser.add_argument("--period", help="Kỳ / period: 2026-10, 2026-Q3, 2026-H1, 2026 (mặc định/default: "
                                         "tháng trước / last full month)")
    parser.add_argument("--from", dest="date_from", type=_date, help="Từ ngày / from (YYYY-MM-DD), cùng --to")
    parser.add_argument("--to", dest="date_to", type=_date, help="Đến ngày / to (YYYY-MM-DD), cùng --from")
    parser.add_argument("--mode", choices=["calendar", "administrative"],
                        help="Kỳ theo lịch hay kỳ báo cáo hành chính / calendar or administrative periods")
    parser.add_argument("--source", default="provincial", help="Nguồn / source (provincial, excel)")


def _config_after_subcommand(sub) -> None:
    """`--config FILE` is accepted after the subcommand too (`cchc stats --config x.yaml ...`)."""
    for parser in sub.choices.values():
        if not any("--config" in a.option_strings for a in parser._actions):
            parser.add_argument("--config", default=argparse.SUPPRESS,
                                help="Tệp cấu hình phường / ward configuration file")
