"""`cchc simulate` as a user runs it: a real server on a port, Excel export, fault spec errors."""

import socket
import subprocess
import sys
import time

import requests
from openpyxl import load_workbook

from cchc.cli import main


def test_simulate_serves_both_apis_on_one_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cchc.cli", "simulate", "--port", str(port), "--dossiers", "300",
                             "--as-of", "2026-11-20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(base + "/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        page = requests.get(base + "/api/v1/hoso", params={"TiepNhanFrom": "2025-01-01", "TiepNhanTo": "2026-11-20",
                                                           "PageNumber": 1, "PageSize": 50}, timeout=5).json()
        assert page["TotalCount"] >= 290 and len(page["Data"]) == 50 and page["HasNextPage"] is True
        login = requests.post(base + "/dvcqg/login", json={"username": "a", "password": "b"}, timeout=5).json()
        assert login["error_code"] == "0"
        cat = requests.post(base + "/dvcqg/service", json={"session": login["session"], "madonvi": "H99.99",
                                                           "service": "LayThuTuc", "data": {}}, timeout=5).json()
        assert cat["error_code"] == "0" and len(cat["result"]) > 10
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in out and "GIẢ LẬP" in out


def test_simulate_export_excel(tmp_path, capsys):
    path = tmp_path / "hoso.xlsx"
    assert main(["simulate", "--export-excel", str(path), "--dossiers", "300", "--as-of", "2026-11-20"]) == 0
    ws = load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Mã hồ sơ" and len(rows) > 290


def test_bad_fault_spec_is_one_clear_line(capsys):
    assert main(["simulate", "--faults", "5xx=abc", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "--faults" in err and "5xx=abc" in err and "Traceback" not in err
