"""The `inspection:` section of the ward configuration: validated, errors name the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from cchc.config import ConfigError, all_errors, load_config
from cchc.domain.calendar import WorkCalendar
from cchc.domain.inspection_plan import plan_inspections

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"


def _write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    change(data["inspection"])
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_demo_plan_2026_two_waves_two_of_three() -> None:
    cfg = load_config(DEMO, env={})
    plan = cfg.inspection
    assert plan.year == 2026
    waves = plan.domain_waves()
    assert [(w.number, w.start, w.end) for w in waves] == [
        (1, date(2026, 7, 1), date(2026, 7, 10)), (2, date(2026, 10, 20), date(2026, 10, 25))]
    assert plan.units_per_wave == 2 and len(plan.pool) == 3
    assert [u.code for u in cfg.plan_units()] == plan.pool
    out = plan_inspections(cfg.plan_units(), waves, plan.plan_rules(), WorkCalendar(), sources=["3 14 15"],
                           policy=plan.risk_policy())
    assert [len(w.visits) for w in out.waves] == [2, 2]
    assert [d.due for d in out.self_report_deadlines] == [date(2026, 6, 15), date(2026, 11, 30)]
    assert plan.spot_check_policy().random_count == 1  # 0.34 of 3 units


@pytest.mark.parametrize(("change", "needle"), [
    (lambda p: p["pool"].append("KHONGCO"), "inspection.pool[3]"),
    (lambda p: p.update(always=["VHXH"]), "always: VHXH không có trong pool"),
    (lambda p: p.update(always=["VP"], never=["VP"]), "always và never"),
    (lambda p: p["waves"].append({"start": "2027-01-05", "end": "2027-01-09"}), "không nằm trong năm 2026"),
    (lambda p: p["waves"][0].update(end="2026-06-01"), "trước ngày bắt đầu"),
    (lambda p: p.update(units_per_wave=4), "units_per_wave = 4"),
    (lambda p: p["sampling"].update(method="fixed"), "fixed_n"),
    (lambda p: p["spot_check"]["thresholds"].update(tre_han=3), "tre_han"),
    (lambda p: p["risk"].update(floor=0), "inspection.risk.floor"),
    (lambda p: p.update(notice_lead_days=-1), "inspection.notice_lead_days"),
])
def test_bad_plan_names_the_key(tmp_path: Path, change, needle: str) -> None:
    p = _write(tmp_path, change)
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    message = str(e.value)
    assert needle in message and "\n" not in message
    assert any(needle in m for m in all_errors(p))


def test_unknown_unit_in_always_is_named_by_position(tmp_path: Path) -> None:
    p = _write(tmp_path, lambda plan: plan.update(never=["KHONGCO"]))
    errors = all_errors(p)
    assert any("inspection.never[0]" in m and "KHONGCO" in m for m in errors)


def test_configuration_without_a_plan_still_loads(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    del data["inspection"]
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(p, env={})
    assert cfg.inspection is None
    with pytest.raises(ConfigError, match="inspection"):
        cfg.plan_units()
