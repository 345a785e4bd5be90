"""The same simulated ward reaches the store by two paths — the API sync and the one-stop Excel
export — and the reports must not depend on the path: the same Biểu 06 (by field and by unit). What
the Excel path cannot know (processing steps) is said, not shown as an empty table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from cchc.cli import main
from cchc.config import load_config
from cchc.connectors.store import Store
from cchc.domain.periods import parse_period
from cchc.pipeline import indicators as ti
from cchc.pipeline.sync import make_context, run_sources
from cchc.simulator.excel_export import export_excel
from cchc.simulator.server import running
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)


def _config(tmp: Path, name: str, env: dict | None = None):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"]["provincial"].update(start_date="2025-01-01", page_size=500)
    data["database_url"] = f"sqlite:///{tmp}/{name}.sqlite"
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path, load_config(path, env=env or {})


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    """Store "api": the provincial sync from the simulator; store "xl": the simulator's Excel export
    of the same ward, imported."""
    tmp = tmp_path_factory.mktemp("paths")
    ward = SyntheticWard(seed=5, n_dossiers=2500, as_of=AS_OF, months=11)
    with running(ward) as url:
        api_path, api_cfg = _config(tmp, "api", {"CCHC_PROVINCIAL_URL": url})
        api = Store(api_cfg.database_url)
        api.migrate()
        _, errors = run_sources(make_context(api_cfg, api), AS_OF, sources=["provincial"])
        assert errors == []
    xl_path, xl_cfg = _config(tmp, "xl")
    export = tmp / "danh-sach-ho-so.xlsx"
    assert export_excel(ward, export) == ward.n_visible
    xl = Store(xl_cfg.database_url)
    xl.migrate()
    counts, errors = run_sources(make_context(xl_cfg, xl), AS_OF, excel_file=str(export))
    assert errors == [] and counts.total()["quarantined"] == 0
    assert xl.count_dossiers("excel") == api.count_dossiers("provincial") == ward.n_visible
    yield {"api": (api, api_cfg, api_path), "xl": (xl, xl_cfg, xl_path)}
    api.dispose()
    xl.dispose()


def _bieu06(store, cfg, source, period):
    data = ti.load_period(store, cfg, parse_period(period), source=source, with_national=False)
    by_field, by_unit = ti.bieu06(data, cfg)
    return [r.as_dict() for r in by_field], [r.as_dict() for r in by_unit]


@pytest.mark.parametrize("period", ["2026-10", "2026-Q3"])
def test_api_and_excel_paths_give_the_same_bieu06(two_stores, period):
    api_field, api_unit = _bieu06(*two_stores["api"][:2], "provincial", period)
    xl_field, xl_unit = _bieu06(*two_stores["xl"][:2], "excel", period)
    assert len(api_field) > 3 and api_field[-1]["resolved_total"] > 100
    # supplement extensions matter: some resolved dossiers of the period had an answered request
    assert api_unit[-1]["late"] > 0
    assert xl_unit == api_unit
    assert xl_field == api_field


def test_excel_path_says_officer_timeliness_is_unknown(two_stores, capsys, monkeypatch):
    _, _, xl_path = two_stores["xl"]
    monkeypatch.setenv("CCHC_CONFIG", str(xl_path))
    monkeypatch.delenv("CCHC_DATABASE_URL", raising=False)
    assert main(["stats", "--period", "2026-10", "--by", "officer"]) == 0
    out = capsys.readouterr().out
    assert "không có dữ liệu bước xử lý" in out.lower() and "Tệp Excel (excel)" in out
    assert "Bước" not in out.split("\n", 1)[1]  # no empty table of zeros under the note
    assert main(["stats", "--period", "2026-10", "--by", "officer", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["group"] == "TOTAL" and "không có dữ liệu bước xử lý" in rows[-1]["note"]
    assert {r["source"] for r in rows} == {"excel"}
    # the API path has steps: a table, no note
    _, _, api_path = two_stores["api"]
    monkeypatch.setenv("CCHC_CONFIG", str(api_path))
    assert main(["stats", "--period", "2026-10", "--by", "officer", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert "note" not in rows[-1] and rows[-1]["steps"] > 0


def test_indicators_flow_on_excel_names_the_source_and_says_officers_are_unknown(two_stores, monkeypatch,
                                                                                 prefect_harness, tmp_path,
                                                                                 capsys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from cchc.flows.compute_indicators import compute_indicators

    _, _, xl_path = two_stores["xl"]
    monkeypatch.delenv("CCHC_DATABASE_URL", raising=False)
    result = compute_indicators(config_path=str(xl_path), period="2026-10", write_xlsx=False)
    from cchc.cli.reports import unit_table_text

    assert result["source"] == "excel"
    assert "nguồn: Tệp Excel (excel)" in unit_table_text(result, load_config(xl_path))
    arts = {}
    with get_client(sync_client=True) as client:  # newest first: other tests publish the same keys
        for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="%-2026-10")),
                                       sort=ArtifactSort.CREATED_DESC):
            arts.setdefault(a.key, a)
    ward = "phuong-hoa-an-mo-phong"
    for prefix in ("chi-so-don-vi", "bieu-06", "bieu-06a", "tong-hop"):
        assert "Tệp Excel (excel)" in arts[f"{prefix}-{ward}-2026-10"].description, prefix
    officers = arts[f"chi-so-can-bo-{ward}-2026-10"]
    rows = json.loads(officers.data) if isinstance(officers.data, str) else officers.data
    assert len(rows) == 1 and "không có dữ liệu bước xử lý" in json.dumps(rows, ensure_ascii=False)
