"""The deterministic ward simulator (cchc.simulator): data, HTTP APIs, faults, Excel."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import requests
from openpyxl import load_workbook

from cchc.domain.records import RecordError, Status
from cchc.domain.wire import PERSONAL_FIELDS, dossier_to_wire, parse_dossier
from cchc.simulator import (
    DEFAULT_OFFICERS,
    DEFAULT_UNITS,
    EXCEL_HEADERS,
    PERSONAL_KEYS,
    PROVINCIAL_FIELD_MAP,
    Faults,
    SyntheticWard,
    export_excel,
    make_server,
    running,
)

AS_OF = date(2026, 3, 13)  # a Friday
TO_CANONICAL = {v: k for k, v in PROVINCIAL_FIELD_MAP.items()}


def canonical_of(provincial: dict) -> dict:
    return {TO_CANONICAL.get(k, k): v for k, v in provincial.items()}


def received_date(rec: dict) -> date:
    s = rec["NgayTiepNhan"] or rec["NgayTuChoi"]
    return date(int(s[:4]), int(s[4:6]), int(s[6:8]))


@pytest.fixture(scope="module")
def big() -> SyntheticWard:
    return SyntheticWard(seed=7, n_dossiers=20000, as_of=AS_OF)


@pytest.fixture(scope="module")
def big_parsed(big):
    return [parse_dossier(big.canonical(i), "provincial") for i in big.all_indices()]


@pytest.fixture(scope="module")
def small() -> SyntheticWard:
    return SyntheticWard(seed=11, n_dossiers=1500, as_of=AS_OF, months=3)


@pytest.fixture(scope="module")
def server_url(small):
    with running(small) as url:
        yield url


# ---------------------------------------------------------------- the ward


def test_reference_data_matches_demo_config() -> None:
    assert [u.national_id for u in DEFAULT_UNITS] == [
        "H99.99.01",
        "H99.99.02",
        "H99.99.03",
        "H99.99.04",
        "H99.99.04.01",
    ]
    assert ("ht.mai", "TTPVHCC-HT") in {(o.username, o.unit) for o in DEFAULT_OFFICERS}
    assert len(DEFAULT_OFFICERS) == 12
    procs = SyntheticWard(n_dossiers=10, as_of=AS_OF).procedures()
    assert 12 <= len(procs) <= 20
    assert {p.unit_id for p in procs} == {u.national_id for u in DEFAULT_UNITS}
    assert all(0.5 <= p.days <= 15 and p.level in (3, 4) for p in procs)


def test_same_seed_same_records_other_seed_other_records() -> None:
    a = SyntheticWard(seed=5, n_dossiers=3000, as_of=AS_OF)
    b = SyntheticWard(seed=5, n_dossiers=3000, as_of=AS_OF)
    c = SyntheticWard(seed=6, n_dossiers=3000, as_of=AS_OF)
    sample = range(0, 3000, 37)
    assert [a.canonical(i) for i in sample] == [b.canonical(i) for i in sample]
    assert [a.national(i) for i in sample] == [b.national(i) for i in sample]
    assert sum(a.canonical(i) != c.canonical(i) for i in sample) > len(sample) * 0.9
    # random access does not depend on generation order
    assert a.canonical(2999) == SyntheticWard(seed=5, n_dossiers=3000, as_of=AS_OF).canonical(2999)


def test_later_as_of_changes_only_recent_dossiers() -> None:
    before = SyntheticWard(seed=2, n_dossiers=4000, as_of=AS_OF)
    after = SyntheticWard(seed=2, n_dossiers=4000, as_of=AS_OF + timedelta(days=30), timeline_end=AS_OF)
    assert after.n_visible > before.n_visible  # new arrivals after the first run
    changed = []
    for i in range(before.index_range(date(2000, 1, 1), AS_OF).stop):
        old, new = before.canonical(i), after.canonical(i)
        if old != new:
            changed.append(i)
            assert old["MaHoSo"] == new["MaHoSo"] and old["NgayTiepNhan"] == new["NgayTiepNhan"]
            assert received_date(old) > AS_OF - timedelta(days=200)
            assert old["TrangThaiHoSo"] not in (3, 7, 8)  # final states do not change
    assert changed
    statuses = Counter(before.canonical(i)["TrangThaiHoSo"] for i in changed)
    assert statuses[4] > 0  # pending ones got finished
    assert any(after.canonical(i)["TrangThaiHoSo"] == 10 for i in changed)


def test_canonical_records_parse_and_round_trip(big) -> None:
    for i in big.all_indices()[::7]:
        raw = big.canonical(i)
        d = parse_dossier(raw, "provincial")
        assert d.code == raw["MaHoSo"] and big.index_of(d.code) == i
        assert parse_dossier(dossier_to_wire(d), "provincial") == d
        assert set(PERSONAL_KEYS) <= set(raw) and set(PERSONAL_KEYS) <= PERSONAL_FIELDS
        assert raw["DonViXuLy"] in {u.national_id for u in DEFAULT_UNITS}
        assert {s["NguoiXuLy"] for s in raw["QuaTrinhXuLy"]} <= {o.username for o in DEFAULT_OFFICERS}
        if d.status in (Status.NEW, Status.NOT_ACCEPTED):
            assert raw["NgayTiepNhan"] == ""
        else:
            assert d.received_at and d.due_at > d.received_at
        if d.status in (Status.PROCESSING, Status.SUPPLEMENT, Status.FINANCIAL, Status.RECEIVED):
            assert d.finished_at is None and d.received_at.date() <= AS_OF
        if d.status in (Status.DONE, Status.RETURNED):
            assert d.finished_at and d.finished_at.date() <= AS_OF
        prov = big.provincial(i)
        assert prov["SoHoSo"] == raw["MaHoSo"] and "MaHoSo" not in prov and canonical_of(prov) == raw


def test_national_records(big) -> None:
    missing = differ = 0
    sample = big.all_indices()[::3]
    for i in sample:
        nat = big.national(i)
        if nat is None:
            missing += 1
            continue
        parse_dossier(nat, "national")
        differ += nat != big.canonical(i)
    n = len(sample)
    assert 0.02 < missing / n < 0.04 and 0.01 < differ / n < 0.03


def test_received_times_monotonic_in_office_hours(big) -> None:
    import holidays

    vn = holidays.VN()
    times = [
        d.received_at
        for d in (parse_dossier(big.canonical(i), "p") for i in range(0, 20000, 3))
        if d.received_at
    ]
    assert times == sorted(times)
    assert times[0].date() >= AS_OF - timedelta(days=366) and times[-1].date() <= AS_OF
    for t in times:
        hm = (t.hour, t.minute, t.second)
        assert (7, 0, 0) <= hm <= (11, 30, 0) or (13, 30, 0) <= hm <= (17, 0, 0), t
        assert vn.is_working_day(t.date()), t


def test_shares_are_realistic(big_parsed) -> None:
    ds = big_parsed
    n = len(ds)
    assert 19900 <= n <= 20100
    status = Counter(int(d.status) for d in ds)
    assert 0.005 < status[3] / n < 0.02
    assert status[1] >= 1 and status[5] >= 1 and status[4] >= 10
    channel = Counter(int(d.channel) for d in ds)
    assert 0.33 < channel[2] / n < 0.47 and 0.03 < channel[3] / n < 0.07
    kinds = Counter()
    for d in ds:
        if d.status in (Status.DONE, Status.RETURNED):
            due = d.supplements[-1].due_after if d.supplements else d.due_at
            kinds[(d.finished_at.date() > due.date()) - (d.finished_at.date() < due.date())] += 1
        elif d.status in (Status.WITHDRAWN, Status.STOPPED):
            kinds["other"] += 1
    resolved = sum(kinds.values())
    assert 0.43 < kinds[-1] / resolved < 0.55  # early
    assert 0.34 < kinds[0] / resolved < 0.46  # on time
    assert 0.05 < kinds[1] / resolved < 0.11  # late
    assert 0.01 < kinds["other"] / resolved < 0.06
    late = [
        d for d in ds if d.status in (9, 10) and d.finished_at.date() > d.due_at.date() and not d.supplements
    ]
    assert 0.45 < sum(d.apology for d in late) / len(late) < 0.75
    fee_online = [d for d in ds if d.fees and d.channel == 2 and not d.fee_exempt]
    assert 0.5 < sum(d.is_paid_online for d in fee_online) / len(fee_online) < 0.7
    assert any(d.fee_exempt for d in ds)
    supp = Counter(len(d.supplements) for d in ds if d.status not in (1, 3))
    assert 0.07 < supp[1] / n < 0.13 and 0.01 < supp[2] / n < 0.04
    assert 0.6 < sum(d.digitized_component for d in ds) / n < 0.8
    assert 0.15 < sum(d.reused_component for d in ds) / n < 0.25
    done = [d for d in ds if d.status in (9, 10)]
    assert 0.5 < sum(d.e_result for d in done) / len(done) < 0.7
    assert 0.2 < sum(d.evaluation is not None for d in done) / len(done) < 0.4
    pending = [d for d in ds if d.status in (2, 4, 5, 6)]
    assert sum(d.due_at.date() < AS_OF for d in pending) >= 5  # overdue at as_of
    assert sum(d.due_at.date() >= AS_OF for d in pending) >= 20  # still within time
    after_hours = [
        d for d in ds if d.channel == 2 and d.received_at and d.submitted_at.date() < d.received_at.date()
    ]
    assert after_hours


def test_personal_values(small) -> None:
    rec = small.canonical(3)
    vals = small.personal_values(3)
    assert [rec[k] for k in PERSONAL_KEYS] == vals
    name, ident, phone, email, address = vals
    assert len(name.split()) == 4 and ident.isdigit() and len(ident) == 12
    assert phone.isdigit() and len(phone) == 10 and phone[0] == "0" and "@" in email and address
    assert small.personal_values(4) != vals


def test_index_range_and_unit_filter_match_brute_force(small) -> None:
    recs = {i: small.canonical(i) for i in small.all_indices()}
    received = {i: received_date(r) for i, r in recs.items() if r["TrangThaiHoSo"] != 1}
    new = [i for i, r in recs.items() if r["TrangThaiHoSo"] == 1]
    assert set(received) == set(range(len(received)))  # received ones are a prefix
    days = sorted(set(received.values()))
    cases = [
        (days[0], days[-1]),
        (days[3], days[3]),
        (days[10], days[40]),
        (AS_OF - timedelta(days=1), AS_OF),
        (date(2026, 1, 1), date(2026, 1, 1)),
        (date(2000, 1, 1), date(2000, 1, 5)),
        (AS_OF, AS_OF + timedelta(9)),
    ]
    for frm, to in cases:
        expected = [i for i, d in received.items() if frm <= d <= to]
        assert list(small.index_range(frm, to)) == expected, (frm, to)
        for unit in ("H99.99.04", "H99.99.04.01", "H99.99.02", "H99.99"):
            sel = list(small.select(frm, to, unit))

            def under(i, unit=unit):
                return recs[i]["DonViXuLy"] == unit or recs[i]["DonViXuLy"].startswith(unit + ".")

            want = [i for i in expected if under(i)]
            want += [i for i in new if frm <= small.submitted_date(i) <= to and under(i)]
            assert sel == want, (frm, to, unit)
    counts = Counter(r["DonViXuLy"] for r in recs.values())
    assert counts["H99.99.04.01"] + counts["H99.99.04"] > len(recs) / 2


def test_index_of_rejects_foreign_codes(small) -> None:
    code = small.code(10)
    assert small.index_of(code) == 10
    assert small.index_of("H99.99-250101-0000010") is None
    assert small.index_of("XX-250101-0000010") is None
    assert small.index_of("garbage") is None
    assert small.index_of(f"H99.99-260313-{10**9:07d}") is None


# ---------------------------------------------------------------- provincial API


def fetch_all(url: str, params: dict, session=requests) -> tuple[list[dict], int]:
    out, page, total = [], 1, None
    while True:
        r = session.get(f"{url}/api/v1/hoso", params={**params, "PageNumber": page}, timeout=10)
        r.raise_for_status()
        body = r.json()
        total = body["TotalCount"]
        out.extend(body["Data"])
        if not body["HasNextPage"]:
            return out, total
        page += 1


def test_health(server_url) -> None:
    assert requests.get(f"{server_url}/health", timeout=5).json() == {"status": "ok"}


def test_pagination_returns_each_code_once(small, server_url) -> None:
    frm, to = AS_OF - timedelta(days=40), AS_OF
    recs, total = fetch_all(
        server_url,
        {"TiepNhanFrom": frm.isoformat(), "TiepNhanTo": to.isoformat(), "GroupCode": "", "PageSize": 97},
    )
    codes = [r["SoHoSo"] for r in recs]
    assert len(codes) == len(set(codes)) == total
    assert codes == [small.code(i) for i in small.select(frm, to)]
    assert all(parse_dossier(canonical_of(r), "provincial") for r in recs)
    first = requests.get(
        f"{server_url}/api/v1/hoso", params={"TiepNhanFrom": frm.isoformat(), "PageSize": 97}, timeout=5
    ).json()
    assert first["CurrentPage"] == 1 and first["PageSize"] == 97 and first["TotalPages"] == -(-total // 97)
    beyond = requests.get(f"{server_url}/api/v1/hoso", params={"PageNumber": 10**6}, timeout=5).json()
    assert beyond["Data"] == [] and beyond["HasNextPage"] is False


def test_filters(small, server_url) -> None:
    frm, to = AS_OF - timedelta(days=60), AS_OF
    base = {"TiepNhanFrom": frm.isoformat(), "TiepNhanTo": to.isoformat(), "PageSize": 1000}
    unit, _ = fetch_all(server_url, {**base, "GroupCode": "H99.99.04"})
    assert unit and {r["GroupCode"] for r in unit} == {"H99.99.04", "H99.99.04.01"}
    allrecs, _ = fetch_all(server_url, base)
    pending, total = fetch_all(server_url, {**base, "MaTrangThai": "4,5"})
    assert total == sum(r["MaTrangThai"] in (4, 5) for r in allrecs) == len(pending) > 0
    online, total = fetch_all(server_url, {**base, "KenhThucHien": "2", "GroupCode": "H99.99.02"})
    assert total == sum(r["KenhThucHien"] == 2 and r["GroupCode"] == "H99.99.02" for r in allrecs) > 0


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": 5000},
        {"PageSize": 0},
        {"PageNumber": "x"},
        {"TiepNhanFrom": "13/03/2026"},
        {"TiepNhanFrom": "2026-03-10", "TiepNhanTo": "2026-03-01"},
        {"MaTrangThai": "11"},
        {"HenTraFrom": "2026-01-01"},
    ],
)
def test_bad_parameters_get_400(server_url, params) -> None:
    r = requests.get(f"{server_url}/api/v1/hoso", params=params, timeout=5)
    assert r.status_code == 400 and r.json()["message"]


def test_bearer_token(small) -> None:
    with running(small, token="bi-mat-123") as url:
        assert requests.get(f"{url}/api/v1/hoso", timeout=5).status_code == 401
        assert (
            requests.get(f"{url}/api/v1/hoso", headers={"Authorization": "Bearer sai"}, timeout=5).status_code
            == 401
        )
        ok = requests.get(f"{url}/api/v1/hoso", headers={"Authorization": "Bearer bi-mat-123"}, timeout=5)
        assert ok.status_code == 200
        assert requests.get(f"{url}/health", timeout=5).status_code == 200


# ---------------------------------------------------------------- national API


def login(url: str, username="u", password="p") -> dict:
    return requests.post(
        f"{url}/dvcqg/login", json={"username": username, "password": password}, timeout=5
    ).json()


def service(url: str, session: str, name: str, data=None, madonvi="H99.99") -> dict:
    body = {"session": session, "madonvi": madonvi, "service": name, "data": data or {}}
    return requests.post(f"{url}/dvcqg/service", json=body, timeout=10).json()


def test_national_lookup_leaves_out_the_missing_share(small, server_url) -> None:
    sess = login(server_url)
    assert sess["error_code"] == "0" and sess["session"]
    idx = list(small.all_indices())[:499]
    codes = [small.code(i) for i in idx]
    res = service(
        server_url, sess["session"], "TraCuuHoSo", {"DanhSachMaHoSo": codes + ["H99.99-000000-9999999"]}
    )
    assert res["error_code"] == "0"
    found = {r["MaHoSo"]: r for r in res["result"]}
    missing = [small.code(i) for i in idx if small.national(i) is None]
    assert missing and not set(missing) & set(found)
    assert len(found) == len(idx) - len(missing)
    differs = [c for c in found if found[c] != small.canonical(small.index_of(c))]
    assert differs and len(differs) < len(found) * 0.06
    too_many = service(server_url, sess["session"], "TraCuuHoSo", {"DanhSachMaHoSo": codes + codes[:2]})
    assert too_many["error_code"] not in ("0", "00") and too_many["message"]
    other_unit = service(
        server_url, sess["session"], "TraCuuHoSo", {"DanhSachMaHoSo": codes}, madonvi="H99.99.03"
    )
    assert {r["DonViXuLy"] for r in other_unit["result"]} == {"H99.99.03"}
    procs = service(server_url, sess["session"], "LayThuTuc")
    assert procs["error_code"] == "0" and {
        "MaTTHC",
        "TenTTHC",
        "MaLinhVuc",
        "TenLinhVuc",
        "MucDo",
        "CoPhi",
        "KetQuaGiay",
        "SoNgayGiaiQuyet",
    } <= set(procs["result"][0])


def test_session_errors(small) -> None:
    with running(small, credentials=("canbo", "matkhau"), session_ttl=0.3) as url:
        assert login(url, "canbo", "sai")["error_code"] == "1"
        assert login(url, "", "")["error_code"] == "1"
        bad = service(url, "khong-ton-tai", "LayThuTuc")
        assert bad == {"error_code": "401", "message": "Phiên làm việc không hợp lệ"}
        sess = login(url, "canbo", "matkhau")["session"]
        assert service(url, sess, "LayThuTuc")["error_code"] == "0"
        time.sleep(0.4)
        assert service(url, sess, "LayThuTuc")["error_code"] == "401"
        assert service(url, login(url, "canbo", "matkhau")["session"], "KhongCo")["error_code"] not in (
            "0",
            "401",
        )
        r = requests.post(f"{url}/dvcqg/login", data=b"not json", timeout=5)
        assert r.status_code == 400


# ---------------------------------------------------------------- faults


def test_faults_parse() -> None:
    f = Faults.parse("5xx=0.1,429=0.05,slow=0.02,malformed=0.01,duplicate=0.05,retry_after=1,slow_s=2")
    assert (f.server_error, f.rate_limit, f.slow, f.malformed, f.duplicate, f.retry_after, f.slow_s) == (
        0.1,
        0.05,
        0.02,
        0.01,
        0.05,
        1,
        2.0,
    )
    assert Faults.parse("fail_after_pages=3, seed=9").fail_after_pages == 3
    assert Faults.parse("") == Faults()
    assert Faults.parse(str(f)) == f
    for bad in ("5xx=abc", "bogus=1", "429", "slow=1.5", "retry_after=-1"):
        with pytest.raises(ValueError, match=bad):
            Faults.parse(f"slow=0.1,{bad}")


def test_429_carries_retry_after_and_5xx(small) -> None:
    with running(small, faults=Faults(rate_limit=1.0, retry_after=3)) as url:
        r = requests.get(f"{url}/api/v1/hoso", timeout=5)
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        assert (
            requests.post(
                f"{url}/dvcqg/login", json={"username": "u", "password": "p"}, timeout=5
            ).status_code
            == 429
        )
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
    with running(small, faults=Faults.parse("5xx=1")) as url:
        assert requests.get(f"{url}/api/v1/hoso", timeout=5).status_code == 503


def test_faults_are_deterministic_per_request_counter(small) -> None:
    def statuses():
        with running(small, faults=Faults.parse("5xx=0.3,429=0.3,seed=4")) as url:
            return [
                requests.get(f"{url}/api/v1/hoso", params={"PageSize": 1}, timeout=5).status_code
                for _ in range(30)
            ]

    first = statuses()
    assert first == statuses() and {200, 429, 503} <= set(first)


def test_malformed_records_are_rejected_by_the_parser(small) -> None:
    with running(small, faults=Faults(malformed=0.5, seed=1)) as url:
        body = requests.get(f"{url}/api/v1/hoso", params={"PageSize": 200}, timeout=5).json()
    bad = 0
    for rec in body["Data"]:
        try:
            parse_dossier(canonical_of(rec), "provincial")
        except RecordError:
            bad += 1
    assert 40 < bad < 160 and len(body["Data"]) == 200


def test_duplicate_fault_repeats_a_code_of_the_previous_page(small) -> None:
    with running(small, faults=Faults(duplicate=1.0)) as url:
        p1 = requests.get(f"{url}/api/v1/hoso", params={"PageSize": 50, "PageNumber": 1}, timeout=5).json()
        p2 = requests.get(f"{url}/api/v1/hoso", params={"PageSize": 50, "PageNumber": 2}, timeout=5).json()
    c1, c2 = [r["SoHoSo"] for r in p1["Data"]], [r["SoHoSo"] for r in p2["Data"]]
    assert len(c1) == 50 and len(c2) == 51 and set(c1) & set(c2)


def test_fail_after_pages(small) -> None:
    with running(small, faults=Faults(fail_after_pages=1)) as url:
        assert requests.get(f"{url}/api/v1/hoso", params={"PageNumber": 1}, timeout=5).status_code == 200
        assert requests.get(f"{url}/api/v1/hoso", params={"PageNumber": 2}, timeout=5).status_code == 503


def test_make_server_serves_on_given_port(small) -> None:
    srv = make_server(small)
    try:
        assert srv.base_url.startswith("http://127.0.0.1:") and srv.server_address[1] > 0
    finally:
        srv.server_close()


# ---------------------------------------------------------------- Excel


def test_excel_export_round_trip(small, tmp_path) -> None:
    path = tmp_path / "ho_so.xlsx"
    n = export_excel(small, path, limit=300)
    assert n == 300
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["Danh sách hồ sơ"]
    rows = list(wb["Danh sách hồ sơ"].iter_rows(values_only=True))
    assert rows[0] == EXCEL_HEADERS and len(rows) == 301
    col = {h: k for k, h in enumerate(EXCEL_HEADERS)}
    first = rows[1]
    rec = small.canonical(0)
    assert first[col["Mã hồ sơ"]] == rec["MaHoSo"] and first[col["Mã đơn vị"]] == rec["DonViXuLy"]
    assert first[col["Mã lĩnh vực"]] == rec["MaLinhVuc"] and first[col["Lĩnh vực"]] == rec["TenLinhVuc"]
    received = first[col["Ngày tiếp nhận"]]
    assert isinstance(received, datetime) and received.tzinfo is None
    assert received.strftime("%Y%m%d%H%M%S") == rec["NgayTiepNhan"]
    assert first[col["Kênh nộp"]] in ("Trực tiếp", "Trực tuyến", "Bưu chính")
    assert first[col["Có phí"]] in ("Có", "Không")
    text = "\n".join(str(v) for row in rows for v in row)
    for i in range(300):
        for value in small.personal_values(i):
            assert value not in text
