"""Every metric family the exporter publishes, declared once: name, type, help, labels, scope.

This module is the single source of metric names: the HTTP handler renders from it, the docs
page `docs/exporter-metrics.md` is generated from it (`swarm-exporter --print-metrics-doc`, a
test fails when the page is stale), and `slo` imports the names for its SLI templates. It does
no I/O and imports nothing from the rest of the exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "FAMILIES",
    "HEALTH_STATES",
    "RESTART_REASONS",
    "UPDATE_STATES",
    "Family",
    "Kind",
    "Scope",
    "metrics_doc",
]


class Kind(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"


class Scope(StrEnum):
    # Reported only by the instance whose local node is the swarm leader.
    CLUSTER = "cluster"
    # Reported by every instance, about the containers of its own node.
    NODE = "node"
    # Reported by every instance, about itself.
    EXPORTER = "exporter"


@dataclass(frozen=True)
class Family:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    scope: Scope


# The six states the engine reports in UpdateStatus.State (the API spec lists three).
UPDATE_STATES = ("updating", "paused", "completed", "rollback_started", "rollback_paused", "rollback_completed")
# Container health as the local engine reports it; `none` when the image has no health check.
HEALTH_STATES = ("healthy", "unhealthy", "starting", "none")
# Buckets for why a task ended and was replaced (see exporter/state.py: restart_reason).
RESTART_REASONS = ("nonzero_exit", "killed", "unhealthy", "rejected", "orphaned", "completed", "other")

_SVC = ("service", "stack")
_TASK = ("service", "stack", "task", "task_id")
_NODE = ("node_id", "hostname")

SERVICE_INFO = "swarm_service_info"
SERVICE_REPLICAS_DESIRED = "swarm_service_replicas_desired"
SERVICE_REPLICAS_RUNNING = "swarm_service_replicas_running"
SERVICE_ENGINE_TASKS_DESIRED = "swarm_service_engine_tasks_desired"
SERVICE_ENGINE_TASKS_RUNNING = "swarm_service_engine_tasks_running"
SERVICE_TASKS = "swarm_service_tasks"
SERVICE_UPDATE_STATE = "swarm_service_update_state"
SERVICE_UPDATE_STARTED = "swarm_service_update_started_timestamp_seconds"
SERVICE_UPDATE_COMPLETED = "swarm_service_update_completed_timestamp_seconds"
SERVICE_UPDATE_TRANSITIONS = "swarm_service_update_transitions_total"
SERVICE_TASK_RESTARTS = "swarm_service_task_restarts_total"
SERVICE_LIMIT_CPU = "swarm_service_limit_cpu_cores"
SERVICE_LIMIT_MEMORY = "swarm_service_limit_memory_bytes"
SERVICE_RESERVATION_CPU = "swarm_service_reservation_cpu_cores"
SERVICE_RESERVATION_MEMORY = "swarm_service_reservation_memory_bytes"
TASK_INFO = "swarm_task_info"
TASK_STATE = "swarm_task_state"
TASK_DESIRED_STATE = "swarm_task_desired_state"
TASK_EXIT_CODE = "swarm_task_exit_code"
TASK_CONTAINER_HEALTH = "swarm_task_container_health"
NODE_INFO = "swarm_node_info"
NODE_STATE = "swarm_node_state"
NODE_MANAGER_REACHABILITY = "swarm_node_manager_reachability"
NODE_LEADER = "swarm_node_leader"
EXPORTER_BUILD_INFO = "swarm_exporter_build_info"
EXPORTER_CLUSTER_REPORTER = "swarm_exporter_cluster_reporter"
EXPORTER_CONNECTED = "swarm_exporter_docker_connected"
EXPORTER_LAST_SYNC = "swarm_exporter_last_sync_timestamp_seconds"
EXPORTER_STALENESS = "swarm_exporter_staleness_seconds"
EXPORTER_EVENTS = "swarm_exporter_events_total"
EXPORTER_RESYNCS = "swarm_exporter_resyncs_total"
EXPORTER_API_ERRORS = "swarm_exporter_docker_api_errors_total"
EXPORTER_API_DURATION = "swarm_exporter_docker_api_request_duration_seconds"

_G, _C, _H = Kind.GAUGE, Kind.COUNTER, Kind.HISTOGRAM
_CL, _ND, _EX = Scope.CLUSTER, Scope.NODE, Scope.EXPORTER

FAMILIES: tuple[Family, ...] = (
    Family(SERVICE_INFO, _G, "Always 1: one series per service with its mode and image.",
           ("service_id", *_SVC, "mode", "image"), _CL),
    Family(SERVICE_REPLICAS_DESIRED, _G,
           "Replicas the service should run: the spec's replicas, or for global services the ready, "
           "active nodes that satisfy its placement constraints.", _SVC, _CL),
    Family(SERVICE_REPLICAS_RUNNING, _G,
           "Tasks of the service in state running on a node that is ready (a down node's tasks do not count).",
           _SVC, _CL),
    Family(SERVICE_ENGINE_TASKS_DESIRED, _G,
           "The engine's own ServiceStatus.DesiredTasks (counts down nodes for global services, moby/moby#45922).",
           _SVC, _CL),
    Family(SERVICE_ENGINE_TASKS_RUNNING, _G,
           "The engine's own ServiceStatus.RunningTasks (counts tasks on down nodes, moby/moby#45922).", _SVC, _CL),
    Family(SERVICE_TASKS, _G,
           "Tasks of the service the manager still keeps (history included), by current state.",
           (*_SVC, "state"), _CL),
    Family(SERVICE_UPDATE_STATE, _G,
           "1 for the service's current UpdateStatus state, 0 for the five others; all 0 before its first update.",
           (*_SVC, "state"), _CL),
    Family(SERVICE_UPDATE_STARTED, _G, "When the service's last update or rollback started (Unix time).", _SVC, _CL),
    Family(SERVICE_UPDATE_COMPLETED, _G,
           "When the service's last update or rollback completed (Unix time); absent while one runs.", _SVC, _CL),
    Family(SERVICE_UPDATE_TRANSITIONS, _C,
           "Update state changes this exporter saw, by the state entered.", (*_SVC, "state"), _CL),
    Family(SERVICE_TASK_RESTARTS, _C,
           "Tasks of the service that ended and were replaced, counted from task history, by reason.",
           (*_SVC, "reason"), _CL),
    Family(SERVICE_LIMIT_CPU, _G, "CPU limit per task in cores (absent when unset).", _SVC, _CL),
    Family(SERVICE_LIMIT_MEMORY, _G, "Memory limit per task in bytes (absent when unset).", _SVC, _CL),
    Family(SERVICE_RESERVATION_CPU, _G, "CPU reservation per task in cores (absent when unset).", _SVC, _CL),
    Family(SERVICE_RESERVATION_MEMORY, _G, "Memory reservation per task in bytes (absent when unset).", _SVC, _CL),
    Family(TASK_INFO, _G, "Always 1: one series per current task (desired state not shutdown) with its node.",
           (*_TASK, "slot", "node_id", "hostname"), _CL),
    Family(TASK_STATE, _G, "Always 1: the current state of each current task.", (*_TASK, "state"), _CL),
    Family(TASK_DESIRED_STATE, _G, "Always 1: the desired state of each current task.", (*_TASK, "state"), _CL),
    Family(TASK_EXIT_CODE, _G,
           "Exit code of the latest failed task of each slot (replicated) or node (global).", _TASK, _CL),
    Family(TASK_CONTAINER_HEALTH, _G,
           "Always 1: the health of each running task container on this instance's node, from its own engine.",
           (*_TASK, "node_id", "health"), _ND),
    Family(NODE_INFO, _G, "Always 1: one series per node.",
           (*_NODE, "role", "engine_version", "availability"), _CL),
    Family(NODE_STATE, _G, "Always 1: the node's state (ready, down, unknown, disconnected).", (*_NODE, "state"), _CL),
    Family(NODE_MANAGER_REACHABILITY, _G, "Always 1: a manager's reachability (reachable, unreachable, unknown).",
           (*_NODE, "reachability"), _CL),
    Family(NODE_LEADER, _G, "1 for the manager that is the raft leader, 0 for other managers.", _NODE, _CL),
    Family(EXPORTER_BUILD_INFO, _G, "Always 1: the exporter's version.", ("version", "python_version"), _EX),
    Family(EXPORTER_CLUSTER_REPORTER, _G,
           "1 when this instance publishes the cluster-scope families (its node is the leader, confirmed by its "
           "engine within the leader interval; the only manager also while its engine is gone), else 0.",
           ("node_id",), _EX),
    Family(EXPORTER_CONNECTED, _G, "1 while the exporter follows the Docker event stream, else 0.", (), _EX),
    Family(EXPORTER_LAST_SYNC, _G, "When the last full reload from the Docker API succeeded (Unix time).", (), _EX),
    Family(EXPORTER_STALENESS, _G,
           "Seconds the published state may lag the engine: 0 while following events, "
           "else the time since the connection was lost.",
           (), _EX),
    Family(EXPORTER_EVENTS, _C, "Docker events received, by event type.", ("type",), _EX),
    Family(EXPORTER_RESYNCS, _C,
           "Full reloads from the Docker API, by reason (start, reconnect, periodic, takeover: "
           "this instance became the cluster reporter).",
           ("reason",), _EX),
    Family(EXPORTER_API_ERRORS, _C, "Failed Docker API requests, by endpoint and kind of failure.",
           ("endpoint", "kind"), _EX),
    Family(EXPORTER_API_DURATION, _H,
           "Docker API request latency (to the whole response body; to the stream's opening for /events).",
           ("endpoint",), _EX),
)  # fmt: skip

BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}


def metrics_doc() -> str:
    """The docs page `docs/exporter-metrics.md`, generated from FAMILIES."""
    lines = [
        "# Exporter metrics",
        "",
        "<!-- Generated by `swarm-exporter --print-metrics-doc` from exporter/families.py; do not edit. -->",
        "",
        "Scope `cluster`: published only by the instance whose node is the swarm leader, so a sum over",
        "all instances counts each service, task and node once. Scope `node`: published by every instance",
        "about the containers on its own node. Scope `exporter`: every instance, about itself.",
        "",
        "| name | type | scope | labels | help |",
        "|---|---|---|---|---|",
    ]
    for f in FAMILIES:
        labels = ", ".join(f"`{label}`" for label in f.labels) or "-"
        lines.append(f"| `{f.name}` | {f.kind} | {f.scope} | {labels} | {f.help} |")
    lines += [
        "",
        "Label values:",
        "",
        f"- `swarm_service_update_state`, `swarm_service_update_transitions_total` `state`: {', '.join(UPDATE_STATES)}",
        f"- `swarm_task_container_health` `health`: {', '.join(HEALTH_STATES)}",
        f"- `swarm_service_task_restarts_total` `reason`: {', '.join(RESTART_REASONS)}",
        "",
    ]
    return "\n".join(lines)
