"""The monthly summary wired end to end (issue 13): `cchc report monthly` over a small simulated
store, delivered through the REAL local mailbox — one message per recipient with the inline chart and
both attachments carrying the figures of `cchc stats --json`; a second run sends nothing; `--dry-run`
queues and sends nothing; the artifacts exist in the Prefect API; a failed scheduled run alerts the IT
officer exactly once. Under the session's one Prefect harness."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from docx import Document
from openpyxl import load_workbook
from test_flows import read_artifacts

from cchc.bench.indicators import populate
from cchc.bench.measure import AS_OF, bench_config
from cchc.cli import main
from cchc.connectors.mailbox import Mailbox, free_port
from cchc.connectors.store import Store
from cchc.connectors.store.outbox import Outbox
from cchc.domain.text import format_int, format_percent
from cchc.report import monthly as mo

ROOT = Path(__file__).resolve().parent.parent
WARD = "phuong-hoa-an-mo-phong"
PERIOD = "2026-10"
LEADERS = {"chutich@hoaan.example.vn", "phochutich@hoaan.example.vn"}
IT_OFFICER = "cntt@hoaan.example.vn"


def _write_config(tmp: Path, db: str, port: int, **reporting) -> Path:
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = db
    data["sources"]["provincial"]["start_date"] = "2025-10-01"
    data["smtp"].update(host="127.0.0.1", port=port)
    data["alerts"] = {"it_officer_email": IT_OFFICER, "ui_url": "http://127.0.0.1:4200"}
    data["reporting"].update(reporting)
    p = tmp / f"ward-{port}-{len(reporting)}.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def env(tmp_path_factory, prefect_harness):
    tmp = tmp_path_factory.mktemp("monthly")
    db = f"sqlite:///{tmp}/store.sqlite"
    store = Store(db)
    store.migrate()
    populate(store, bench_config("http://127.0.0.1:9", db, AS_OF - timedelta(days=400)), 800)
    port = free_port()
    cfg_path = _write_config(tmp, db, port)
    mp = pytest.MonkeyPatch()
    mp.setenv("CCHC_CONFIG", str(cfg_path))
    mp.setenv("CCHC_REPORTS_DIR", str(tmp / "reports"))
    for k in ("CCHC_SMTP_HOST", "CCHC_SMTP_PORT", "CCHC_SMTP_USER", "CCHC_SMTP_PASSWORD", "CCHC_SMTP_TLS",
              "CCHC_DATABASE_URL"):
        mp.delenv(k, raising=False)
    with Mailbox(directory=tmp / "mail", port=port) as box:
        yield {"tmp": tmp, "db": db, "cfg": cfg_path, "store": store, "box": box, "port": port}
    mp.undo()
    store.dispose()


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _outbox(env) -> Outbox:
    return Outbox(env["store"].engine)


def _monthly_mail(env) -> list:
    return [m for m in env["box"].messages() if "Tổng hợp tình hình giải quyết TTHC" in m["Subject"]]


def test_dry_run_renders_and_queues_nothing(env, capsys):
    before = _outbox(env).counts(kind=mo.KIND)
    mails_before = len(env["box"].files())
    code, out, err = _run(capsys, "report", "monthly", "--period", PERIOD, "--dry-run", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dry_run"] is True and result["queued"] == 0 and result["sent"] == 0
    assert set(result["recipients"]) == LEADERS
    assert all(Path(p).is_file() for p in result["files"].values())
    assert _outbox(env).counts(kind=mo.KIND) == before
    assert len(env["box"].files()) == mails_before


def test_report_monthly_sends_once_per_recipient_with_the_stats_figures(env, capsys):
    code, out, err = _run(capsys, "stats", "--json", "--period", PERIOD)
    assert code == 0, err
    total = next(r for r in json.loads(out) if r["group"] == "TOTAL")
    assert total["received"] > 0

    code, out, err = _run(capsys, "report", "monthly", "--period", PERIOD, "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["queued"], first["sent"]) == (2, 2), first
    assert Path(first["files"]["xlsx"]).parent == env["tmp"] / "reports" / PERIOD  # CCHC_REPORTS_DIR respected
    headline = {h["key"]: h for h in first["headline"]}
    assert headline["received"]["value"] == total["received"]
    assert headline["on_time_rate"]["value"] == total["on_time_rate"]

    mails = _monthly_mail(env)
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in mails) == sorted(LEADERS)
    names = mo.file_names(mo.MonthlyFigures(ward="", ward_slug=WARD, period=PERIOD, period_label="",
                                            period_range="", current={}))
    for parsed in mails:
        html = parsed.get_body(("html",)).get_content()
        text = parsed.get_body(("plain",)).get_content()
        assert f"Tỉ lệ giải quyết đúng hạn: {format_percent(total['on_time_rate'])}" in text
        images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
        assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"cid:{images[0]['Content-ID'].strip('<>')}" in html
        files = {p.get_filename(): p.get_content() for p in parsed.iter_attachments()}
        assert set(files) == {names["xlsx"], names["docx"]}
        ws = load_workbook(io.BytesIO(files[names["xlsx"]]))["Biểu 06 (lĩnh vực)"]
        row = next(r for r in ws.iter_rows(values_only=True) if "Tổng cộng" in r)
        assert total["received"] in row and total["resolved"] in row
        doc = Document(io.BytesIO(files[names["docx"]]))
        cells = {r.cells[1].text: r.cells[2].text for r in doc.tables[1].rows[1:]}
        assert cells["Hồ sơ tiếp nhận"] == format_int(total["received"])
        assert cells["Hồ sơ đã giải quyết"] == format_int(total["resolved"])
        assert cells["Tỉ lệ giải quyết đúng hạn"] == format_percent(total["on_time_rate"])

    code, out, err = _run(capsys, "report", "monthly", "--period", PERIOD, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["queued"], again["already_queued"], again["sent"]) == (0, 2, 0)
    assert len(_monthly_mail(env)) == 2


def test_artifacts_mirror_the_email_and_list_the_files(env, capsys):
    code, _, err = _run(capsys, "report", "monthly", "--period", PERIOD, "--dry-run")
    assert code == 0, err
    key = f"tong-hop-thang-{WARD}-{PERIOD}"
    arts = read_artifacts(key)
    assert arts[key].type == "markdown" and "Xếp hạng các đơn vị" in arts[key].data
    listing = read_artifacts(f"tep-{key}")[f"tep-{key}"].data
    assert "bieu06-" in listing and ".docx" in listing and str(env["tmp"] / "reports" / PERIOD) in listing


def test_period_must_be_a_month(env, capsys):
    code, _, err = _run(capsys, "report", "monthly", "--period", "2026-Q3")
    assert code != 0 and "theo tháng" in err and "Traceback" not in err


def _alerts(env) -> list:
    return [m for m in env["box"].messages() if str(m["To"].addresses[0].addr_spec) == IT_OFFICER]


def test_failed_scheduled_run_alerts_the_it_officer_once(env, monkeypatch):
    """A scheduled run (a deployment's) that fails tells the IT officer once, with the flow, the error
    and the link; the hook called again for the same run adds nothing; a run from the terminal does
    not alert (the person sees the error)."""
    from prefect import get_client

    from cchc.flows.monthly_report import monthly_report
    from cchc.tasks.alerts import alert_it_officer

    strict = _write_config(env["tmp"], env["db"], env["port"], max_data_age_hours=1)  # never synced: refused
    with pytest.raises(Exception, match="max_data_age_hours"):
        monthly_report(config_path=str(strict), period=PERIOD)
    assert _alerts(env) == []  # not a deployment's run

    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", "7dba42a4-0000-4000-8000-000000000000")
    state = monthly_report(config_path=str(strict), period=PERIOD, return_state=True)
    assert state.is_failed()
    alerts = _alerts(env)
    assert len(alerts) == 1
    body = alerts[0].get_body(("plain",)).get_content()
    run_id = state.state_details.flow_run_id
    assert "monthly_report" in alerts[0]["Subject"] and "max_data_age_hours" in body
    assert f"http://127.0.0.1:4200/runs/flow-run/{run_id}" in body
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    alert_it_officer(monthly_report, run, state)  # Prefect calling the hook again: still one message
    assert len(_alerts(env)) == 1
    assert _outbox(env).counts(kind="canh-bao")["sent"] == 1


def test_a_hook_never_raises(monkeypatch):
    from cchc.tasks.alerts import alert_it_officer

    class Broken:
        name, id, parameters, deployment_id = "x", "1", {"config_path": "/khong/co/tep.yaml"}, "d"

    alert_it_officer(Broken(), Broken(), None)  # no config, no state: a warning, no exception


@pytest.mark.parametrize(("alerts", "key"), [({"ui_url": "ftp://x"}, "alerts.ui_url"),
                                             ({"it_officer_email": "khong-phai-email"}, "alerts.it_officer_email"),
                                             ({"gui_cho": "a"}, "alerts.gui_cho")])
def test_alerts_config_errors_name_the_key(tmp_path, alerts, key):
    from cchc.config import ConfigError, load_config

    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["alerts"] = alerts
    p = tmp_path / "ward.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert f": {key}" in str(e.value) and "\n" not in str(e.value)


def test_deployment_and_parameter_descriptions():
    from prefect.utilities.callables import parameter_schema

    from cchc.flows.monthly_report import monthly_report
    from cchc.flows.schedule import deployment_specs

    spec = next(s for s in deployment_specs(ROOT / "prefect.yaml") if s["name"] == "tong-hop-thang")
    assert spec["flow"].name == "monthly_report"
    assert [(x["cron"], x["timezone"]) for x in spec["schedules"]] == [("30 7 1 * *", "Asia/Ho_Chi_Minh")]
    props = parameter_schema(monthly_report.fn).model_dump()["properties"]
    assert set(props) == {"config_path", "period", "dry_run", "today"}
    assert all(v.get("description") for v in props.values())
    for flow_ in (monthly_report, *_other_flows()):
        assert [h.__name__ for h in flow_.on_failure_hooks] == ["alert_it_officer"], flow_.name
        assert [h.__name__ for h in flow_.on_crashed_hooks] == ["alert_it_officer"], flow_.name


def _other_flows():
    """Every flow of the deployments: a scheduled run of any of them that fails alerts the IT officer."""
    from cchc.flows.schedule import deployment_specs

    return tuple({s["flow"].name: s["flow"] for s in deployment_specs(ROOT / "prefect.yaml")}.values())


def test_mail_server_down_keeps_the_messages_for_the_next_run(env, capsys, monkeypatch):
    """SMTP unreachable: one line naming the setting, exit 1, the month's messages wait in the outbox;
    the next run (server back) sends them, once."""
    down = _write_config(env["tmp"], env["db"], free_port())
    monkeypatch.setenv("CCHC_CONFIG", str(down))
    code, _, err = _run(capsys, "report", "monthly", "--period", "2026-09")
    assert code == 1 and "smtp.host" in err and "hàng đợi" in err and "Traceback" not in err, err[:3000]
    waiting = [m for m in _outbox(env).messages(status="queued", kind=mo.KIND) if "|2026-09|" in m["key"]]
    assert len(waiting) == 2
    monkeypatch.setenv("CCHC_CONFIG", str(env["cfg"]))
    code, out, err = _run(capsys, "report", "monthly", "--period", "2026-09", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["queued"], result["already_queued"], result["sent"]) == (0, 2, 2)
    assert len([m for m in _monthly_mail(env) if "9/2026 " in m["Subject"]]) == 2


def test_pipeline_run_without_prefect_dry_run_writes_files_only(env, tmp_path):
    """`run_monthly` (what benchmarks call, no Prefect): a dry run writes the three files and no message."""
    from cchc.config import load_config
    from cchc.pipeline import monthly as pm

    cfg = load_config(env["cfg"], env={})
    before = _outbox(env).counts()
    per = pm.monthly_period(cfg, None, AS_OF)
    assert per.slug == PERIOD  # the last full month before the run day
    result = pm.run_monthly(env["store"], cfg, per, "provincial", AS_OF, cfg.now(), dry_run=True, folder=tmp_path)
    assert sorted(Path(p).name for p in result.files.values()) == sorted(mo.file_names(result.figures).values())
    assert len(result.messages) == 2 and (result.queued, result.sent) == (0, 0)
    assert _outbox(env).counts() == before
    assert [label for label, _, _ in result.figures.trend] == [f"{m:02d}/2025" for m in (11, 12)] + [
        f"{m:02d}/2026" for m in range(1, 11)]


def test_remediation_counts_come_from_the_findings(env):
    from datetime import date

    from cchc.config import load_config
    from cchc.connectors.store.inspections import Inspections
    from cchc.pipeline import monthly as pm

    cfg = load_config(env["cfg"], env={})
    per = pm.monthly_period(cfg, PERIOD, AS_OF)
    assert pm.inspections_done(env["store"], cfg, per, AS_OF) == ([], {})  # none kept: empty sections
    ins = Inspections(env["store"])
    unit = cfg.units[0].code
    ins.add_finding(unit, "Niêm yết TTHC chưa đầy đủ", deadline=date(2026, 11, 30))
    ins.add_finding(unit, "Sổ theo dõi hồ sơ chưa cập nhật", deadline=date(2026, 11, 1))
    ins.update_finding(ins.add_finding(unit, "Chưa số hóa kết quả", deadline=date(2026, 10, 30)), status="done")
    visits, counts = pm.inspections_done(env["store"], cfg, per, AS_OF)
    assert visits == [] and counts == {"open": 1, "overdue": 1, "done": 1}
