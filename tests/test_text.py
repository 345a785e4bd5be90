"""Vietnamese number formats and period notes (cchc.domain.text, cchc.domain.periods)."""

from __future__ import annotations

from datetime import date

import numpy as np

from cchc.domain.periods import Period, parse_period, period_notes
from cchc.domain.text import format_decimal, format_int


def test_format_int_thousands_with_a_dot():
    assert format_int(2284) == "2.284"
    assert format_int(1234567) == "1.234.567"
    assert format_int(0) == "0"
    assert format_int(np.int64(12000)) == "12.000"
    assert format_int(12000.0) == "12.000"
    assert format_int(-1500) == "-1.500"
    assert format_int(None) == "—" and format_int(float("nan")) == "—"


def test_format_int_signed_change():
    assert format_int(1234, sign=True) == "+1.234"
    assert format_int(-5, sign=True) == "-5"
    assert format_int(0, sign=True) == "0"


def test_format_decimal_comma_and_dots():
    assert format_decimal(1234.5) == "1.234,50"
    assert format_decimal(2.345, 1) == "2,3"
    assert format_decimal(None) == "không phát sinh"


def test_period_title_does_not_repeat_a_custom_range():
    assert Period.named("month", 2026, 10).title == "Tháng 10/2026 (từ 01/10/2026 đến 31/10/2026)"
    custom = parse_period(None, date_from="2026-10-01", date_to="2026-10-15")
    assert custom.title == "Từ 01/10/2026 đến 15/10/2026"


def test_period_notes_flag_unfinished_future_and_empty_periods():
    oct_ = Period.named("month", 2026, 10)
    assert oct_.state(date(2026, 11, 1)) == "finished" and period_notes(oct_, date(2026, 11, 1)) == []
    assert oct_.state(date(2026, 10, 31)) == "ongoing"
    assert period_notes(oct_, date(2026, 10, 31)) == ["kỳ chưa kết thúc, số liệu tạm tính"]
    assert oct_.state(date(2026, 9, 30)) == "future"
    assert period_notes(oct_, date(2026, 9, 30), has_data=False) == [
        "kỳ chưa kết thúc, số liệu tạm tính (kỳ chưa bắt đầu)", "không có hồ sơ trong kỳ"]
    assert period_notes(oct_, date(2027, 1, 1), has_data=False) == ["không có hồ sơ trong kỳ"]


def test_one_number_reader_and_one_decimal_formatter():
    import pandas as pd

    from cchc.domain.text import as_number, format_decimal, format_percent

    assert [as_number(v) for v in (None, float("nan"), pd.NA, float("inf"), "x", "3.5", 2)] == \
        [None, None, None, None, None, 3.5, 2.0]
    assert format_decimal(1234.5) == "1.234,50" and format_decimal(None) == "không phát sinh"
    assert format_decimal(1.5, sign=True) == "+1,50" and format_decimal(-0.25, sign=True) == "-0,25"
    assert format_decimal(0, sign=True) == "+0,00"
    assert format_percent(95.25) == "95,25%" and format_percent(None, na="—") == "—"
