"""Publicly verifiable draws (RFC 3797, "Publicly Verifiable Nominations Committee Random Selection").

Pure domain code, no I/O (DOMAIN.md §7). A draw is reproducible by anyone from its stored inputs:
the ordered pool (and its SHA-256), the public random sources, the count and the method version.

Key (RFC 3797 §4). Each source is the text of its numbers as published (e.g. "2, 5, 12, 8, 10" or
"05 12 18 23 37 41"), or a sequence of numbers. Numbers are separated by white space, commas or
semicolons; the decimal point is "." (a Vietnamese decimal comma is read as a separator: "1,5" is
the two numbers 1 and 5, key "1.5./", while 1.5 gives "1.5/"; the key is always shown). Every value is written in decimal without leading
zeroes (a single zero if the integer part is zero): an integer is followed by ".", a non-integer
has "." between its whole and fractional parts and no trailing zeroes after it ("12.50" -> "12.5",
"3.00" -> "3.", "007" -> "7."; as the RFC writes it, a non-integer is not followed by a
period, so "0.10 3" gives "0.13./"). The values of one source are sorted from smallest to largest,
concatenated, and ended by "/"; the sources are concatenated in the order given. Only unsigned
decimal numbers are accepted: the RFC strongly advises against alphanumeric sources.

Draw (RFC 3797 §4). For i = 0, 1, ...: the MD5 of (i as 2 bytes big-endian, key in ASCII, i again)
read as an unsigned 128-bit big-endian integer, modulo the number of entries still remaining, picks
that (0-based) entry of the remaining pool in published order. Results are 1-based positions in the
published pool, in the order drawn.

Labels. When one set of sources serves several draws (each wave of a plan, each stratum of a
sample), each draw appends its label (a positive integer) as one more single-number source, so the
draws are not copies of each other and each stays an ordinary RFC 3797 draw: `labelled(sources, k)`.

Weighted variant (`weighted_draw`), for the risk-weighted periodic selection. Each unit holds a
whole number of tickets (`tickets_from_weights`: tickets = round-half-up(weight / largest weight *
resolution), at least 1, so every unit keeps a chance; all weights zero -> one ticket each). The
tickets are laid out in published order (all of unit 1's, then unit 2's, ...). For i = 0, 1, ...
the RFC value modulo the number of tickets still remaining picks a ticket in that layout; its unit
is selected and all of that unit's tickets are removed. With one ticket per unit this is exactly the
plain RFC 3797 draw. The tickets (not the weights) are stored and hashed with the pool.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import orjson

METHOD_VERSION = "rfc3797-md5/1"
WEIGHTED_METHOD_VERSION = "rfc3797-md5-tickets/1"
MAX_DRAWS = 1 << 16  # the counter i is two bytes

SourceLike = str | int | Decimal | Sequence[str | int | Decimal]

_SEPARATORS = re.compile(r"[\s,;]+")
_NUMBER = re.compile(r"\d+(\.\d+)?")


@dataclass(frozen=True)
class DrawStep:
    """One line of the RFC's published table: the 0-based counter, the MD5 (upper-case hex), the
    divisor (entries or tickets remaining) and the selected 1-based position in the published pool."""

    index: int
    md5_hex: str
    divisor: int
    position: int


@dataclass(frozen=True)
class DrawResult:
    key: str
    selected: tuple[int, ...]  # 1-based positions in the published pool, in the order drawn
    steps: tuple[DrawStep, ...]


@dataclass(frozen=True)
class DrawRecord:
    """Everything needed to recompute and check a draw (what a selection stores)."""

    pool: tuple[str, ...]
    pool_sha256: str
    sources: tuple[str, ...]  # as the user gave them, labels included
    count: int
    key: str
    selected: tuple[int, ...]
    method_version: str = METHOD_VERSION
    tickets: tuple[int, ...] | None = None  # weighted draws only, one per pool entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # Vietnamese, one line


def _canonical_value(token: str, where: str) -> tuple[Decimal, str]:
    if not _NUMBER.fullmatch(token):
        raise ValueError(f"nguồn ngẫu nhiên {where}: {token!r} không phải số thập phân không dấu "
                         "(chỉ nhận số, dấu chấm thập phân)")
    whole, _, frac = token.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return Decimal(token), f"{whole}.{frac}" if frac else f"{whole}."


def _tokens(source: SourceLike) -> list[str]:
    if isinstance(source, bool):
        raise ValueError(f"nguồn ngẫu nhiên không hợp lệ: {source!r}")
    if isinstance(source, str):
        return [t for t in _SEPARATORS.split(source.strip()) if t]
    if isinstance(source, int | Decimal):
        return [_number_text(source)]
    return [t for item in source for t in _tokens(item)]


def _number_text(value: int | Decimal | str) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"nguồn ngẫu nhiên không hợp lệ: {value!r}")
    return format(Decimal(value), "f")


def canonical_source(source: SourceLike, where: str = "") -> str:
    """One source in RFC 3797 form, e.g. "2, 5, 12, 8, 10" -> "2.5.8.10.12./"."""
    tokens = _tokens(source)
    if not tokens:
        raise ValueError(f"nguồn ngẫu nhiên {where or repr(source)} rỗng")
    values = sorted(_canonical_value(t, where or repr(source)) for t in tokens)
    return "".join(text for _, text in values) + "/"


def make_key(sources: Sequence[SourceLike]) -> str:
    """The RFC 3797 key string of the sources, in the order given."""
    if isinstance(sources, str) or not sources:
        raise ValueError("cần ít nhất một nguồn ngẫu nhiên công khai (--source)")
    return "".join(canonical_source(s, f"#{i}") for i, s in enumerate(sources, start=1))


def labelled(sources: Sequence[SourceLike], label: int) -> tuple[SourceLike, ...]:
    """The sources with `label` appended as one more single-number source."""
    if isinstance(label, bool) or not isinstance(label, int) or label < 1:
        raise ValueError(f"nhãn lượt rút phải là số nguyên dương, không phải {label!r}")
    if isinstance(sources, str) or not sources:  # the label alone is no public randomness
        raise ValueError("cần ít nhất một nguồn ngẫu nhiên công khai (--source)")
    return (*sources, str(label))


def _digest(key: str, i: int) -> bytes:
    counter = i.to_bytes(2, "big")
    return hashlib.md5(counter + key.encode("ascii") + counter, usedforsecurity=False).digest()


def _check_count(count: int, available: int, what: str) -> None:
    if count < 0:
        raise ValueError(f"số lượng cần chọn phải không âm, không phải {count}")
    if count > available:
        raise ValueError(f"không thể chọn {count} trong {what} chỉ có {available}")
    if count > MAX_DRAWS:
        raise ValueError(f"RFC 3797 chọn tối đa {MAX_DRAWS} lượt, không phải {count}")


def draw(pool_size: int, count: int, sources: Sequence[SourceLike]) -> DrawResult:
    """Select `count` of the 1-based positions 1..pool_size with the RFC 3797 method."""
    if pool_size < 0:
        raise ValueError(f"cỡ danh sách phải không âm, không phải {pool_size}")
    _check_count(count, pool_size, "danh sách")
    key = make_key(sources)
    removed: list[int] = []  # sorted 0-based positions already drawn
    steps: list[DrawStep] = []
    for i in range(count):
        md5 = _digest(key, i)
        divisor = pool_size - i
        k = int.from_bytes(md5, "big") % divisor
        position = k
        for r in removed:  # the k-th remaining entry: skip every drawn entry at or before it
            if r <= position:
                position += 1
            else:
                break
        insort(removed, position)
        steps.append(DrawStep(i, md5.hex().upper(), divisor, position + 1))
    return DrawResult(key, tuple(s.position for s in steps), tuple(steps))


def tickets_from_weights(weights: Sequence[float | int | Decimal | Fraction], resolution: int = 100
                         ) -> tuple[int, ...]:
    """Whole tickets per unit: round-half-up(weight / max weight * resolution), at least 1."""
    if resolution < 1:
        raise ValueError(f"độ phân giải vé phải >= 1, không phải {resolution}")
    exact = [Fraction(Decimal(str(w))) if isinstance(w, float) else Fraction(w) for w in weights]
    if any(w < 0 for w in exact):
        raise ValueError("trọng số không được âm")
    top = max(exact, default=Fraction(0))
    if top == 0:
        return tuple(1 for _ in exact)
    return tuple(max(1, math.floor(w / top * resolution + Fraction(1, 2))) for w in exact)


def weighted_draw(tickets: Sequence[int], count: int, sources: Sequence[SourceLike]) -> DrawResult:
    """Select `count` units by tickets (see the module docstring); positions are 1-based units."""
    if any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in tickets):
        raise ValueError("mỗi đơn vị phải có số vé nguyên >= 1")
    _check_count(count, len(tickets), "danh sách")
    key = make_key(sources)
    remaining = list(enumerate(tickets))  # (0-based unit, tickets) in published order
    total = sum(tickets)
    steps: list[DrawStep] = []
    for i in range(count):
        md5 = _digest(key, i)
        k = int.from_bytes(md5, "big") % total
        j = 0
        while k >= remaining[j][1]:  # the unit holding ticket k of the remaining layout
            k -= remaining[j][1]
            j += 1
        unit, held = remaining.pop(j)
        steps.append(DrawStep(i, md5.hex().upper(), total, unit + 1))
        total -= held
    return DrawResult(key, tuple(s.position for s in steps), tuple(steps))


def _pool_texts(items: Sequence[object]) -> list[str]:
    texts = [item if type(item) is str else str(item) for item in items]
    if "".join(texts).isascii():  # ASCII text is NFC already (dossier codes): one check in C
        return texts
    return [unicodedata.normalize("NFC", t) for t in texts]


def pool_digest(ordered_pool_items: Sequence[object], tickets: Sequence[int] | None = None) -> str:
    """SHA-256 (hex) of the canonical serialisation of the ordered pool: the UTF-8 bytes of the
    compact JSON array of the items as NFC strings (with tickets: an array of [item, tickets])."""
    return _digest_texts(_pool_texts(ordered_pool_items), tickets)


def _digest_texts(texts: Sequence[str], tickets: Sequence[int] | None) -> str:
    if tickets is not None:
        if len(tickets) != len(texts):
            raise ValueError("số phần tử vé khác số phần tử danh sách")
        payload: list = [[t, int(n)] for t, n in zip(texts, tickets, strict=True)]
    else:
        payload = texts
        joined = "".join(texts)
        if joined.isascii() and joined.isprintable():  # no escape but \" and \\: the same bytes, faster
            return hashlib.sha256(orjson.dumps(payload)).hexdigest()
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _source_texts(sources: Sequence[SourceLike]) -> tuple[str, ...]:
    return tuple(s if isinstance(s, str) else " ".join(_tokens(s)) for s in sources)


def record_draw(pool: Sequence[object], count: int, sources: Sequence[SourceLike],
                tickets: Sequence[int] | None = None) -> DrawRecord:
    """Draw over `pool` (plain, or weighted when `tickets` is given) and keep every input."""
    texts = tuple(_pool_texts(pool))
    if tickets is None:
        result = draw(len(texts), count, sources)
    else:
        if len(tickets) != len(texts):
            raise ValueError("số phần tử vé khác số phần tử danh sách")
        result = weighted_draw(tickets, count, sources)
    return DrawRecord(
        pool=texts,
        pool_sha256=_digest_texts(texts, tickets),
        sources=_source_texts(sources),
        count=count,
        key=result.key,
        selected=result.selected,
        method_version=METHOD_VERSION if tickets is None else WEIGHTED_METHOD_VERSION,
        tickets=None if tickets is None else tuple(int(t) for t in tickets),
    )


def verify(stored: DrawRecord) -> Verification:
    """Recompute a stored draw from its inputs; says whether the pool, sources and result agree."""
    if stored.method_version not in (METHOD_VERSION, WEIGHTED_METHOD_VERSION):
        return Verification(False, f"phương pháp {stored.method_version!r} không được hỗ trợ")
    weighted = stored.method_version == WEIGHTED_METHOD_VERSION
    if weighted != (stored.tickets is not None):
        return Verification(False, "số vé không khớp phương pháp đã lưu")
    try:
        digest = pool_digest(stored.pool, stored.tickets)
    except ValueError as e:
        return Verification(False, str(e))
    if digest != stored.pool_sha256:
        return Verification(False, "danh sách đã bị thay đổi: SHA-256 không khớp giá trị đã lưu "
                                   f"({stored.pool_sha256[:12]}… ≠ {digest[:12]}…)")
    try:
        key = make_key(stored.sources)
        if key != stored.key:
            return Verification(False, f"nguồn ngẫu nhiên không khớp khóa đã lưu ({key!r} ≠ {stored.key!r})")
        if weighted:
            result = weighted_draw(stored.tickets or (), stored.count, stored.sources)
        else:
            result = draw(len(stored.pool), stored.count, stored.sources)
    except ValueError as e:
        return Verification(False, f"không tính lại được: {e}")
    if result.selected != tuple(stored.selected):
        return Verification(False, f"kết quả đã lưu {list(stored.selected)} khác kết quả tính lại "
                                   f"{list(result.selected)}")
    return Verification(True, f"khớp: khóa {key}, {len(result.selected)} vị trí {list(result.selected)}")


#: hex digits of the pool's SHA-256 a notice prints (`inspection_docs.notice_context`), and the fewest
#: accepted when checking against one
PUBLISHED_SHA256_DIGITS = 16
MIN_PUBLISHED_SHA256_DIGITS = 12


def published_sha256(text: str) -> str:
    """The SHA-256 (or its first digits) as printed on a notice: lower-case hex, the ellipsis and
    spaces dropped. A ValueError names what is wrong."""
    digits = "".join(text.split()).rstrip("….").lower()
    if not re.fullmatch(r"[0-9a-f]+", digits or "-") or len(digits) > 64:
        raise ValueError(f"--sha256 {text!r}: phải là các chữ số hex của SHA-256 in trên thông báo")
    if len(digits) < MIN_PUBLISHED_SHA256_DIGITS:
        raise ValueError(f"--sha256 {text!r}: cần ít nhất {MIN_PUBLISHED_SHA256_DIGITS} chữ số hex "
                         f"(thông báo in {PUBLISHED_SHA256_DIGITS})")
    return digits


def matches_published(stored: DrawRecord, sha256: str | None = None, key: str | None = None) -> Verification:
    """Whether a stored draw is the one published (its notice prints the key and the first digits of
    the pool's SHA-256, `published_sha256`). `verify` recomputes a draw from what is stored; a store
    changed consistently — pool, digest and result recomputed together — passes it, but not this."""
    if sha256 is not None and not stored.pool_sha256.lower().startswith(sha256):
        return Verification(False, f"danh sách đã lưu không phải danh sách đã công bố: SHA-256 "
                                   f"{stored.pool_sha256[:len(sha256)]}… ≠ {sha256}…")
    if key is not None and key.strip() != stored.key:
        return Verification(False, f"khóa đã lưu không phải khóa đã công bố ({stored.key!r} ≠ {key.strip()!r})")
    shown = [f"SHA-256 {stored.pool_sha256[:len(sha256)]}…"] if sha256 else []
    shown += [f"khóa {stored.key}"] if key is not None else []
    return Verification(True, "khớp với thông báo đã công bố (" + ", ".join(shown) + ")")
