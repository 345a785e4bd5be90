"""The Prefect flows and the command line, under ONE session-scoped Prefect test harness:
artifacts with stable keys exist in the Prefect API, nothing personal reaches them, and the
commands print what the README promises."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from cchc.cli import main
from cchc.report.tables import JSON_OUTLINE
from cchc.simulator.server import running
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
WARD = "phuong-hoa-an-mo-phong"


@pytest.fixture(scope="module")
def simulated():
    ward = SyntheticWard(seed=21, n_dossiers=2500, as_of=AS_OF, months=12)
    with running(ward) as url:
        yield ward, url


@pytest.fixture(scope="module")
def env(simulated, tmp_path_factory, prefect_harness):
    """A ward configuration pointing at the simulator and a fresh SQLite store, set as CCHC_CONFIG."""
    ward, url = simulated
    tmp = tmp_path_factory.mktemp("flows")
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"]["provincial"].update(start_date="2025-11-01", page_size=200)
    data["database_url"] = f"sqlite:///{tmp}/store.sqlite"
    cfg_path = tmp / "ward.yaml"
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("CCHC_CONFIG", str(cfg_path))
    mp.setenv("CCHC_PROVINCIAL_URL", url)
    mp.setenv("CCHC_NATIONAL_URL", url)
    mp.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    mp.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau")
    mp.setenv("CCHC_REPORTS_DIR", str(tmp / "reports"))
    yield {"tmp": tmp, "cfg": cfg_path, "ward": ward}
    mp.undo()


def read_artifacts(prefix: str) -> dict:
    """The latest version of each artifact whose key matches (other tests of the session may have
    published older versions under the same key)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix)),
                                     sort=ArtifactSort.CREATED_DESC)
    latest: dict = {}
    for a in arts:
        latest.setdefault(a.key, a)
    return latest


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sync_cli_json_twice_is_idempotent(env, capsys):
    code, out, _ = run_cli(capsys, "sync", "--json", "--today", AS_OF.isoformat())
    assert code == 0
    first = json.loads(out)
    for key in ("fetched", "inserted", "updated", "quarantined", "total"):
        assert isinstance(first[key], int)
    assert first["inserted"] > 2000 and first["total"] == first["inserted"]
    kept = _cell_entries(env)  # the sync's last step: the cells of the last 13 months, current
    assert sorted({e["period_start"] for e in kept}) == [date(2025 + (10 + i) // 12, (10 + i) % 12 + 1, 1)
                                                         for i in range(13)]
    code, out, _ = run_cli(capsys, "sync", "--json", "--today", AS_OF.isoformat())
    second = json.loads(out)
    assert second["total"] == first["total"]
    assert second["inserted"] == 0 and second["updated"] == 0
    assert _cell_entries(env) == kept  # nothing changed, nothing recomputed


def test_a_national_only_sync_refreshes_the_provincial_months_cells(env, capsys):
    """The provincial months' reconciliation cells depend on the national copies: a sync of the
    national portal alone ends by bringing the provincial months' cells (every kind) up to date."""
    from cchc.config import load_config
    from cchc.connectors.store import Store

    store = Store(load_config(str(env["cfg"])).database_url)
    try:
        store.migrate()  # when this test runs alone
        store.drop_kept_cells()
    finally:
        store.dispose()
    code, _, _ = run_cli(capsys, "sync", "--json", "--source", "national", "--today", AS_OF.isoformat())
    assert code == 0
    kept = _cell_entries(env)
    assert len({e["period_start"] for e in kept}) == 13
    assert {e["kind"] for e in kept} == {"bieu06", "766", "officers", "reconcile"}


def _cell_entries(env) -> list[dict]:
    from cchc.config import load_config
    from cchc.connectors.store import Store

    store = Store(load_config(str(env["cfg"])).database_url)
    try:
        return store.kept_cells("provincial")
    finally:
        store.dispose()


def test_sync_artifact_has_stable_key_and_no_personal_data(env):
    arts = read_artifacts("%dong-bo%")
    assert f"dong-bo-{WARD}" in arts
    assert f"tien-do-dong-bo-{WARD}" in arts
    table = arts[f"dong-bo-{WARD}"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert any(r["Nguồn"] == "TỔNG" for r in rows)
    assert {r["Mã đơn vị"] for r in rows} >= {"H99.99.01", "H99.99.04"}
    assert "Trung tâm Phục vụ hành chính công" in {r["Đơn vị"] for r in rows}
    ward = env["ward"]
    blob = json.dumps([str(a.data) + str(a.description) for a in arts.values()], ensure_ascii=False)
    for i in range(0, 2500, 7):
        for value in ward.personal_values(i):
            assert value not in blob


def test_compute_indicators_publishes_every_artifact(env, capsys):
    code, out, _ = run_cli(capsys, "indicators", "--period", "2026-10")
    assert code == 0
    assert "Tổng cộng" in out
    keys = [f"chi-so-don-vi-{WARD}-2026-10", f"chi-so-can-bo-{WARD}-2026-10", f"chi-so-thu-tuc-{WARD}-2026-10",
            f"chi-so-linh-vuc-{WARD}-2026-10", f"bieu-06-{WARD}-2026-10", f"doi-soat-{WARD}-2026-10",
            f"diem-766-{WARD}-2026-10", f"tong-hop-{WARD}-2026-10", f"doi-soat-chi-tiet-{WARD}-2026-10"]
    arts = read_artifacts(f"%{WARD}-2026-10")
    for k in keys:
        assert k in arts, k
        data = arts[k].data
        if arts[k].type == "table":
            rows = json.loads(data) if isinstance(data, str) else data
            assert rows, k
            for row in rows:
                for v in row.values():
                    assert not (isinstance(v, float) and v != v), (k, row)  # no NaN
                    assert str(v).lower() not in ("nan", "none", "null"), (k, row)
    assert "| Hạng | Đơn vị |" in str(arts[f"tong-hop-{WARD}-2026-10"].data)
    # the reconciliation: a summary per unit, and the mismatching dossiers in their own table
    summary = _rows(arts[f"doi-soat-{WARD}-2026-10"])
    assert "Mã hồ sơ" not in summary[0] and summary[-1]["Đơn vị"] == "Tổng cộng"
    detail = _rows(arts[f"doi-soat-chi-tiet-{WARD}-2026-10"])
    assert list(detail[0]) == ["Mã hồ sơ", "Đơn vị", "Loại chênh lệch", "Giá trị hệ thống tỉnh", "Giá trị Cổng DVCQG"]
    assert {r["Đơn vị"] for r in detail} <= {"Văn phòng HĐND và UBND", "Phòng Văn hóa - Xã hội",
                                             "Phòng Kinh tế - Hạ tầng và Đô thị", "Trung tâm Phục vụ hành chính công",
                                             "Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC)"}
    # the Biểu 06 workbook was written too, and the command says where
    xlsx = env["tmp"] / "reports" / f"bieu-06-{WARD}-2026-10.xlsx"
    assert f"Đã ghi tệp / wrote: {xlsx}" in out
    wb = load_workbook(xlsx)
    assert "Biểu 06 (lĩnh vực)" in wb.sheetnames
    assert wb.sheetnames[-1] == "Đề cương báo cáo"  # the unit report outline's figures
    unit_rows = json.loads(arts[f"chi-so-don-vi-{WARD}-2026-10"].data)
    assert {"Trả lại (không giải quyết)", "Tạm dừng bổ sung, chưa giải quyết", "Số hóa kết quả"} <= set(unit_rows[0])


def _rows(artifact) -> list[dict]:
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def test_stats_json_is_consistent_with_its_total(env, capsys):
    code, out, _ = run_cli(capsys, "stats", "--period", "2026-10", "--by", "unit", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows[-1]["group"] == "TOTAL"
    required = {"group", "received", "received_online", "received_in_person_postal", "carried_over", "resolved",
                "early", "on_time", "late", "pending", "pending_in_time", "pending_overdue", "on_time_rate",
                "online_rate", "online_payment_rate", "digitization_rate", "apology_rate"}
    for r in rows:
        assert required <= set(r)
        keys = [k for k in r if k != "provisional"]  # the period's flag comes last
        assert keys[-len(JSON_OUTLINE):] == list(JSON_OUTLINE)  # new keys after the existing ones
        assert r["received_online_partial"] + r["received_online_full"] == r["received_online"]
        assert r["satisfied"] <= r["evaluated"] and r["returned_unresolved"] <= r["resolved"]
        assert r["received"] == r["received_online"] + r["received_in_person_postal"] + r["carried_over"]
        assert r["received"] == r["resolved"] + r["pending"]
        for k in ("on_time_rate", "online_rate", "online_payment_rate", "digitization_rate", "apology_rate"):
            assert r[k] is None or 0 <= r[k] <= 100
    body, total = rows[:-1], rows[-1]
    for k in ("received", "resolved", "late", "pending"):
        assert sum(r[k] for r in body) == total[k]
    resolved = total["early"] + total["on_time"]
    assert total["on_time_rate"] == round(100 * resolved / total["resolved"], 2)


def test_stats_text_and_xlsx(env, capsys, tmp_path):
    out_file = tmp_path / "b06.xlsx"
    code, out, _ = run_cli(capsys, "stats", "--period", "2026-Q3", "--by", "field", "--xlsx", str(out_file))
    assert code == 0
    assert "THEO LĨNH VỰC" in out and "Quý III/2026" in out
    assert load_workbook(out_file).sheetnames[0] == "Biểu 06 (lĩnh vực)"
    code, out, _ = run_cli(capsys, "stats", "--period", "2026-10", "--by", "officer", "--json")
    rows = json.loads(out)
    assert rows[-1]["group"] == "TOTAL" and sum(r["steps"] for r in rows[:-1]) == rows[-1]["steps"] > 0


def test_stats_bad_period_is_one_clear_line(env, capsys):
    code, out, err = run_cli(capsys, "stats", "--period", "2026-13")
    assert code == 1
    assert "2026-13" in err and "Traceback" not in err


def test_import_excel_reports_bad_rows_and_stores_good_ones(env, capsys, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Tên TTHC", "Mã đơn vị", "Kênh nộp", "Ngày tiếp nhận", "Ngày hẹn trả", "Trạng thái",
               "Họ tên người nộp"])
    ws.append(["X-001", "Đăng ký khai sinh", "H99.99.04.01", "Trực tuyến", "01/10/2026 08:00", "03/10/2026",
               "Đã trả kết quả", "Nguyễn Thị Riêng Tư"])
    ws.append(["X-002", "Đăng ký khai sinh", "H99.99.04.01", "Trực tiếp", "31/02/2026", "03/10/2026", "4",
               "Trần Văn Kín"])
    ws.append(["X-003", "Chứng thực", "H99.99.04", "Bưu chính", "02/10/2026 09:00", "02/10/2026",
               "không rõ", "Lê Bí"])
    ws.append(["X-004", "Chứng thực", "H99.99.04", "2", "02/10/2026 09:00", "05/10/2026", "Đang xử lý", "Ẩn"])
    path = tmp_path / "xuat.xlsx"
    wb.save(path)
    code, out, _ = run_cli(capsys, "import-excel", str(path), "--json")
    assert code == 0
    res = json.loads(out)
    assert res["inserted"] == 2 and res["quarantined"] == 2
    errors = "\n".join(res["errors"])
    assert "dòng 3" in errors and "Ngày tiếp nhận" in errors
    assert "dòng 4" in errors and "Trạng thái" in errors
    assert "Riêng Tư" not in out and "Trần Văn Kín" not in out


def test_config_error_names_the_key(env, capsys, tmp_path):
    data = yaml.safe_load(Path(env["cfg"]).read_text(encoding="utf-8"))
    data["officers"][2]["email"] = "khong-phai-email"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, _, err = run_cli(capsys, "--config", str(bad), "sync")
    assert code == 1
    assert "officers[2].email — cán bộ thứ 3 (vhxh.vu): không phải địa chỉ email" in err
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "config", "check", str(bad))
    assert code == 1 and "officers[2].email" in err
