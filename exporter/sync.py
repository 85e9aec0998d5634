"""Keeps SwarmState in step with the engine: a full load, then the event stream; targeted
re-reads of what an event names; periodic task re-lists and full resyncs; reconnect with
backoff and a full reload after every reconnect.

The Engine API has no task events: a service event, or an event of a local task container,
re-lists that service's tasks now and a few times in the next seconds (the orchestrator
creates and moves tasks after the service object changes, and the agent reports a container's
end to the manager after the container event). Tasks on other nodes change without any event
here: the reporter reads the services' task counts (`GET /services?status=true`, no task
objects) every few seconds and re-lists the tasks of a service whose counts moved, and a slow
full task re-list catches the rest (a task replaced between two reads).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .docker import DockerClient, DockerError
from .model import Container, Event, Node, Service, SwarmInfo, Task
from .state import SwarmState
from .stats import ExporterStats

__all__ = ["EVENT_FILTERS", "SyncConfig", "Syncer"]

log = logging.getLogger("swarm_exporter")

# Server-side filter: the object types we follow and the actions that change what we publish
# (exec_* events of health checks would otherwise arrive every few seconds per container).
EVENT_FILTERS = {
    "type": ["service", "node", "container"],
    "event": ["create", "update", "remove", "start", "die", "destroy", "kill", "oom", "stop", "health_status"],
}
TASK_LABEL_FILTER = json.dumps({"label": ["com.docker.swarm.task.id"]})
_FOLLOW_UP_S = (0.3, 1.0, 3.0)

T = TypeVar("T")


@dataclass(frozen=True)
class SyncConfig:
    resync_s: float = 300.0  # full reload
    tasks_s: float = 30.0  # full task re-list (tasks on other nodes have no events here)
    status_s: float = 5.0  # reporter: services' task counts, re-list the services that moved (0: off)
    leader_s: float = 5.0  # managers: is the local node (still) the leader, with a quorum? A small request.
    leader_timeout_s: float = 5.0  # no answer in time: leadership not confirmed
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    debounce_s: float = 0.05


@dataclass
class _Dirty:
    full: bool = False
    all_tasks: bool = False
    nodes: bool = False
    statuses: bool = False
    services: set[str] = field(default_factory=set)
    service_tasks: set[str] = field(default_factory=set)
    containers: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.full
            or self.all_tasks
            or self.nodes
            or self.statuses
            or self.services
            or self.service_tasks
            or self.containers
        )


class _StreamClosed(Exception):
    pass


class Syncer:
    def __init__(
        self,
        client: DockerClient,
        state: SwarmState,
        stats: ExporterStats,
        on_change: Callable[[], None],
        config: SyncConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.state, self.stats = client, state, stats
        self.on_change = on_change
        self.config = config or SyncConfig()
        self.clock = clock
        self._dirty = _Dirty()
        self._wake = asyncio.Event()
        self._incident: str | None = None
        self._reporter = False
        self._nodes_read = 0  # successful reads of all nodes: a check older than the last one is moot

    # --- the outer loop ------------------------------------------------------------------

    async def run(self) -> None:
        """Runs until cancelled; never raises on Docker trouble."""
        reason, backoff = "start", self.config.backoff_min_s
        while True:
            try:
                await self._follow(reason)
                problem = "the daemon closed the event stream"
            except* DockerError as group:
                problem = "; ".join(sorted({str(e) for e in group.exceptions}))
            except* _StreamClosed:
                problem = "the daemon closed the event stream"
            except* Exception as group:  # a bug or an answer we did not foresee: log it, carry on
                problem = "; ".join(sorted({f"{type(e).__name__}: {e}" for e in group.exceptions}))
                log.error("unexpected error in the sync loop", exc_info=group.exceptions[0])
            if self.stats.connected:
                backoff = self.config.backoff_min_s
            self._lost(problem)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.config.backoff_max_s)
            reason = "reconnect"

    def _lost(self, problem: str) -> None:
        was_connected = self.stats.connected
        self.stats.connected = False
        if self.stats.lost_since is None:
            self.stats.lost_since = self.clock()
        if was_connected or self._incident is None:
            log.warning("docker state no longer followed, serving the last known state", extra={"problem": problem})
            self._incident = problem
        self.state.confirm_leadership(False)
        self._notify()

    def _recovered(self) -> None:
        if self._incident is not None and self.stats.lost_since is not None:
            lost_for = round(self.clock() - self.stats.lost_since, 3)
            log.info("docker state followed again after a full reload", extra={"lost_for_s": lost_for})
        elif self._incident is None:
            self._reporter = self.state.cluster_reporter
            log.info(
                "following docker state",
                extra={"node_id": self.state.local_node_id, "cluster_reporter": self._reporter},
            )
        self._incident = "recovered"
        self.stats.connected = True
        self.stats.lost_since = None

    async def _follow(self, reason: str) -> None:
        events = self.client.events(EVENT_FILTERS)
        try:
            await anext(events)  # stream open: what happens from now on is queued for us
            await self.full_reload(reason)
            self._recovered()
            self._notify()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read(events))
                group.create_task(self._work())
                group.create_task(self._tick(self.config.tasks_s, "all_tasks"))
                if self.config.status_s > 0:
                    group.create_task(self._tick(self.config.status_s, "statuses"))
                group.create_task(self._tick(self.config.resync_s, "full"))
                group.create_task(self._leader_checks())
        finally:
            await events.aclose()

    async def _read(self, events: Any) -> None:
        async for raw in events:
            self.handle_event(raw)
        raise _StreamClosed

    async def _tick(self, period: float, what: str) -> None:
        while True:
            await asyncio.sleep(period)
            setattr(self._dirty, what, True)
            self._wake.set()

    # --- events --------------------------------------------------------------------------

    def handle_event(self, raw: Any) -> None:
        event = Event.parse(raw)
        if event is None:
            self.stats.error("/events", "invalid_object")
            return
        self.stats.events[event.type] += 1
        d = self._dirty
        if event.type == "service" and event.actor_id:
            d.services.add(event.actor_id)
            self._relist_tasks(event.actor_id)
        elif event.type == "node":
            d.nodes = True
        elif event.type == "container" and event.actor_id:
            if "com.docker.swarm.task.id" not in event.attributes:
                return
            if event.action == "health_status: unhealthy":
                self.state.saw_unhealthy(event.attributes["com.docker.swarm.task.id"])
            if event.action == "destroy":
                self.state.remove_container(event.actor_id)
            else:
                d.containers.add(event.actor_id)
            service_id = event.attributes.get("com.docker.swarm.service.id")
            if service_id:
                self._relist_tasks(service_id)
        else:
            return
        self._wake.set()

    def _relist_tasks(self, service_id: str) -> None:
        """Now, and a few times soon: the manager records task changes after the event."""
        self._dirty.service_tasks.add(service_id)
        loop = asyncio.get_running_loop()
        for delay in _FOLLOW_UP_S:
            loop.call_later(delay, self._mark_service_tasks, service_id)

    def _mark_service_tasks(self, service_id: str) -> None:
        self._dirty.service_tasks.add(service_id)
        self._wake.set()

    # --- re-reads ------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.config.debounce_s)  # coalesce a burst of events
            self._wake.clear()
            dirty, self._dirty = self._dirty, _Dirty()
            if dirty:
                await self.apply(dirty)
            self._notify()  # also after changes made in handle_event (a destroyed container)

    def _notify(self) -> None:
        """Re-render; one log line when this instance takes or gives up the cluster families."""
        reporter = self.state.cluster_reporter
        if reporter != self._reporter:
            self._reporter = reporter
            if reporter:
                log.info("publishing the cluster families: this node is the leader")
            else:
                log.info(
                    "not publishing the cluster families",
                    extra={
                        "leader": self._local_leader(),
                        "leadership_confirmed": self.state.leadership_confirmed,
                        "quorum_reachable": self.state.quorum_reachable,
                    },
                )
        self.on_change()

    def _local_leader(self) -> bool:
        node = self.state.nodes.get(self.state.local_node_id)
        return node is not None and node.leader

    async def apply(self, d: _Dirty) -> None:
        if d.full:
            await self.full_reload("periodic")
            return
        # Containers first: a health seen just before a task ended decides its restart reason.
        for cid in sorted(d.containers):
            try:
                container = Container.parse(await self.client.get(f"/containers/{cid}/json"))
            except DockerError as exc:
                if exc.kind != "http_404":
                    raise
                container = None
            if container is None:
                self.state.remove_container(cid)
            else:
                self.state.put_container(container)
        manager, reporter = self.state.manager, self.state.cluster_reporter
        # Only the reporter keeps services and tasks current: a follower's reads are forwarded
        # to the leader (load there, and they hang while the leader is gone, holding up the
        # node events of the election). A manager that becomes the reporter reloads first.
        follow = manager and reporter
        if manager and (d.nodes or (d.all_tasks and follow)):  # leadership moves without an event too
            self.state.set_nodes(self._parse("/nodes", await self.client.get("/nodes"), Node.parse))
            self._nodes_read += 1
            self.state.confirm_leadership(True)
        if manager and not reporter and self.state.cluster_reporter:
            await self.full_reload("takeover")
            return
        if follow and d.statuses and not d.all_tasks:
            d.service_tasks |= await self._moved_services()
        if follow:
            for sid in sorted(d.services):
                answer = await self.client.get("/services", {"filters": json.dumps({"id": [sid]}), "status": "true"})
                found = [s for s in self._parse("/services", answer, Service.parse) if s.id == sid]
                if found:
                    self.state.put_service(found[0])
                else:
                    self.state.remove_service(sid)
        if follow and d.all_tasks:
            self.state.set_tasks(self._parse("/tasks", await self.client.get("/tasks"), Task.parse))
        elif follow:
            for sid in sorted(d.service_tasks):
                if sid not in self.state.services:
                    continue
                answer = await self.client.get("/tasks", {"filters": json.dumps({"service": [sid]})})
                self.state.set_tasks(self._parse("/tasks", answer, Task.parse), service_id=sid)

    async def _moved_services(self) -> set[str]:
        """Reads all services with the engine's task counts and keeps them; returns the IDs
        whose counts moved (their tasks changed, maybe on another node) or that are new."""
        answer = await self.client.get("/services", {"status": "true"})
        fresh = self._parse("/services", answer, Service.parse)
        counts = {sid: (s.engine_running, s.engine_desired) for sid, s in self.state.services.items()}
        self.state.set_services(fresh)
        return {s.id for s in fresh if counts.get(s.id) != (s.engine_running, s.engine_desired)}

    async def _leader_checks(self) -> None:
        """Beside the work loop, not in it: while the old leader is gone a manager's requests
        hang (its engine forwards them to the leader), and the node events of the election
        must not wait behind them."""
        while True:
            await asyncio.sleep(self.config.leader_s)
            if self.state.manager and not self.state.sole_manager:
                await self.check_leadership()

    async def check_leadership(self) -> None:
        """Reads the managers (`/nodes?filters={"role":["manager"]}`, a few objects) with a
        short timeout. Leadership can move without a node event, and a leader cut off from
        the other managers keeps its event stream while its engine still calls it the leader
        for tens of seconds (with the others unreachable), then hangs or answers "the swarm
        does not have a leader". A change re-reads all nodes through the work loop; a failure
        on the leader's instance withholds the cluster families (SwarmState.cluster_reporter,
        which also wants a reachable quorum of managers), so two instances publish them at
        once for a few seconds at most."""
        started = self._nodes_read
        try:
            answer = await self.client.get(
                "/nodes", {"filters": json.dumps({"role": ["manager"]})}, timeout_s=self.config.leader_timeout_s
            )
            managers = {n.id: n for n in self._parse("/nodes", answer, Node.parse)}
            if self.state.local_node_id not in managers:
                raise DockerError("/nodes", "unexpected_answer", "the local node is not among the managers")
        except DockerError as exc:
            # A follower has nothing to withhold; a newer read of all nodes overrides this.
            if self._local_leader() and self._nodes_read == started:
                if self.state.leadership_confirmed:
                    log.warning("the engine does not confirm the leadership", extra={"problem": str(exc)})
                self.state.confirm_leadership(False)
                self._notify()
            return
        known = {n.id: n for n in self.state.nodes.values() if n.role == "manager"}
        if managers != known or not self.state.leadership_confirmed:
            # Leadership or reachability moved, or the engine answers again: the work loop
            # re-reads all nodes (and, if this instance becomes the reporter, everything).
            self._dirty.nodes = True
            self._wake.set()

    async def full_reload(self, reason: str) -> None:
        """Read everything, then swap it in at once (a failure leaves the last state whole).
        The periodic reload of a manager that is not the reporter leaves out services and
        tasks (see `apply`)."""
        info = SwarmInfo.parse(await self.client.get("/info"))
        services: list[Service] = []
        tasks: list[Task] = []
        nodes: list[Node] = []
        cluster = info.manager and (reason != "periodic" or self.state.cluster_reporter)
        if info.manager:
            nodes = self._parse("/nodes", await self.client.get("/nodes"), Node.parse)
        if cluster:
            services = self._parse("/services", await self.client.get("/services", {"status": "true"}), Service.parse)
            tasks = self._parse("/tasks", await self.client.get("/tasks"), Task.parse)
        answer = await self.client.get("/containers/json", {"filters": TASK_LABEL_FILTER})
        containers = self._parse("/containers/json", answer, Container.from_list)
        state = self.state
        state.local_node_id, state.manager = info.node_id, info.manager
        state.set_nodes(nodes)
        if cluster or not info.manager:
            state.set_services(services)
            state.set_tasks(tasks)
        state.set_containers(containers)
        state.confirm_leadership(info.manager)
        self._nodes_read += 1
        state.mark_loaded()
        self.stats.resyncs[reason] += 1
        self.stats.last_sync = self.clock()

    def _parse(self, endpoint: str, answer: Any, parse: Callable[[Any], T | None]) -> list[T]:
        if not isinstance(answer, list):
            self.stats.error(endpoint, "unexpected_answer")
            raise DockerError(endpoint, "unexpected_answer", f"expected a JSON list, got {type(answer).__name__}")
        parsed = _keep(parse(item) for item in answer)
        if len(parsed) != len(answer):
            self.stats.error(endpoint, "invalid_object")
            log.warning(
                "skipped objects without an ID", extra={"endpoint": endpoint, "skipped": len(answer) - len(parsed)}
            )
        return parsed


def _keep(items: Iterable[T | None]) -> list[T]:
    return [item for item in items if item is not None]
