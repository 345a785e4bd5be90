"""The `reminders:` and `smtp:` configuration sections: defaults, demo values, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cchc.config import ConfigError, load_config
from cchc.connectors.mail import SmtpSettings
from cchc.domain.reminders import ReminderRules

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"


def _write(tmp_path, **sections) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for k, v in sections.items():
        data[k] = v
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_demo_sections_load_into_domain_rules_and_smtp_settings():
    cfg = load_config(DEMO, env={})
    rules = cfg.reminders.rules()
    assert isinstance(rules, ReminderRules)
    assert rules.report_lead_days == (5, 2, 0) and rules.due_soon_days == 2
    s = SmtpSettings.resolve(cfg.smtp, env={})
    assert (s.host, s.port, s.tls, s.sender) == ("127.0.0.1", 8025, "none", "nhacviec@hoaan.example.vn")


def test_defaults_when_the_sections_are_absent(tmp_path):
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data.pop("reminders"), data.pop("smtp")
    p = tmp_path / "w.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(p, env={})
    assert cfg.reminders.max_attempts == 5 and cfg.smtp.port == 8025
    assert cfg.reminders.digest_list_limit == 20 and cfg.smtp.password_secret is None


@pytest.mark.parametrize("section, value, key", [
    ("reminders", {"due_soon_days": -1}, "reminders.due_soon_days"),
    ("reminders", {"report_lead_days": [5, -2]}, "reminders.report_lead_days"),
    ("reminders", {"escalation_late_rate": 150}, "reminders.escalation_late_rate"),
    ("reminders", {"lead": 3}, "reminders.lead"),
    ("reminders", {"digest_list_limit": 0}, "reminders.digest_list_limit"),
    ("smtp", {"password_secret": "Mat Khau"}, "smtp.password_secret"),  # not a Prefect block name
    ("smtp", {"port": 0}, "smtp.port"),
    ("smtp", {"tls": "yes"}, "smtp.tls"),
    ("smtp", {"sender": "not-an-address"}, "smtp.sender"),
    ("smtp", {"host": "smtp host"}, "smtp.host"),
    ("smtp", {"password": "x"}, "smtp.password"),  # secrets never in the file: unknown key
])
def test_bad_values_name_the_key(tmp_path, section, value, key):
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, **{section: value}), env={})
    msg = str(e.value)
    assert f"{key}:" in msg and "\n" not in msg


def test_report_lead_days_sorted_and_deduplicated(tmp_path):
    cfg = load_config(_write(tmp_path, reminders={"report_lead_days": [0, 5, 2, 5]}), env={})
    assert cfg.reminders.report_lead_days == [5, 2, 0]
