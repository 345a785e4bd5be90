"""The benches' process-tree memory (`measure.TreeMemory`): a helper child's own pages count; a child
between its fork and its exec (it shows the parent's pages) does not count them twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cchc.bench.measure import TreeMemory
from cchc.connectors.arrow_table import proc_status_kb


def _own_mb() -> float:
    return proc_status_kb("VmRSS") / 1024.0


def test_a_child_counts_its_own_memory_and_a_fork_before_exec_does_not_count_ours():
    grab = "import sys, time; b = bytearray(120 * 2**20); print(1, flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", grab], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its 120 MB are resident
        tree = TreeMemory()
        tree.sample()
        assert tree.peak_mb >= _own_mb() + 110
    finally:
        child.kill()
        child.wait()
    pid = os.fork()
    if pid == 0:  # a copy of this process that never execs: what a helper is before its exec
        time.sleep(3)
        os._exit(0)
    try:
        time.sleep(0.2)
        tree = TreeMemory()
        tree.sample()
        assert tree.peak_mb < _own_mb() + 10
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
