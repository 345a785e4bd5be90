from pathlib import Path

import pytest
import yaml

from cchc.config import ConfigError, all_errors, load_config

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"


def _write(tmp_path, mutate) -> Path:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    mutate(data)
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_demo_config_is_valid_and_marked_simulated():
    cfg = load_config(DEMO, env={})
    assert cfg.ward.simulated is True
    assert {u.name for u in cfg.units} >= {
        "Văn phòng HĐND và UBND", "Phòng Văn hóa - Xã hội", "Phòng Kinh tế - Hạ tầng và Đô thị",
        "Trung tâm Phục vụ hành chính công",
    }
    assert len(cfg.officers) >= 12
    assert cfg.timezone == "Asia/Ho_Chi_Minh"
    assert cfg.database_url.startswith("sqlite:///")


def test_bad_email_names_the_key(tmp_path):
    p = _write(tmp_path, lambda d: d["units"][2].__setitem__("head_email", "không-phải-email"))
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert str(e.value) == f"{p}: units[2].head_email: not an email address"


def test_unknown_unit_reference_names_the_key(tmp_path):
    p = _write(tmp_path, lambda d: d["officers"][3].__setitem__("unit", "NOPE"))
    with pytest.raises(ConfigError, match=r"officers\[3\]\.unit: unknown unit code 'NOPE'"):
        load_config(p, env={})


def test_wrong_type_and_unknown_key(tmp_path):
    p = _write(tmp_path, lambda d: d["sources"]["provincial"].__setitem__("page_size", "nhiều"))
    with pytest.raises(ConfigError, match=r"sources\.provincial\.page_size"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d["ward"].__setitem__("ten_sai", 1))
    with pytest.raises(ConfigError, match=r"ward\.ten_sai: unknown key"):
        load_config(p, env={})


def test_bad_url_timezone_and_office_hours(tmp_path):
    p = _write(tmp_path, lambda d: d["sources"]["national"].__setitem__("base_url", "ftp://x"))
    with pytest.raises(ConfigError, match=r"sources\.national\.base_url: not an http\(s\) URL"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d.__setitem__("timezone", "Asia/Hanoi_Nowhere"))
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d.__setitem__("office_hours", [["13:30", "11:00"]]))
    with pytest.raises(ConfigError, match=r"office_hours: session 13:30-11:00 ends before it starts"):
        load_config(p, env={})


def test_all_errors_lists_each_problem(tmp_path):
    def mutate(d):
        d["units"][0]["head_email"] = "x"
        d["leadership"][1]["email"] = "y"
    p = _write(tmp_path, mutate)
    errs = all_errors(p)
    assert any("units[0].head_email" in e for e in errs)
    assert any("leadership[1].email" in e for e in errs)


def test_missing_file_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="không tìm thấy"):
        load_config(tmp_path / "none.yaml", env={})
    p = tmp_path / "broken.yaml"
    p.write_text("ward: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml dòng \d+, cột \d+: YAML không hợp lệ"):
        load_config(p, env={})


def test_environment_overrides_the_file():
    env = {"CCHC_DATABASE_URL": "postgresql://u@h/db", "CCHC_PROVINCIAL_URL": "http://127.0.0.1:9999",
           "CCHC_NATIONAL_URL": "http://127.0.0.1:9998/"}
    cfg = load_config(DEMO, env=env)
    assert cfg.database_url == "postgresql://u@h/db"
    assert cfg.sources.provincial.base_url == "http://127.0.0.1:9999"
    assert cfg.sources.national.base_url == "http://127.0.0.1:9998"
    # the rest of the source's configuration stays as the file says
    assert cfg.sources.provincial.field_map["SoHoSo"] == "MaHoSo"


def test_config_path_from_environment(tmp_path):
    p = _write(tmp_path, lambda d: d["ward"].__setitem__("name", "Phường Khác"))
    cfg = load_config(env={"CCHC_CONFIG": str(p)})
    assert cfg.ward.name == "Phường Khác"
    assert cfg.ward.slug == "phuong-khac"
