"""Dossier sampling for an inspection (bóc mẫu hồ sơ, DOMAIN.md §7). Pure, no I/O.

Sample size: ISO 2859-1 (TCVN 7790-1) general inspection level II, by lot size (`iso2859_sample_size`;
code letters A..Q), or a fixed n from the configuration; never more than the lot (100% when the
sample would reach the lot size). A lot of 1 gives 1; an empty lot gives 0.

Plan for one unit and period (`plan_sample`), as audit practice (ISA 530) does:
1. High-risk dossiers are taken in full: late (resolved after the due date), overdue pending, more
   than one supplement request, late or overdue without an apology slip, complained about. Each row
   records why. With a cap and more high-risk dossiers than the cap, the cap is drawn among them with
   RFC 3797 (pool: the high-risk dossiers by code; label 1); the others go back to the rest.
2. The rest is sampled at random, stratified by procedure. The random part's size is
   min(sample_size(lot size), number of the rest), where the lot is every dossier of the unit and
   period. It is allocated to the procedures in proportion to their numbers (largest-remainder
   rounding; ties go to the larger stratum, then the smaller procedure code; a small stratum may get
   0). Each stratum is drawn with RFC 3797 over its dossiers ordered by code (plain string order),
   with label 1 + k for the k-th procedure in code order (see cchc.domain.draw: the label is
   appended as one more single-number source), unless it is taken whole.

Input (a pandas DataFrame, or an iterable of dicts or `DossierFacts`), one row per dossier:
  code (str, required, unique)       the dossier code (MaHoSo); no personal data
  procedure_code (str, required)     the procedure (MaTTHC); the stratum
  late (bool, default False)         resolved after the due date
  overdue_pending (bool, False)      not resolved, due date passed
  supplement_requests (int, 0)       number of supplement requests (yêu cầu bổ sung)
  apology_slip (bool, False)         an apology slip (phiếu xin lỗi) was issued
  complained (bool, False)           a complaint or feedback names this dossier
Missing values in the optional columns count as False / 0. Other columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass

import numpy as np
import pandas as pd

from cchc.domain.draw import DrawRecord, SourceLike, labelled, record_draw

# (lowest lot size, highest lot size or None, code letter, sample size), level II
ISO_2859_LEVEL_II: tuple[tuple[int, int | None, str, int], ...] = (
    (2, 8, "A", 2), (9, 15, "B", 3), (16, 25, "C", 5), (26, 50, "D", 8), (51, 90, "E", 13),
    (91, 150, "F", 20), (151, 280, "G", 32), (281, 500, "H", 50), (501, 1200, "J", 80),
    (1201, 3200, "K", 125), (3201, 10000, "L", 200), (10001, 35000, "M", 315),
    (35001, 150000, "N", 500), (150001, 500000, "P", 800), (500001, None, "Q", 1250),
)

HIGH_RISK_LABEL = 1
KIND_HIGH_RISK = "high_risk"
KIND_RANDOM = "random"
KIND_WHOLE = "whole_stratum"

_OPTIONAL = {"late": False, "overdue_pending": False, "supplement_requests": 0,
             "apology_slip": False, "complained": False}


@dataclass(frozen=True)
class DossierFacts:
    code: str
    procedure_code: str
    late: bool = False
    overdue_pending: bool = False
    supplement_requests: int = 0
    apology_slip: bool = False
    complained: bool = False


@dataclass(frozen=True)
class SampledDossier:
    code: str
    procedure_code: str
    reason: str  # Vietnamese, for the sample sheet
    kind: str  # KIND_HIGH_RISK, KIND_RANDOM or KIND_WHOLE
    position: int | None = None  # 1-based position in the pool it was drawn from
    draw_order: int | None = None  # 1-based order drawn


@dataclass(frozen=True)
class StratumAllocation:
    procedure_code: str
    pool_size: int
    allocated: int
    label: int  # the draw label of this stratum


@dataclass(frozen=True)
class SamplePlan:
    lot_size: int
    sample_size: int  # sample_size(lot_size, fixed_n): the size of the random part before capping
    high_risk_count: int
    high_risk_taken: int
    high_risk_cap: int | None
    rows: tuple[SampledDossier, ...]
    strata: tuple[StratumAllocation, ...]
    draws: tuple[tuple[str, DrawRecord], ...]  # (what was drawn, Vietnamese; the record)


def iso2859_sample_size(lot_size: int) -> int:
    """ISO 2859-1 general inspection level II sample size, capped at the lot (100%)."""
    if lot_size < 0:
        raise ValueError(f"cỡ lô phải không âm, không phải {lot_size}")
    if lot_size <= 1:
        return lot_size
    for low, high, _letter, n in ISO_2859_LEVEL_II:
        if low <= lot_size and (high is None or lot_size <= high):
            return min(n, lot_size)
    raise AssertionError("unreachable: the table covers every lot size >= 2")


def sample_size(lot_size: int, fixed_n: int | None = None) -> int:
    """The configured fixed n (capped at the lot), or ISO 2859-1 level II by lot size."""
    if fixed_n is None:
        return iso2859_sample_size(lot_size)
    if fixed_n < 0:
        raise ValueError(f"cỡ mẫu cố định phải không âm, không phải {fixed_n}")
    return min(fixed_n, max(lot_size, 0))


def allocate(sizes: Sequence[int], n: int) -> tuple[int, ...]:
    """Proportional allocation of n over strata of `sizes` by largest remainder (Hamilton).
    Ties in the remainder go to the larger stratum, then the earlier one. Sums to n; n <= sum."""
    total = sum(sizes)
    if n < 0 or n > total:
        raise ValueError(f"không thể phân bổ {n} mẫu cho {total} hồ sơ")
    if total == 0:
        return tuple(0 for _ in sizes)
    base = [n * s // total for s in sizes]
    remainders = [n * s % total for s in sizes]
    order = sorted(range(len(sizes)), key=lambda i: (-remainders[i], -sizes[i], i))
    for i in order[: n - sum(base)]:
        base[i] += 1
    return tuple(base)


#: The columns the plan reads (the others are ignored, and not copied).
_READ = ("code", "procedure_code", *_OPTIONAL)


def _frame(dossiers) -> pd.DataFrame:
    if isinstance(dossiers, pd.DataFrame):
        df = dossiers[[c for c in dossiers.columns if c in _READ]].copy()
    else:
        rows = [asdict(d) if is_dataclass(d) else dict(d) for d in dossiers]
        df = pd.DataFrame(rows, columns=None if rows else ["code", "procedure_code"])
    missing = [c for c in ("code", "procedure_code") if c not in df.columns]
    if missing:
        raise ValueError(f"thiếu cột {', '.join(missing)} trong danh sách hồ sơ để bóc mẫu")
    for column, default in _OPTIONAL.items():
        if column not in df.columns:
            df[column] = default
        df[column] = df[column].fillna(default).astype(type(default))
    df["code"] = df["code"].astype(str)
    df["procedure_code"] = df["procedure_code"].fillna("").astype(str)
    blank = df["code"].str.strip() == ""
    if blank.any():
        raise ValueError(f"{int(blank.sum())} hồ sơ không có mã hồ sơ")
    dup = df["code"][df["code"].duplicated()]
    if len(dup):
        raise ValueError(f"mã hồ sơ trùng trong danh sách bóc mẫu: {dup.iloc[0]}")
    return df.sort_values("code", kind="stable").reset_index(drop=True)


def high_risk_reasons(d: DossierFacts) -> tuple[str, ...]:
    """Why a dossier is high-risk (Vietnamese), empty when it is not."""
    reasons = []
    if d.late:
        reasons.append("quá hạn")
    if d.overdue_pending:
        reasons.append("đang giải quyết đã quá hạn")
    if d.supplement_requests > 1:
        reasons.append(f"yêu cầu bổ sung {d.supplement_requests} lần")
    if (d.late or d.overdue_pending) and not d.apology_slip:
        reasons.append("quá hạn không có phiếu xin lỗi")
    if d.complained:
        reasons.append("bị phản ánh, kiến nghị")
    return tuple(reasons)


def _risk_mask(df: pd.DataFrame) -> np.ndarray:
    late = df["late"].to_numpy() | df["overdue_pending"].to_numpy()
    return late | (df["supplement_requests"].to_numpy() > 1) | df["complained"].to_numpy()


def _facts(row) -> DossierFacts:
    return DossierFacts(row.code, row.procedure_code, bool(row.late), bool(row.overdue_pending),
                        int(row.supplement_requests), bool(row.apology_slip), bool(row.complained))


def plan_sample(dossiers: pd.DataFrame | Iterable, sources: Sequence[SourceLike] = (), *,
                fixed_n: int | None = None, high_risk_cap: int | None = None) -> SamplePlan:
    """The sample of one unit and period; `sources` are needed only when something is drawn."""
    if high_risk_cap is not None and high_risk_cap < 0:
        raise ValueError(f"giới hạn hồ sơ rủi ro cao phải không âm, không phải {high_risk_cap}")
    df = _frame(dossiers)
    lot = len(df)
    n = sample_size(lot, fixed_n)
    risky = df[_risk_mask(df)]
    rows: list[SampledDossier] = []
    draws: list[tuple[str, DrawRecord]] = []
    taken = np.zeros(lot, dtype=bool)

    chosen = list(range(len(risky)))
    note: dict[int, tuple[str, int, int]] = {}
    if high_risk_cap is not None and len(risky) > high_risk_cap:
        rec = record_draw(risky["code"].tolist(), high_risk_cap, labelled(sources, HIGH_RISK_LABEL))
        draws.append((f"hồ sơ rủi ro cao: {high_risk_cap} trong {len(risky)}", rec))
        chosen = sorted(p - 1 for p in rec.selected)
        for order, p in enumerate(rec.selected, start=1):
            note[p - 1] = (f" (vượt giới hạn {high_risk_cap}: rút ngẫu nhiên RFC 3797 trong {len(risky)} "
                           f"hồ sơ rủi ro cao, vị trí {p}, lượt rút {order})", p, order)
    for i, row in zip(chosen, risky.iloc[chosen].itertuples(index=True), strict=True):  # the taken rows only
        extra, p, order = note.get(i, ("", None, None))
        reason = "rủi ro cao: " + "; ".join(high_risk_reasons(_facts(row))) + extra
        rows.append(SampledDossier(row.code, row.procedure_code, reason, KIND_HIGH_RISK, p, order))
        taken[row.Index] = True

    rest = df[~taken]
    random_n = min(n, len(rest))
    groups = [(proc, g) for proc, g in rest.groupby("procedure_code", sort=True)]
    shares = allocate([len(g) for _, g in groups], random_n)
    strata = []
    for k, ((proc, group), share) in enumerate(zip(groups, shares, strict=True), start=1):
        label = HIGH_RISK_LABEL + k
        strata.append(StratumAllocation(proc, len(group), share, label))
        if share == 0:
            continue
        codes = group["code"].tolist()
        if share == len(group):
            for p, code in enumerate(codes, start=1):
                rows.append(SampledDossier(code, proc, f"toàn bộ thủ tục {proc} ({len(codes)} hồ sơ), "
                                                       f"vị trí {p}", KIND_WHOLE, p))
            continue
        rec = record_draw(codes, share, labelled(sources, label))
        draws.append((f"thủ tục {proc}: {share} trong {len(codes)}", rec))
        for order, p in enumerate(rec.selected, start=1):
            rows.append(SampledDossier(codes[p - 1], proc,
                                       f"ngẫu nhiên (RFC 3797), thủ tục {proc}, vị trí {p}/{len(codes)}, "
                                       f"lượt rút {order}", KIND_RANDOM, p, order))
    return SamplePlan(lot, n, len(risky), len(chosen), high_risk_cap, tuple(rows), tuple(strata),
                      tuple(draws))


def plan_rows(plan: SamplePlan) -> list[dict]:
    """The sampled rows as plain dicts (code, procedure_code, reason, kind, position, draw_order)."""
    return [asdict(r) for r in plan.rows]
