"""Docker API objects as small frozen records, parsed defensively.

The engine's answers are open schemas and may be partial or odd (a daemon mid-restart, a proxy
in between, a newer engine): every parser takes `Any`, never raises on a missing or mistyped
field, and returns None when the object lacks what identifies it (its ID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Container", "Event", "Node", "Service", "SwarmInfo", "Task", "parse_time"]

_FRACTION = re.compile(r"(\.\d{6})\d+")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = _dict(obj).get(key)
    return obj


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(value: Any) -> dict[str, str]:
    return {k: v for k, v in _dict(value).items() if isinstance(k, str) and isinstance(v, str)}


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp with nanoseconds as Unix seconds; None for zero or garbage."""
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value)).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    stack: str
    mode: str
    replicas: int | None
    image: str
    constraints: tuple[str, ...]
    update_state: str
    update_started: float | None
    update_completed: float | None
    engine_running: int | None
    engine_desired: int | None
    limit_cpu: float | None
    limit_memory: int | None
    reservation_cpu: float | None
    reservation_memory: int | None

    @property
    def is_job(self) -> bool:
        return self.mode.endswith("-job")

    @classmethod
    def parse(cls, raw: Any) -> Service | None:
        sid = _str(_path(raw, "ID"))
        if not sid:
            return None
        spec = _path(raw, "Spec")
        mode_raw = _dict(_path(spec, "Mode"))
        mode, replicas = "unknown", None
        if "Replicated" in mode_raw:
            mode, replicas = "replicated", _int(_path(mode_raw, "Replicated", "Replicas"))
        elif "Global" in mode_raw:
            mode = "global"
        elif "ReplicatedJob" in mode_raw:
            mode, replicas = "replicated-job", _int(_path(mode_raw, "ReplicatedJob", "TotalCompletions"))
        elif "GlobalJob" in mode_raw:
            mode = "global-job"
        resources = _path(spec, "TaskTemplate", "Resources")
        constraints = _path(spec, "TaskTemplate", "Placement", "Constraints")
        image = _str(_path(spec, "TaskTemplate", "ContainerSpec", "Image")).split("@", 1)[0]
        update = _path(raw, "UpdateStatus")
        return cls(
            id=sid,
            name=_str(_path(spec, "Name")) or sid,
            stack=_labels(_path(spec, "Labels")).get("com.docker.stack.namespace", ""),
            mode=mode,
            replicas=replicas,
            image=image,
            constraints=tuple(c for c in constraints if isinstance(c, str)) if isinstance(constraints, list) else (),
            update_state=_str(_path(update, "State")),
            update_started=parse_time(_path(update, "StartedAt")),
            update_completed=parse_time(_path(update, "CompletedAt")),
            engine_running=_int(_path(raw, "ServiceStatus", "RunningTasks")),
            engine_desired=_int(_path(raw, "ServiceStatus", "DesiredTasks")),
            limit_cpu=_cpus(_path(resources, "Limits", "NanoCPUs")),
            limit_memory=_int(_path(resources, "Limits", "MemoryBytes")) or None,
            reservation_cpu=_cpus(_path(resources, "Reservations", "NanoCPUs")),
            reservation_memory=_int(_path(resources, "Reservations", "MemoryBytes")) or None,
        )


def _cpus(nano: Any) -> float | None:
    value = _int(nano)
    return value / 1e9 if value else None


@dataclass(frozen=True)
class Task:
    id: str
    service_id: str
    slot: int | None
    node_id: str
    state: str
    desired_state: str
    timestamp: float | None
    err: str
    exit_code: int | None

    @classmethod
    def parse(cls, raw: Any) -> Task | None:
        tid, service_id = _str(_path(raw, "ID")), _str(_path(raw, "ServiceID"))
        if not tid or not service_id:
            return None
        status = _path(raw, "Status")
        return cls(
            id=tid,
            service_id=service_id,
            slot=_int(_path(raw, "Slot")),
            node_id=_str(_path(raw, "NodeID")),
            state=_str(_path(status, "State")) or "unknown",
            desired_state=_str(_path(raw, "DesiredState")) or "unknown",
            timestamp=parse_time(_path(status, "Timestamp")),
            err=_str(_path(status, "Err")),
            exit_code=_int(_path(status, "ContainerStatus", "ExitCode")),
        )


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    role: str
    availability: str
    state: str
    engine_version: str
    labels: dict[str, str]
    engine_labels: dict[str, str]
    os: str
    arch: str
    reachability: str  # "" for workers
    leader: bool

    @classmethod
    def parse(cls, raw: Any) -> Node | None:
        nid = _str(_path(raw, "ID"))
        if not nid:
            return None
        desc = _path(raw, "Description")
        manager = _path(raw, "ManagerStatus")
        engine_labels = _labels(_path(desc, "Engine", "Labels"))
        return cls(
            id=nid,
            hostname=_str(_path(desc, "Hostname")),
            role=_str(_path(raw, "Spec", "Role")) or "unknown",
            availability=_str(_path(raw, "Spec", "Availability")) or "unknown",
            state=_str(_path(raw, "Status", "State")) or "unknown",
            engine_version=_str(_path(desc, "Engine", "EngineVersion")),
            labels=_labels(_path(raw, "Spec", "Labels")),
            engine_labels=engine_labels,
            os=_str(_path(desc, "Platform", "OS")),
            arch=_str(_path(desc, "Platform", "Architecture")),
            reachability=_str(_path(manager, "Reachability")) if manager else "",
            leader=_path(manager, "Leader") is True,
        )


@dataclass(frozen=True)
class Container:
    """A task's container on the local engine."""

    id: str
    task_id: str
    task_name: str
    service: str
    stack: str
    node_id: str
    running: bool
    health: str

    @classmethod
    def from_list(cls, raw: Any) -> Container | None:
        """An entry of `GET /containers/json`; its health is in the Status text ("Up 3 minutes (healthy)")."""
        status = _str(_path(raw, "Status"))
        health = "none"
        for word, value in (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"), ("(health: starting)", "starting")):
            if status.endswith(word):
                health = value
        running = _path(raw, "State") == "running"
        return cls._make(_str(_path(raw, "Id")), _labels(_path(raw, "Labels")), running, health)

    @classmethod
    def parse(cls, raw: Any) -> Container | None:
        """The answer of `GET /containers/{id}/json`."""
        health = _str(_path(raw, "State", "Health", "Status")) or "none"
        labels = _labels(_path(raw, "Config", "Labels"))
        return cls._make(_str(_path(raw, "Id")), labels, _path(raw, "State", "Running") is True, health)

    @classmethod
    def _make(cls, cid: str, labels: dict[str, str], running: bool, health: str) -> Container | None:
        task_id = labels.get("com.docker.swarm.task.id", "")
        if not cid or not task_id:
            return None
        return cls(
            id=cid,
            task_id=task_id,
            # The label is "service.slot.taskid"; the cluster families name a task "service.slot".
            task_name=labels.get("com.docker.swarm.task.name", "").removesuffix(f".{task_id}"),
            service=labels.get("com.docker.swarm.service.name", ""),
            stack=labels.get("com.docker.stack.namespace", ""),
            node_id=labels.get("com.docker.swarm.node.id", ""),
            running=running,
            health=health if health in ("healthy", "unhealthy", "starting") else "none",
        )


@dataclass(frozen=True)
class Event:
    type: str
    action: str
    actor_id: str
    attributes: dict[str, str]

    @classmethod
    def parse(cls, raw: Any) -> Event | None:
        etype, action = _str(_path(raw, "Type")), _str(_path(raw, "Action"))
        if not etype or not action:
            return None
        return cls(
            type=etype,
            action=action,
            actor_id=_str(_path(raw, "Actor", "ID")),
            attributes=_labels(_path(raw, "Actor", "Attributes")),
        )


@dataclass(frozen=True)
class SwarmInfo:
    """What `GET /info` says about this engine's place in the swarm."""

    node_id: str
    manager: bool

    @classmethod
    def parse(cls, raw: Any) -> SwarmInfo:
        swarm = _path(raw, "Swarm")
        return cls(node_id=_str(_path(swarm, "NodeID")), manager=_path(swarm, "ControlAvailable") is True)
