"""The benches' process-tree memory (`measure.TreeMemory`): a helper child's own pages count; a child
between its fork and its exec (it shows the parent's pages) does not count them twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cchc.bench.measure import TreeMemory
from cchc.connectors.arrow_table import proc_status_kb


def _tree_mb() -> float:
    """What the tree holds now (this process and the children already there, e.g. a Prefect server)."""
    tree = TreeMemory()
    tree.sample()
    return tree.peak_mb


def test_a_child_counts_its_own_memory_and_a_fork_before_exec_does_not_count_ours():
    before = _tree_mb()
    grab = "import sys, time; b = bytearray(120 * 2**20); print(1, flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", grab], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its 120 MB are resident
        assert _tree_mb() >= before + 110
    finally:
        child.kill()
        child.wait()
    pid = os.fork()
    if pid == 0:  # a copy of this process that never execs: what a helper is before its exec
        time.sleep(3)
        os._exit(0)
    try:
        time.sleep(0.2)
        assert _tree_mb() < before + 10 < before + proc_status_kb("VmRSS") / 1024.0
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
