"""Scheduling and operations against a REAL Prefect server (`prefect server start` on a free port, its
own PREFECT_HOME and SQLite database), as an operator runs it: `prefect deploy --all` with a process
work pool, then `cchc serve`; the `cchc` command line in subprocesses. Every process started here
runs in its own process group and is killed at the end, whether the test passed or not."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from cronsim import CronSim

from cchc.flows.limits import sync_limit_name
from cchc.simulator.server import Faults, running
from cchc.simulator.ward import SyntheticWard

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VN = ZoneInfo("Asia/Ho_Chi_Minh")
WARD = "phuong-hoa-an-mo-phong"
AS_OF = "2026-11-20"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Processes started by a test, each in its own session; all killed (group-wide) at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, args, **kw) -> subprocess.Popen:
        p = subprocess.Popen(args, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 10) -> None:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:  # children of the group (a flow run started by serve) go too
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.wait(timeout=5)

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            self.stop(p)


@pytest.fixture(scope="module")
def procs():
    ps = Processes()
    yield ps
    ps.stop_all()


def base_env(home: Path) -> dict:
    """The environment of every subprocess: no PREFECT_* inherited from the test session."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CCHC_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT),
               PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home}/prefect.db")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory, procs):
    """A real Prefect server, fast scheduler loop, no UI, no telemetry."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = base_env(home) | {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1", "PREFECT_UI_ENABLED": "false"}
    log = open(home / "server.log", "w")  # noqa: SIM115 — closed at the end of the module
    p = procs.start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(api + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            log.close()
            pytest.fail("Prefect server did not start:\n" + (home / "server.log").read_text()[-3000:])
        time.sleep(0.3)
    yield {"api": api, "home": home, "env": env | {"PREFECT_API_URL": api}, "http": _RetryingClient(base_url=api)}
    procs.stop(p)
    log.close()


@pytest.fixture(scope="module")
def ward_env(server, tmp_path_factory):
    """A ward configuration (the demo's, a fresh SQLite store) for subprocesses against the server."""
    tmp = tmp_path_factory.mktemp("ward")
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp}/store.sqlite"
    data["sources"]["provincial"].update(page_size=50, max_retries=0, backoff_s=0.1)
    cfg = tmp / "ward.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = server["env"] | {"CCHC_CONFIG": str(cfg), "CCHC_REPORTS_DIR": str(tmp / "reports"),
                           "CCHC_NATIONAL_USERNAME": "kiemtra", "CCHC_NATIONAL_PASSWORD": "mat-khau",
                           "CCHC_HOME": str(ROOT)}
    return {"tmp": tmp, "cfg": cfg, "env": env, "db": data["database_url"]}


def cchc(env: dict, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cchc.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, start_new_session=True)


class _RetryingClient(httpx.Client):
    """Like Prefect's own client: a 503 from a busy server (its SQLite under load) is retried."""

    def request(self, *args, **kwargs):
        for _ in range(10):
            resp = super().request(*args, **kwargs)
            if resp.status_code != 503:
                return resp
            time.sleep(1)
        return resp


def wait_for(what, check, timeout: float = 30, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(every)


def deployments(http) -> dict:
    return {d["name"]: d for d in http.post("/deployments/filter", json={}).json()}


def flow_runs(http, **flt) -> list[dict]:
    return http.post("/flow_runs/filter", json={"flow_runs": flt, "limit": 200}).json()


def run_logs(http, run_id: str) -> list[dict]:
    return http.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}, "level": {"ge_": 20}},
                                           "sort": "TIMESTAMP_DESC", "limit": 200}).json()


def latest_artifact(http, key: str) -> dict:
    found = http.post("/artifacts/latest/filter", json={"artifacts": {"key": {"any_": [key]}}}).json()
    assert found, key
    return found[0]


# --- 1. deploy: scheduled runs for every scheduled deployment, in Vietnam's time -----------------
def test_prefect_deploy_all_creates_scheduled_runs_in_vietnam_time(server, ward_env):
    env = ward_env["env"]
    r = subprocess.run([str(BIN / "prefect"), "work-pool", "create", "cchc", "--type", "process"], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    specs = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]}
    deps = deployments(server["http"])
    assert set(deps) >= {"dong-bo-ho-so", "dong-bo-ho-so-toan-bo", "chi-so-thang"}
    scheduled = {n: s for n, s in specs.items() if s.get("schedules")}
    assert scheduled
    for name, spec in scheduled.items():
        d = deps[name]
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]] == [
            (x["cron"], "Asia/Ho_Chi_Minh") for x in spec["schedules"]]
        assert d["work_pool_name"] == "cchc"
        runs = wait_for(f"scheduled runs of {name}", lambda d=d: flow_runs(
            server["http"], deployment_id={"any_": [d["id"]]}, state={"type": {"any_": ["SCHEDULED"]}}))
        cron = spec["schedules"][0]["cron"]
        for run in runs:  # each run falls on the cron's minute in Vietnam's local time, not in UTC
            at = datetime.fromisoformat(run["expected_start_time"]).astimezone(VN).replace(tzinfo=None)
            assert next(iter(CronSim(cron, at - timedelta(minutes=1)))) == at, (name, at)
    # the UI's run form describes every parameter (the flow's docstring "Args:")
    props = deps["dong-bo-ho-so"]["parameter_openapi_schema"]["properties"]
    assert props["full"]["description"].startswith("Lấy lại toàn bộ")
    assert all(p.get("description") for p in deps["chi-so-thang"]["parameter_openapi_schema"]["properties"].values())
    assert deps["chi-so-thang"]["parameters"] == {"sync_first": True}


# --- 2 + 3 + 5. serve after deploy: a triggered run completes; its INFO lines reach the API -------
def test_cchc_serve_after_deploy_runs_a_triggered_flow(server, ward_env, procs):
    http = server["http"]
    assert deployments(http)["chi-so-thang"]["pull_steps"], "the deploy test runs first"
    serve_log = open(ward_env["tmp"] / "serve.log", "w")  # noqa: SIM115
    env = ward_env["env"] | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    p = procs.start([sys.executable, "-m", "cchc.cli", "serve"], env=env, cwd=ROOT,
                    stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        wait_for("serve to take over the deployments",
                 lambda: all(d["path"] == "." and not d["pull_steps"] for d in deployments(http).values()))
        dep = deployments(http)["chi-so-thang"]
        resp = http.post(f"/deployments/{dep['id']}/create_flow_run",
                         json={"parameters": {"sync_first": False, "write_xlsx": False, "period": "2026-10"}})
        assert resp.status_code == 201, resp.text
        run = resp.json()
        final = wait_for("the triggered run to finish", lambda: (
            lambda r: r if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED") else None)(
            http.get(f"/flow_runs/{run['id']}").json()), timeout=60)
        assert final["state_type"] == "COMPLETED", (final["state"], [x["message"][:300] for x in
                                                                     run_logs(http, run["id"])])
        # the run's own INFO line reaches the API (the run's process sends its logs as it ends)
        wait_for("the run's INFO lines in the API", lambda: any(
            x["level"] == 20 and x["message"].startswith("Đã đăng") for x in run_logs(http, run["id"])), timeout=20)
    finally:
        procs.stop(p)
        serve_log.close()
    assert final["name"] == f"chi-so-{WARD}-2026-10"
    assert {f"ward:{WARD}", "kind:chi-so"} <= set(final["tags"])
    serve_out = (ward_env["tmp"] / "serve.log").read_text()
    assert "Đã đăng" not in serve_out  # the console stays quiet: INFO goes to the API only


# --- 4 + 3 + 5. two syncs of one store: the second waits for the first ----------------------------
def test_two_overlapping_syncs_of_one_store_run_one_after_the_other(server, ward_env, procs):
    http = server["http"]
    ward = SyntheticWard(seed=3, n_dossiers=150, as_of=datetime.fromisoformat(AS_OF).date(), months=3)
    name = sync_limit_name(WARD, ward_env["db"])
    with running(ward, faults=Faults.parse("slow=1,slow_s=1")) as url:
        env = ward_env["env"] | {"CCHC_PROVINCIAL_URL": url, "CCHC_NATIONAL_URL": url}
        args = [sys.executable, "-m", "cchc.cli", "sync", "--source", "provincial", "--today", AS_OF, "--json"]
        first = procs.start(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for("the first sync to hold the store's slot", lambda: (
            lambda r: r.status_code == 200 and r.json()["active_slots"] == 1)(
            http.get(f"/v2/concurrency_limits/{name}")), timeout=40, every=0.1)
        second = procs.start(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    limit = http.get(f"/v2/concurrency_limits/{name}").json()
    assert limit["limit"] == 1 and limit["active_slots"] == 0
    from cchc.connectors.store import Store

    runs = sorted(Store(ward_env["db"]).runs(10), key=lambda r: r["started_at"])
    assert len(runs) == 2 and all(r["status"] == "ok" for r in runs)
    assert runs[1]["started_at"] >= runs[0]["finished_at"]  # no overlap
    assert json.loads(out2)["inserted"] == 0  # the second found the first's work done
    syncs = flow_runs(http, name={"like_": f"dong-bo-{WARD}-"})
    assert len(syncs) == 2 and all(f"ward:{WARD}" in r["tags"] and "kind:dong-bo" in r["tags"] for r in syncs)
    messages = [x["message"] for r in syncs for x in run_logs(http, r["id"]) if x["level"] == 20]
    assert any("chờ đến lượt" in m for m in messages)  # the second said why it waited
    assert any(m.startswith("Đồng bộ xong") for m in messages)  # INFO lines of a `cchc sync` reach the API
    assert "INFO" not in err1 + err2  # ...and not the console

    # 6. every dashboard artifact states the last successful sync of its data
    r = cchc(ward_env["env"], "indicators", "--period", "2026-10")
    assert r.returncode == 0, r.stderr
    last = runs[1]["finished_at"]
    for key in (f"chi-so-don-vi-{WARD}-2026-10", f"bieu-06-{WARD}-2026-10", f"tong-hop-{WARD}-2026-10"):
        assert f"đồng bộ thành công lần cuối lúc {last:%H:%M %d/%m/%Y}" in latest_artifact(http, key)["description"]


# --- 6. the data-age rule ------------------------------------------------------------------------
def test_indicators_refuse_data_older_than_the_configured_age(server, ward_env, tmp_path):
    data = yaml.safe_load(ward_env["cfg"].read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path}/never-synced.sqlite"
    data["reporting"]["max_data_age_hours"] = 24
    cfg = tmp_path / "ward.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = cchc(ward_env["env"] | {"CCHC_CONFIG": str(cfg)}, "indicators", "--period", "2026-10")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "reporting.max_data_age_hours" in r.stderr, r.stderr


# --- 8. one line, not a traceback or Prefect's ERROR lines ----------------------------------------
def test_unreachable_prefect_server_is_one_line(ward_env):
    env = ward_env["env"] | {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    r = cchc(env, "sync")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert lines[0].startswith("Lỗi / error: ") and "PREFECT_API_URL" in lines[0]


def test_failed_import_prints_only_its_one_line(server, ward_env, tmp_path):
    bad = tmp_path / "hoso.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    r = cchc(ward_env["env"], "import-excel", str(bad))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "hoso.csv" in r.stderr, r.stderr
    assert "ERROR" not in r.stderr


# --- 8 + 7. a sync that fails: one line; its progress stays where it stopped and says it failed ----
def test_failed_sync_is_one_line_and_its_progress_shows_where_it_stopped(server, ward_env, tmp_path):
    data = yaml.safe_load(ward_env["cfg"].read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path}/store.sqlite"
    cfg = tmp_path / "ward.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    ward = SyntheticWard(seed=4, n_dossiers=300, as_of=datetime.fromisoformat(AS_OF).date(), months=3)
    with running(ward, faults=Faults(fail_after_pages=2)) as url:
        env = ward_env["env"] | {"CCHC_CONFIG": str(cfg), "CCHC_PROVINCIAL_URL": url}
        r = cchc(env, "sync", "--source", "provincial", "--today", AS_OF)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi / error: Hệ thống TTHC tỉnh"), r.stderr
    art = latest_artifact(server["http"], f"tien-do-dong-bo-{WARD}")
    assert 0 < art["data"] < 100  # two pages of six stored, then the server went away
    assert "THẤT BẠI" in art["description"] and "trang 3/" in art["description"], art["description"]


def test_stats_into_a_closed_pipe_exits_quietly(ward_env):
    p = subprocess.Popen([sys.executable, "-m", "cchc.cli", "stats", "--period", "2026-10"], env=ward_env["env"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    p.stdout.close()  # `| head` that has already left
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141
    assert err == "", err
