"""Indicators over a period (DOMAIN.md §4): classification of dossiers and the indicator tables.

The rules live in three modules along their seams — `classification` (facts, classify),
`tables` (indicator tables, cells, roll-up, display) and `officers` (the officer table); this
module names them all, so `from cchc.domain import metrics as m` reads as before.

Pure domain code, no I/O: a "facts" DataFrame in (one row per dossier of one source), tables out.
Everything is vectorized (numpy/pandas); no per-dossier Python loops.

Facts columns (timestamps naive datetime64 in Vietnam local time, NaT when absent; only
`code`, `unit_code`, `status` and `received_at` are required, the rest default as shown):

    code, unit_code, procedure_code, procedure_name, field_code, field_name   str ("")
    status int 1..10, channel int (1 in person, 2 online, 3 postal; missing -> 1)
    online_level float (NaN, 3, 4), evaluation float (NaN, 1 satisfied, 2 acceptable, 3 unsatisfied)
    received_at, due_at, effective_due_at, finished_at, returned_at, refused_at   datetime64 (NaT)
    owes_fee, paid_online, digitized_component, reused_component, e_result, supplement_pending,
    apology, fee_unstated, procedure_has_fee   bool (False); result_paper bool (True);
    supplement_count int (0)

`owes_fee` is what the record says; where it says nothing (`fee_unstated`: no fee list, no
CoPhi flag, not exempt) the catalogue's `procedure_has_fee` decides. `refused_at` (NgayTuChoi) at
or after the reception ends an open dossier as returned without resolution ("trả lại").

Steps columns (optional frame): code, unit_code, officer, at (step done, NaT if not), step_due,
and optionally started_at.
"""

from __future__ import annotations

from cchc.domain.classification import (  # noqa: F401
    BOOL_COLUMNS,
    CLASSIFIED_COLUMNS,
    CLASSIFY_MODES,
    DATA_ISSUE_REASONS,
    FACTS_COLUMNS,
    FLAG_COLUMNS,
    REQUIRED_COLUMNS,
    STRING_COLUMNS,
    TIME_COLUMNS,
    can_matter,
    check_choice,
    classify,
    facts_from_dossiers,
    normalize_facts,
    period_bounds,
    steps_can_matter,
    steps_from_dossiers,
    text_column,
)
from cchc.domain.officers import (  # noqa: F401
    officer_table,
    officer_table_from_counts,
)
from cchc.domain.tables import (  # noqa: F401
    CELL_KEYS,
    COMPONENT_COLUMNS,
    COUNT_COLUMNS,
    GROUPINGS,
    RATES,
    STEP_COUNT_COLUMNS,
    STEP_RATE,
    TOTAL,
    TOTAL_LABEL_VI,
    UNMATCHED,
    UNMATCHED_LABEL_VI,
    additive_columns,
    cell_table,
    format_days,
    indicator_table,
    rates_for_display,
    rollup_units,
    steps_additive,
    unit_matches,
)
