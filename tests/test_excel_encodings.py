"""CSV encodings, date-format messages and the import's error count (issue 9, "Smaller"): a BOM
file with a character across byte 65,536 imports; UTF-16 with a BOM imports; other encodings get a
message naming the accepted ones, or are read with `encoding=`; two-digit years say what is
expected; more than 200 bad rows say how many more."""

from __future__ import annotations

import codecs
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import yaml

from cchc.connectors.excel_import import ExcelFormatError, read_export

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Mã hồ sơ;Tên TTHC;Ngày tiếp nhận;Trạng thái\n"


def _rows(n: int, name: str = "Đăng ký khai sinh cho trẻ em đồng bào") -> str:
    return "".join(f"HS{i:05d};{name};01/03/2026;Đã trả kết quả\n" for i in range(n))


def _straddling(prefix: bytes) -> bytes:
    """A CSV (after `prefix`) whose byte 65,536 falls inside a multi-byte character."""
    for pad in range(64):
        t = HEADER + f"HS99999;{'x' * pad};01/03/2026;10\n" + _rows(1000)
        data = prefix + t.encode("utf-8")
        if 0x80 <= data[65536] <= 0xBF:  # a continuation byte: its character began before 65,536
            return data
    raise AssertionError("no padding puts a character across byte 65,536")


@pytest.mark.parametrize("prefix", [codecs.BOM_UTF8, b""], ids=["bom", "no-bom"])
def test_a_character_across_byte_65536_is_not_an_encoding_error(tmp_path, prefix):
    p = tmp_path / "lon.csv"
    p.write_bytes(_straddling(prefix))
    result = read_export(p)
    assert result.errors == [] and len(result.dossiers) == 1001
    assert result.columns_mapped["Mã hồ sơ"] == "Mã hồ sơ"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_bom_imports(tmp_path, codec):
    bom = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[codec]
    p = tmp_path / "u16.csv"
    p.write_bytes(bom + (HEADER + _rows(3)).encode(codec))
    result = read_export(p)
    assert result.errors == [] and [d.code for d in result.dossiers] == ["HS00000", "HS00001", "HS00002"]
    assert result.dossiers[0].procedure_name == "Đăng ký khai sinh cho trẻ em đồng bào"


def test_utf16_without_a_bom_says_which_encodings_are_accepted(tmp_path):
    p = tmp_path / "u16le.csv"
    p.write_bytes((HEADER + _rows(3)).encode("utf-16-le"))
    with pytest.raises(ExcelFormatError) as e:
        read_export(p)
    msg = str(e.value)
    assert "u16le.csv" in msg and "UTF-16" in msg and "UTF-8 (có hoặc không có BOM)" in msg


def _cp1258(s: str) -> bytes:
    """Vietnamese text as Windows-1258 writes it: base letters precomposed, tone marks combining."""
    out = b""
    for ch in s:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", ch)
        base = d[0] + "".join(m for m in d[1:] if m in "\u0302\u0306\u031b")  # â ê ô ă ơ ư
        tones = "".join(m for m in d[1:] if m not in "\u0302\u0306\u031b")
        out += unicodedata.normalize("NFC", base).encode("cp1258") + tones.encode("cp1258")
    return out


def test_cp1258_is_rejected_clearly_then_read_with_encoding(tmp_path):
    p = tmp_path / "cp.csv"
    p.write_bytes(_cp1258(HEADER + _rows(4)))
    with pytest.raises(ExcelFormatError) as e:
        read_export(p)
    msg = str(e.value)
    assert "cp.csv" in msg and "UTF-8 (có hoặc không có BOM) hoặc UTF-16 có BOM" in msg and "--encoding" in msg
    assert "\n" not in msg
    result = read_export(p, encoding="cp1258")
    assert result.errors == [] and len(result.dossiers) == 4
    assert unicodedata.normalize("NFC", result.dossiers[0].procedure_name) == "Đăng ký khai sinh cho trẻ em đồng bào"
    assert result.dossiers[0].status == 10


def test_cp1252_bytes_after_the_first_64k_are_one_clear_error(tmp_path):
    p = tmp_path / "late.csv"
    p.write_bytes((HEADER + _rows(1500, "Thu tuc A")).encode("utf-8") + "HS99999;Café;01/03/2026;10\n".encode("cp1252"))
    with pytest.raises(ExcelFormatError) as e:
        read_export(p)
    assert "late.csv" in str(e.value) and "dòng 1502" in str(e.value) and "--encoding" in str(e.value)


def test_an_unknown_encoding_name_is_one_clear_error(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes((HEADER + _rows(1)).encode("utf-8"))
    with pytest.raises(ExcelFormatError, match="không biết bảng mã 'tcvn-3'"):
        read_export(p, encoding="tcvn-3")
    assert read_export(p, encoding="UTF8").errors == []


@pytest.mark.parametrize(
    ("cell", "expect"),
    [
        ("01/03/26", "năm phải đủ 4 chữ số (dd/mm/yyyy)"),
        ("1/3/26 08:30", "năm phải đủ 4 chữ số"),
        ("2026/3", "định dạng nhận: dd/mm/yyyy [HH:MM[:SS]], yyyy-mm-dd"),
        ("31/02/2026", None),  # a known format with an impossible date: just "not valid"
    ],
)
def test_date_errors_say_which_format_is_expected(tmp_path, cell, expect):
    p = tmp_path / "d.csv"
    p.write_text(HEADER + f"HS1;Thủ tục;{cell};10\n", encoding="utf-8")
    (err,) = read_export(p).errors
    assert err.reason.startswith(f"ngày không hợp lệ: '{cell}'")
    if expect:
        assert expect in err.reason
    else:
        assert err.reason == f"ngày không hợp lệ: '{cell}'"


def test_more_than_200_bad_rows_say_how_many_more(tmp_path, sqlite_url, capsys):
    from cchc.cli.output import print_sync_summary as _print_sync_summary
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.sync import make_context, run_sources
    from cchc.pipeline.sync import sync_summary as _summary

    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = sqlite_url
    cfg_path = tmp_path / "ward.yaml"
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(cfg_path, env={})
    p = tmp_path / "xau.csv"
    p.write_text(HEADER + "".join(f"HS{i};Thủ tục;01/03/26;10\n" for i in range(260)) + "OK1;Thủ tục;01/03/2026;10\n",
                 encoding="utf-8")
    store = Store(cfg.database_url)
    store.migrate()
    counts, errors = run_sources(make_context(cfg, store), date(2026, 3, 20), excel_file=str(p))
    assert errors == []
    summary = _summary(counts, store, errors)
    assert len(summary["row_errors"]) == 200 and summary["row_errors_total"] == 260
    assert store.count_quarantine("excel") == 260 and summary["total"] == 1
    _print_sync_summary(summary)
    out = capsys.readouterr().out
    assert "Các dòng lỗi: 260 (hiện 50 lỗi đầu)" in out
    assert "... và 210 lỗi khác — xem đủ bằng: cchc quarantine --source excel --limit 260" in out


def test_the_import_flow_passes_the_encoding_on(tmp_path, sqlite_url):
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.sync import make_context, run_sources

    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = sqlite_url
    cfg_path = tmp_path / "ward.yaml"
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(cfg_path, env={})
    p = tmp_path / "cp.csv"
    p.write_bytes(_cp1258(HEADER + _rows(3)))
    store = Store(cfg.database_url)
    store.migrate()
    ctx = make_context(cfg, store)
    with pytest.raises(ExcelFormatError, match="cp.csv.*--encoding"):
        run_sources(ctx, date(2026, 3, 20), excel_file=str(p))
    counts, errors = run_sources(ctx, date(2026, 3, 20), excel_file=str(p), excel_encoding="cp1258")
    assert errors == [] and store.count_dossiers("excel") == 3
