from pathlib import Path

import pytest

from cchc.flows.schedule import ScheduleError, deployment_specs

ROOT = Path(__file__).resolve().parent.parent


def test_prefect_yaml_deployments_load_with_vietnam_time_zone():
    specs = {s["name"]: s for s in deployment_specs(ROOT / "prefect.yaml")}
    assert set(specs) >= {"dong-bo-ho-so", "dong-bo-ho-so-toan-bo", "chi-so-thang"}
    assert specs["dong-bo-ho-so"]["flow"].name == "sync_dossiers"
    assert specs["chi-so-thang"]["flow"].name == "compute_indicators"
    assert specs["dong-bo-ho-so-toan-bo"]["parameters"] == {"full": True}
    on_demand = {"lap-ke-hoach-kiem-tra", "kiem-tra-dot-xuat"}  # run when asked (issue 11), never scheduled
    assert specs["lap-ke-hoach-kiem-tra"]["flow"].name == "plan_inspections"
    assert specs["kiem-tra-dot-xuat"]["flow"].name == "spot_check"
    for name, s in specs.items():
        if name in on_demand:
            assert s["schedules"] == []
        else:
            assert s["schedules"] and all(x["timezone"] == "Asia/Ho_Chi_Minh" for x in s["schedules"])


def test_bad_entrypoint_names_the_deployment(tmp_path):
    p = tmp_path / "prefect.yaml"
    p.write_text("deployments:\n  - name: x\n    entrypoint: cchc/flows/nope.py:nothing\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"deployments\[0\]\.entrypoint"):
        deployment_specs(p)


# --- operations: what the UI shows of a run, retries, the data-age rule, the sync limit name -------
def test_flow_parameters_carry_descriptions_for_the_ui_run_form():
    from prefect.utilities.callables import parameter_schema

    from cchc.flows.compute_indicators import compute_indicators
    from cchc.flows.plan_inspections import plan_inspections
    from cchc.flows.spot_check import spot_check
    from cchc.flows.sync_dossiers import sync_dossiers

    for f in (sync_dossiers, compute_indicators, plan_inspections, spot_check):
        props = parameter_schema(f.fn).model_dump()["properties"]
        missing = [k for k, v in props.items() if not v.get("description")]
        assert not missing, (f.name, missing)
    assert "Kỳ báo cáo" in parameter_schema(compute_indicators.fn).model_dump()["properties"]["period"]["description"]


def _failed(exc):
    from prefect.states import Failed

    return Failed(data=exc)


def test_tasks_retry_network_failures_only_and_only_in_deployment_runs(monkeypatch):
    from cchc.config import ConfigError
    from cchc.connectors.http import SourceError
    from cchc.tasks import sync_dossiers as t
    from cchc.tasks.retry import retry_on_network_failure

    refused = SourceError("Không kết nối được tới http://x sau 6 lần thử", "http://x", attempts=6)
    http_503 = SourceError("Máy chủ trả lỗi HTTP 503", "http://x", status=503, attempts=6)
    http_401 = SourceError("từ chối: HTTP 401", "http://x", status=401)
    no_password = SourceError("Thiếu tên đăng nhập hoặc mật khẩu", "http://x")
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", "7dba42a4-0000-4000-8000-000000000000")
    retried = {name: retry_on_network_failure(None, None, _failed(e)) for name, e in {
        "refused": refused, "503": http_503, "401": http_401, "no_password": no_password,
        "config": ConfigError("ward.yaml: units[0].code: thiếu"), "timeout": TimeoutError("read")}.items()}
    assert retried == {"refused": True, "503": True, "401": False, "no_password": False, "config": False,
                       "timeout": True}
    monkeypatch.delenv("PREFECT__RUNTIME__DEPLOYMENT__ID")  # a run started by `cchc sync`: no extra wait
    assert retry_on_network_failure(None, None, _failed(refused)) is False
    for task in (t.provincial_batch, t.national_batch, t.national_procedures):
        assert task.retries >= 1 and task.retry_condition_fn is retry_on_network_failure, task.name
    assert t.import_excel_file.retries == 0  # a bad file is not fixed by waiting


def test_data_age_rule_and_the_note_every_artifact_carries():
    from datetime import datetime

    from cchc.pipeline.freshness import DataTooOld, check_data_age, sync_note

    now = datetime(2026, 12, 1, 6, 30)
    check_data_age("provincial", datetime(2026, 11, 30, 17, 15), 24, now=now)  # 13 h old: fine
    check_data_age("provincial", None, None, now=now)  # no rule configured
    with pytest.raises(DataTooOld, match=r"17:15 28/11/2026.*max_data_age_hours = 24"):
        check_data_age("provincial", datetime(2026, 11, 28, 17, 15), 24, now=now)
    with pytest.raises(DataTooOld, match="chưa có lần đồng bộ thành công"):
        check_data_age("excel", None, 24, now=now)
    assert sync_note("provincial", datetime(2026, 11, 30, 17, 15)) == (
        "Dữ liệu (Hệ thống TTHC tỉnh) đồng bộ thành công lần cuối lúc 17:15 30/11/2026.")


def test_one_sync_limit_per_store_whatever_the_spelling(tmp_path, monkeypatch):
    from cchc.flows.limits import sync_limit_name

    monkeypatch.chdir(tmp_path)
    rel = sync_limit_name("phuong-hoa-an", "sqlite:///var/cchc.sqlite")
    assert rel == sync_limit_name("phuong-hoa-an", f"sqlite:///{tmp_path}/var/cchc.sqlite")
    assert rel.startswith("dong-bo-phuong-hoa-an-")
    pg = "postgresql+psycopg2://cchc:bi-mat@db.local:5432/cchc"
    assert sync_limit_name("phuong-hoa-an", pg) == sync_limit_name("phuong-hoa-an", "postgresql://cchc@db.local:5432/cchc")
    assert sync_limit_name("phuong-hoa-an", pg) != sync_limit_name("phuong-hoa-an", pg.replace("/cchc", "/khac"))
    assert "bi-mat" not in sync_limit_name("phuong-hoa-an", pg)


def test_run_names_are_readable(monkeypatch):
    from cchc.tasks import naming

    monkeypatch.setattr(naming, "_params", lambda: {"period": "2026-Q3", "config_path": str(ROOT / "config/demo.yaml")})
    assert naming.indicators_run_name() == "chi-so-phuong-hoa-an-mo-phong-2026-q3"
    monkeypatch.setattr(naming, "_params", lambda: {"today": "2026-11-03", "config_path": str(ROOT / "config/demo.yaml")})
    assert naming.monthly_run_name() == "tong-hop-thang-phuong-hoa-an-mo-phong-2026-10"  # the month before
    monkeypatch.setattr(naming, "_params", lambda: {"period": "2026-10", "config_path": "/nonexistent/ward.yaml"})
    assert naming.monthly_run_name() == "tong-hop-thang-cchc-2026-10"
    monkeypatch.setattr(naming, "_params", lambda: {"config_path": str(ROOT / "config/demo.yaml")})
    assert naming.sync_run_name().startswith("dong-bo-phuong-hoa-an-mo-phong-20")
    monkeypatch.setattr(naming, "_params", lambda: {"excel_file": "x.xlsx", "config_path": str(ROOT / "config/demo.yaml")})
    assert naming.sync_run_name().startswith("nhap-excel-phuong-hoa-an-mo-phong-")


def test_inspection_run_names_are_readable(monkeypatch):
    from cchc.tasks import naming

    demo = str(ROOT / "config/demo.yaml")
    monkeypatch.setattr(naming, "_params", lambda: {"config_path": demo, "sources": ["1"]})
    assert naming.plan_run_name() == "ke-hoach-kiem-tra-phuong-hoa-an-mo-phong-2026"
    monkeypatch.setattr(naming, "_params", lambda: {"config_path": demo, "year": 2026, "wave": 2})
    assert naming.plan_run_name() == "ke-hoach-kiem-tra-phuong-hoa-an-mo-phong-2026-dot-2"
    monkeypatch.setattr(naming, "_params", lambda: {"config_path": demo})
    assert naming.spot_run_name().startswith("kiem-tra-dot-xuat-phuong-hoa-an-mo-phong-20")
