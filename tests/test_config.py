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
    assert str(e.value) == (f"{p}: units[2].head_email — đơn vị thứ 3 (KTHTDT): "
                            "không phải địa chỉ email (not an email address)")


def test_unknown_unit_reference_names_the_key(tmp_path):
    p = _write(tmp_path, lambda d: d["officers"][3].__setitem__("unit", "NOPE"))
    with pytest.raises(ConfigError, match=r"officers\[3\]\.unit — cán bộ thứ 4 \(vhxh\.dang\): "
                                          r"đơn vị 'NOPE' không có trong units"):
        load_config(p, env={})


def test_wrong_type_and_unknown_key(tmp_path):
    p = _write(tmp_path, lambda d: d["sources"]["provincial"].__setitem__("page_size", "nhiều"))
    with pytest.raises(ConfigError, match=r"sources\.provincial\.page_size"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d["ward"].__setitem__("ten_sai", 1))
    with pytest.raises(ConfigError, match=r"ward\.ten_sai: khóa không hợp lệ \(unknown key\)"):
        load_config(p, env={})


def test_bad_url_timezone_and_office_hours(tmp_path):
    p = _write(tmp_path, lambda d: d["sources"]["national"].__setitem__("base_url", "ftp://x"))
    with pytest.raises(ConfigError, match=r"sources\.national\.base_url: không phải URL http\(s\)"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d.__setitem__("timezone", "Asia/Hanoi_Nowhere"))
    with pytest.raises(ConfigError, match=r"timezone: múi giờ không tồn tại"):
        load_config(p, env={})
    p = _write(tmp_path, lambda d: d.__setitem__("office_hours", [["13:30", "11:00"]]))
    with pytest.raises(ConfigError, match=r"office_hours: buổi 13:30-11:00 kết thúc trước khi bắt đầu"):
        load_config(p, env={})


def test_all_errors_lists_each_problem(tmp_path):
    def mutate(d):
        d["units"][0]["head_email"] = "x"
        d["leadership"][1]["email"] = "y"
    p = _write(tmp_path, mutate)
    errs = all_errors(p)
    assert any("units[0].head_email — đơn vị thứ 1 (VP): không phải địa chỉ email" in e for e in errs)
    assert any("leadership[1].email — lãnh đạo thứ 2 (Lê Văn Phúc)" in e for e in errs)


def test_all_errors_includes_every_cross_reference_with_positions(tmp_path):
    """A value error elsewhere does not hide the cross-references (pydantic skips the model check
    then): every problem is listed, 1-based, in Vietnamese."""
    def mutate(d):
        d["units"][0]["head_email"] = "x"                       # a value error
        d["units"][2]["parent"] = "KHONGCO"                     # parent that does not exist
        d["units"].append({"code": "VHXH", "name": "Trùng", "national_id": "H99.99.07"})  # duplicate code
        d["units"][4]["national_id"] = "H99.99.09.01"           # not under its parent's id
        d["officers"][5]["unit"] = "MA"                         # officer of a unit that does not exist
        d["officers"][6]["username"] = d["officers"][5]["username"]
        d["calendar"] = {"extra_holidays": ["2026-04-27"], "extra_working_days": ["2026-04-27"]}
        d["score_766"] = {"tien_do": {"max_points": 20, "threshold": 100}, "khong_co": {"max_points": 1,
                                                                                       "threshold": 50}}
    p = _write(tmp_path, mutate)
    errs = all_errors(p)
    text = "\n".join(errs)
    assert all(e.startswith(f"{p}: ") for e in errs)
    assert "units[2].parent — đơn vị thứ 3 (KTHTDT): đơn vị cha 'KHONGCO' không có trong units" in text
    assert "units[5].code — đơn vị thứ 6 (VHXH): mã đơn vị 'VHXH' trùng với đơn vị thứ 2" in text
    assert "units[4].national_id — đơn vị thứ 5 (TTPVHCC-HT): mã định danh 'H99.99.09.01' phải nằm dưới" in text
    assert "officers[5].unit — cán bộ thứ 6 (kt.do): đơn vị 'MA' không có trong units" in text
    assert "officers[6].username — cán bộ thứ 7 (kt.do): tên đăng nhập 'kt.do' trùng với cán bộ thứ 6" in text
    assert "calendar.extra_working_days[0]: ngày 2026-04-27 vừa là ngày nghỉ thêm vừa là ngày làm bù" in text
    assert "score_766.khong_co: chỉ số 766 không xác định" in text
    assert "units[0].head_email" in text
    assert len(errs) == 8


def test_load_config_names_the_first_problem_and_counts_the_rest(tmp_path):
    def mutate(d):
        d["units"][2]["parent"] = "KHONGCO"
        d["officers"][0]["unit"] = "MA"
    p = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert "units[2].parent — đơn vị thứ 3 (KTHTDT)" in str(e.value) and "(và 1 lỗi khác" in str(e.value)
    p = _write(tmp_path, lambda d: (mutate(d), d["units"][0].__setitem__("head_email", "x")))
    with pytest.raises(ConfigError) as e:  # a value error does not hide the cross-references from the count
        load_config(p, env={})
    assert "units[0].head_email" in str(e.value) and "(và 2 lỗi khác" in str(e.value)


def test_overlapping_top_level_units_and_cycles(tmp_path):
    def mutate(d):
        d["units"][4].pop("parent")   # H99.99.04.01 top level beside H99.99.04: counted twice in the total
        d["units"].append({"code": "A", "name": "A", "national_id": "H99.99.05", "parent": "B"})
        d["units"].append({"code": "B", "name": "B", "national_id": "H99.99.05.01", "parent": "A"})
    errs = "\n".join(all_errors(_write(tmp_path, mutate)))
    assert "units[4].parent — đơn vị thứ 5 (TTPVHCC-HT): mã định danh 'H99.99.04.01' nằm dưới đơn vị thứ 4" in errs
    assert "units[5].parent — đơn vị thứ 6 (A): vòng lặp đơn vị cha" in errs


def test_ward_place_and_receiving_body():
    cfg = load_config(DEMO, env={})
    assert cfg.ward.place_name == "Hòa An"
    assert cfg.ward.receiving_body == "Ủy ban nhân dân tỉnh Mô Phỏng"
    w = cfg.ward.model_copy(update={"place": "P. Hòa An", "reports_to": "Văn phòng UBND tỉnh"})
    assert (w.place_name, w.receiving_body) == ("P. Hòa An", "Văn phòng UBND tỉnh")


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
