"""`cchc stats`, `indicators`, `reconcile`, `score766`: a period's indicators, read from the store or
computed by the compute_indicators flow, printed as tables or JSON and written to files."""

from __future__ import annotations

import os

from cchc.cli.checks import check_config
from cchc.cli.output import print_files, print_json
from cchc.config import Config
from cchc.domain.periods import Period
from cchc.errors import UsageError, UserError
from cchc.report import tables as rt


class PeriodArgumentError(UserError, ValueError):
    """A period on the command line that cannot be read: one plain line."""


def period_from_args(args, cfg: Config) -> Period:
    """The period of `--period` or `--from`/`--to` (both needed), else the last full month."""
    from cchc.domain.periods import last_full_month, parse_period

    mode = getattr(args, "mode", None) or cfg.reporting.period_mode
    date_from, date_to = getattr(args, "date_from", None), getattr(args, "date_to", None)
    if (date_from is None) != (date_to is None):
        given, missing = ("--from", "--to") if date_to is None else ("--to", "--from")
        raise PeriodArgumentError(f"{given} cần đi cùng {missing}: thiếu {missing} YYYY-MM-DD "
                                  f"({given} needs {missing})")
    try:
        if date_from is not None:
            if getattr(args, "period", None):
                raise PeriodArgumentError("chỉ dùng một trong hai: --period hoặc --from/--to "
                                          "(give either --period or --from/--to)")
            return parse_period(None, mode=mode, date_from=date_from, date_to=date_to)
        if getattr(args, "period", None):
            return parse_period(args.period, mode=mode)
    except PeriodArgumentError:
        raise
    except ValueError as e:
        raise PeriodArgumentError(str(e)) from None
    return last_full_month(cfg.today(), mode)


def cmd_stats(args) -> int:
    """`cchc stats`: compute one grouping for a period straight from the store (no Prefect server)."""
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.domain.periods import period_notes
    from cchc.pipeline.indicators import (
        bieu06,
        choose_source,
        group_table,
        has_dossiers,
        load_period,
        outline_rows,
    )
    from cchc.report.labels import BY_LABELS_VI
    from cchc.report.tables import display_rows, json_rows, officer_note, text_table

    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    period = period_from_args(args, cfg)
    from cchc.domain.sources import source_label

    store = Store(cfg.database_url)
    store.migrate()
    source = choose_source(store, cfg, args.source)
    data = load_period(store, cfg, period, source=source, with_national=False)
    table = group_table(data, cfg, args.by)
    today = cfg.today()
    notes = period_notes(period, today, has_dossiers(data))
    note = officer_note(data) if args.by == "officer" else None
    src = f"nguồn: {source_label(source)}"
    if args.xlsx:
        from cchc.report.xlsx import write_bieu06_xlsx, write_table_xlsx

        if args.by in ("unit", "field"):
            by_field, by_unit = bieu06(data, cfg)
            write_bieu06_xlsx(args.xlsx, ward_name=cfg.ward.name, province=cfg.ward.province,
                              period_label=period.label, period_from=period.start, period_to=period.end,
                              rows_by_field=by_field, rows_by_unit=by_unit, simulated=cfg.ward.simulated,
                              place=cfg.ward.place_name, receiving_body=cfg.ward.receiving_body, notes=notes,
                              source_label=source_label(source),
                              outline_rows=outline_rows(data, cfg))
        else:
            rows = [{BY_LABELS_VI[args.by]: note}] if note else display_rows(table, args.by)
            write_table_xlsx(args.xlsx, {BY_LABELS_VI[args.by]: rows},
                             title=f"Chỉ số theo {BY_LABELS_VI[args.by].lower()} — {cfg.ward.name} — {period.label}"
                                   f" — {src}")
    if args.json:
        provisional = period.state(today) != "finished"
        print_json([r | {"provisional": provisional} for r in json_rows(table, args.by, source=source, note=note)])
    else:
        title = (f"CHỈ SỐ GIẢI QUYẾT TTHC THEO {BY_LABELS_VI[args.by].upper()} — {cfg.ward.name} — {period.title}"
                 f" — {src}")
        print(f"{title}\n\n{note[0].upper()}{note[1:]}." if note else text_table(table, args.by, title, notes))
        if args.xlsx:
            print(f"\nĐã ghi {args.xlsx}")
    return 0


def unit_table_text(result: dict, cfg: Config | None = None) -> str:
    """The unit table of a compute_indicators run (its `unit_rows`), as the terminal shows it."""
    import pandas as pd

    from cchc.config import load_config
    from cchc.domain.periods import parse_period
    from cchc.report.labels import source_label

    cfg = cfg or load_config(os.environ.get("CCHC_CONFIG"))
    period = parse_period(result["period"], mode=cfg.reporting.period_mode)
    title = (f"CHỈ SỐ GIẢI QUYẾT TTHC THEO ĐƠN VỊ — {cfg.ward.name} — {period.title} — "
             f"nguồn: {source_label(result['source'])}")
    return rt.text_table(pd.DataFrame(result["unit_rows"]), "unit", title, result["notes"])


def cmd_indicators(args) -> int:
    from cchc.domain.periods import parse_period
    from cchc.flows.compute_indicators import compute_indicators

    check_config()
    if args.period:
        try:
            parse_period(args.period)
        except ValueError as e:
            raise UsageError(str(e)) from None
    source = _reporting_source(args.source)
    result = compute_indicators(config_path=os.environ.get("CCHC_CONFIG"), period=args.period, source=source)
    print(unit_table_text(result))
    print("Artifacts: " + ", ".join(result["artifact_keys"]))
    print_files(result.get("files") or ([result["xlsx"]] if result.get("xlsx") else []))
    return 0


def _period_data(args, with_national: bool = True):
    """(cfg, period, data, notes, provisional) for the commands that read one period from the store."""
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.domain.periods import period_notes
    from cchc.pipeline import indicators as ti

    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    period = period_from_args(args, cfg)
    store = Store(cfg.database_url)
    store.migrate()
    data = ti.load_period(store, cfg, period, source=args.source, with_national=with_national)
    today = cfg.today()
    return cfg, period, data, period_notes(period, today, ti.has_dossiers(data)), period.state(today) != "finished"


def cmd_reconcile(args) -> int:
    """`cchc reconcile`: the reconciliation with the national portal, as the flow computes it."""
    from cchc.domain.text import format_int
    from cchc.pipeline import indicators as ti

    cfg, period, data, notes, provisional = _period_data(args)
    summary, mismatches = ti.reconciliation(data, cfg)
    if args.xlsx:
        from cchc.report.xlsx import write_table_xlsx

        write_table_xlsx(args.xlsx, {"Tổng hợp": rt.reconcile_summary_display(summary),
                                     "Hồ sơ chênh lệch": rt.reconcile_detail_display(mismatches, cfg, limit=None)},
                         title=f"Đối soát với Cổng DVCQG — {cfg.ward.name} — {period.title}")
    if args.json:
        print_json(rt.reconcile_json(data, cfg, summary, mismatches, notes, provisional))
    else:
        lines = [f"ĐỐI SOÁT VỚI CỔNG DVCQG — {cfg.ward.name} — {period.title}",
                 *[f"Lưu ý: {n}." for n in notes], "", rt.rows_text(rt.reconcile_summary_display(summary)), ""]
        detail = rt.reconcile_detail_display(mismatches, cfg, limit=args.limit)
        if detail:
            cut = rt.shown_of(len(detail), len(mismatches))
            lines += [f"HỒ SƠ CHÊNH LỆCH: {format_int(len(mismatches))} dòng" + (f" ({cut})" if cut else ""), "",
                      rt.rows_text(detail, left=3)]
        else:
            lines.append("Không có hồ sơ chênh lệch.")
        print("\n".join(lines))
        if args.xlsx:
            print_files([args.xlsx])
    return 0


def cmd_score766(args) -> int:
    """`cchc score766`: the 766 points computable from dossier data, as the flow computes them."""
    from cchc.pipeline import indicators as ti

    cfg, period, data, notes, provisional = _period_data(args)
    summary, _ = ti.reconciliation(data, cfg)
    scores = ti.scores(ti.unit_table_766(data, cfg), summary, cfg)
    if args.json:
        print_json(rt.scores_json(period, scores, cfg, notes, provisional))
    else:
        print("\n".join([f"ĐIỂM BỘ CHỈ SỐ 766 (PHẦN TÍNH ĐƯỢC TỪ DỮ LIỆU HỒ SƠ) — {cfg.ward.name} — {period.title}",
                         *[f"Lưu ý: {n}." for n in notes], "", rt.rows_text(rt.scores_display(scores))]))
    return 0


def _reporting_source(requested: str | None) -> str:
    """The source the report reads, chosen before any flow starts: a bad choice is one line."""
    from cchc.config import load_config
    from cchc.connectors.store import Store
    from cchc.pipeline.indicators import choose_source

    cfg = load_config(os.environ.get("CCHC_CONFIG"))
    store = Store(cfg.database_url)
    try:
        store.migrate()
        return choose_source(store, cfg, requested)
    finally:
        store.dispose()
