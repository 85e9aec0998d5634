"""The dashboard files of a bundle and the provisioning that loads them into Grafana.

Dashboards go under `grafana/dashboards/<team>/`: Grafana's file provider with
`foldersFromFilesStructure` makes one folder per team."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

from slo.compile.rules import CompileOptions
from slo.compile.units import Unit

from .modernize import modernize
from .overview import overview_dashboard
from .provisioning import provisioning_files
from .service import service_dashboard
from .swarm import nodes_dashboard, services_dashboard

OVERVIEW_FOLDER = "SLOs"
SWARM_FOLDER = "Swarm"


def to_json(dashboard: Dashboard) -> str:
    data: dict[str, Any] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return json.dumps(modernize(data), indent=2, sort_keys=True) + "\n"


def service_dashboard_file(units: list[Unit], options: CompileOptions) -> tuple[str, str]:
    svc = units[0].service
    return f"grafana/dashboards/{svc.team}/{svc.stack}-{svc.service}.json", to_json(service_dashboard(units, options))


def dashboard_files() -> Iterator[tuple[str, str]]:
    """The files shared by every service: the overview and the provisioning."""
    yield f"grafana/dashboards/{OVERVIEW_FOLDER}/overview.json", to_json(overview_dashboard())
    yield f"grafana/dashboards/{SWARM_FOLDER}/services.json", to_json(services_dashboard())
    yield f"grafana/dashboards/{SWARM_FOLDER}/nodes.json", to_json(nodes_dashboard())
    yield from provisioning_files()
