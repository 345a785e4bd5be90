"""Which source the reports read (domain/sources.py) and that every output names it: a ward with
only Excel exports gets its figures without `--source`, a misspelt source is one clear line that
writes nothing, and a store with several sources needs `reporting.source` (or `--source`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from cchc.cli import main
from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.connectors.store.schema import period_cells
from cchc.domain.sources import SourceChoiceError, reporting_source
from cchc.pipeline.sync import make_context, run_sources

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------ the rule


def test_one_source_held_is_the_one_read():
    assert reporting_source(None, None, {"excel": 3}) == "excel"
    assert reporting_source(None, None, {"provincial": 5}) == "provincial"
    # the national copies of provincial dossiers do not make a second reporting source
    assert reporting_source(None, None, {"provincial": 5, "national": 4}) == "provincial"
    assert reporting_source(None, None, {"national": 4}) == "national"


def test_empty_store_reads_provincial():
    assert reporting_source(None, None, {}) == "provincial"


def test_several_sources_need_a_choice():
    with pytest.raises(SourceChoiceError) as e:
        reporting_source(None, None, {"provincial": 2284, "excel": 12})
    msg = str(e.value)
    assert "reporting.source" in msg and "--source" in msg and "2.284" in msg and "\n" not in msg
    assert reporting_source(None, "excel", {"provincial": 2284, "excel": 12}) == "excel"
    assert reporting_source("provincial", "excel", {"provincial": 2284, "excel": 12}) == "provincial"


def test_unknown_source_is_an_error():
    with pytest.raises(SourceChoiceError) as e:
        reporting_source("provicial", None, {"provincial": 1})
    assert "'provicial'" in str(e.value) and "provincial, national, excel" in str(e.value)


def test_config_validates_reporting_source(tmp_path):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["reporting"]["source"] = "exel"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(Exception) as e:
        load_config(path, env={})
    assert "reporting.source" in str(e.value)


# ------------------------------------------------------------------------------ the commands


def _excel(path: Path, unit: str = "H99.99.04.01") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Lĩnh vực", "Mã đơn vị", "Kênh nộp", "Ngày tiếp nhận",
               "Ngày hẹn trả", "Ngày kết thúc xử lý", "Trạng thái"])
    ws.append(["X-1", "1.1", "Khai sinh", "Hộ tịch", unit, "Trực tuyến", "01/10/2026 08:00", "05/10/2026",
               "02/10/2026 09:00", "Đã trả kết quả"])
    ws.append(["X-2", "1.1", "Khai sinh", "Hộ tịch", unit, "Trực tiếp", "02/10/2026 08:00", "06/10/2026",
               "08/10/2026 09:00", "Đã trả kết quả"])
    ws.append(["X-3", "1.2", "Chứng thực", "Chứng thực", unit, "Trực tiếp", "03/10/2026 08:00", "30/10/2026",
               None, "Đang xử lý"])
    wb.save(path)
    return path


@pytest.fixture
def excel_ward(tmp_path, monkeypatch):
    """A ward whose store holds only an imported Excel export (3 dossiers of October 2026)."""
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path}/store.sqlite"
    cfg_path = tmp_path / "ward.yaml"
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CCHC_CONFIG", str(cfg_path))
    monkeypatch.delenv("CCHC_DATABASE_URL", raising=False)
    cfg = load_config(cfg_path)
    store = Store(cfg.database_url)
    store.migrate()
    run_sources(make_context(cfg, store), date(2026, 11, 5), excel_file=str(_excel(tmp_path / "x.xlsx")))
    yield {"cfg": cfg, "store": store, "path": cfg_path, "data": data, "tmp": tmp_path}
    store.dispose()


def _cells(store) -> int:
    with store.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(period_cells)).scalar())


def test_stats_after_import_excel_reads_the_excel_source(excel_ward, capsys):
    assert main(["stats", "--period", "2026-10", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    total = rows[-1]
    assert total["group"] == "TOTAL" and total["received"] == 3 and total["resolved"] == 2 and total["late"] == 1
    assert {r["source"] for r in rows} == {"excel"}
    assert main(["stats", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "nguồn: Tệp Excel (excel)" in out.splitlines()[0]
    xlsx = excel_ward["tmp"] / "b06.xlsx"
    assert main(["stats", "--period", "2026-10", "--xlsx", str(xlsx)]) == 0
    ws = load_workbook(xlsx).worksheets[0]
    texts = [str(c.value) for row in ws.iter_rows(max_row=12) for c in row if c.value]
    assert "Nguồn dữ liệu: Tệp Excel (excel)" in texts


def test_unknown_source_is_one_line_and_writes_nothing(excel_ward, capsys):
    before = _cells(excel_ward["store"])
    for cmd in (["stats", "--period", "2026-10", "--source", "exel"], ["indicators", "--source", "exel"]):
        assert main(cmd) == 1
        err = capsys.readouterr().err
        assert "'exel'" in err and "nguồn không hợp lệ" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    assert _cells(excel_ward["store"]) == before


def test_several_sources_follow_the_configuration(excel_ward, capsys):
    from cchc.domain.records import Dossier, Status

    store = excel_ward["store"]
    store.upsert_page("provincial", [Dossier(source="provincial", code="P-1", status=Status.RECEIVED,
                                             unit_code="H99.99.01")])
    assert main(["stats", "--period", "2026-10"]) == 1
    err = capsys.readouterr().err
    assert "reporting.source" in err and len(err.strip().splitlines()) == 1
    data = dict(excel_ward["data"])
    data["reporting"] = {**data["reporting"], "source": "excel"}
    excel_ward["path"].write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["stats", "--period", "2026-10", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["received"] == 3 and rows[-1]["source"] == "excel"
    assert main(["stats", "--period", "2026-10", "--json", "--source", "provincial"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["received"] == 0 and rows[-1]["source"] == "provincial"


def test_sources_held_and_the_choice_over_them(db_url):
    """`Store.sources_held` (one EXISTS per source) names the sources with rows, in order; the choice
    over them is the rule's over the counts, and the several-sources message still counts each."""
    from cchc.domain.records import Dossier, Status
    from cchc.pipeline.indicators import choose_source

    cfg = load_config(ROOT / "config" / "demo.yaml", env={})
    store = Store(db_url)
    store.migrate()
    assert store.sources_held() == [] and choose_source(store, cfg) == "provincial"
    page = [Dossier(source="provincial", code=f"P-{i}", status=Status.RECEIVED, unit_code="H99.99.01") for i in range(3)]
    store.upsert_page("provincial", page)
    store.upsert_page("national", [Dossier(source="national", code="P-1", status=Status.RECEIVED, unit_code="H99.99.01")])
    assert store.sources_held() == ["provincial", "national"] and store.sources_held(["excel"]) == []
    assert choose_source(store, cfg) == "provincial"
    store.upsert_page("excel", [Dossier(source="excel", code="X-1", status=Status.RECEIVED, unit_code="H99.99.01")])
    assert store.sources_held() == ["provincial", "national", "excel"] == sorted(store.count_by_source(),
                                                                                   key=["provincial", "national", "excel"].index)
    with pytest.raises(SourceChoiceError) as e:
        choose_source(store, cfg)
    assert "3 hồ sơ" in str(e.value) and "1 hồ sơ" in str(e.value)
    assert choose_source(store, cfg, "excel") == "excel"
    configured = cfg.model_copy(update={"reporting": cfg.reporting.model_copy(update={"source": "excel"})})
    assert choose_source(store, configured) == "excel"
    store.dispose()
