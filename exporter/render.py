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

__all__ = ["CONTENT_TYPE", "StateRenderer", "render_exporter", "render_state"]

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


# --- the state families: text written directly, per service, re-rendered only on change ---
#
# prometheus-client's generate_latest formats about 50,000 samples a second here: 1.2 s for a
# swarm of 10,000 tasks, on every change. The state families are instead written as text
# lines per service and kept until that service changes; the exporter's own families (a few
# dozen samples, with a histogram) still go through prometheus-client.

_Lines = dict[str, list[str]]


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _number(value: float) -> str:
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(value)


def _add(out: _Lines, name: str, values: tuple[str, ...], value: float) -> None:
    labels = f.BY_NAME[name].labels
    pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in zip(labels, values, strict=True))
    out.setdefault(name, []).append(f"{name}{{{pairs}}} {_number(value)}" if pairs else f"{name} {_number(value)}")


def _service_lines(state: SwarmState, s: Service) -> _Lines:
    out: _Lines = {}
    svc = (s.name, s.stack)
    tasks = state.tasks_by_service.get(s.id, {})
    _add(out, f.SERVICE_INFO, (s.id, *svc, s.mode, s.image), 1)
    _add(out, f.SERVICE_REPLICAS_DESIRED, svc, state.desired_replicas(s))
    _add(out, f.SERVICE_REPLICAS_RUNNING, svc, state.running_replicas(s.id))
    if s.engine_desired is not None:
        _add(out, f.SERVICE_ENGINE_TASKS_DESIRED, svc, s.engine_desired)
    if s.engine_running is not None:
        _add(out, f.SERVICE_ENGINE_TASKS_RUNNING, svc, s.engine_running)
    for task_state, count in sorted(Counter(t.state for t in tasks.values()).items()):
        _add(out, f.SERVICE_TASKS, (*svc, task_state), count)
    for update_state in f.UPDATE_STATES:
        _add(out, f.SERVICE_UPDATE_STATE, (*svc, update_state), 1 if s.update_state == update_state else 0)
        _add(out, f.SERVICE_UPDATE_TRANSITIONS, (*svc, update_state), state.update_transitions[(s.id, update_state)])
    if s.update_started is not None:
        _add(out, f.SERVICE_UPDATE_STARTED, svc, s.update_started)
    if s.update_completed is not None:
        _add(out, f.SERVICE_UPDATE_COMPLETED, svc, s.update_completed)
    for reason in f.RESTART_REASONS:
        _add(out, f.SERVICE_TASK_RESTARTS, (*svc, reason), state.restarts[(s.id, reason)])
    for name, value in (
        (f.SERVICE_LIMIT_CPU, s.limit_cpu),
        (f.SERVICE_LIMIT_MEMORY, s.limit_memory),
        (f.SERVICE_RESERVATION_CPU, s.reservation_cpu),
        (f.SERVICE_RESERVATION_MEMORY, s.reservation_memory),
    ):
        if value is not None:
            _add(out, name, svc, value)
    latest_failed: dict[int | str, Task] = {}
    for t in sorted(tasks.values(), key=lambda t: (t.slot or 0, t.node_id, t.id)):
        if t.state == "failed":
            key = t.slot or t.node_id
            prev = latest_failed.get(key)
            if prev is None or (t.timestamp or 0) >= (prev.timestamp or 0):
                latest_failed[key] = t
        if t.desired_state in ("shutdown", "remove"):
            continue
        ident = (*svc, _task_name(s, t), t.id)
        node = state.nodes.get(t.node_id)
        _add(out, f.TASK_INFO, (*ident, str(t.slot or ""), t.node_id, node.hostname if node else ""), 1)
        _add(out, f.TASK_STATE, (*ident, t.state), 1)
        _add(out, f.TASK_DESIRED_STATE, (*ident, t.desired_state), 1)
    for t in latest_failed.values():
        if t.exit_code is not None:
            _add(out, f.TASK_EXIT_CODE, (*svc, _task_name(s, t), t.id), t.exit_code)
    return out


def _node_lines(state: SwarmState) -> _Lines:
    out: _Lines = {}
    for n in sorted(state.nodes.values(), key=lambda n: (n.hostname, n.id)):
        node = (n.id, n.hostname)
        _add(out, f.NODE_INFO, (*node, n.role, n.engine_version, n.availability), 1)
        _add(out, f.NODE_STATE, (*node, n.state), 1)
        if n.reachability:
            _add(out, f.NODE_MANAGER_REACHABILITY, (*node, n.reachability), 1)
            _add(out, f.NODE_LEADER, node, 1 if n.leader else 0)
    return out


def _container_lines(state: SwarmState) -> _Lines:
    out: _Lines = {}
    for c in sorted(state.containers.values(), key=lambda c: (c.service, c.task_name, c.id)):
        _add(out, f.TASK_CONTAINER_HEALTH, (c.service, c.stack, c.task_name, c.task_id, c.node_id, c.health), 1)
    return out


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class StateRenderer:
    """Cluster families (only when this instance is the reporter) and this node's container
    health, as exposition text. Keeps each service's lines and re-renders only the services
    the state marked changed (all of them when nodes or the reporter role changed)."""

    def __init__(self) -> None:
        self._services: dict[str, _Lines] = {}
        self._reporter: bool | None = None

    @property
    def reporter(self) -> bool:
        """Whether the last render held the cluster families."""
        return bool(self._reporter)

    def render(self, state: SwarmState) -> bytes:
        reporter = state.cluster_reporter
        parts: list[_Lines] = []
        if not reporter:
            self._services.clear()
        else:
            if state.changed_all or reporter != self._reporter:
                self._services.clear()
                todo: set[str] = set(state.services)
            else:
                todo = state.changed
            for sid in todo:
                service = state.services.get(sid)
                if service is None:
                    self._services.pop(sid, None)
                else:
                    self._services[sid] = _service_lines(state, service)
            order = sorted(state.services.values(), key=lambda s: (s.stack, s.name, s.id))
            parts = [self._services[s.id] for s in order if s.id in self._services]
            parts.append(_node_lines(state))
        parts.append(_container_lines(state))
        state.changed.clear()
        state.changed_all = False
        self._reporter = reporter
        out: list[str] = []
        for spec in f.FAMILIES:
            lines = [line for part in parts for line in part.get(spec.name, ())]
            if lines:
                out.append(f"# HELP {spec.name} {_help(spec.help)}")
                out.append(f"# TYPE {spec.name} {spec.kind}")
                out.extend(lines)
        return ("\n".join(out) + "\n").encode() if out else b""


def render_state(state: SwarmState) -> bytes:
    """A full render, for callers without a renderer of their own."""
    state.changed_all = True
    return StateRenderer().render(state)


def _version() -> str:
    try:
        return metadata.version("swarm-slo")
    except metadata.PackageNotFoundError:
        return "unknown"


VERSION = _version()


def render_exporter(stats: ExporterStats, state: SwarmState, now: float, reporter: bool | None = None) -> bytes:
    """The exporter's own families; rendered per scrape (a few dozen lines, no API call).
    `reporter`: whether the state text served with them holds the cluster families (the
    state may have moved on while the sync loop reloads before the next render)."""
    out = _Builder()
    out.add(f.EXPORTER_BUILD_INFO, (VERSION, platform.python_version()), 1)
    reporting = state.cluster_reporter if reporter is None else reporter
    out.add(f.EXPORTER_CLUSTER_REPORTER, (state.local_node_id,), 1 if reporting else 0)
    out.add(f.EXPORTER_CONNECTED, (), 1 if stats.connected else 0)
    if stats.last_sync is not None:
        out.add(f.EXPORTER_LAST_SYNC, (), stats.last_sync)
    out.add(f.EXPORTER_STALENESS, (), stats.staleness(now))
    for etype in sorted(set(stats.events) | {"service", "node", "container"}):
        out.add(f.EXPORTER_EVENTS, (etype,), stats.events[etype])
    for reason in sorted(set(stats.resyncs) | {"start", "reconnect", "periodic", "takeover"}):
        out.add(f.EXPORTER_RESYNCS, (reason,), stats.resyncs[reason])
    for (endpoint, kind), count in sorted(stats.api_errors.items()):
        out.add(f.EXPORTER_API_ERRORS, (endpoint, kind), count)
    for endpoint, hist in sorted(stats.api_latency.items()):
        out.histogram(f.EXPORTER_API_DURATION, (endpoint,), hist.cumulative(), hist.total)
    return out.text()
