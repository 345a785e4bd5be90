"""Text helpers for Vietnamese: accent folding, slugs for artifact keys, number formatting."""

from __future__ import annotations

import math
import re
import unicodedata

_SPECIAL = str.maketrans({"đ": "d", "Đ": "D"})


def fold(text: str) -> str:
    """Lowercase, without diacritics, spaces collapsed: 'Ngày tiếp nhận ' -> 'ngay tiep nhan'."""
    s = unicodedata.normalize("NFKD", str(text).translate(_SPECIAL))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.lower().split())


def slugify(text: str) -> str:
    """Lowercase ASCII with dashes, for stable artifact keys: 'Phường Hòa An' -> 'phuong-hoa-an'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def format_percent(value: float | None, na: str = "không phát sinh") -> str:
    """95.25 -> '95,25%'; None -> 'không phát sinh'."""
    if value is None:
        return na
    return format_decimal(value, na=na) + "%"


def format_int(n, sign: bool = False, na: str = "—") -> str:
    """1234567 -> '1.234.567' (Vietnamese thousands separator); numpy integers and whole floats too.
    `sign=True` -> '+1.234' / '-5' / '0' (a change); None / NaN -> `na`."""
    if n is None:
        return na
    try:
        f = float(n)
    except (TypeError, ValueError):
        return str(n)
    if f != f:  # NaN
        return na
    v = int(round(f))
    text = f"{v:+,}" if sign and v else f"{v:,}"
    return text.replace(",", ".")


def format_decimal(value, digits: int = 2, na: str = "không phát sinh", sign: bool = False) -> str:
    """1234.5 -> '1.234,50' (decimal comma, dot thousands); `sign=True` -> '+1,50' / '-0,25' / '+0,00'
    (a change); None / NaN -> `na`. The one decimal formatter: rates, days, points all use it."""
    if value is None:
        return na
    f = float(value)
    if f != f:
        return na
    text = f"{f:+,.{digits}f}" if sign else f"{f:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def as_number(v) -> float | None:
    """A figure read from a table cell: a finite float, or None for a missing / NaN / NA / infinite value
    or one that is not a number. The one number reader of the tables, scores and reports."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
