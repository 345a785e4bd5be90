"""The sync's fast paths (issue 14) give exactly what the plain ones give: the JSON decoder, the
page's times read together, the store-fit screen, check_dossier's fast path, and the row hash
(a dossier stored under the old hash and unchanged is unchanged, not updated)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from cchc.connectors.http import decode_json
from cchc.connectors.store import Store
from cchc.connectors.store import repository as repo
from cchc.connectors.store.schema import dossiers, processing_steps
from cchc.domain import records
from cchc.domain.records import RecordError
from cchc.domain.wire import page_dates, parse_dossier
from cchc.simulator.ward import SyntheticWard

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def wire_records():
    ward = SyntheticWard(seed=9, n_dossiers=400, as_of=AS_OF, months=12)
    return [ward.canonical(i) for i in range(400)]


@pytest.mark.parametrize("body", [
    b'{"a": 1, "b": [1.5, -0.0, "x"], "c": null}', b'{"Gia": 1000000000000000000000000000000}',
    b'{"Gia": -9223372036854775809}', b'{"a": NaN, "b": Infinity}', '\ufeff{"a": "é"}'.encode(),
    '{"a": "ư"}'.encode("utf-16"), b'{"a": "\\ud800"}', b'{"a": 1, "a": 2}', b'[18446744073709551615]',
])
def test_decode_json_is_json_loads(body):
    want, got = json.loads(body), decode_json(body)
    assert repr(got) == repr(want)  # repr: NaN equals nothing, and 10**30 must stay an int


def test_decode_json_rejects_what_json_loads_rejects():
    for body in (b"{", b"not json", b'{"a": 1}x'):
        with pytest.raises(ValueError):
            decode_json(body)


def _parsed(raw, dates=None):
    try:
        return parse_dossier(raw, "provincial", None, dates)
    except RecordError as e:
        return ("error", e.field, e.reason, e.code)


def test_a_page_read_with_its_times_together_parses_as_record_by_record(wire_records):
    odd = dict(wire_records[0], NgayTiepNhan="20240230080000", NgayHenTra="٢٠٢٦٠١٠٢٠٣٠٤٠٥",
               NgayTra="2026010203040x", NgayKetThucXuLy=["20260102030405"], NgayNopHoSo=" 20260102030405")
    odd["QuaTrinhXuLy"] = [{"NguoiXuLy": "a", "ThoiDiemXuLy": "20240229235959", "NgayBatDau": "20250229000000"}]
    page = [*wire_records, odd, "not a record", dict(wire_records[1], NgayTiepNhan="20261301000000")]
    dates = page_dates(page)
    assert len(dates) > len(wire_records)  # most times were read together
    for raw in page:
        got, want = _parsed(raw, dates), _parsed(raw)
        assert got == want
        if not isinstance(got, tuple):  # the same instants in the same zone object
            assert [getattr(got, f).tzinfo for f in ("received_at", "due_at") if getattr(got, f)] == \
                   [getattr(want, f).tzinfo for f in ("received_at", "due_at") if getattr(want, f)]
    assert _parsed(odd)[1] == "NgayTiepNhan"  # 30 February: rejected, naming the field


def test_check_dossier_fast_path_changes_and_rejects_as_the_field_by_field_check(wire_records, monkeypatch):
    base = [parse_dossier(r, "provincial") for r in wire_records[:60]]
    d = base[0]
    odd = [replace(d, procedure_name="x" * 600), replace(d, field_code="Nghe\u0301"),
           replace(d, unit_code="U\x00"), replace(d, online_level=40000),
           replace(d, steps=(replace(d.steps[0], title="t" * 300),) if d.steps else ())]
    with_fast = [_checked(x) for x in base + odd]
    monkeypatch.setattr(records, "_fits_as_is", lambda _d: False)
    assert [_checked(x) for x in base + odd] == with_fast


def _checked(d):
    try:
        return records.check_dossier(d)
    except RecordError as e:
        return ("error", e.field, e.reason)


def test_the_column_screen_finds_every_row_misfit_finds(wire_records):
    from datetime import datetime

    ds = [parse_dossier(r, "provincial") for r in wire_records[:120]]
    rows = [repo.dossier_row(d, d.due_at, datetime(2026, 11, 20)) for d in ds]
    bad = {3: ("procedure_code", "P" * 40), 5: ("status", 40000), 8: ("field_name", "nul\x00"),
           9: ("fee_total", float("nan")), 11: ("fee_total", 2**70), 13: ("online_level", -40000),
           17: ("unit_code", "U" * 65)}
    for i, (name, value) in bad.items():
        rows[i][name] = value
    rows[20]["code"] = type("Code", (str,), {})("sub-class")  # a type the screen does not know: looked at
    flagged = repo._suspects(dossiers, rows)
    found = {i for i, r in enumerate(rows) if repo._misfit(dossiers, r)}
    assert found == set(bad) and found | {20} <= flagged and len(flagged) < len(rows) // 4
    steps = [s for d in ds for s in repo.step_rows(d)]
    steps[2]["officer"] = "o" * 200
    steps[4]["seq"] = 2**15
    flagged = repo._suspects(processing_steps, steps)
    assert {i for i, s in enumerate(steps) if repo._misfit(processing_steps, s)} == {2, 4} <= flagged


def test_a_dossier_stored_under_the_old_hash_and_unchanged_is_unchanged(tmp_path, wire_records):
    store = Store(f"sqlite:///{tmp_path}/s.sqlite")
    store.migrate()
    ds = [parse_dossier(r, "provincial") for r in wire_records[:50]]
    first = store.upsert_page("provincial", ds)
    assert first.inserted == 50
    with store.engine.begin() as conn:  # as the previous version stored them
        for d in ds:
            old = repo.legacy_row_hash(repo.dossier_row(d, d.due_at, repo.datetime.now()), d)
            conn.execute(dossiers.update().where(dossiers.c.code == d.code).values(row_hash=old))
    changed = replace(ds[0], procedure_name=ds[0].procedure_name + " (sửa)")
    again = store.upsert_page("provincial", [changed, *ds[1:]])
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 49)
    third = store.upsert_page("provincial", [changed, *ds[1:]])  # the new hashes are stored now
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, 50)
