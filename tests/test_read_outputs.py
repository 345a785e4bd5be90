"""What people read: the period and reconciliation commands, the unit ranking, thousands separators,
provisional periods. A small simulated ward synced without Prefect orchestration (plain task calls),
then the commands as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from factories import synced_ward
from openpyxl import load_workbook

from cchc.cli import main
from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.periods import parse_period, period_of
from cchc.pipeline import indicators as ti
from cchc.report import tables as rt
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def ward_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("read")
    mp = pytest.MonkeyPatch()
    mp.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    mp.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau")
    ward = SyntheticWard(seed=5, n_dossiers=1500, as_of=AS_OF, months=12)
    cfg, path = synced_ward(tmp, ward, AS_OF, ROOT)
    mp.delenv("CCHC_CONFIG", raising=False)
    yield {"cfg": cfg, "path": path, "tmp": tmp}
    mp.undo()


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- command line ----------------------------------------------------------------------------
def test_config_is_accepted_after_the_subcommand(ward_env, capsys):
    code, out, err = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", "2026-10", "--json")
    assert code == 0, err
    assert json.loads(out)[-1]["received"] > 0  # the ward's store, not the default configuration's
    code, out2, _ = run(capsys, "--config", str(ward_env["path"]), "stats", "--period", "2026-10", "--json")
    assert json.loads(out2) == json.loads(out)


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-10-01"], "--from cần đi cùng --to: thiếu --to"),
    (["--to", "2026-10-31"], "--to cần đi cùng --from: thiếu --from"),
])
def test_from_without_to_is_one_plain_line(ward_env, capsys, args, message):
    code, out, err = run(capsys, "stats", "--config", str(ward_env["path"]), *args)
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and message in err and "None" not in err


def test_stats_title_names_the_period_once(ward_env, capsys):
    code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--from", "2026-10-01", "--to",
                       "2026-10-15")
    title = out.splitlines()[0]
    assert "— Từ 01/10/2026 đến 15/10/2026 — nguồn: " in title and title.count("01/10/2026") == 1
    code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", "2026-10")
    assert "— Tháng 10/2026 (từ 01/10/2026 đến 31/10/2026) — nguồn: " in out.splitlines()[0]
    assert "tạm tính" not in out  # October 2026 is over


def test_unfinished_future_and_empty_periods_are_flagged(ward_env, capsys):
    cfg = ward_env["cfg"]
    current = period_of(cfg.today(), "month")
    future = current.next().next()
    for per in (current, future):
        code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", per.slug)
        assert "Lưu ý: kỳ chưa kết thúc, số liệu tạm tính" in out.splitlines()[1]
        code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", per.slug, "--json")
        assert all(r["provisional"] is True for r in json.loads(out))
    code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", "2026-10", "--json")
    assert all(r["provisional"] is False for r in json.loads(out))
    code, out, _ = run(capsys, "stats", "--config", str(ward_env["path"]), "--period", "2020-01")
    assert "Lưu ý: không có hồ sơ trong kỳ." in out and "tạm tính" not in out


def test_reconcile_command_same_figures_as_the_flow_tasks(ward_env, capsys, tmp_path):
    cfg = ward_env["cfg"]
    xlsx = tmp_path / "doi-soat.xlsx"
    code, out, err = run(capsys, "reconcile", "--config", str(ward_env["path"]), "--period", "2026-10", "--json",
                         "--xlsx", str(xlsx))
    assert code == 0, err
    got = json.loads(out)
    data = ti.load_period(Store(cfg.database_url), cfg, parse_period("2026-10"))
    summary, mismatches = ti.reconciliation(data, cfg)
    total = summary[summary["group"] == m.TOTAL].iloc[0]
    assert got["summary"][-1]["group"] == "TOTAL"
    assert got["summary"][-1]["provincial"] == int(total["provincial"]) > 0
    assert got["summary"][-1]["missing"] == int(total["missing"]) > 0  # the simulator leaves some out
    assert got["mismatches_total"] == len(got["mismatches"]) == len(mismatches) > 0
    assert got["provisional"] is False and got["period"] == "2026-10"
    names = {u.name for u in cfg.units}
    assert {d["unit"] for d in got["mismatches"]} <= names  # names, not codes
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Tổng hợp", "Hồ sơ chênh lệch"]
    assert wb["Hồ sơ chênh lệch"].max_row == 3 + len(mismatches)  # title, blank, header, every mismatch
    code, out, _ = run(capsys, "reconcile", "--config", str(ward_env["path"]), "--period", "2026-10",
                       "--limit", "2")
    assert f"HỒ SƠ CHÊNH LỆCH: {len(mismatches)} dòng (hiển thị 2 / {len(mismatches)})" in out
    assert "Mã hồ sơ" in out and "Loại chênh lệch" in out and "Giá trị Cổng DVCQG" in out
    assert f"Đã ghi tệp / wrote: {xlsx}" not in out  # no file asked for this time


def test_score766_command(ward_env, capsys):
    code, out, err = run(capsys, "score766", "--config", str(ward_env["path"]), "--period", "2026-10", "--json")
    assert code == 0, err
    got = json.loads(out)
    total = got["units"][-1]
    assert total["group"] == "TOTAL" and 0 < total["total"] <= total["max_total"] <= 100
    assert set(total["indicators"]) == set(ward_env["cfg"].score_766)
    assert total["total"] == pytest.approx(sum(v["points"] for v in total["indicators"].values()
                                               if v["points"] is not None), abs=0.05)
    code, out, _ = run(capsys, "score766", "--config", str(ward_env["path"]), "--period", "2026-10")
    assert "ĐIỂM BỘ CHỈ SỐ 766" in out and "Tiến độ giải quyết" in out and "Tổng cộng" in out


# --- display functions -----------------------------------------------------------------------
def _unit_rows(cfg, rates: dict[str, tuple[float, int]]) -> pd.DataFrame:
    rows = [{"group": u.national_id, "label": u.name, "on_time_rate": rates[u.code][0],
             "resolved": rates[u.code][1], "late": 0} for u in cfg.units]
    rows.append({"group": m.TOTAL, "label": m.TOTAL_LABEL_VI, "on_time_rate": 90.0, "resolved": 1, "late": 0})
    return pd.DataFrame(rows)


def test_ranking_puts_a_sub_unit_under_its_parent(ward_env):
    cfg = ward_env["cfg"]
    # the sub-unit (TTPVHCC-HT, inside TTPVHCC) has the best rate: it must not rank first beside its parent
    t = _unit_rows(cfg, {"VP": (90.0, 10), "VHXH": (95.0, 10), "KTHTDT": (float("nan"), 0),
                         "TTPVHCC": (80.0, 50), "TTPVHCC-HT": (99.0, 30)})
    ranked = [(rank, depth, r["label"]) for rank, depth, r in rt.ranked_units(t, cfg)]
    assert ranked == [("1", 0, "Phòng Văn hóa - Xã hội"), ("2", 0, "Văn phòng HĐND và UBND"),
                      ("3", 0, "Trung tâm Phục vụ hành chính công"),
                      ("3.1", 1, "Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC)"),
                      ("4", 0, "Phòng Kinh tế - Hạ tầng và Đô thị")]


def test_summary_markdown_ranks_nested_and_uses_thousands(ward_env):
    from cchc.report.summary import summary_markdown

    cfg = ward_env["cfg"]
    data = ti.load_period(Store(cfg.database_url), cfg, parse_period("2026-10"), with_national=False)
    unit_t = ti.group_table(data, cfg, "unit", nested=True)
    big = unit_t.copy()
    big.loc[big["group"] == m.TOTAL, ["received", "resolved"]] = [12345, 2284]
    md = summary_markdown(cfg, parse_period("2026-10"), big, ti.group_table(data, cfg, "procedure"), None,
                          None, {"rate": 95.0, "num": 1900, "den": 2000}, ["kỳ chưa kết thúc, số liệu tạm tính"])
    assert "**12.345**" in md and "**2.284**" in md and "(1.900/2.000 hồ sơ)" in md
    assert "> **Lưu ý:** kỳ chưa kết thúc, số liệu tạm tính." in md
    ranks = [line.split("|")[1].strip() for line in md.splitlines() if line.startswith("| ") and "└" in line]
    assert ranks and all("." in r for r in ranks)
    assert "| └ Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC) |" in md.replace(ranks[0], "", 1)


def test_unit_tables_show_sub_units_under_their_parent(ward_env):
    cfg = ward_env["cfg"]
    data = ti.load_period(Store(cfg.database_url), cfg, parse_period("2026-10"), with_national=False)
    rows = rt.display_rows(ti.group_table(data, cfg, "unit", nested=True), "unit")
    labels = [r["Đơn vị"] for r in rows]
    i = labels.index("Trung tâm Phục vụ hành chính công")
    assert labels[i + 1] == "└ Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC)"
    assert rt.nested_label("    Tổ một cửa") == "\u2003└ Tổ một cửa"


def test_reconcile_detail_display_names_units_and_cuts(ward_env):
    cfg = ward_env["cfg"]
    mism = pd.DataFrame({"code": [f"HS{i}" for i in range(250)], "unit_code": ["H99.99.04.01"] * 249 + ["X.1"],
                         "kind": ["lệch trạng thái"] * 250, "provincial_value": ["10 - Đã trả kết quả"] * 250,
                         "national_value": [""] * 250})
    rows = rt.reconcile_detail_display(mism, cfg)
    assert len(rows) == 200 and list(rows[0]) == ["Mã hồ sơ", "Đơn vị", "Loại chênh lệch", "Giá trị hệ thống tỉnh",
                                                  "Giá trị Cổng DVCQG"]
    assert rows[0]["Đơn vị"] == "Bộ phận Hộ tịch - Chứng thực (Trung tâm PVHCC)"
    assert rt.reconcile_detail_display(mism, cfg, limit=None)[-1]["Đơn vị"] == "X.1"  # unknown: the code
    assert rt.shown_of(200, 2284) == "hiển thị 200 / 2.284" and rt.shown_of(5, 5) == ""


def test_table_artifacts_show_counts_with_thousands(monkeypatch):
    from cchc.tasks import artifacts

    seen = {}
    monkeypatch.setattr(artifacts, "create_table_artifact", lambda table, key, description: seen.update(t=table))
    artifacts.publish_table("k", [{"Đơn vị": "A", "Tiếp nhận": 2284, "n": pd.Series([12000]).iloc[0],
                                   "Tỉ lệ": "95,25%", "x": float("nan"), "b": True}], "d")
    assert seen["t"] == [{"Đơn vị": "A", "Tiếp nhận": "2.284", "n": "12.000", "Tỉ lệ": "95,25%",
                          "x": "không phát sinh", "b": True}]


def test_a_ward_template_overrides_the_summary_wording(ward_env, tmp_path):
    """The summary is rendered from report/templates/summary.md.j2; a `templates_dir` in the ward's
    configuration is searched first, so an officer rewords it without code."""
    from cchc.report.summary import summary_markdown

    cfg = ward_env["cfg"]
    data = ti.load_period(Store(cfg.database_url), cfg, parse_period("2026-10"), with_national=False)
    args = (parse_period("2026-10"), ti.group_table(data, cfg, "unit", nested=True),
            ti.group_table(data, cfg, "procedure"), None, None, {"rate": 95.0, "num": 1900, "den": 2000})
    assert summary_markdown(cfg, *args).startswith(f"# Tổng hợp chỉ số CCHC — {cfg.ward.name}\n**Kỳ:**")
    folder = tmp_path / "mau"
    folder.mkdir()
    (folder / "summary.md.j2").write_text("Kính gửi Chủ tịch UBND {{ ward_name }}: đúng hạn {{ total.on_time_rate }}.\n",
                                          encoding="utf-8")
    data = yaml.safe_load(Path(ward_env["path"]).read_text(encoding="utf-8")) | {"templates_dir": "mau"}
    path = tmp_path / "ward.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    own = load_config(path, env={})
    assert own.templates_dir == str(folder)
    md = summary_markdown(own, *args)
    assert md.startswith(f"Kính gửi Chủ tịch UBND {cfg.ward.name}: đúng hạn ") and md.endswith("%.")


def test_a_missing_templates_dir_is_one_line_naming_the_key(ward_env, tmp_path):
    from cchc.config import ConfigError

    data = yaml.safe_load(Path(ward_env["path"]).read_text(encoding="utf-8")) | {"templates_dir": "khong-co"}
    path = tmp_path / "ward.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"templates_dir: không tìm thấy thư mục .*khong-co"):
        load_config(path, env={})
