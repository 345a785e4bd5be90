"""A dossier's unit column may hold the unit's national id, its code or its name: one rule
(domain/units.py) maps each to the configured unit, so no dossier of a known unit is "UNMATCHED"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from openpyxl import Workbook

from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.domain import metrics as m
from cchc.domain.periods import parse_period
from cchc.domain.units import unit_resolver
from cchc.pipeline import indicators as ti
from cchc.pipeline.sync import make_context, run_sources

ROOT = Path(__file__).resolve().parent.parent


def _cfg(tmp_path):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path}/store.sqlite"
    path = tmp_path / "ward.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path, env={})


def test_code_national_id_and_name_resolve_to_the_national_id(tmp_path):
    resolve = unit_resolver(_cfg(tmp_path).units)
    assert resolve("VP") == "H99.99.01"
    assert resolve(" vp ") == "H99.99.01"
    assert resolve("TTPVHCC-HT") == "H99.99.04.01"
    assert resolve("H99.99.03") == "H99.99.03"
    assert resolve("H99.99.04.01.02") == "H99.99.04.01.02"  # under a unit: kept, rolls up by prefix
    assert resolve("Văn phòng HĐND và UBND") == "H99.99.01"
    assert resolve("van phong hdnd  VA ubnd") == "H99.99.01"  # case, diacritics, spaces
    assert resolve("PHÒNG VĂN HÓA - XÃ HỘI") == "H99.99.02"
    assert resolve("Phòng Tư pháp") == "Phòng Tư pháp"  # unknown: kept, shown as another unit
    assert resolve("") == ""


def test_excel_rows_naming_a_unit_by_code_or_name_are_not_unmatched(tmp_path):
    cfg = _cfg(tmp_path)
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Mã đơn vị", "Ngày tiếp nhận", "Trạng thái"])
    ws.append(["U-1", "VP", "01/10/2026 08:00", "Đang xử lý"])
    ws.append(["U-2", "Văn phòng HĐND và UBND", "01/10/2026 09:00", "Đang xử lý"])
    ws.append(["U-3", "kthtdt", "01/10/2026 09:00", "Đang xử lý"])
    ws.append(["U-4", "H99.99.04.01", "01/10/2026 09:00", "Đang xử lý"])
    ws.append(["U-5", "Phòng Tư pháp", "01/10/2026 09:00", "Đang xử lý"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    store = Store(cfg.database_url)
    store.migrate()
    counts, errors = run_sources(make_context(cfg, store), date(2026, 11, 5), excel_file=str(path))
    assert errors == []
    table = ti.group_table(ti.load_period(store, cfg, parse_period("2026-10"), "excel", with_national=False),
                           cfg, "unit")
    got = dict(zip(table["group"], table["received"], strict=True))
    assert got["H99.99.01"] == 2 and got["H99.99.03"] == 1 and got["H99.99.04"] == 1
    assert got[m.UNMATCHED] == 1 and got[m.TOTAL] == 5  # only the unknown unit
    # the sync summary counts by the resolved unit too
    assert {r["unit"] for r in counts.rows()} == {"H99.99.01", "H99.99.03", "H99.99.04.01", "Phòng Tư pháp"}
    store.dispose()
