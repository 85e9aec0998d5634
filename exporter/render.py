"""State to Prometheus text, through prometheus-client's metric families; every family comes
from the table in exporter.families. No I/O."""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Iterator
from importlib import metadata

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from . import families as f
from .model import Service, Task
from .state import SwarmState
from .stats import ExporterStats

__all__ = ["CONTENT_TYPE", "render_exporter", "render_state"]

# The classic text format, which every Prometheus version and promtool parses.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Builder:
    """Families by name, created from the table on first use, in table order."""

    def __init__(self) -> None:
        self._made: dict[str, Metric] = {}

    def add(self, name: str, labels: Iterable[str], value: float) -> None:
        family = self._family(name)
        assert isinstance(family, GaugeMetricFamily | CounterMetricFamily)
        family.add_metric(list(labels), value)

    def histogram(self, name: str, labels: Iterable[str], buckets: list[tuple[str, float]], total: float) -> None:
        family = self._family(name)
        assert isinstance(family, HistogramMetricFamily)
        family.add_metric(list(labels), buckets, total)

    def _family(self, name: str) -> Metric:
        if name not in self._made:
            spec = f.BY_NAME[name]
            cls = {f.Kind.GAUGE: GaugeMetricFamily, f.Kind.COUNTER: CounterMetricFamily}.get(
                spec.kind, HistogramMetricFamily
            )
            self._made[name] = cls(spec.name, spec.help, labels=list(spec.labels))
        return self._made[name]

    def collect(self) -> Iterator[Metric]:
        for spec in f.FAMILIES:
            if spec.name in self._made:
                yield self._made[spec.name]

    def text(self) -> bytes:
        return generate_latest(self)


def _task_name(service: Service, task: Task) -> str:
    if task.slot:
        return f"{service.name}.{task.slot}"
    return f"{service.name}.{task.node_id}"


def render_state(state: SwarmState) -> bytes:
    """Cluster families (only when this instance is the reporter) and this node's container health."""
    out = _Builder()
    if state.cluster_reporter:
        _cluster(state, out)
    for c in sorted(state.containers.values(), key=lambda c: (c.service, c.task_name)):
        out.add(f.TASK_CONTAINER_HEALTH, (c.service, c.stack, c.task_name, c.task_id, c.node_id, c.health), 1)
    return out.text()


def _cluster(state: SwarmState, out: _Builder) -> None:
    running = state.running_replicas()
    by_state: Counter[tuple[str, str]] = Counter((t.service_id, t.state) for t in state.tasks.values())
    for s in sorted(state.services.values(), key=lambda s: (s.stack, s.name)):
        svc = (s.name, s.stack)
        out.add(f.SERVICE_INFO, (s.id, *svc, s.mode, s.image), 1)
        out.add(f.SERVICE_REPLICAS_DESIRED, svc, state.desired_replicas(s))
        out.add(f.SERVICE_REPLICAS_RUNNING, svc, running[s.id])
        if s.engine_desired is not None:
            out.add(f.SERVICE_ENGINE_TASKS_DESIRED, svc, s.engine_desired)
        if s.engine_running is not None:
            out.add(f.SERVICE_ENGINE_TASKS_RUNNING, svc, s.engine_running)
        for (sid, task_state), count in sorted(by_state.items()):
            if sid == s.id:
                out.add(f.SERVICE_TASKS, (*svc, task_state), count)
        for update_state in f.UPDATE_STATES:
            out.add(f.SERVICE_UPDATE_STATE, (*svc, update_state), 1 if s.update_state == update_state else 0)
            out.add(f.SERVICE_UPDATE_TRANSITIONS, (*svc, update_state), state.update_transitions[(s.id, update_state)])
        if s.update_started is not None:
            out.add(f.SERVICE_UPDATE_STARTED, svc, s.update_started)
        if s.update_completed is not None:
            out.add(f.SERVICE_UPDATE_COMPLETED, svc, s.update_completed)
        for reason in f.RESTART_REASONS:
            out.add(f.SERVICE_TASK_RESTARTS, (*svc, reason), state.restarts[(s.id, reason)])
        for name, value in (
            (f.SERVICE_LIMIT_CPU, s.limit_cpu),
            (f.SERVICE_LIMIT_MEMORY, s.limit_memory),
            (f.SERVICE_RESERVATION_CPU, s.reservation_cpu),
            (f.SERVICE_RESERVATION_MEMORY, s.reservation_memory),
        ):
            if value is not None:
                out.add(name, svc, value)
    _tasks(state, out)
    for n in sorted(state.nodes.values(), key=lambda n: (n.hostname, n.id)):
        node = (n.id, n.hostname)
        out.add(f.NODE_INFO, (*node, n.role, n.engine_version, n.availability), 1)
        out.add(f.NODE_STATE, (*node, n.state), 1)
        if n.reachability:
            out.add(f.NODE_MANAGER_REACHABILITY, (*node, n.reachability), 1)
            out.add(f.NODE_LEADER, node, 1 if n.leader else 0)


def _tasks(state: SwarmState, out: _Builder) -> None:
    latest_failed: dict[tuple[str, int | str], Task] = {}
    for t in sorted(state.tasks.values(), key=lambda t: (t.service_id, t.slot or 0, t.node_id, t.id)):
        service = state.services.get(t.service_id)
        if service is None:
            continue
        if t.state == "failed":
            key = (t.service_id, t.slot or t.node_id)
            prev = latest_failed.get(key)
            if prev is None or (t.timestamp or 0) >= (prev.timestamp or 0):
                latest_failed[key] = t
        if t.desired_state in ("shutdown", "remove"):
            continue
        ident = (service.name, service.stack, _task_name(service, t), t.id)
        node = state.nodes.get(t.node_id)
        out.add(f.TASK_INFO, (*ident, str(t.slot or ""), t.node_id, node.hostname if node else ""), 1)
        out.add(f.TASK_STATE, (*ident, t.state), 1)
        out.add(f.TASK_DESIRED_STATE, (*ident, t.desired_state), 1)
    for t in latest_failed.values():
        service = state.services[t.service_id]
        if t.exit_code is not None:
            out.add(f.TASK_EXIT_CODE, (service.name, service.stack, _task_name(service, t), t.id), t.exit_code)


def _version() -> str:
    try:
        return metadata.version("swarm-slo")
    except metadata.PackageNotFoundError:
        return "unknown"


VERSION = _version()


def render_exporter(stats: ExporterStats, state: SwarmState, now: float) -> bytes:
    """The exporter's own families; rendered per scrape (a few dozen lines, no API call)."""
    out = _Builder()
    out.add(f.EXPORTER_BUILD_INFO, (VERSION, platform.python_version()), 1)
    out.add(f.EXPORTER_CLUSTER_REPORTER, (state.local_node_id,), 1 if state.cluster_reporter else 0)
    out.add(f.EXPORTER_CONNECTED, (), 1 if stats.connected else 0)
    if stats.last_sync is not None:
        out.add(f.EXPORTER_LAST_SYNC, (), stats.last_sync)
    out.add(f.EXPORTER_STALENESS, (), stats.staleness(now))
    for etype in sorted(set(stats.events) | {"service", "node", "container"}):
        out.add(f.EXPORTER_EVENTS, (etype,), stats.events[etype])
    for reason in sorted(set(stats.resyncs) | {"start", "reconnect", "periodic"}):
        out.add(f.EXPORTER_RESYNCS, (reason,), stats.resyncs[reason])
    for (endpoint, kind), count in sorted(stats.api_errors.items()):
        out.add(f.EXPORTER_API_ERRORS, (endpoint, kind), count)
    for endpoint, hist in sorted(stats.api_latency.items()):
        out.histogram(f.EXPORTER_API_DURATION, (endpoint,), hist.cumulative(), hist.total)
    return out.text()
