"""What a person sees of a flow run in the Prefect UI: a readable name
(`dong-bo-<ward>-<yyyymmdd-hhmm>`, `nhap-excel-...`, `chi-so-<ward>-<period>`) and tags
(`ward:<ward>`, `kind:<kind>`), so that runs can be found and filtered by ward and job."""

from __future__ import annotations

from datetime import datetime


def _params() -> dict:
    from prefect.runtime import flow_run

    try:
        return dict(flow_run.parameters or {})
    except Exception:  # noqa: BLE001 — a name is never worth failing a run for
        return {}


def _config(params: dict):
    from cchc.config import load_config

    try:
        return load_config(params.get("config_path"))
    except Exception:  # noqa: BLE001 — the flow itself reports a bad configuration, clearly
        return None


def sync_kind(params: dict) -> str:
    return "nhap-excel" if params.get("excel_file") else "dong-bo"


def _timed_name(prefix: str, params: dict) -> str:
    """<prefix>-<ward>-<yyyymmdd-hhmm> in the ward's time."""
    cfg = _config(params)
    slug = cfg.ward.slug if cfg else "cchc"
    now = cfg.now() if cfg else datetime.now()
    return f"{prefix}-{slug}-{now:%Y%m%d-%H%M}"


def _period_name(prefix: str, unknown: str) -> str:
    """<prefix>-<ward>-<period>: the period of the run's parameters (default: the last full month of
    the ward's reporting mode); `unknown` names it when the configuration cannot be read."""
    from cchc.domain.periods import last_full_month, parse_period

    params = _params()
    cfg = _config(params)
    if cfg is None:
        return f"{prefix}-cchc-{params.get('period') or unknown}"
    mode = cfg.reporting.period_mode
    try:
        today = datetime.fromisoformat(params["today"]).date() if params.get("today") else cfg.today()
        per = parse_period(params["period"], mode=mode) if params.get("period") else last_full_month(today, mode)
        period = per.slug
    except (ValueError, TypeError):
        period = str(params.get("period"))
    return f"{prefix}-{cfg.ward.slug}-{period}"


def sync_run_name() -> str:
    """`flow_run_name` of sync_dossiers: dong-bo-<ward>-<time> (nhap-excel-... for an Excel import)."""
    params = _params()
    return _timed_name(sync_kind(params), params)


def indicators_run_name() -> str:
    """`flow_run_name` of compute_indicators: chi-so-<ward>-<period> (the period the run computes)."""
    return _period_name("chi-so", "ky-truoc")


def tag_current_run(ward_slug: str, kind: str) -> list[str]:
    """Add `ward:<ward>` and `kind:<kind>` to the tags of the running flow run (keeps its others)."""
    from prefect import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if run_id is None:
        return []
    wanted = [f"ward:{ward_slug}", f"kind:{kind}"]
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run_id).tags or []
        tags = sorted(set(current) | set(wanted))
        if set(tags) != set(current):
            client.update_flow_run(run_id, tags=tags)
    return tags


def plan_run_name() -> str:
    """`flow_run_name` of plan_inspections: ke-hoach-kiem-tra-<ward>-<year>[-dot-<n>]."""
    params = _params()
    cfg = _config(params)
    slug = cfg.ward.slug if cfg else "cchc"
    year = params.get("year") or (cfg.inspection.year if cfg and cfg.inspection else "")
    wave = f"-dot-{params['wave']}" if params.get("wave") else ""
    return f"ke-hoach-kiem-tra-{slug}-{year}{wave}"


def spot_run_name() -> str:
    """`flow_run_name` of spot_check: kiem-tra-dot-xuat-<ward>-<yyyymmdd-hhmm>."""
    return _timed_name("kiem-tra-dot-xuat", _params())


def monthly_run_name() -> str:
    """`flow_run_name` of monthly_report: tong-hop-thang-<ward>-<period> (the month the run reports)."""
    return _period_name("tong-hop-thang", "thang-truoc")


def reminders_run_name() -> str:
    """`flow_run_name` of daily_reminders: nhac-viec-<ward>-<date> (the day the reminders are for)."""
    params = _params()
    cfg = _config(params)
    slug = cfg.ward.slug if cfg else "cchc"
    day = params.get("date") or (cfg.today().isoformat() if cfg else datetime.now().date().isoformat())
    return f"nhac-viec-{slug}-{day}"
