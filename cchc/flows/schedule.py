"""`cchc serve`: run the deployments of prefect.yaml on this machine with Prefect's `serve()`, for a
ward that has one server and no work pool. prefect.yaml stays the one source of the schedules."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from cchc.config import DEFAULT_TIMEZONE
from cchc.errors import UserError

DEFAULT_TZ = DEFAULT_TIMEZONE


class ScheduleError(UserError, ValueError):
    """prefect.yaml or a schedule in it cannot be used: names the file and the deployment."""


def _load_flow(entrypoint: str, where: str):
    try:
        path, name = entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, name)
    except (ValueError, ImportError, AttributeError) as e:
        raise ScheduleError(f"{where}.entrypoint: không nạp được {entrypoint!r} ({e})") from None


def deployment_specs(path: str | Path = "prefect.yaml") -> list[dict]:
    """The deployments of prefect.yaml as plain dicts (name, flow, parameters, schedules)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ScheduleError(f"{p}: không tìm thấy tệp (file not found)") from None
    specs = []
    for i, d in enumerate(data.get("deployments") or []):
        where = f"{p}: deployments[{i}]"
        if not d.get("name") or not d.get("entrypoint"):
            raise ScheduleError(f"{where}: cần name và entrypoint (name and entrypoint are required)")
        schedules = []
        for j, s in enumerate(d.get("schedules") or []):
            if "cron" not in s:
                raise ScheduleError(f"{where}.schedules[{j}]: chỉ hỗ trợ cron (only cron schedules)")
            schedules.append({"cron": s["cron"], "timezone": s.get("timezone") or DEFAULT_TZ})
        specs.append({"name": d["name"], "entrypoint": d["entrypoint"], "flow": _load_flow(d["entrypoint"], where),
                      "parameters": d.get("parameters") or {}, "description": d.get("description"),
                      "schedules": schedules, "concurrency_limit": d.get("concurrency_limit"),
                      "tags": list(d.get("tags") or [])})
    if not specs:
        raise ScheduleError(f"{p}: không có deployment nào (no deployments)")
    return specs


def build_deployments(path: str | Path = "prefect.yaml") -> list:
    from prefect.schedules import Cron

    return [
        s["flow"].to_deployment(
            name=s["name"], parameters=s["parameters"], description=s["description"],
            schedules=[Cron(x["cron"], timezone=x["timezone"]) for x in s["schedules"]],
            concurrency_limit=s["concurrency_limit"], tags=s["tags"],
        )
        for s in deployment_specs(path)
    ]


def serve_all(path: str | Path = "prefect.yaml") -> None:
    from prefect import serve

    deployments = build_deployments(path)
    take_over_from_deploy(deployments)
    serve(*deployments)


def take_over_from_deploy(deployments) -> list[str]:
    """Make deployments written by `prefect deploy` runnable by `serve()`: serve updates a deployment
    that already exists but keeps its `path`, and `prefect deploy` leaves none (its pull step says
    where the code is, and serve removes the pull steps), so a run would look for the code in
    '<cwd>/None'. Give each such deployment the path a fresh serve gives it. Returns their names.
    The other way round needs nothing: `prefect deploy` writes its pull steps, which win over a path."""
    from prefect import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    fixed = []
    with get_client(sync_client=True) as client:
        for d in deployments:
            want = d._path or "."
            try:
                current = client.read_deployment_by_name(f"{d.flow_name}/{d.name}")
            except ObjectNotFound:
                continue
            if current.path != want:
                client.update_deployment(current.id, DeploymentUpdate(path=want))
                fixed.append(d.name)
    return fixed
