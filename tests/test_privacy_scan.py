"""No applicant's personal data is stored, logged or published (issue 9, item 7; DOMAIN.md §2).

The simulator emits each applicant's name, ID number, phone, e-mail and address under the national
names, under NON-STANDARD names (HoTenNguoiNop, CCCD, SDT...), in a nested object and in free text
(a step's NoiDungXuLy, a component's name, a result's link, a note); a share of the records is
malformed, so they go to quarantine. After syncs and an Excel import, every table of the store,
every log line and every artifact is scanned for those values. The allow-list that makes it so is
`cchc.domain.wire.WIRE_ALLOW_LIST`; the last tests check that it covers what the parser reads.
"""

from __future__ import annotations

import ast
import inspect
import json
import logging
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from cchc.config import load_config
from cchc.connectors.provincial import rename_records
from cchc.connectors.store import Store
from cchc.domain import wire
from cchc.domain.wire import WIRE_ALLOW_LIST, allowed_fields, parse_dossier, quarantine_payload
from cchc.pipeline.ingest import store_page
from cchc.pipeline.sync import make_context, run_sources
from cchc.simulator.excel_export import PERSONAL_HEADERS, export_excel
from cchc.simulator.server import Faults, running
from cchc.simulator.ward import (
    EXTRA_PERSONAL_KEYS,
    PERSONAL_KEYS,
    PROVINCIAL_FIELD_MAP,
    SyntheticWard,
)

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
START = date(2026, 6, 1)
N = 300
FAULTS = "malformed=0.2,seed=5"


@pytest.fixture(autouse=True)
def _national_credentials(monkeypatch):
    monkeypatch.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    monkeypatch.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau-bi-mat-456")


def _ward() -> SyntheticWard:
    return SyntheticWard(seed=31, n_dossiers=N, as_of=AS_OF, months=6, extra_personal=True)


def _personal(ward: SyntheticWard) -> set[str]:
    values = {v for i in ward.select() for v in ward.personal_values(i)}
    assert len(values) > 4 * len(ward.select())  # names may repeat; the others are unique
    return values


def _cfg(tmp_path: Path, url: str, db_url: str):
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["sources"]["provincial"].update(base_url=url, page_size=50, start_date=START.isoformat(),
                                         backoff_s=0.01, timeout_s=5)
    data["sources"]["national"].update(base_url=url, backoff_s=0.01, timeout_s=5)
    data["database_url"] = db_url
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(p, env={}), p


def _hostile_export(ward: SyntheticWard, path: Path) -> None:
    """A one-stop export with applicant columns, and applicant values typed into known columns."""
    export_excel(ward, path, limit=60, personal_columns=True)
    wb = load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert set(PERSONAL_HEADERS) <= set(header)
    col = {h: header.index(h) + 1 for h in header}
    idx = list(ward.all_indices())
    for row, (known, k) in enumerate(
        [("Ngày tiếp nhận", 2), ("Ngày hẹn trả", 1), ("Số lần bổ sung", 0), ("Ngày tiếp nhận", 3),
         ("Trạng thái", 3), ("Kênh nộp", 2)], start=3):
        value = ward.personal_values(idx[row - 2])[k]  # the applicant of that very row
        ws.cell(row=row, column=col[known], value=value)
    wb.save(path)


def _scan(haystack: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in haystack)


def test_simulator_emits_applicant_data_under_unknown_names_and_in_free_text():
    ward = _ward()
    i = next(i for i in ward.select() if ward.canonical(i)["QuaTrinhXuLy"])
    rec, (name, ident, phone, email, addr) = ward.provincial(i), ward.personal_values(i)
    assert [rec[k] for k in EXTRA_PERSONAL_KEYS] == [name, ident, phone, email, addr]
    assert [rec[k] for k in PERSONAL_KEYS] == [name, ident, phone, email, addr]
    assert name in rec["QuaTrinhXuLy"][0]["NoiDungXuLy"] and ident in json.dumps(rec, ensure_ascii=False)
    assert phone in rec["GhiChu"] and rec["ThongTinNguoiNop"]["SoDinhDanh"] == ident
    assert "HoTenNguoiNop" not in wire.PERSONAL_FIELDS  # the old deny-list would have kept it
    assert "HoTenNguoiNop" not in SyntheticWard(seed=31, n_dossiers=N, as_of=AS_OF, months=6).canonical(i)


def test_nothing_personal_in_any_table_or_log_after_syncs_and_an_import(tmp_path, db_url, caplog):
    caplog.set_level(logging.DEBUG)
    ward = _ward()
    secrets = _personal(ward)
    with running(ward, faults=Faults.parse(FAULTS)) as url:
        cfg, _ = _cfg(tmp_path, url, db_url)
        store = Store(cfg.database_url)
        store.migrate()
        ctx = make_context(cfg, store)
        counts, errors = run_sources(ctx, AS_OF)
        assert errors == []
        counts2, errors = run_sources(ctx, AS_OF, full=True)  # a second pass: updates
        assert errors == []
    xlsx = tmp_path / "xuat.xlsx"
    _hostile_export(ward, xlsx)
    counts3, errors = run_sources(ctx, AS_OF, excel_file=str(xlsx))
    assert errors == []
    # Hostile records straight into the ingest path: personal data where the rules look.
    i = ward.select()[0]
    name, ident, phone, email, addr = ward.personal_values(i)
    base = ward.canonical(i)
    hostile = [
        {**base, "MaHoSo": "HOSTILE-1", "TrangThaiHoSo": {"HoTen": name, "CCCD": ident}},
        {**base, "MaHoSo": "HOSTILE-2", "NgayTiepNhan": phone},
        {**base, "MaHoSo": "HOSTILE-3", "NgayHenTra": ident, "DanhGiaHaiLong": email},
        {**base, "MaHoSo": "HOSTILE-4", "TenTTHC": [name, addr]},
        {**base, "MaHoSo": "HOSTILE-5", "QuaTrinhXuLy": [f"{name} {phone}"]},
        {**base, "MaHoSo": "HOSTILE-6", "MucDo": f"{name}, {addr}"[:19]},
        f"{name} {ident} {phone} {email} {addr}",
        [name, ident],
    ]
    store_page(store, "provincial", hostile, ctx.salt, ctx.calendar, None, run_id="hostile")

    assert counts.total("provincial")["quarantined"] > 0 and counts.total("national")["quarantined"] > 0
    assert counts3.total("excel")["quarantined"] >= 6
    rows = store.quarantine_rows()
    assert {"HOSTILE-1", "HOSTILE-2", "HOSTILE-3", "HOSTILE-4", "HOSTILE-5", "HOSTILE-6"} <= {
        r["record_key"] for r in rows}
    # Quarantine still says what is wrong and keeps the fields the rules use (a date, a unit).
    by_key = {r["record_key"]: r for r in rows}
    assert by_key["HOSTILE-2"]["field"] == "NgayTiepNhan" and by_key["HOSTILE-1"]["field"] == "TrangThaiHoSo"
    assert any(r["raw"] and r["raw"].get("DonViXuLy") for r in rows)

    dump = store.dump_text()
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    summary = json.dumps([c.to_dict() for c in (counts, counts2, counts3)], ensure_ascii=False)
    for where, text in (("store", dump), ("logs", logs), ("summary", summary)):
        found = _scan(text, secrets)
        assert found == [], (where, [text[max(0, text.find(v) - 300):text.find(v) + 80] for v in found][:2])
    assert "mat-khau-bi-mat-456" not in dump + logs
    for r in rows:  # only allow-listed keys (and an import's file/row) in quarantine
        assert set(r["raw"] or {}) <= set(WIRE_ALLOW_LIST) | {"file", "row"}


def test_nothing_personal_in_artifacts_or_command_output(tmp_path, db_url, capsys, caplog, monkeypatch,
                                                         prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from cchc.cli import main

    caplog.set_level(logging.INFO)
    ward = _ward()
    secrets = _personal(ward)
    with running(ward, faults=Faults.parse(FAULTS)) as url:
        cfg, path = _cfg(tmp_path, url, db_url)
        monkeypatch.setenv("CCHC_REPORTS_DIR", str(tmp_path / "reports"))
        assert main(["--config", str(path), "sync", "--today", AS_OF.isoformat()]) == 0
        assert main(["--config", str(path), "quarantine"]) == 0
    xlsx = tmp_path / "xuat.xlsx"
    _hostile_export(ward, xlsx)
    assert main(["--config", str(path), "import-excel", str(xlsx)]) == 0
    out = capsys.readouterr()
    assert "cách ly" in out.out
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="%dong-bo%")))
    assert arts
    blob = json.dumps([str(a.data) + str(a.description) for a in arts], ensure_ascii=False)
    logs = caplog.text
    for where, text in (("artifacts", blob), ("stdout", out.out), ("stderr", out.err), ("logs", logs),
                        ("store", Store(cfg.database_url).dump_text())):
        found = _scan(text, secrets)
        assert found == [], (where, [text[max(0, text.find(v) - 300):text.find(v) + 80] for v in found][:2])


# ------------------------------------------------------------------------- the allow-list itself


def _names_read_by_the_parser() -> set[str]:
    """Every wire-looking string literal in the parser's code (field names it reads)."""
    names = set()
    for fn in (wire.parse_dossier, wire._parse):
        for node in ast.walk(ast.parse(inspect.getsource(fn).lstrip())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                v = node.value
                if v[:1].isupper() and v.isidentifier() and v.isascii() and any(c.islower() for c in v):
                    names.add(v)
    return names


def test_the_allow_list_covers_every_field_the_parser_reads():
    allowed = set(WIRE_ALLOW_LIST) | {k for keys in WIRE_ALLOW_LIST.values() if keys for k in keys}
    read = _names_read_by_the_parser()
    assert {"MaHoSo", "NgayTuChoi", "DanhSachLePhi", "Gia", "DuocSoHoa", "NguoiXuLy"} <= read
    assert read - allowed - {wire.HASHED_FIELD} == set()
    assert "NoiDungXuLy" not in allowed | read  # free text is never read nor kept
    assert not allowed & (wire.PERSONAL_FIELDS | set(EXTRA_PERSONAL_KEYS))


def test_parsing_the_allow_listed_part_gives_the_same_dossier():
    ward = _ward()
    for i in ward.select()[::3]:
        for raw in (ward.canonical(i), ward.national(i)):
            if raw is None:
                continue
            assert parse_dossier(allowed_fields(raw), "provincial") == parse_dossier(raw, "provincial")


def test_field_map_is_applied_before_the_allow_list():
    ward = _ward()
    fmap = {v: k for k, v in PROVINCIAL_FIELD_MAP.items()}  # provincial -> canonical (demo.yaml's)
    i = ward.select()[5]
    raw = ward.provincial(i)
    assert "MaHoSo" not in raw and allowed_fields(raw).get("MaHoSo") is None
    (mapped,) = rename_records([raw], fmap)
    kept = allowed_fields(mapped)
    assert kept["MaHoSo"] == ward.code(i) and kept["TrangThaiHoSo"] == ward.status_at(i)
    assert parse_dossier(kept, "provincial") == parse_dossier(ward.canonical(i), "provincial")


def test_quarantine_payload_keeps_presence_not_links_and_drops_non_objects():
    raw = {"MaHoSo": "X", "DanhSachGiayToKetQua": [{"TenGiayTo": "của Nguyễn Văn A",
                                                     "DuongDanTepTinKetQua": "https://x/Nguyen-Van-A.pdf"}],
           "NgayTiepNhan": "0912345678", "CCCD": "001099012345", "file": "xuat.xlsx", "row": 7}
    assert quarantine_payload(raw) == {"MaHoSo": "X", "DanhSachGiayToKetQua": [{"DuongDanTepTinKetQua": "(có)"}],
                                       "NgayTiepNhan": "***", "file": "xuat.xlsx", "row": 7}
    assert quarantine_payload("Nguyễn Văn A 0912345678") is None
    assert quarantine_payload(["Nguyễn Văn A"]) is None


def test_migration_0008_scrubs_quarantine_rows_written_before_the_allow_list(db_url):
    """A store quarantined raw records before the allow-list (names, phones, ID numbers in `raw` and in
    the reason): upgrading to 0008 keeps only what the allow-list keeps today."""
    from datetime import datetime

    from sqlalchemy import insert, select

    from cchc.connectors.store import Store
    from cchc.connectors.store.schema import quarantine

    store = Store(db_url)
    store.migrate("0007")
    old_raw = {"MaHoSo": "H99.01-261001-0001", "HoTenNguoiNop": "Nguyễn Văn Công Dân", "SDT": "0912345678",
               "NgayTiepNhan": "gọi 0912345678 bà Lê Thị Hoa", "file": "xuat.xlsx", "row": 7,
               "ChuHoSo": {"CCCD": "079123456789", "DiaChi": "12 Lý Thường Kiệt"}}
    now = datetime(2026, 10, 1, 8)
    with store.engine.begin() as conn:
        conn.execute(insert(quarantine).values(source="excel", record_key="H99.01-261001-0001",
                                               field="NgayTiepNhan", reason="ngày không hợp lệ: 0912345678",
                                               raw=old_raw, raw_hash="x" * 32, first_seen=now, last_seen=now))
        conn.execute(insert(quarantine).values(source="provincial", record_key=None, field="", reason="không phải "
                                               "đối tượng JSON", raw=None, raw_hash="y" * 32, first_seen=now,
                                               last_seen=now))
    store.migrate("0008")
    assert store.revision() == "0008"
    with store.engine.connect() as conn:
        rows = {r.raw_hash: r for r in conn.execute(select(quarantine))}
    kept = rows["x" * 32]
    text = repr(kept.raw) + kept.reason
    for value in ("Nguyễn Văn Công Dân", "0912345678", "079123456789", "Lý Thường Kiệt", "Lê Thị Hoa"):
        assert value not in text
    assert kept.raw["MaHoSo"] == "H99.01-261001-0001" and kept.raw["row"] == 7 and kept.raw["file"] == "xuat.xlsx"
    assert "NgayTiepNhan" in kept.raw and kept.field == "NgayTiepNhan"
    assert rows["y" * 32].raw is None
    store.dispose()
