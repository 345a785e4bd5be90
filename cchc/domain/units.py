"""Which configured unit a dossier's unit column names (pure rule, no I/O).

Sources write a dossier's unit in different ways: the national identifier ("H99.99.01"), the
ward's own short code ("VP"), or the unit's name ("Văn phòng HĐND và UBND"), with any case, spacing
and diacritics. ONE rule turns each into the unit's national identifier, which every report rolls
up by (`metrics.unit_matches`):

1. a national identifier of a configured unit, or one under it ("H99.99.04.01"), is kept as is;
2. else a configured unit's code, compared without case or surrounding spaces;
3. else a configured unit's name, compared case-, diacritics- and space-insensitively (`fold`);
4. else the value is kept unchanged (the reports show it as "another unit", never drop it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from cchc.domain.text import fold


class UnitLike(Protocol):
    code: str
    name: str
    national_id: str


def _under(value: str, national_id: str) -> bool:
    nid = national_id.strip().rstrip(".")
    return value == nid or value.startswith(nid + ".")


def unit_resolver(units: Iterable[UnitLike]) -> Callable[[str], str]:
    """A function value -> the national id of the unit it names (see the module's docstring)."""
    units = list(units)
    nids = [u.national_id.strip() for u in units]
    by_code = {u.code.strip().casefold(): u.national_id.strip() for u in units}
    by_name = {fold(u.name): u.national_id.strip() for u in units}
    cache: dict[str, str] = {}

    def resolve(value: str) -> str:
        if value in cache:
            return cache[value]
        v = str(value or "").strip()
        out = value
        if v:
            if any(_under(v, nid) for nid in nids):
                out = v
            elif v.casefold() in by_code:
                out = by_code[v.casefold()]
            elif fold(v) in by_name:
                out = by_name[fold(v)]
        if len(cache) < 10_000:
            cache[value] = out
        return out

    return resolve
