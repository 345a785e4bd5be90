"""Inspection planning through the command line (issue 11): `cchc plan` (the plan_inspections flow
under the session Prefect harness), `draw`, `verify-selection`, `complaint`, `spot-check`,
`finding`, on a small simulated ward synced without orchestration."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from docx import Document
from factories import synced_ward
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from cchc.cli import main
from cchc.connectors.store import Store
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
WARD = "phuong-hoa-an-mo-phong"
SOURCES = ["--source", "9319", "--source", "2, 5, 12, 8, 10"]
RFC_ARGS = ["--source", "9319", "--source", "2, 5, 12, 8, 10", "--source", "9, 18, 26, 34, 41, 45"]
RFC_FIRST_TEN = [17, 7, 2, 16, 25, 23, 8, 24, 19, 13]  # RFC 3797 §6 (tests/test_draw.py: RFC_TABLE)


@pytest.fixture(scope="module")
def ward_env(tmp_path_factory, prefect_harness):
    tmp = tmp_path_factory.mktemp("inspections")
    mp = pytest.MonkeyPatch()
    mp.setenv("CCHC_NATIONAL_USERNAME", "kiemtra")
    mp.setenv("CCHC_NATIONAL_PASSWORD", "mat-khau")
    ward = SyntheticWard(seed=11, n_dossiers=600, as_of=AS_OF, months=12)
    cfg, path = synced_ward(tmp, ward, AS_OF, ROOT)
    mp.setenv("CCHC_CONFIG", str(path))
    mp.setenv("CCHC_REPORTS_DIR", str(tmp / "reports"))
    yield {"cfg": cfg, "path": path, "tmp": tmp, "ward": ward}
    mp.undo()


@pytest.fixture(scope="module")
def planned(ward_env):
    """The plan_inspections flow once for the module (what `cchc plan --year 2026` runs)."""
    from cchc.flows.plan_inspections import plan_inspections

    return plan_inspections(sources=SOURCES[1::2], year=2026, config_path=str(ward_env["path"]))


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _plan(capsys, *extra) -> dict:
    code, out, err = run(capsys, "plan", "--year", "2026", *extra, "--json")
    assert code == 0, err
    return json.loads(out)


# --- draw --------------------------------------------------------------------------------------
def test_draw_reproduces_the_rfc_worked_example(capsys):
    code, out, _ = run(capsys, "draw", "--pool-size", "25", "--count", "10", *RFC_ARGS, "--json")
    assert code == 0
    assert json.loads(out) == {"key": "9319./2.5.8.10.12./9.18.26.34.41.45./", "selected": RFC_FIRST_TEN}
    code, out, _ = run(capsys, "draw", "--pool-size", "25", "--count", "3", *RFC_ARGS)
    assert code == 0 and "9319./2.5.8.10.12./9.18.26.34.41.45./" in out and "17, 7, 2" in out
    changed = ["9318" if a == "9319" else a for a in RFC_ARGS]  # one source changed: another draw
    code, out2, _ = run(capsys, "draw", "--pool-size", "25", "--count", "10", *changed, "--json")
    other = json.loads(out2)
    assert other["key"] == "9318./2.5.8.10.12./9.18.26.34.41.45./" and other["selected"] != RFC_FIRST_TEN


def test_a_command_without_a_flow_does_not_import_prefect():
    """`cchc draw` (as `stats`, `bench`, `verify-selection`) runs no flow: Prefect, 40 MB and most of
    a second to import, stays out of the process (a fresh interpreter, the real entry point)."""
    import subprocess
    import sys

    probe = ("import sys\nfrom cchc.cli import main\ncode = main(sys.argv[1:])\n"
             "print('prefect' in sys.modules, file=sys.stderr)\nsys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, "draw", "--pool-size", "25", "--count", "3", *RFC_ARGS],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "17, 7, 2" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("args", [
    ["--pool-size", "25", "--count", "3"],  # no source
    ["--pool-size", "3", "--count", "5", "--source", "1"],  # more than the pool
    ["--pool-size", "3", "--count", "1", "--source", "ab"],  # not a number
])
def test_draw_refuses_in_one_line(capsys, args):
    code, out, err = run(capsys, "draw", *args)
    assert code == 1 and out == ""
    assert err.startswith("Lỗi / error: ") and err.count("\n") == 1 and "Traceback" not in err


# --- plan --------------------------------------------------------------------------------------
def test_plan_two_of_three_per_wave_on_working_days(ward_env, planned, capsys):
    cfg = ward_env["cfg"]
    cal = cfg.make_calendar()
    result = _plan(capsys, *SOURCES)
    assert set(planned) >= set(result)
    assert set(result) >= {"selection_id", "waves"}
    waves = cfg.inspection.waves
    assert len(result["waves"]) == len(waves) == 2
    for w, conf in zip(result["waves"], waves, strict=True):
        assert (w["start"], w["end"]) == (conf.start.isoformat(), conf.end.isoformat())
        units = [v["unit"] for v in w["visits"]]
        assert len(units) == 2 and len(set(units)) == 2 and set(units) <= set(cfg.inspection.pool)
        for v in w["visits"]:
            visit, notice, due = (date.fromisoformat(v[k]) for k in ("visit_date", "notice_date", "report_due"))
            assert conf.start <= visit <= conf.end
            assert notice < visit and due < visit
            for d in (visit, notice, due):
                assert cal.is_working_day(d), d
            assert v["reasons"] and "RFC 3797" in v["reasons"][0]
    # the same inputs give the same selection, stored once (the stored one is reused); another source
    # another key
    again = planned
    assert [[v["unit"] for v in w["visits"]] for w in again["waves"]] == \
           [[v["unit"] for v in w["visits"]] for w in result["waves"]]
    assert again["selection_id"] == result["selection_id"]
    assert [w["selection_id"] for w in again["waves"]] == [w["selection_id"] for w in result["waves"]]
    other = _plan(capsys, "--wave", "1", "--source", "1234")
    assert len(other["waves"]) == 1 and other["waves"][0]["notes"] != result["waves"][0]["notes"]


def test_plan_refuses_without_sources_in_one_line(ward_env, capsys):
    code, out, err = run(capsys, "plan", "--year", "2026")
    assert code == 1 and err.count("\n") == 1 and "--source" in err
    code, _, err = run(capsys, "plan", "--year", "2025", *SOURCES)
    assert code == 1 and "2025" in err and err.count("\n") == 1


def test_plan_text_names_the_visits(ward_env, capsys):
    code, out, err = run(capsys, "plan", "--year", "2026", "--wave", "2", *SOURCES)
    assert code == 0, err
    assert "Đợt 2 (20/10/2026–25/10/2026)" in out and "cchc verify-selection" in out
    assert f"ke-hoach-kiem-tra-{WARD}-2026" in out


def _latest_plan_id(cfg) -> int:
    engine = create_engine(cfg.database_url)
    with engine.connect() as conn:
        sid = conn.execute(text("SELECT max(id) FROM inspection_selections WHERE kind = 'periodic' "
                                "AND parent_id IS NULL AND wave IS NULL")).scalar()
    engine.dispose()
    return int(sid)


def test_verify_selection_ok_then_detects_tampering(ward_env, planned, capsys):
    cfg = ward_env["cfg"]
    sid = _latest_plan_id(cfg)
    code, out, _ = run(capsys, "verify-selection", str(sid))
    assert code == 0 and out.startswith("KHỚP") and out.count("\n") == 1
    engine = create_engine(cfg.database_url)
    with engine.begin() as conn:
        wave_id, result, pool = conn.execute(text("SELECT id, result, pool FROM inspection_selections WHERE "
                                                  "parent_id = :p AND wave = 1"), {"p": sid}).one()
        result = json.loads(result) if isinstance(result, str) else result
        pool = json.loads(pool) if isinstance(pool, str) else pool
        tampered = [p for p in range(1, len(pool) + 1) if p not in result][:1] + result[1:]
        conn.execute(text("UPDATE inspection_selections SET result = :r WHERE id = :i"),
                     {"r": json.dumps(tampered), "i": wave_id})
    code, out, _ = run(capsys, "verify-selection", str(sid))
    assert code == 1 and out.startswith("KHÔNG KHỚP") and out.count("\n") == 1
    with engine.begin() as conn:  # result put back, the pool reordered: caught too
        conn.execute(text("UPDATE inspection_selections SET result = :r, pool = :p WHERE id = :i"),
                     {"r": json.dumps(result), "p": json.dumps(list(reversed(pool))), "i": wave_id})
    code, out, _ = run(capsys, "verify-selection", str(sid))
    assert code == 1 and out.startswith("KHÔNG KHỚP")
    with engine.begin() as conn:
        conn.execute(text("UPDATE inspection_selections SET pool = :p WHERE id = :i"),
                     {"p": json.dumps(pool), "i": wave_id})
    engine.dispose()
    code, out, _ = run(capsys, "verify-selection", str(sid))
    assert code == 0
    code, _, err = run(capsys, "verify-selection", "99999")
    assert code == 1 and err.count("\n") == 1 and "99999" in err


def test_verify_selection_against_the_notice_catches_a_consistent_forgery(ward_env, planned, capsys):
    """The wave's notice prints its selection id, key and the first digits of the pool's SHA-256.
    A store forged consistently (two pool entries swapped with their tickets, the digest and the
    reasons recomputed) still recomputes; checked against the notice's values, it does not."""
    import re

    from cchc.domain.draw import pool_digest

    notice = ward_env["tmp"] / "reports" / "2026" / f"thong-bao-kiem-tra-{WARD}-2026-dot-1.docx"
    printed = _docx_text(notice)
    m = re.search(r"khóa (\S+), SHA-256 danh sách ([0-9a-f]{16})…\), mã lựa chọn (\d+)", printed)
    assert m, printed
    key, sha, wave_id = m.group(1), m.group(2), m.group(3)
    code, out, _ = run(capsys, "verify-selection", wave_id, "--sha256", sha + "…", "--key", key)
    assert code == 0 and out.startswith("KHỚP") and "khớp với thông báo đã công bố" in out and out.count("\n") == 1
    engine = create_engine(ward_env["cfg"].database_url)
    load = lambda v: json.loads(v) if isinstance(v, str) else v  # noqa: E731
    with engine.connect() as conn:  # a plan of two waves: which wave's notice?
        plan_id, wave = conn.execute(text("SELECT parent_id, MIN(id) FROM inspection_selections WHERE parent_id IS "
                                          "NOT NULL GROUP BY parent_id HAVING COUNT(*) > 1")).first()
    code, out, err = run(capsys, "verify-selection", str(plan_id), "--sha256", sha)
    assert code == 1 and out == "" and err.count("\n") == 1 and str(wave) in err and "đợt" in err
    with engine.connect() as conn:
        row = conn.execute(text("SELECT pool, tickets, result, reasons, pool_sha256 FROM inspection_selections "
                                "WHERE id = :i"), {"i": int(wave_id)}).one()
    pool, tickets, result, reasons = (load(v) for v in row[:4])
    first, spare = result[0] - 1, next(i for i in range(len(pool)) if i + 1 not in result)
    fake_pool, fake_tickets = list(pool), list(tickets)
    fake_pool[first], fake_pool[spare] = pool[spare], pool[first]
    fake_tickets[first], fake_tickets[spare] = tickets[spare], tickets[first]
    fake_reasons = [{**r, "item": fake_pool[first]} if r.get("draw_order") == 1 else r for r in reasons]
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE inspection_selections SET pool = :p, tickets = :t, reasons = :r, "
                              "pool_sha256 = :h WHERE id = :i"),
                         {"p": json.dumps(fake_pool), "t": json.dumps(fake_tickets), "r": json.dumps(fake_reasons),
                          "h": pool_digest(fake_pool, fake_tickets), "i": int(wave_id)})
        code, out, _ = run(capsys, "verify-selection", wave_id)
        assert code == 0 and out.startswith("KHỚP")  # consistent: recomputing alone cannot tell
        code, out, _ = run(capsys, "verify-selection", wave_id, "--sha256", sha, "--key", key)
        assert code == 1 and out.startswith("KHÔNG KHỚP") and "không phải danh sách đã công bố" in out
        code, out, _ = run(capsys, "verify-selection", wave_id, "--sha256", sha)
        assert code == 1 and out.startswith("KHÔNG KHỚP") and sha in out
        code, out, _ = run(capsys, "verify-selection", wave_id, "--key", key + "1.")
        assert code == 1 and "khóa" in out
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE inspection_selections SET pool = :p, tickets = :t, reasons = :r, "
                              "pool_sha256 = :h WHERE id = :i"),
                         {"p": json.dumps(pool), "t": json.dumps(tickets), "r": json.dumps(reasons), "h": row[4],
                          "i": int(wave_id)})
        engine.dispose()
    code, out, err = run(capsys, "verify-selection", wave_id, "--sha256", sha[:8])
    assert code == 1 and out == "" and "ít nhất 12" in err and err.count("\n") == 1


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def test_files_exist_open_and_carry_no_personal_data(ward_env, planned, capsys):
    cfg = ward_env["cfg"]
    folder = ward_env["tmp"] / "reports" / "2026"
    notices = sorted(folder.glob(f"thong-bao-kiem-tra-{WARD}-2026-dot-*.docx"))
    sheets = sorted(folder.glob(f"phieu-kiem-tra-{WARD}-2026-dot-*.docx"))
    samples = sorted(folder.glob(f"mau-ho-so-{WARD}-2026-dot-*.xlsx"))
    assert [p.name[-10:] for p in notices] == ["dot-1.docx", "dot-2.docx"]
    assert len(sheets) >= 4 and len(samples) >= 4
    names = {u.code: u.name for u in cfg.units}
    blob = []
    for p in notices:
        t = _docx_text(p)
        assert "THÔNG BÁO" in t and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in t
        blob.append(t)
    for p in sheets:
        t = _docx_text(p)
        unit = p.stem.rsplit("-", 1)[1].upper()
        assert names[unit] in t
        blob.append(t)
    for p in samples:
        wb = load_workbook(p, read_only=True)
        cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        wb.close()
        assert "Mã hồ sơ" in cells and "Lý do chọn" in cells
        blob.append("\n".join(cells))
    text_all = "\n".join(blob)
    ward = ward_env["ward"]
    for i in range(0, 600, 3):
        for value in ward.personal_values(i):
            assert value not in text_all


def test_plan_artifacts_have_stable_keys(ward_env, planned):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=f"%{WARD}-2026%")))}
    assert {f"ke-hoach-kiem-tra-{WARD}-2026", f"lua-chon-{WARD}-2026-dot-1", f"lua-chon-{WARD}-2026-dot-2",
            f"ket-luan-{WARD}-2026"} <= keys
    assert any(k.startswith(f"mau-ho-so-{WARD}-2026-dot-1-") for k in keys)


# --- complaints and spot checks -----------------------------------------------------------------
def test_complaint_fires_a_spot_check(ward_env, capsys):
    code, out, err = run(capsys, "complaint", "add", "--unit", "KTHTDT", "--procedure", "1.001", "--summary",
                         "Trả kết quả chậm, liên hệ 0912345678", "--date", "2026-11-10")
    assert code == 0, err
    code, out, err = run(capsys, "spot-check", "--today", AS_OF.isoformat(), "--source", "42", "--json")
    assert code == 0, err
    result = json.loads(out)
    fired = [t for t in result["triggers"] if t["unit"] == "KTHTDT" and t["kind"] == "complaint"]
    assert fired and "10/11/2026" in fired[0]["reason"]
    assert "0912345678" not in out
    assert any(t["kind"] == "random" for t in result["triggers"]) and result["key"] == "42./"


def test_leadership_request_and_refusals(ward_env, capsys):
    code, out, err = run(capsys, "spot-check", "--unit", "VP", "--reason", "Lãnh đạo yêu cầu kiểm tra",
                         "--today", AS_OF.isoformat(), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"unit": "VP", "kind": "leadership", "reason": "lãnh đạo yêu cầu: Lãnh đạo yêu cầu kiểm tra",
            "fired_on": AS_OF.isoformat()} in result["triggers"]
    code, _, err = run(capsys, "spot-check", "--today", AS_OF.isoformat())  # random share, no source
    assert code == 1 and err.count("\n") == 1 and "--source" in err
    code, _, err = run(capsys, "spot-check", "--unit", "XX", "--reason", "x")
    assert code == 1 and err.count("\n") == 1 and "XX" in err


def test_spot_check_run_records_every_trigger_with_kind_and_day(ward_env, capsys, tmp_path):
    """One spot_check run in which all four kinds fire: every trigger is stored (`spot_checks`, one row
    each, under the run's selection) with its kind, reason and day — a threshold per indicator crossed,
    the complaints (on the day of the latest), the leadership request and the random pick (today)."""
    from cchc.connectors.store.inspections import Inspections
    from cchc.domain.inspection_risk import INDICATOR_LABELS
    from cchc.flows.spot_check import spot_check

    data = yaml.safe_load(ward_env["path"].read_text(encoding="utf-8"))
    data["inspection"]["spot_check"]["thresholds"] = {"overdue_pending": -1, "late_without_apology": -1}
    path = tmp_path / "ward-thresholds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, _, err = run(capsys, "complaint", "add", "--unit", "TTPVHCC", "--summary", "Chậm trả kết quả",
                       "--date", "2026-11-12")
    assert code == 0, err
    result = spot_check(sources=["42"], unit="VP", reason="Chủ tịch yêu cầu", today=AS_OF.isoformat(),
                        config_path=str(path))
    store = Store(ward_env["cfg"].database_url)
    stored = [r for r in Inspections(store).spot_checks() if r.selection_id == result["selection_id"]]
    store.dispose()
    got = sorted((r.unit_code, r.trigger_kind, r.reason, r.fired_on.isoformat()) for r in stored)
    assert got == sorted((t["unit"], t["kind"], t["reason"], t["fired_on"]) for t in result["triggers"])
    by_kind: dict[str, list] = {}
    for unit, kind, reason, day in got:
        by_kind.setdefault(kind, []).append((unit, reason, day))
    pool = ward_env["cfg"].inspection.pool
    for unit in pool:  # every count is above -1: each indicator's threshold fires for every unit
        reasons = [r for u, r, _ in by_kind["threshold"] if u == unit]
        assert len(reasons) == 2 and all(d == AS_OF.isoformat() for u, _, d in by_kind["threshold"])
        assert any(INDICATOR_LABELS["overdue_pending"] in r for r in reasons)
        assert any(INDICATOR_LABELS["late_without_apology"] in r for r in reasons)
    assert ("TTPVHCC", "2026-11-12") in {(u, d) for u, _, d in by_kind["complaint"]}
    assert by_kind["leadership"] == [("VP", "lãnh đạo yêu cầu: Chủ tịch yêu cầu", AS_OF.isoformat())]
    assert len(by_kind["random"]) == 1 and by_kind["random"][0][0] in pool
    assert by_kind["random"][0][2] == AS_OF.isoformat() and result["key"] == "42./"


def test_complaint_import_keeps_no_identity(ward_env, capsys, tmp_path):
    path = tmp_path / "phan-anh.csv"
    path.write_text("Mã đơn vị,Ngày tiếp nhận,Nội dung,Họ tên người phản ánh\n"
                    "VP,05/11/2026,Hồ sơ chậm,Nguyễn Văn Bí Mật\nZZ,05/11/2026,x,y\n", encoding="utf-8")
    code, out, err = run(capsys, "complaint", "import", str(path))
    assert code == 0, err
    assert "1/2" in out and "ZZ" in out
    engine = create_engine(ward_env["cfg"].database_url)
    with engine.connect() as conn:
        rows = [" ".join(str(v) for v in r) for r in conn.execute(text("SELECT * FROM complaints"))]
    engine.dispose()
    assert rows and not any("Bí Mật" in r for r in rows)


# --- findings ------------------------------------------------------------------------------------
def test_findings_add_list_update_import(ward_env, capsys, tmp_path):
    code, out, err = run(capsys, "finding", "add", "--unit", "VP", "--finding", "Thiếu phiếu xin lỗi",
                         "--remediation", "Bổ sung phiếu", "--deadline", "2026-11-01")
    assert code == 0, err
    fid = int(out.split("số ")[1].split()[0])
    code, out, _ = run(capsys, "finding", "list", "--unit", "VP", "--json")
    mine = next(f for f in json.loads(out) if f["id"] == fid)
    assert mine["status"] == "overdue" and mine["deadline"] == "2026-11-01"  # before the ward's today
    code, out, _ = run(capsys, "finding", "update", str(fid), "--status", "done")
    assert code == 0
    code, out, _ = run(capsys, "finding", "list", "--status", "done", "--json")
    assert fid in [f["id"] for f in json.loads(out)]
    path = tmp_path / "ket-luan.csv"
    path.write_text("Mã đơn vị,Tồn tại, hạn chế,Hạn khắc phục\nKTHTDT,Chưa công khai TTHC,30/12/2026\n"
                    .replace("Tồn tại, hạn chế", "\"Tồn tại, hạn chế\""), encoding="utf-8")
    code, out, err = run(capsys, "finding", "import", str(path))
    assert code == 0 and "1/1" in out, err
    code, out, _ = run(capsys, "finding", "list")
    assert "Chưa công khai TTHC" in out
    code, _, err = run(capsys, "finding", "update", "99999", "--status", "done")
    assert code == 1 and err.count("\n") == 1 and "99999" in err
