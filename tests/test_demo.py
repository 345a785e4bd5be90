"""`cchc demo` never touches real data: it writes its own store (var/demo.sqlite unless --db), refuses
a store holding dossiers it did not write (one line, password masked), and on a new --seed deletes
only its own rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from sqlalchemy.engine import make_url

from cchc.cli import main
from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.pipeline.sync import make_context, run_sources

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"
ENV = ("CCHC_DATABASE_URL", "CCHC_PROVINCIAL_URL", "CCHC_NATIONAL_URL", "CCHC_NATIONAL_USERNAME",
       "CCHC_NATIONAL_PASSWORD", "CCHC_SMTP_HOST", "CCHC_SMTP_PORT", "CCHC_SMTP_TLS", "CCHC_SMTP_USER",
       "CCHC_SMTP_PASSWORD")


@pytest.fixture
def demo_env(tmp_path, monkeypatch):
    """Run in tmp_path (var/ is created there); whatever the demo sets in the environment is undone."""
    monkeypatch.chdir(tmp_path)
    for name in ENV:  # recorded, so that the demo's own settings are undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"]["provincial"]["start_date"] = "2025-06-01"
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CCHC_CONFIG", str(cfg))
    monkeypatch.setenv("CCHC_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def real_store(url: str, tmp: Path) -> Store:
    """A ward's real store: one dossier imported from an Excel export (not simulated)."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Mã đơn vị", "Ngày tiếp nhận", "Trạng thái"])
    ws.append(["THAT-0001", "H99.99.01", "01/10/2026 08:00", "Đang xử lý"])
    path = tmp / "that.xlsx"
    wb.save(path)
    cfg = load_config(ROOT / "config" / "demo.yaml", env={"CCHC_DATABASE_URL": url})
    store = Store(url)
    store.migrate()
    run_sources(make_context(cfg, store), date(2026, 11, 1), excel_file=str(path))
    assert store.count_dossiers() == 1
    return store


def demo(capsys, *args) -> tuple[int, str, str]:
    """The demo on 300 dossiers; the store-safety tests add --quick (sync and indicators only)."""
    code = main(["demo", "--dossiers", "300", "--as-of", AS_OF, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _counts(store: Store) -> dict:
    from sqlalchemy import func, select

    from cchc.connectors.store.outbox import outbox, outbox_attempts
    from cchc.connectors.store.schema import findings, inspection_selections, inspection_visits, period_cells

    with store.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar())
                for t in (inspection_selections, inspection_visits, findings, outbox, outbox_attempts, period_cells)}


def test_the_demo_runs_the_whole_system_and_a_second_run_changes_and_sends_nothing(demo_env, capsys,
                                                                                    prefect_harness):
    """Simulator + local mail server, sync, indicators, the plan with a verifiable draw and samples,
    a finding, the reminders and the monthly summary: real mail arrives as .eml files, the files and
    the artifacts exist; the second run stores nothing new and sends nothing."""
    import email
    import email.policy

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    code, out, err = demo(capsys)
    assert code == 0, err
    assert "8/8 Xem kết quả ở đâu" in out and "Prefect UI" in out and "verify-selection" in out
    mail = sorted((demo_env / "var" / "mail").glob("*.eml"))
    subjects = []
    for path in mail:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(str(msg["subject"]))
    assert any(s.startswith("[CCHC] Nhắc việc ngày") for s in subjects), subjects
    assert sum("Tổng hợp tình hình giải quyết TTHC tháng 10/2026" in s for s in subjects) == 2  # two leaders
    reports = demo_env / "reports"
    assert list((reports / "2026").glob("thong-bao-kiem-tra-*-dot-1.docx"))
    assert list((reports / "2026").glob("mau-ho-so-*.xlsx")) and list((reports / "2026-10").glob("*.docx"))
    store = Store(f"sqlite:///{demo_env}/var/demo.sqlite")
    first = _counts(store)
    assert first["findings"] == 1 and first["inspection_visits"] == 4 and first["outbox"] == len(mail)
    from cchc.connectors.store.inspections import Inspections

    plan_id = min(s.id for s in Inspections(store).selections(kind="periodic"))
    assert Inspections(store).verify_selection(plan_id).ok
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="%phuong-hoa-an-mo-phong%")))}
    ward = "phuong-hoa-an-mo-phong"
    assert {f"ke-hoach-kiem-tra-{ward}-2026", f"ket-luan-{ward}-2026", f"tong-hop-thang-{ward}-2026-10",
            f"nhac-viec-{ward}-2026-11-20", f"bieu-06-{ward}-2026-10"} <= keys, keys

    code, out, err = demo(capsys)  # the same day, the same parameters
    assert code == 0, err
    assert sorted((demo_env / "var" / "mail").glob("*.eml")) == mail  # nothing sent
    assert _counts(store) == first  # nothing stored
    assert "Không có thư mới" in out and "đã có từ lần chạy trước" in out
    store.dispose()


def test_demo_refuses_a_store_with_real_dossiers_and_leaves_it_intact(demo_env, db_url, capsys, prefect_harness):
    url = db_url
    if url.startswith("postgresql"):  # trust auth ignores the password: it must still never be shown
        url = make_url(url).set(password="bi-mat-123").render_as_string(hide_password=False)
    store = real_store(url, demo_env)
    before = store.dump_text()
    code, out, err = demo(capsys, "--db", url)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "không do lệnh demo ghi" in err and make_url(url).render_as_string(hide_password=True) in err
    assert "bi-mat-123" not in err + out
    assert store.dump_text() == before  # nothing deleted, nothing added, no demo mark
    assert store.get_cursor("demo") is None
    store.dispose()


def test_demo_uses_its_own_store_and_a_new_seed_replaces_only_its_rows(demo_env, capsys, monkeypatch,
                                                                       prefect_harness):
    real_url = f"sqlite:///{demo_env}/real.sqlite"
    real = real_store(real_url, demo_env)
    before = real.dump_text()
    monkeypatch.setenv("CCHC_DATABASE_URL", real_url)
    code, out, err = demo(capsys, "--quick")  # even with CCHC_DATABASE_URL pointing at a real store
    assert code == 0, err
    own = Store(f"sqlite:///{demo_env}/var/demo.sqlite")
    first = own.count_dossiers("provincial")
    assert first > 200 and own.get_cursor("demo")["seed"] == 1
    assert "vào sqlite:///var/demo.sqlite" in out
    assert "CCHC_DATABASE_URL=sqlite:///var/demo.sqlite cchc stats" in out  # how to read the demo's store
    assert "Không gửi thư (--quick" in out and "Không có thư mới" not in out  # --quick sends nothing
    monkeypatch.setenv("CCHC_DATABASE_URL", real_url)  # the demo set it to its own store for its flows
    code, out, err = demo(capsys, "--seed", "2", "--quick")
    assert code == 0, err
    assert "xóa" in out and own.get_cursor("demo")["seed"] == 2
    codes = {c for part in own.iter_codes("provincial") for c in part}
    assert len(codes) == own.count_dossiers("provincial") > 200
    assert own.count_dossiers() == own.count_dossiers("provincial") + own.count_dossiers("national")
    code, out, err = demo(capsys, "--seed", "2", "--quick")  # same parameters: incremental, nothing deleted
    assert code == 0 and "xóa" not in out
    assert {c for part in own.iter_codes("provincial") for c in part} == codes
    assert real.dump_text() == before  # the other store never touched
    own.dispose()
    real.dispose()


def test_demo_refuses_its_own_store_once_real_data_was_imported_into_it(demo_env, capsys, prefect_harness):
    url = f"sqlite:///{demo_env}/mine.sqlite"
    assert demo(capsys, "--db", url, "--quick")[0] == 0
    store = Store(url)
    n = store.count_dossiers()
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Mã đơn vị", "Ngày tiếp nhận", "Trạng thái"])
    ws.append(["THAT-0002", "H99.99.01", "01/10/2026 08:00", "Đang xử lý"])
    wb.save(demo_env / "x.xlsx")
    cfg = load_config(ROOT / "config" / "demo.yaml", env={"CCHC_DATABASE_URL": url})
    run_sources(make_context(cfg, store), date(2026, 11, 1), excel_file=str(demo_env / "x.xlsx"))
    code, _, err = demo(capsys, "--db", url, "--seed", "7")
    assert code == 1 and "excel" in err and len(err.strip().splitlines()) == 1
    assert store.count_dossiers("excel") == 1 and store.count_dossiers() == n + 1
    store.dispose()


def test_a_demo_store_written_by_another_sync_is_refused(tmp_path):
    from sqlalchemy import text

    from cchc.domain.records import Dossier, Status
    from cchc.pipeline.demo import DemoStoreRefused, check_demo_store, mark_demo_store

    store = Store(f"sqlite:///{tmp_path}/d.sqlite")
    assert check_demo_store(store).mark is None  # a new file: no table yet, nothing written by the check
    store.migrate()
    page = [Dossier(source="provincial", code="SIM-1", status=Status.RECEIVED)]
    store.upsert_page("provincial", page)
    mark_demo_store(store, {"seed": 1, "dossiers": 1}, "syncing")
    store.upsert_page("provincial", [Dossier(source="provincial", code="SIM-2", status=Status.RECEIVED)])
    assert check_demo_store(store).dossiers == 2  # an interrupted demo sync: its rows are the demo's
    mark_demo_store(store, {"seed": 1, "dossiers": 1}, "done")
    assert check_demo_store(store).mark["state"] == "done"
    store.upsert_page("provincial", [Dossier(source="provincial", code="REAL-1", status=Status.RECEIVED)])
    with pytest.raises(DemoStoreRefused, match="lệnh khác ghi thêm"):
        check_demo_store(store)
    other = Store(f"sqlite:///{tmp_path}/other.sqlite")
    with other.engine.begin() as c:
        c.execute(text("CREATE TABLE khach (id INTEGER)"))
    with pytest.raises(DemoStoreRefused, match="không phải kho dữ liệu cchc"):
        check_demo_store(other)


def test_two_demos_at_once_both_finish_and_store_each_dossier_once(demo_env, capsys, prefect_harness):
    """An operator starts `cchc demo` twice in the same folder: the second waits for the first's sync
    (the store's sync lock), both finish, and the store holds every dossier once."""
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value() or "", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cchc.cli", "demo", "--dossiers", "300", "--as-of", AS_OF, "--quick"]
    runs = [subprocess.Popen(cmd, cwd=demo_env, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in runs]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "KẾT QUẢ ĐỒNG BỘ HỒ SƠ" in out
    own = Store(f"sqlite:///{demo_env}/var/demo.sqlite")
    try:
        codes = [c for part in own.iter_codes("provincial") for c in part]
        assert len(codes) == len(set(codes)) == own.count_dossiers("provincial") > 200
        code, out, err = demo(capsys, "--quick")  # a third run finds everything stored: adds nothing
        assert code == 0, err
        assert "thêm mới 0," in out and own.count_dossiers("provincial") == len(codes)
    finally:
        own.dispose()
