"""The swarm as the exporter last saw it: services, tasks, nodes, local containers, and the
counters derived from how they changed. Pure: no I/O, no clock; the sync loop feeds it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .model import Container, Node, Service, Task

__all__ = ["SwarmState", "constraint_matches", "restart_reason"]

# Task states after which Swarm replaces the task (when the service's restart policy allows).
_ENDED = frozenset({"failed", "rejected", "orphaned", "complete"})
_MAX_UNHEALTHY_REMEMBERED = 10_000


def restart_reason(task: Task, seen_unhealthy: bool = False) -> str:
    """The bucket of a task that ended (see families.RESTART_REASONS). Engine 20.10 stops an
    unhealthy container without saying so in the task (it ends `complete` or `failed` with the
    container's exit code), so the local health seen before counts first."""
    if seen_unhealthy or "unhealthy" in task.err:
        return "unhealthy"
    if task.state in ("rejected", "orphaned"):
        return task.state
    if task.state == "complete":
        return "completed"
    if task.exit_code == 137:
        return "killed"
    if task.exit_code or "non-zero exit" in task.err:
        return "nonzero_exit"
    return "other"


def constraint_matches(constraint: str, node: Node) -> bool:
    """One placement constraint (`node.role==manager`, `node.labels.x != y`, ...) against a node.
    Unknown keys match, so an exotic constraint never hides a node from a global service."""
    for op in ("==", "!="):
        if op in constraint:
            key, _, want = (part.strip() for part in constraint.partition(op))
            break
    else:
        return True
    values = {
        "node.id": node.id,
        "node.hostname": node.hostname,
        "node.role": node.role,
        "node.platform.os": node.os,
        "node.platform.arch": node.arch,
    }
    if key in values:
        have: str | None = values[key]
    elif key.startswith("node.labels."):
        have = node.labels.get(key.removeprefix("node.labels."))
    elif key.startswith("engine.labels."):
        have = node.engine_labels.get(key.removeprefix("engine.labels."))
    else:
        return True
    equal = have is not None and have.lower() == want.lower()
    return equal if op == "==" else not equal


@dataclass
class SwarmState:
    local_node_id: str = ""
    manager: bool = False
    services: dict[str, Service] = field(default_factory=dict)
    # Tasks by service ID, then task ID: a service's tasks are re-listed and rendered together.
    tasks_by_service: dict[str, dict[str, Task]] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    # Counters survive reloads: they count what this exporter saw change.
    update_transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    restarts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _counted_ended: set[str] = field(default_factory=set)
    # Tasks whose local container was seen unhealthy (insertion-ordered, bounded).
    _unhealthy_tasks: dict[str, None] = field(default_factory=dict)
    _loaded: bool = False
    # Whether the local engine's last answer about the nodes succeeded. False while the
    # engine cannot be read or says the swarm has no leader (a partitioned former leader).
    leadership_confirmed: bool = False
    # What changed since the last render: service IDs, or everything (nodes affect all services).
    changed: set[str] = field(default_factory=set)
    changed_all: bool = True

    @property
    def tasks(self) -> dict[str, Task]:
        return {tid: t for tasks in self.tasks_by_service.values() for tid, t in tasks.items()}

    @property
    def cluster_reporter(self) -> bool:
        """This instance publishes cluster-scope families only when its node is the leader.

        With other managers in the swarm, one of them may have become the leader while this
        engine could not say (its daemon gone, or cut off from the others and answering "the
        swarm does not have a leader"): the last known state would then be published twice.
        So the role needs a current answer, and a quorum of managers the leader can reach
        (a leader cut off from the others still calls itself the leader for a while, with the
        others unreachable). The only manager keeps serving its last state."""
        node = self.nodes.get(self.local_node_id)
        if not (self.manager and node is not None and node.leader):
            return False
        return self.sole_manager or (self.leadership_confirmed and self.quorum_reachable)

    @property
    def quorum_reachable(self) -> bool:
        """More than half of the managers are reachable, as this engine sees them."""
        managers = [n for n in self.nodes.values() if n.role == "manager"]
        return sum(1 for n in managers if n.reachability == "reachable") > len(managers) // 2

    @property
    def sole_manager(self) -> bool:
        """No other manager is known, so no other instance can become the reporter."""
        return sum(1 for n in self.nodes.values() if n.role == "manager") <= 1

    def confirm_leadership(self, confirmed: bool) -> None:
        if confirmed != self.leadership_confirmed:
            self.leadership_confirmed = confirmed
            self.changed_all = True

    # --- feeding -------------------------------------------------------------------------

    def set_services(self, services: Iterable[Service]) -> None:
        fresh = {s.id: s for s in services}
        for sid in set(self.services) - set(fresh):
            self.remove_service(sid)
        for service in fresh.values():
            self.put_service(service)

    def put_service(self, service: Service) -> None:
        old = self.services.get(service.id)
        state = service.update_state
        if state and (old is not None or self._loaded):
            changed = old is None or old.update_state != state or old.update_started != service.update_started
            if changed:
                self.update_transitions[(service.id, state)] += 1
        if old != service:
            self.changed.add(service.id)
        self.services[service.id] = service

    def remove_service(self, service_id: str) -> None:
        self.services.pop(service_id, None)
        self.tasks_by_service.pop(service_id, None)
        for counter in (self.update_transitions, self.restarts):
            for key in [k for k in counter if k[0] == service_id]:
                del counter[key]
        self.changed.add(service_id)

    def set_tasks(self, tasks: Iterable[Task], service_id: str | None = None) -> None:
        """Replace all tasks, or only those of one service."""
        fresh: dict[str, dict[str, Task]] = {}
        for task in tasks:
            if service_id is None or task.service_id == service_id:
                fresh.setdefault(task.service_id, {})[task.id] = task
        if service_id is None:
            old, self.tasks_by_service = self.tasks_by_service, fresh
            self._counted_ended &= {tid for by_id in fresh.values() for tid in by_id}
        else:
            old = {service_id: self.tasks_by_service.pop(service_id, {})}
            if fresh.get(service_id):
                self.tasks_by_service[service_id] = fresh[service_id]
        for sid in old.keys() | fresh.keys():
            if old.get(sid, {}) != fresh.get(sid, {}):
                self.changed.add(sid)
                for task in fresh.get(sid, {}).values():
                    self._count_restart(task)

    def _count_restart(self, task: Task) -> None:
        if task.state not in _ENDED or task.id in self._counted_ended:
            return
        service = self.services.get(task.service_id)
        if task.state == "complete" and (service is None or service.is_job):
            return
        self._counted_ended.add(task.id)
        self.restarts[(task.service_id, restart_reason(task, task.id in self._unhealthy_tasks))] += 1

    def set_nodes(self, nodes: Iterable[Node]) -> None:
        fresh = {n.id: n for n in nodes}
        if fresh != self.nodes:
            self.changed_all = True
        self.nodes = fresh

    def set_containers(self, containers: Iterable[Container]) -> None:
        self.containers = {}
        for container in containers:
            self.put_container(container)

    def saw_unhealthy(self, task_id: str) -> None:
        self._unhealthy_tasks[task_id] = None
        while len(self._unhealthy_tasks) > _MAX_UNHEALTHY_REMEMBERED:
            del self._unhealthy_tasks[next(iter(self._unhealthy_tasks))]

    def put_container(self, container: Container) -> None:
        # A stopped container reads `unhealthy` whatever ended it: only a running one says so.
        if container.running and container.health == "unhealthy":
            self.saw_unhealthy(container.task_id)
        if container.running:
            self.containers[container.id] = container
        else:
            self.containers.pop(container.id, None)

    def remove_container(self, container_id: str) -> None:
        self.containers.pop(container_id, None)

    def mark_loaded(self) -> None:
        """After the first full load, newly seen services count their update transitions."""
        self._loaded = True

    # --- derived -------------------------------------------------------------------------

    def desired_replicas(self, service: Service) -> int:
        if service.mode in ("global", "global-job"):
            return sum(
                1
                for node in self.nodes.values()
                if node.state == "ready"
                and node.availability == "active"
                and all(constraint_matches(c, node) for c in service.constraints)
            )
        return service.replicas or 0

    def running_replicas(self, service_id: str) -> int:
        """Running tasks of a service, counting only tasks on ready nodes."""
        running = 0
        for task in self.tasks_by_service.get(service_id, {}).values():
            node = self.nodes.get(task.node_id)
            if task.state == "running" and node is not None and node.state == "ready":
                running += 1
        return running
