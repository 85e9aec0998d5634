"""Swarm dashboards from the exporter's metrics (and cAdvisor's and node-exporter's): services
(replicas, task states, health, restarts, updates, resources against limits) and nodes.

Metric names come from `exporter.families`, the exporter's own table, so a panel cannot name a
family the exporter does not publish."""

from __future__ import annotations

from grafanalib.core import Dashboard, Templating

from exporter import families as f

from . import variables
from .ids import PanelIds, dashboard_uid
from .panels import Query, Step, stat, timeseries

SERVICES_UID = dashboard_uid("swarm-services")
NODES_UID = dashboard_uid("swarm-nodes")
SEL = '{stack=~"$stack",service=~"$service"}'
_CADVISOR_SERVICE = "container_label_com_docker_swarm_service_name"
# cAdvisor names the Swarm service in a container label; relabelled to join the exporter's.
_CADVISOR_SEL = f'{{{_CADVISOR_SERVICE}=~"$service"}}'


def _by_service(expr: str) -> str:
    return f'label_replace(sum by ({_CADVISOR_SERVICE}) ({expr}), "service", "$1", "{_CADVISOR_SERVICE}", "(.*)")'


def services_dashboard() -> Dashboard:
    ids = PanelIds()
    panels = [
        stat(
            "Services",
            "Swarm services shown by the filters.",
            [Query(f"count({f.SERVICE_INFO}{SEL}) or vector(0)", "services", instant=True)],
            "none",
            [Step("blue")],
            ids("services"),
            (0, 0, 6, 4),
        ),
        stat(
            "Below desired replicas",
            "Services running fewer tasks on ready nodes than they should.",
            [
                Query(
                    f"count({f.SERVICE_REPLICAS_RUNNING}{SEL} < {f.SERVICE_REPLICAS_DESIRED}{SEL}) or vector(0)",
                    "below desired",
                    instant=True,
                )
            ],
            "none",
            [Step("green"), Step("red", 1)],
            ids("below"),
            (6, 0, 6, 4),
        ),
        stat(
            "Unhealthy containers",
            "Running task containers whose health check fails, on every node.",
            [
                Query(
                    f'count({f.TASK_CONTAINER_HEALTH}{{health="unhealthy",stack=~"$stack",service=~"$service"}}) '
                    "or vector(0)",
                    "unhealthy",
                    instant=True,
                )
            ],
            "none",
            [Step("green"), Step("red", 1)],
            ids("unhealthy"),
            (12, 0, 6, 4),
        ),
        stat(
            "Updates rolling back",
            "Services whose last update is rolling back or rolled back.",
            [
                Query(
                    f'count({f.SERVICE_UPDATE_STATE}{{state=~"rollback_.*",stack=~"$stack",service=~"$service"}} == 1) '
                    "or vector(0)",
                    "rolling back",
                    instant=True,
                )
            ],
            "none",
            [Step("green"), Step("orange", 1)],
            ids("rollback"),
            (18, 0, 6, 4),
        ),
        timeseries(
            "Running and desired replicas",
            "Tasks running on ready nodes, and replicas desired, per service.",
            [
                Query(f"{f.SERVICE_REPLICAS_RUNNING}{SEL}", "{{service}} running"),
                Query(f"{f.SERVICE_REPLICAS_DESIRED}{SEL}", "{{service}} desired"),
            ],
            "none",
            [Step("green")],
            ids("replicas"),
            (0, 4, 12, 8),
        ),
        timeseries(
            "Tasks by state",
            "Tasks the managers keep, history included, by state.",
            [Query(f"sum by (state) ({f.SERVICE_TASKS}{SEL})", "{{state}}")],
            "none",
            [Step("green")],
            ids("tasks"),
            (12, 4, 12, 8),
        ),
        timeseries(
            "Container health",
            "Running task containers by health, reported by each node's own engine.",
            [
                Query(
                    f'count by (health) ({f.TASK_CONTAINER_HEALTH}{{stack=~"$stack",service=~"$service"}})',
                    "{{health}}",
                )
            ],
            "none",
            [Step("green")],
            ids("health"),
            (0, 12, 8, 8),
        ),
        timeseries(
            "Task restarts",
            "Tasks that ended and were replaced, per service and reason, over the last hour.",
            [
                Query(
                    f"sum by (stack, service, reason) (increase({f.SERVICE_TASK_RESTARTS}{SEL}[1h]))",
                    "{{service}} {{reason}}",
                )
            ],
            "none",
            [Step("green"), Step("red", 3)],
            ids("restarts"),
            (8, 12, 8, 8),
        ),
        timeseries(
            "Update state",
            "1 while a service is in that update state (updating, paused, completed, rollback_*).",
            [Query(f"{f.SERVICE_UPDATE_STATE}{SEL} == 1", "{{service}} {{state}}")],
            "none",
            [Step("green")],
            ids("update"),
            (16, 12, 8, 8),
        ),
        timeseries(
            "CPU used and limit",
            "Cores used by all tasks of a service (cAdvisor) against limit x desired replicas.",
            [
                Query(
                    _by_service(f"rate(container_cpu_usage_seconds_total{_CADVISOR_SEL}[$__rate_interval])"),
                    "{{service}} used",
                ),
                Query(f"{f.SERVICE_LIMIT_CPU}{SEL} * {f.SERVICE_REPLICAS_DESIRED}{SEL}", "{{service}} limit"),
            ],
            "none",
            [Step("green")],
            ids("cpu"),
            (0, 20, 12, 8),
        ),
        timeseries(
            "Memory used and limit",
            "Working set of all tasks of a service (cAdvisor) against limit x desired replicas.",
            [
                Query(_by_service(f"container_memory_working_set_bytes{_CADVISOR_SEL}"), "{{service}} used"),
                Query(f"{f.SERVICE_LIMIT_MEMORY}{SEL} * {f.SERVICE_REPLICAS_DESIRED}{SEL}", "{{service}} limit"),
            ],
            "bytes",
            [Step("green")],
            ids("memory"),
            (12, 20, 12, 8),
        ),
    ]
    return Dashboard(
        title="Swarm / Services",
        uid=SERVICES_UID,
        description="Swarm services from the swarm-slo exporter, resources from cAdvisor. Generated by swarm-slo.",
        tags=["swarm"],
        panels=panels,
        templating=Templating(
            list=[
                variables.datasource(),
                variables.label_filter("stack", "Stack", metric=f.SERVICE_INFO),
                variables.label_filter("service", "Service", ("stack",), metric=f.SERVICE_INFO),
            ]
        ),
        editable=False,
        refresh="30s",
        timezone="browser",
    )


def nodes_dashboard() -> Dashboard:
    ids = PanelIds()
    not_ready = f'count({f.NODE_STATE}{{state!="ready"}}) or vector(0)'
    panels = [
        stat(
            "Nodes",
            "Nodes in the swarm.",
            [Query(f"count({f.NODE_INFO}) or vector(0)", "nodes", instant=True)],
            "none",
            [Step("blue")],
            ids("nodes"),
            (0, 0, 6, 4),
        ),
        stat(
            "Nodes not ready",
            "Nodes whose state is down, unknown or disconnected.",
            [Query(not_ready, "not ready", instant=True)],
            "none",
            [Step("green"), Step("red", 1)],
            ids("not-ready"),
            (6, 0, 6, 4),
        ),
        stat(
            "Managers unreachable",
            "Managers the raft cluster cannot reach: quorum is at risk.",
            [
                Query(
                    f'count({f.NODE_MANAGER_REACHABILITY}{{reachability!="reachable"}}) or vector(0)',
                    "unreachable",
                    instant=True,
                )
            ],
            "none",
            [Step("green"), Step("red", 1)],
            ids("unreachable"),
            (12, 0, 6, 4),
        ),
        stat(
            "Nodes drained or paused",
            "Nodes whose availability is not active: they take no new tasks.",
            [Query(f'count({f.NODE_INFO}{{availability!="active"}}) or vector(0)', "not active", instant=True)],
            "none",
            [Step("green"), Step("orange", 1)],
            ids("availability"),
            (18, 0, 6, 4),
        ),
        timeseries(
            "Node state",
            "1 per node in its current state.",
            [Query(f"{f.NODE_STATE}", "{{hostname}} {{state}}")],
            "none",
            [Step("green")],
            ids("state"),
            (0, 4, 12, 8),
        ),
        timeseries(
            "CPU busy",
            "Share of CPU time not idle, per node (node-exporter).",
            [
                Query(
                    'avg by (instance) (1 - rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',
                    "{{instance}}",
                )
            ],
            "percentunit",
            [Step("green"), Step("orange", 0.8), Step("red", 0.95)],
            ids("cpu"),
            (12, 4, 12, 8),
        ),
        timeseries(
            "Memory used",
            "Share of memory not available, per node (node-exporter).",
            [Query("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}")],
            "percentunit",
            [Step("green"), Step("orange", 0.8), Step("red", 0.95)],
            ids("memory"),
            (0, 12, 12, 8),
        ),
        timeseries(
            "Disk free",
            "Free share of the fullest real file system, per node (node-exporter).",
            [
                Query(
                    'min by (instance) (node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} '
                    '/ node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})',
                    "{{instance}}",
                )
            ],
            "percentunit",
            [Step("red"), Step("orange", 0.1), Step("green", 0.2)],
            ids("disk"),
            (12, 12, 12, 8),
        ),
    ]
    return Dashboard(
        title="Swarm / Nodes",
        uid=NODES_UID,
        description="Swarm nodes from the swarm-slo exporter, resources from node-exporter. Generated by swarm-slo.",
        tags=["swarm"],
        panels=panels,
        templating=Templating(list=[variables.datasource()]),
        editable=False,
        refresh="30s",
        timezone="browser",
    )
