"""`cchc`: the command line, a thin shell over the flows — `main` dispatches a parsed command to its
handler and turns what can go wrong into an exit code.

Every message a user can cause (`cchc.errors.UserError`) is one clear line naming the file, key, row
or URL — no traceback, exit 1.
"""

from __future__ import annotations

import importlib
import os
import sys

from cchc.cli.output import silence_stdout
from cchc.cli.parser import EXIT_USAGE, build_parser

EXIT_FAILED = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `head`'s other side gets from any Unix tool

#: command -> the module of `cchc.cli` holding its handler `cmd_<command>`.
HANDLERS = {"sync": "sync", "import-excel": "sync", "simulate": "simulate", "demo": "demo",
            "stats": "reports", "indicators": "reports", "reconcile": "reports", "score766": "reports",
            "serve": "admin", "quarantine": "admin", "config": "admin", "db": "admin", "bench": "admin",
            "report": "monthly"}
#: inspection planning (issue 11)
HANDLERS.update({"plan": "inspections", "draw": "inspections", "verify-selection": "inspections",
                 "complaint": "inspections", "spot-check": "inspections", "finding": "inspections"})
HANDLERS |= {"reminders": "reminders", "mailbox": "reminders"}


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
_FLOW_COMMANDS = frozenset({"sync", "import-excel", "demo", "indicators", "plan", "spot-check", "report",
                            "reminders"})


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
    # Prefect's background senders say "Still processing items..." while flushing at exit: not for
    # the person at the terminal (the items are still sent).
    import logging

    for name in ("EventsWorker", "APILogWorker"):
        logging.getLogger(name).setLevel(logging.ERROR)


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
    if args.command in _FLOW_COMMANDS | {"serve"}:  # Prefect runs here; other commands never import it (~40 MB)
        _quiet_known_tracebacks()
    module = importlib.import_module(f"cchc.cli.{HANDLERS[args.command]}")
    handler = getattr(module, "cmd_" + args.command.replace("-", "_"))
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
        silence_stdout()
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
        from cchc.cli.checks import prefect_unreachable_message

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
