"""RFC 3797 verifiable draws (cchc.domain.draw).

The worked example is RFC 3797 §6 ("Fully Worked Example"): the pool of 25 volunteers, the three
hypothetical sources, the key string, the table of MD5 values with divisors and selections, and the
first ten selected in order (then Sloth, 22)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.domain.draw import (
    METHOD_VERSION,
    WEIGHTED_METHOD_VERSION,
    canonical_source,
    draw,
    labelled,
    make_key,
    matches_published,
    pool_digest,
    published_sha256,
    record_draw,
    tickets_from_weights,
    verify,
    weighted_draw,
)

RFC_POOL = (
    "John Mary Bashful Dopey Sleepy Grouchy Doc Sneazy Handsome Cassandra Pollyanna Pendragon "
    "Pandora Faith Hope Charity Lee Longsuffering Chastity Smith Pride Sloth Envy Anger Kasczynski"
).split()
RFC_SOURCES = ["9319", "2, 5, 12, 8, 10", "9, 18, 26, 34, 41, 45"]
RFC_KEY = "9319./2.5.8.10.12./9.18.26.34.41.45./"
# RFC 3797 §6 table: (hex value of MD5, div, selected)
RFC_TABLE = [
    ("990DD0A5692A029A98B5E01AA28F3459", 25, 17),
    ("3691E55CB63FCC37914430B2F70B5EC6", 24, 7),
    ("FE814EDF564C190AC1D25753979990FA", 23, 2),
    ("1863CCACEB568C31D7DDBDF1D4E91387", 22, 16),
    ("F4AB33DF4889F0AF29C513905BE1D758", 21, 25),
    ("13EAEB529F61ACFB9A29D0BA3A60DE4A", 20, 23),
    ("992DB77C382CA2BDB9727001F3CDCCD9", 19, 8),
    ("63AB4258ECA922976811C7F55C383CE7", 18, 24),
    ("DFBC5AC97CED01B3A6E348E3CC63F40D", 17, 19),
    ("31CB111C4A4EBE9287CEAE16FE51B909", 16, 13),
    ("07FA46C122F164C215BBC72793B189A3", 15, 22),
    ("AC52F8D75CCBE2E61AFEB3387637D501", 14, 5),
    ("53306F73E14FC0B2FBF434218D25948E", 13, 18),
    ("B5D1403501A81F9A47318BE7893B347C", 12, 9),
    ("85B10B356AA06663EF1B1B407765100A", 11, 1),
    ("3269E6CE559ABD57E2BA6AAB495EB9BD", 10, 4),
]


# ---------------------------------------------------------------- the RFC's worked example


def test_rfc3797_worked_example_key() -> None:
    assert make_key(RFC_SOURCES) == RFC_KEY
    # the same sources as published numbers in any order, or as sequences of numbers
    assert make_key(["9319", "2 5 12 8 10", "9 18 26 34 41 45"]) == RFC_KEY
    assert make_key([9319, [2, 5, 12, 8, 10], [9, 18, 26, 34, 41, 45]]) == RFC_KEY


def test_rfc3797_worked_example_table_and_selection() -> None:
    result = draw(25, 16, RFC_SOURCES)
    assert result.key == RFC_KEY
    assert [(s.md5_hex, s.divisor, s.position) for s in result.steps] == RFC_TABLE
    assert [s.index for s in result.steps] == list(range(16))
    first_ten = [RFC_POOL[p - 1] for p in draw(25, 10, RFC_SOURCES).selected]
    assert first_ten == ["Lee", "Doc", "Mary", "Charity", "Kasczynski",
                         "Envy", "Sneazy", "Anger", "Chastity", "Pandora"]
    # "Should one of the above turn out to be ineligible ..., the next would be Sloth, number 22."
    assert draw(25, 11, RFC_SOURCES).selected[10] == 22 and RFC_POOL[21] == "Sloth"


# ---------------------------------------------------------------- the key


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("9319", "9319./"),
        ("05 12 18 23 37 41", "5.12.18.23.37.41./"),  # leading zeroes dropped
        ("41;5,  12", "5.12.41./"),  # separators: white space, comma, semicolon
        ("0", "0./"),
        ("000", "0./"),
        ("12.50", "12.5/"),  # no trailing zeroes after the period, no terminating period
        ("3.00", "3./"),  # a whole number written with decimals is the integer
        ("0.10", "0.1/"),  # a single leading zero when the integer part is zero
        ("007.250", "7.25/"),
        ("12.5 3 0.1", "0.13.12.5/"),  # sorted by value: 0.1 < 3 < 12.5
        ("10 9 100", "9.10.100./"),  # sorted by value, not as text
    ],
)
def test_canonical_source(source: str, canonical: str) -> None:
    assert canonical_source(source) == canonical


def test_decimal_values_as_numbers() -> None:
    assert make_key([Decimal("12.50"), [Decimal("1E+2"), 3]]) == "12.5/3.100./"


def test_source_order_matters() -> None:
    assert make_key(["1", "2"]) == "1./2./"
    assert make_key(["2", "1"]) == "2./1./"


@pytest.mark.parametrize("bad", ["", "  ", "abc", "12a", "-5", "1.234.567", ".5", "5.", "+3"])
def test_bad_sources_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="nguồn ngẫu nhiên"):
        make_key(["1", bad])


def test_no_sources_rejected() -> None:
    with pytest.raises(ValueError, match="ít nhất một nguồn"):
        make_key([])
    with pytest.raises(ValueError):
        make_key("9319")  # a bare string is not a list of sources


def test_labelled_appends_a_single_number_source() -> None:
    assert make_key(labelled(RFC_SOURCES, 2)) == RFC_KEY + "2./"
    with pytest.raises(ValueError):
        labelled(RFC_SOURCES, 0)
    with pytest.raises(ValueError, match="ít nhất một nguồn"):
        labelled([], 3)  # the label alone is not public randomness


# ---------------------------------------------------------------- the draw


def test_count_zero_and_whole_pool() -> None:
    assert draw(5, 0, ["1"]).selected == ()
    assert sorted(draw(5, 5, ["1"]).selected) == [1, 2, 3, 4, 5]


def test_count_above_pool_rejected() -> None:
    with pytest.raises(ValueError, match="không thể chọn 4 trong danh sách chỉ có 3"):
        draw(3, 4, ["1"])


@settings(max_examples=60, deadline=None)
@given(
    pool=st.integers(min_value=1, max_value=200),
    data=st.data(),
    numbers=st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=6),
)
def test_draw_properties(pool: int, data, numbers: list[int]) -> None:
    count = data.draw(st.integers(min_value=0, max_value=pool))
    result = draw(pool, count, [" ".join(map(str, numbers))])
    assert len(set(result.selected)) == count
    assert all(1 <= p <= pool for p in result.selected)
    # drawing more only extends the list (the RFC's "next would be ..." property)
    if count < pool:
        assert draw(pool, count + 1, [" ".join(map(str, numbers))]).selected[:count] == result.selected


def _plain_reference(pool: int, count: int, key: str) -> list[int]:
    """Straight from RFC 3797 §4 with list.pop: the slow, obvious version."""
    remaining = list(range(1, pool + 1))
    out = []
    for i in range(count):
        c = i.to_bytes(2, "big")
        value = int.from_bytes(hashlib.md5(c + key.encode() + c).digest(), "big")
        out.append(remaining.pop(value % len(remaining)))
    return out


@settings(max_examples=40, deadline=None)
@given(pool=st.integers(min_value=1, max_value=300), seed=st.integers(min_value=0, max_value=10**9))
def test_draw_matches_obvious_version(pool: int, seed: int) -> None:
    count = min(pool, 40)
    assert list(draw(pool, count, [str(seed)]).selected) == _plain_reference(pool, count, f"{seed}./")


# ---------------------------------------------------------------- weighted draw


def test_tickets_from_weights_rule() -> None:
    assert tickets_from_weights([1, 2]) == (50, 100)
    assert tickets_from_weights([1, 3]) == (33, 100)  # 33.33 -> 33
    assert tickets_from_weights([1, 8]) == (13, 100)  # 12.5 -> 13 (half up)
    assert tickets_from_weights([0.001, 5, 0]) == (1, 100, 1)  # the floor: at least one ticket
    assert tickets_from_weights([0, 0, 0]) == (1, 1, 1)
    assert tickets_from_weights([2, 2], resolution=7) == (7, 7)
    assert tickets_from_weights([0.1, 0.3]) == (33, 100)  # floats read by their decimal text
    with pytest.raises(ValueError):
        tickets_from_weights([1, -1])


@settings(max_examples=40, deadline=None)
@given(pool=st.integers(min_value=1, max_value=60), seed=st.integers(min_value=0, max_value=10**6))
def test_one_ticket_each_is_the_plain_draw(pool: int, seed: int) -> None:
    count = min(pool, 10)
    assert weighted_draw([1] * pool, count, [str(seed)]).selected == draw(pool, count, [str(seed)]).selected


def test_weighted_draw_by_hand() -> None:
    # tickets (2, 1, 3): layout [u1, u1, u2, u3, u3, u3]; key "7./"
    key = "7./"

    def value(i: int) -> int:
        c = i.to_bytes(2, "big")
        return int.from_bytes(hashlib.md5(c + key.encode() + c).digest(), "big")

    r0 = value(0) % 6
    first = 1 if r0 < 2 else 2 if r0 < 3 else 3
    layout = {1: [2, 3, 3, 3], 2: [1, 1, 3, 3, 3], 3: [1, 1, 2]}[first]
    second = layout[value(1) % len(layout)]
    result = weighted_draw([2, 1, 3], 2, ["7"])
    assert result.selected == (first, second)
    assert [s.divisor for s in result.steps] == [6, len(layout)]


def test_weights_tilt_the_draw() -> None:
    heavy_first = sum(weighted_draw([1, 9], 1, [str(s)]).selected == (2,) for s in range(400))
    assert 320 <= heavy_first <= 400  # expected 360 of 400


def test_weighted_draw_rejects_bad_tickets() -> None:
    with pytest.raises(ValueError):
        weighted_draw([1, 0], 1, ["1"])
    with pytest.raises(ValueError):
        weighted_draw([1, 2], 3, ["1"])


# ---------------------------------------------------------------- pool digest


def test_pool_digest_is_sha256_of_compact_json() -> None:
    expected = hashlib.sha256(json.dumps(["U1", "Phường Hòa An"], ensure_ascii=False,
                                         separators=(",", ":")).encode()).hexdigest()
    assert pool_digest(["U1", "Phường Hòa An"]) == expected
    assert pool_digest(["a", "b"]) != pool_digest(["b", "a"])
    assert pool_digest(["a,b"]) != pool_digest(["a", "b"])
    # Unicode normalisation: decomposed and composed Vietnamese text hash the same
    assert pool_digest(["Ho\u0300a"]) == pool_digest(["H\u00f2a"])
    assert pool_digest(["a", "b"], tickets=[1, 2]) != pool_digest(["a", "b"], tickets=[2, 1])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)), st.text()),
                max_size=8))
def test_pool_digest_is_the_published_definition_for_any_text(items) -> None:
    """The fast paths (ASCII text taken as NFC, printable ASCII serialised by orjson) give the bytes
    of the definition: NFC, then json.dumps compact with ensure_ascii=False, quotes, backslashes and
    control characters included."""
    items = [t for t in items if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]  # UTF-8 has no surrogates
    nfc = [unicodedata.normalize("NFC", t) for t in items]
    expected = hashlib.sha256(json.dumps(nfc, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    assert pool_digest(items) == expected
    assert record_draw(items, 0, ["1 2 3"]).pool_sha256 == expected if items else True
    assert pool_digest(['a"b', "c\\d", "tab\there", "\x7f"]) == hashlib.sha256(
        json.dumps(['a"b', "c\\d", "tab\there", "\x7f"], ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


# ---------------------------------------------------------------- verification


def test_record_and_verify_plain() -> None:
    rec = record_draw(RFC_POOL, 10, RFC_SOURCES)
    assert rec.method_version == METHOD_VERSION and rec.key == RFC_KEY
    assert rec.selected == (17, 7, 2, 16, 25, 23, 8, 24, 19, 13)
    assert rec.pool_sha256 == pool_digest(RFC_POOL)
    check = verify(rec)
    assert check.ok and RFC_KEY in check.reason


def test_verify_detects_tampering() -> None:
    rec = record_draw(RFC_POOL, 10, RFC_SOURCES)
    swapped = (7, 17) + rec.selected[2:]
    bad = verify(replace(rec, selected=swapped))
    assert not bad.ok and "kết quả" in bad.reason
    pool = list(rec.pool)
    pool[0] = "Johnny"
    bad = verify(replace(rec, pool=tuple(pool)))
    assert not bad.ok and "SHA-256" in bad.reason
    bad = verify(replace(rec, sources=("9318", *rec.sources[1:])))
    assert not bad.ok and "nguồn ngẫu nhiên" in bad.reason
    # a source changed together with its key: the recomputed result differs from the stored one
    forged = replace(rec, sources=("9318", *rec.sources[1:]), key="9318./" + RFC_KEY[6:])
    bad = verify(forged)
    assert not bad.ok and "kết quả" in bad.reason
    bad = verify(replace(rec, pool=rec.pool[:-1], pool_sha256=pool_digest(rec.pool[:-1])))
    assert not bad.ok  # an entry removed (digest recomputed too): the recomputed result moves
    assert verify(replace(rec, method_version="other/9")).ok is False


def test_a_consistent_forgery_passes_verify_but_not_the_published_values() -> None:
    """Pool, digest and result recomputed together pass `verify` (it recomputes from what is stored);
    the digest and key the notice printed catch it."""
    rec = record_draw(RFC_POOL, 10, RFC_SOURCES)
    printed_sha, printed_key = rec.pool_sha256[:16], rec.key  # what a notice prints
    pool = list(rec.pool)
    pool[16], pool[0] = pool[0], pool[16]  # the first drawn position now holds another name
    forged = record_draw(pool, 10, RFC_SOURCES)
    assert verify(forged).ok and forged.selected == rec.selected and forged.pool != rec.pool
    assert matches_published(rec, published_sha256(printed_sha + "…"), printed_key).ok
    bad = matches_published(forged, published_sha256(printed_sha), printed_key)
    assert not bad.ok and "không phải danh sách đã công bố" in bad.reason and printed_sha in bad.reason
    other_key = record_draw(RFC_POOL, 10, ["9318", *RFC_SOURCES[1:]])
    bad = matches_published(other_key, key=printed_key)
    assert not bad.ok and "khóa" in bad.reason
    assert matches_published(rec, key=f"  {printed_key} ").ok  # spaces around a pasted key


@pytest.mark.parametrize(("text", "digits"), [
    ("3F2A9C0B1D4E5F60…", "3f2a9c0b1d4e5f60"), ("3f2a 9c0b 1d4e 5f60...", "3f2a9c0b1d4e5f60"),
    ("a" * 64, "a" * 64), ("0123456789ab", "0123456789ab"),
])
def test_published_sha256_as_printed(text: str, digits: str) -> None:
    assert published_sha256(text) == digits


@pytest.mark.parametrize(("text", "why"), [
    ("3f2a9c0b", "ít nhất 12"), ("3f2a9c0b1d4z5f60", "chữ số hex"), ("", "chữ số hex"), ("a" * 65, "chữ số hex"),
])
def test_published_sha256_refuses_what_is_not_a_printed_digest(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        published_sha256(text)


def test_record_and_verify_weighted() -> None:
    units = ["VP", "VHXH", "KT", "TTPVHCC"]
    rec = record_draw(units, 2, labelled(["12 34 56"], 1), tickets=[100, 40, 13, 1])
    assert rec.method_version == WEIGHTED_METHOD_VERSION
    assert rec.sources == ("12 34 56", "1")
    assert verify(rec).ok
    bad = verify(replace(rec, tickets=(1, 40, 13, 100)))
    assert not bad.ok and "SHA-256" in bad.reason
    bad = verify(replace(rec, tickets=None))
    assert not bad.ok


def test_changing_a_source_changes_the_draw() -> None:
    base = draw(25, 10, RFC_SOURCES).selected
    for i in range(3):
        changed = list(RFC_SOURCES)
        changed[i] = changed[i] + " 1"
        assert draw(25, 10, changed).selected != base
