"""What the benchmarks share: the simulated ward's date, where scratch stores go, the configuration
they run with, the simulator in its own process, memory readings, and an empty outbox."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import requests

from cchc.config import Config, load_config

AS_OF = date(2026, 11, 20)
BENCH_DIR = Path("var/bench")
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timings(runs: list[float], baseline_s: float, tree: TreeMemory | None = None, digits: int = 2) -> dict:
    """The figures every bench reports of its measured runs (the faster counts, the first is cold)
    against its baseline: seconds, first_run_seconds, baseline_seconds, ratio and peak memory
    (with `tree`: also the process tree's, SQLite read helpers included)."""
    seconds = min(runs)
    out = {"seconds": round(seconds, digits), "first_run_seconds": round(runs[0], digits),
           "baseline_seconds": round(baseline_s, digits + 1),
           "ratio": round(seconds / baseline_s, 2) if baseline_s > 0 else None,
           "peak_rss_mb": round(peak_rss_mb(), 1)}
    if tree is not None:
        out["peak_rss_with_helpers_mb"] = round(max(tree.peak_mb, peak_rss_mb()), 1)
    return out


class TreeMemory:
    """Samples the resident memory of this process plus its child processes (the SQLite read
    helpers) every few milliseconds, from /proc: the peak of what the work holds at one time."""

    def __init__(self, every_s: float = 0.02):
        import threading

        self.peak_mb = 0.0
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cchc-memory", daemon=True)

    def _children(self) -> list[str]:
        out = []
        for task in Path("/proc/self/task").glob("*/children"):
            try:
                out += task.read_text().split()
            except OSError:
                pass
        return out

    @staticmethod
    def _cmdline(pid: str) -> bytes | None:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None

    def sample(self) -> None:
        from cchc.connectors.arrow_table import proc_status_kb

        # A child that still runs this process's command line is a helper being started, between
        # its (v)fork and its exec: it reports this process's own pages, which are not counted twice.
        me = self._cmdline("self")
        kids = [pid for pid in self._children() if self._cmdline(pid) not in (me, None)]
        kb = proc_status_kb("VmRSS") + sum(proc_status_kb("VmRSS", pid) for pid in kids)
        self.peak_mb = max(self.peak_mb, kb / 1024.0)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.sample()

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HelperProcess:
    """A server the bench talks to, in its own process (its work and memory are not the bench's),
    on a free loopback port (the last argument of its command line); ready when `ready()` says so
    (by default, when its /health answers)."""

    def __init__(self, module: str, *args: str, what: str, wait_s: float = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args, str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{what} did not start")

    def ready(self) -> bool:
        try:
            return requests.get(self.url + "/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class SimulatorProcess(HelperProcess):
    """The simulator in its own process, so the benchmark's memory is the sync's alone."""

    def __init__(self, n: int, seed: int = 1):
        super().__init__("cchc.cli", "simulate", "--dossiers", str(n), "--seed", str(seed),
                         "--as-of", AS_OF.isoformat(), "--port", what="the simulator")


def bench_config(url: str, db_url: str, start: date) -> Config:
    """The demo configuration on `db_url`, its sources at `url`, the provincial window from `start`."""
    env = {"CCHC_DATABASE_URL": db_url, "CCHC_PROVINCIAL_URL": url, "CCHC_NATIONAL_URL": url}
    cfg = load_config(DEMO_CONFIG, env=env)
    prov = cfg.sources.provincial.model_copy(update={"start_date": start})
    return cfg.model_copy(update={"sources": cfg.sources.model_copy(update={"provincial": prov})})


def clear_outbox(store) -> None:
    """An empty outbox (messages and attempts) in a scratch store, before each measured run."""
    from sqlalchemy import delete

    from cchc.connectors.store.outbox import outbox, outbox_attempts

    with store.engine.begin() as conn:
        conn.execute(delete(outbox_attempts))
        conn.execute(delete(outbox))


def default_db(name: str) -> str:
    """A fresh scratch SQLite store under var/bench/."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    return f"sqlite:///{path}"
