"""`cchc`: the command line, a thin shell over the flows.

Every message a user can cause is one clear line naming the file, key, row or URL — no traceback.
Help texts are bilingual (Vietnamese / English), the same pattern everywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import date

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `head`'s other side gets from any Unix tool

_SOURCE_HELP = ("Nguồn báo cáo / source: provincial, excel, national (mặc định: nguồn duy nhất trong kho, "
                "hoặc reporting.source khi kho có nhiều nguồn / default: the one source held, or reporting.source)")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (`timeout`, a worker shutting down): unwinds like Ctrl+C, so the page in hand
    is rolled back, the run is recorded as interrupted and Prefect's temporary server is stopped."""


def _stop_cleanly_on_sigterm() -> None:
    import signal

    def stop(signum, _frame):
        signal.signal(signum, signal.SIG_IGN)  # once: let the clean-up finish
        raise Terminated(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


#: Commands that run a Prefect flow (and so, without PREFECT_API_URL, a temporary Prefect server).
_FLOW_COMMANDS = frozenset({"sync", "import-excel", "demo", "indicators"})


def _temporary_server_dies_with_us() -> None:
    """Without PREFECT_API_URL, Prefect starts a temporary server as a child process and stops it at
    exit; a process killed with -9 never reaches its exit. Have Prefect start that child asking Linux
    (PR_SET_PDEATHSIG) to stop it whenever this process dies."""
    if not sys.platform.startswith("linux"):
        return
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return
    import ctypes
    import signal
    import subprocess
    import threading
    import types

    import prefect.server.api.server as server_module

    libc = ctypes.CDLL(None, use_errno=True)

    def die_with_parent() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    class _Subprocess(types.ModuleType):
        def __getattr__(self, name):
            return getattr(subprocess, name)

    def popen(*args, **kwargs):
        # the signal comes when the THREAD that started the child ends: only the main thread lasts as long as we do
        if threading.current_thread() is threading.main_thread():
            kwargs.setdefault("preexec_fn", die_with_parent)
        # its own session: a signal to our process group (`timeout`, Ctrl+C) must not stop the server
        # before the run has recorded how it ended; Prefect stops it at exit, the kernel if we are killed
        kwargs.setdefault("start_new_session", True)
        return subprocess.Popen(*args, **kwargs)

    shim = _Subprocess("subprocess")
    shim.Popen = popen
    server_module.subprocess = shim


def _prepare_prefect_env() -> None:
    # The network is closed here and on many ward machines: no telemetry. The console is quiet
    # (warnings and errors only) but the loggers keep INFO: only the console handler's level is
    # raised, so the Prefect API/UI still receives every log line of a run.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


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
                                    "end-to-end demo: simulator + sync + indicators")
    d.add_argument("--dossiers", type=_positive, default=20000,
                   help="Số hồ sơ mô phỏng / simulated dossiers (mặc định/default 20000)")
    d.add_argument("--seed", type=int, default=1, help="Hạt giống ngẫu nhiên / random seed")
    d.add_argument("--as-of", type=_date, help="Ngày dữ liệu / data as-of date (YYYY-MM-DD, mặc định hôm nay)")
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
    x.add_argument("file", help="Tệp .xlsx hoặc .csv / .xlsx or .csv file")
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

    b = sub.add_parser("bench", help="Đo hiệu năng / benchmarks")
    b.add_argument("what", choices=["sync", "indicators"], help="sync | indicators")
    b.add_argument("--dossiers", type=_positive, default=100000, help="Số hồ sơ / dossiers")
    b.add_argument("--db", help="URL CSDL / database URL (mặc định/default: SQLite tạm / temporary SQLite)")
    _config_after_subcommand(sub)
    return p


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    if args.config:
        os.environ["CCHC_CONFIG"] = args.config
    _prepare_prefect_env()
    _stop_cleanly_on_sigterm()
    from cchc import commands

    _quiet_known_tracebacks()
    handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    try:
        if args.command in _FLOW_COMMANDS:
            _temporary_server_dies_with_us()
        code = handler(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except KeyboardInterrupt as e:
        if isinstance(e, Terminated):
            print(f"Đã dừng theo yêu cầu ({e}); phần đã lưu vẫn giữ, lần sau chạy tiếp / stopped.", file=sys.stderr)
            return 143
        print("Đã dừng / interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cchc stats | head`: the reader left; stop quietly
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as e:  # user-caused errors: one clear line, no traceback
        known = user_message(e)
        if known is None:
            raise
        from cchc.domain.redact import mask_secrets

        print(f"Lỗi / error: {mask_secrets(known)}", file=sys.stderr)
        return EXIT_FAILED


def user_message(e: BaseException) -> str | None:
    """The one line to show for an error the user can fix (`cchc.errors.UserError`, a file that does
    not exist, a Prefect server that does not answer), else None (a bug: the traceback shows)."""
    from cchc.errors import UserError

    if isinstance(e, UserError | FileNotFoundError):
        return str(e)
    if isinstance(e, RuntimeError) and str(e).startswith("Failed to reach API at"):  # Prefect server gone
        from cchc.commands import prefect_unreachable_message

        return prefect_unreachable_message(str(e).removeprefix("Failed to reach API at").strip())
    return None


def _quiet_known_tracebacks() -> None:
    """On the terminal, an error the user can fix (unreachable server, bad file) is one line, not a
    traceback, and not the three ERROR lines Prefect's engine logs about the failed task and flow
    run before it: those go to the Prefect UI only (the API handler still receives them)."""
    import logging
    import re

    from prefect.logging.handlers import PrefectConsoleHandler

    from cchc.errors import user_error_names

    seen: set[str] = set()  # Prefect's later "Finished in state Failed(...X: ...)" lines name these

    def user_error_of(record):
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and user_message(exc) is not None:
            seen.add(type(exc).__name__)
            return exc
        return None

    def about_user_error(record) -> bool:
        if record.levelno < logging.ERROR or not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return False
        if user_error_of(record) is not None:
            return True
        names = user_error_names() | {"FileNotFoundError"} | seen
        pattern = r"\b(" + "|".join(re.escape(n) for n in sorted(names)) + r")\b[(:]"
        return re.search(pattern, record.getMessage()) is not None

    if getattr(PrefectConsoleHandler, "_cchc_quiet", False):
        return
    original_format, original_filter = PrefectConsoleHandler.format, PrefectConsoleHandler.filter

    def format(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt) or user_error_of(record) is not None:
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return original_format(self, record)

    def filter(self, record):
        return False if about_user_error(record) else original_filter(self, record)

    PrefectConsoleHandler.format = format
    PrefectConsoleHandler.filter = filter
    PrefectConsoleHandler._cchc_quiet = True


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


def print_json(obj) -> None:
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
