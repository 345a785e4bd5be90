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
    for s in specs.values():
        assert s["schedules"] and all(x["timezone"] == "Asia/Ho_Chi_Minh" for x in s["schedules"])


def test_bad_entrypoint_names_the_deployment(tmp_path):
    p = tmp_path / "prefect.yaml"
    p.write_text("deployments:\n  - name: x\n    entrypoint: cchc/flows/nope.py:nothing\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"deployments\[0\]\.entrypoint"):
        deployment_specs(p)
