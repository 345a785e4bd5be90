from datetime import date

import pytest

from cchc.domain.periods import Period, last_full_month, parse_period, period_of


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    "text, start, end, label, slug, kind",
    [
        ("2026-10", "2026-10-01", "2026-10-31", "Tháng 10/2026", "2026-10", "month"),
        ("2026-02", "2026-02-01", "2026-02-28", "Tháng 2/2026", "2026-02", "month"),
        ("2028-2", "2028-02-01", "2028-02-29", "Tháng 2/2028", "2028-02", "month"),
        ("2026-Q3", "2026-07-01", "2026-09-30", "Quý III/2026", "2026-q3", "quarter"),
        ("2026-q4", "2026-10-01", "2026-12-31", "Quý IV/2026", "2026-q4", "quarter"),
        ("2026-H1", "2026-01-01", "2026-06-30", "6 tháng đầu năm 2026", "2026-h1", "half"),
        ("2026-h2", "2026-07-01", "2026-12-31", "6 tháng cuối năm 2026", "2026-h2", "half"),
        ("2026", "2026-01-01", "2026-12-31", "Năm 2026", "2026", "year"),
    ],
)
def test_calendar_periods(text, start, end, label, slug, kind):
    p = parse_period(text)
    assert (p.start, p.end) == (d(start), d(end))
    assert p.label == label
    assert p.slug == slug
    assert p.kind == kind
    assert p.mode == "calendar"


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2026-10", "2026-09-15", "2026-10-14"),  # 15th of the previous month to the 14th
        ("2026-01", "2025-12-15", "2026-01-14"),
        ("2026-03", "2026-02-15", "2026-03-14"),
        ("2026-Q1", "2025-12-15", "2026-03-14"),
        ("2026-Q3", "2026-06-15", "2026-09-14"),
        ("2026-H1", "2025-12-15", "2026-06-14"),
        ("2026-H2", "2026-06-15", "2026-12-14"),
        ("2026", "2025-12-15", "2026-12-14"),
    ],
)
def test_administrative_periods_nd_09_2019(text, start, end):
    p = parse_period(text, mode="administrative")
    assert (p.start, p.end) == (d(start), d(end))
    assert p.mode == "administrative"
    assert p.slug == parse_period(text).slug  # same key, the regime is configuration


def test_custom_period_from_dates_and_text():
    p = parse_period(None, date_from="2026-10-01", date_to=date(2026, 10, 31))
    assert (p.start, p.end, p.kind) == (d("2026-10-01"), d("2026-10-31"), "custom")
    assert p.label == "Từ 01/10/2026 đến 31/10/2026"
    assert p.slug == "2026-10-01-2026-10-31"
    assert parse_period("2026-10-01..2026-10-31") == p


def test_range_label_and_contains():
    p = parse_period("2026-10", mode="administrative")
    assert p.range_label == "Từ 15/09/2026 đến 14/10/2026"
    assert d("2026-09-15") in p and d("2026-10-14") in p
    assert d("2026-09-14") not in p and d("2026-10-15") not in p
    assert p.days == 30


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-00", "2026-Q5", "2026-H3", "abc", "26-10", "2026/10", "2026-10-32..x"]
)
def test_bad_text_names_value_and_forms(bad):
    with pytest.raises(ValueError) as err:
        parse_period(bad)
    msg = str(err.value)
    assert repr(bad) in msg
    assert "Kỳ báo cáo không hợp lệ" in msg and "invalid period" in msg
    assert "2026-Q3" in msg and "2026-H1" in msg


def test_missing_text_and_dates_is_an_error():
    with pytest.raises(ValueError, match="Kỳ báo cáo không hợp lệ"):
        parse_period(None)
    with pytest.raises(ValueError, match="date_from"):
        parse_period(None, date_from="2026-13-01", date_to="2026-12-31")
    with pytest.raises(ValueError, match="not both"):
        parse_period("2026-10", date_from="2026-10-01", date_to="2026-10-31")
    with pytest.raises(ValueError, match="before its start"):
        parse_period(None, date_from="2026-10-31", date_to="2026-10-01")
    with pytest.raises(ValueError, match="mode"):
        parse_period("2026-10", mode="fiscal")


def test_previous_and_next():
    assert parse_period("2026-01").previous().slug == "2025-12"
    assert parse_period("2026-Q1").previous().slug == "2025-q4"
    assert parse_period("2026-H2").previous().slug == "2026-h1"
    assert parse_period("2026-H1").previous().slug == "2025-h2"
    assert parse_period("2026").previous().slug == "2025"
    assert parse_period("2026-12").next().slug == "2027-01"
    adm = parse_period("2026-01", mode="administrative").previous()
    assert (adm.start, adm.end) == (d("2025-11-15"), d("2025-12-14"))
    custom = parse_period("2026-10-01..2026-10-10").previous()
    assert (custom.start, custom.end) == (d("2026-09-21"), d("2026-09-30"))


@pytest.mark.parametrize("mode", ["calendar", "administrative"])
@pytest.mark.parametrize(
    "text, kind, count",
    [
        ("2026", "month", 12),
        ("2026", "quarter", 4),
        ("2026", "half", 2),
        ("2026-H2", "quarter", 2),
        ("2026-H1", "month", 6),
        ("2026-Q3", "month", 3),
        ("2026-10", "month", 1),
    ],
)
def test_sub_periods_cover_exactly(mode, text, kind, count):
    p = parse_period(text, mode=mode)
    parts = p.sub_periods(kind)
    assert len(parts) == count
    assert parts[0].start == p.start and parts[-1].end == p.end
    for a, b in zip(parts, parts[1:], strict=False):
        assert (b.start - a.end).days == 1
    assert all(x.kind == kind and x.mode == mode for x in parts)


def test_sub_periods_examples():
    q3 = parse_period("2026-Q3", mode="administrative").sub_periods("month")
    assert [m.label for m in q3] == ["Tháng 7/2026", "Tháng 8/2026", "Tháng 9/2026"]
    assert (q3[0].start, q3[0].end) == (d("2026-06-15"), d("2026-07-14"))
    custom = parse_period("2026-09-20..2026-11-05").sub_periods("month")
    assert [(x.start, x.end) for x in custom] == [
        (d("2026-09-20"), d("2026-09-30")),
        (d("2026-10-01"), d("2026-10-31")),
        (d("2026-11-01"), d("2026-11-05")),
    ]
    assert custom[1].kind == "month" and custom[0].kind == "custom"
    assert len(parse_period("2026-10").sub_periods("day")) == 31
    with pytest.raises(ValueError):
        parse_period("2026-Q3").sub_periods("half")


def test_last_full_month():
    assert last_full_month(d("2026-11-03")).slug == "2026-10"
    assert last_full_month(d("2026-11-01")).slug == "2026-10"
    assert last_full_month(d("2026-01-10")).slug == "2025-12"
    # Administrative: month 10 = 15/09–14/10 is complete only from 15/10.
    assert last_full_month(d("2026-10-14"), "administrative").slug == "2026-09"
    assert last_full_month(d("2026-10-15"), "administrative").slug == "2026-10"
    assert last_full_month(d("2026-12-20"), "administrative").slug == "2026-12"
    assert last_full_month(d("2026-12-14"), "administrative").slug == "2026-11"


def test_period_of():
    assert period_of(d("2026-12-20"), "year", "administrative").slug == "2027"
    assert period_of(d("2026-12-14"), "year", "administrative").slug == "2026"
    assert period_of(d("2026-06-15"), "half", "administrative").slug == "2026-h2"
    assert period_of(d("2026-08-01"), "quarter").slug == "2026-q3"
    assert Period.named("quarter", 2026, 3).label == "Quý III/2026"
