from dataclasses import replace

import pytest
from factories import done, fact, facts

from cchc.domain import bieu06
from cchc.domain.bieu06 import (
    COLUMNS,
    Bieu06IdentityError,
    Bieu06Row,
    bieu06_rows,
    check_identities,
    rows_frame,
)
from cchc.domain.metrics import classify
from cchc.domain.periods import parse_period

OCT = parse_period("2026-10")


def sample():
    return facts(
        done(
            "2026-10-05 08:00",
            "2026-10-09 17:00",
            "2026-10-08 10:00",
            field_code="HT",
            field_name="Hộ tịch",
            channel=2,
        ),
        done(
            "2026-10-05 08:00", "2026-10-09 17:00", "2026-10-09 10:00", field_code="HT", field_name="Hộ tịch"
        ),
        done(
            "2026-10-05 08:00",
            "2026-10-09 17:00",
            "2026-10-13 10:00",
            field_code="CT",
            field_name="Chứng thực",
            channel=3,
            unit_code="H99.99.05",
        ),
        fact(
            received_at="2026-09-20 08:00",
            due_at="2026-09-30 17:00",
            field_code="CT",
            field_name="Chứng thực",
        ),
        fact(
            status=5,
            supplement_count=1,
            supplement_pending=True,
            due_at="2026-10-06 17:00",
            field_code="HT",
            field_name="Hộ tịch",
        ),
        fact(status=7, finished_at="2026-10-30 10:00", field_code="HT", field_name="Hộ tịch"),
        fact(status=3, field_code="HT", field_name="Hộ tịch"),
    )


def test_rows_by_field():
    rows = bieu06_rows(classify(sample(), OCT), by="field")
    assert [(r.stt, r.label) for r in rows] == [("1", "Chứng thực"), ("2", "Hộ tịch"), ("", "Tổng cộng")]
    ct, ht, total = rows
    assert ct == Bieu06Row("1", "Chứng thực", 2, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1)
    assert ht == Bieu06Row("2", "Hộ tịch", 4, 1, 3, 0, 3, 1, 2, 0, 1, 1, 0)
    assert total.values() == [a + b for a, b in zip(ct.values(), ht.values(), strict=True)]


def test_rows_by_unit_with_rollup():
    units = [("H99.99.04", "Phòng Văn hóa - Xã hội"), ("H99.99.05", "Trung tâm Phục vụ hành chính công")]
    rows = bieu06_rows(classify(sample(), OCT), by="unit", units=units)
    assert [r.label for r in rows] == [
        "Phòng Văn hóa - Xã hội",
        "Trung tâm Phục vụ hành chính công",
        "Tổng cộng",
    ]
    assert [r.received_total for r in rows] == [5, 1, 6]
    plain = bieu06_rows(classify(sample(), OCT), by="unit")
    assert [r.label for r in plain] == ["H99.99.04.01", "H99.99.05", "Tổng cộng"]


def test_identity_error_names_row_identity_and_numbers():
    good = Bieu06Row("1", "Hộ tịch", 4, 1, 3, 0, 3, 1, 2, 0, 1, 1, 0)
    check_identities(good)
    with pytest.raises(Bieu06IdentityError) as err:
        check_identities(replace(good, carried_over=1))
    msg = str(err.value)
    assert "'Hộ tịch'" in msg and "received = online + in-person/postal + carried over" in msg
    assert "4 ≠ 1 + 3 + 1 = 5" in msg
    assert err.value.label == "Hộ tịch"
    with pytest.raises(Bieu06IdentityError, match="received = resolved \\+ pending"):
        check_identities(replace(good, pending_total=2, pending_in_time=2))
    with pytest.raises(Bieu06IdentityError, match="resolved = early"):
        check_identities(replace(good, early=2))
    with pytest.raises(Bieu06IdentityError, match="pending = in time"):
        check_identities(replace(good, pending_in_time=0, pending_overdue=0, pending_total=1))


def test_every_row_is_checked(monkeypatch):
    seen = []
    monkeypatch.setattr(bieu06, "check_identities", lambda row: seen.append(row.label))
    rows = bieu06_rows(classify(sample(), OCT))
    assert seen == [r.label for r in rows]


def test_headers_are_the_forms():
    assert bieu06.TITLE == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
    assert [(g, h) for _, g, h in COLUMNS] == [
        ("Số hồ sơ nhận giải quyết", "Tổng số"),
        ("Số hồ sơ nhận giải quyết", "Trong kỳ: Trực tuyến"),
        ("Số hồ sơ nhận giải quyết", "Trong kỳ: Trực tiếp, dịch vụ bưu chính"),
        ("Số hồ sơ nhận giải quyết", "Từ kỳ trước"),
        ("Số hồ sơ đã giải quyết", "Tổng số"),
        ("Số hồ sơ đã giải quyết", "Trước hạn"),
        ("Số hồ sơ đã giải quyết", "Đúng hạn"),
        ("Số hồ sơ đã giải quyết", "Quá hạn"),
        ("Số hồ sơ đang giải quyết", "Tổng số"),
        ("Số hồ sơ đang giải quyết", "Trong hạn"),
        ("Số hồ sơ đang giải quyết", "Quá hạn"),
    ]
    assert [name for name, _, _ in COLUMNS] == list(Bieu06Row.__dataclass_fields__)[2:]


def test_needs_bieu06_mode_and_valid_grouping():
    with pytest.raises(ValueError, match="bieu06"):
        bieu06_rows(classify(sample(), OCT, mode="766"))
    with pytest.raises(ValueError, match="'field' or 'unit'"):
        bieu06_rows(classify(sample(), OCT), by="channel")


def test_empty_period_has_a_zero_total_row():
    rows = bieu06_rows(classify(facts(), OCT))
    assert rows == [Bieu06Row("", "Tổng cộng", *([0] * 11))]


def test_rows_frame():
    frame = rows_frame(bieu06_rows(classify(sample(), OCT)))
    assert list(frame.columns) == ["stt", "label", *[n for n, _, _ in COLUMNS]]
    assert len(frame) == 3
