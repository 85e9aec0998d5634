"""SLI kinds. Each kind is one model in the `SLI` union with an `expressions` method that
returns the bad and total event rates at one window, assembled through `promql`.

Extending: add a class with a unique `kind` literal and add it to `SLI` at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

from . import naming, promql
from .duration import format_decimal, parse_duration_ms
from .model import F, Model
from .promql import Expr

__all__ = ["SLI", "SLIContext", "SLIExpressions"]


@dataclass(frozen=True)
class SLIContext:
    service: str
    stack: str
    window: str


@dataclass(frozen=True)
class SLIExpressions:
    bad: Expr
    total: Expr
    # Threshold SLIs count time (series x evaluation steps), never requests.
    time_based: bool = False
    # For dashboards: (label, bad events per second by that label), when the SLI's series
    # carry a label worth breaking errors down by. Windowed by Grafana's $__rate_interval.
    breakdown: tuple[str, str] | None = None


class _Kind(Model):
    kind: str

    def expressions(self, ctx: SLIContext) -> SLIExpressions:  # pragma: no cover - abstract
        raise NotImplementedError


# --- helpers shared by kinds -------------------------------------------------


def _events(query: str, ctx: SLIContext) -> Expr:
    """A selector becomes `sum(rate(sel[w]))`; PromQL with {{window}} is used as written."""
    if promql.WINDOW_PLACEHOLDER in query:
        return promql.raw(query.replace(promql.WINDOW_PLACEHOLDER, ctx.window))
    sel = promql.vector_selector_text(query)
    return promql.aggregate("sum", promql.range_call("rate", sel, ctx.window))


def _check_events_query(value: str | None) -> str | None:
    if value is None:
        return None
    probe = value.replace(promql.WINDOW_PLACEHOLDER, "5m")
    promql.check(probe)
    if promql.WINDOW_PLACEHOLDER not in value:
        promql.vector_selector_text(value)
    return value


def _bad_from_good(good: Expr, total: Expr) -> Expr:
    # A missing "good" series means no good events, not no data: keep total's presence.
    return promql.binary(total, "-", promql.binary(good, "or", promql.binary(promql.number("0"), "*", total)))


def _zero_when_absent(bad: Expr, total: Expr) -> Expr:
    # Error counters often appear only after the first error; absent bad is 0 while total exists.
    return promql.binary(bad, "or", promql.binary(promql.number("0"), "*", total))


def _rate(metric: str, matchers: list[str], window: str) -> Expr:
    return promql.aggregate("sum", promql.range_call("rate", promql.vector_selector(metric, matchers), window))


def _le_matcher(threshold_text: str) -> str:
    # Prometheus 3 writes integer bucket bounds as "1.0"; clients and Prometheus 2 write "1".
    if "." in threshold_text:
        return f"le={promql.quote(threshold_text)}"
    pattern = threshold_text + r"(\.0)?"
    return f"le=~{promql.quote(pattern)}"


def _latency(metric: str, matchers: list[str], threshold: Decimal, histogram: str, ctx: SLIContext) -> SLIExpressions:
    bound = format_decimal(threshold)
    if histogram == "native":
        h = _rate(metric, matchers, ctx.window)
        total = promql.call("histogram_count", h)
        good_fraction = promql.call("histogram_fraction", promql.number("0"), bound, h)
        bad = promql.binary(total, "*", promql.binary(promql.number("1"), "-", good_fraction))
        return SLIExpressions(bad=bad, total=total)
    total = _rate(f"{metric}_count", matchers, ctx.window)
    good = _rate(f"{metric}_bucket", [*matchers, _le_matcher(bound)], ctx.window)
    return SLIExpressions(bad=_bad_from_good(good, total), total=total)


_NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!="}
Comparison = Literal["<", "<=", ">", ">=", "=="]


def _threshold(expr: Expr, op: str, value: Decimal) -> SLIExpressions:
    # Good time: the comparison holds. bad = series breaking it, total = series present.
    broken = promql.binary(expr, _NEGATION[op], promql.number(format_decimal(value)), "bool")
    return SLIExpressions(
        bad=promql.aggregate("sum", broken),
        total=promql.aggregate("count", expr),
        time_based=True,
    )


def _duration_seconds(value: str) -> Decimal:
    return Decimal(parse_duration_ms(value)) / 1000


def _check_matchers(value: str) -> str:
    promql.parse_matchers(value)
    return value


def _check_metric(value: str) -> str:
    if not promql.is_metric_name(value):
        raise ValueError(f"{value!r} is not a metric name")
    return value


def _check_duration(value: str) -> str:
    parse_duration_ms(value)
    return value


def _check_promql(value: str) -> str:
    promql.check(value)
    return value


_MATCHERS = 'label matchers, like job="api", code!="404"'


def _fmt(template: str, ctx: SLIContext) -> str:
    return template.format(service=ctx.service, stack=ctx.stack)


# --- generic kinds -----------------------------------------------------------


class RatioSLI(_Kind):
    """Bad (or good) events over total events."""

    kind: Literal["ratio"]
    bad: str | None = F(
        None, check=_check_events_query, description="selector of bad events, or PromQL with {{window}}"
    )
    good: str | None = F(
        None, check=_check_events_query, description="selector of good events, or PromQL with {{window}}"
    )
    total: str = F(check=_check_events_query, description="selector of all events, or PromQL with {{window}}")

    def check_model(self) -> None:
        if (self.bad is None) == (self.good is None):
            raise ValueError("give exactly one of `bad` and `good`")

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        total = _events(self.total, ctx)
        if self.bad is not None:
            return SLIExpressions(bad=_zero_when_absent(_events(self.bad, ctx), total), total=total)
        assert self.good is not None
        return SLIExpressions(bad=_bad_from_good(_events(self.good, ctx), total), total=total)


class LatencySLI(_Kind):
    """ "99% of requests under 300ms" from a histogram."""

    kind: Literal["latency"]
    metric: str = F(
        check=_check_metric, description="histogram name without _bucket/_count, like http_request_duration_seconds"
    )
    selector: str = F("", check=_check_matchers, description=_MATCHERS)
    threshold: str = F(
        check=_check_duration, description="latency bound, like 300ms; a bucket boundary for classic histograms"
    )
    histogram: Literal["classic", "native"] = "classic"
    unit: Literal["seconds", "milliseconds"] = "seconds"

    def bound(self) -> Decimal:
        seconds = _duration_seconds(self.threshold)
        return seconds * 1000 if self.unit == "milliseconds" else seconds

    def histogram_series(self, ctx: SLIContext) -> tuple[str, list[str]]:
        """The histogram's base name and matchers, for live checks of bucket boundaries."""
        return self.metric, promql.parse_matchers(self.selector)

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        return _latency(self.metric, promql.parse_matchers(self.selector), self.bound(), self.histogram, ctx)


class ThresholdSLI(_Kind):
    """Good time: a gauge expression compared with a value at every evaluation."""

    kind: Literal["threshold"]
    expr: str = F(check=_check_promql, description="instant-vector PromQL; every series counts")
    op: Comparison = F(description="comparison that holds when things are good")
    value: Decimal

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        return _threshold(promql.raw(self.expr), self.op, self.value)


# --- built-in templates --------------------------------------------------------


_SUBSTITUTED = "matchers for the service's series; {service} and {stack} are substituted"


class _HTTPErrors(_Kind):
    selector: str = F('job="{service}"', check=_check_matchers, description=_SUBSTITUTED)
    error_codes: str = F("5..", description="regular expression of status codes that count as errors")

    _metric: ClassVar[str]
    _code_label: ClassVar[str]
    _breakdown_label: ClassVar[str | None] = None  # errors by route or instance, on dashboards

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        base = promql.parse_matchers(_fmt(self.selector, ctx))
        errors = [*base, f"{self._code_label}=~{promql.quote(self.error_codes)}"]
        total = _rate(self._metric, base, ctx.window)
        bad = _rate(self._metric, errors, ctx.window)
        breakdown = None
        if self._breakdown_label:
            selector = promql.vector_selector(self._metric, errors)
            by = self._breakdown_label
            breakdown = (by, f"sum by ({by}) (rate({selector}[$__rate_interval]))")
        return SLIExpressions(bad=_zero_when_absent(bad, total), total=total, breakdown=breakdown)


class _HTTPLatency(_Kind):
    selector: str = F('job="{service}"', check=_check_matchers, description=_SUBSTITUTED)
    threshold: str = F(check=_check_duration, description="latency bound, like 300ms")
    histogram: Literal["classic", "native"] = "classic"

    _metric: ClassVar[str]

    def bound(self) -> Decimal:
        return _duration_seconds(self.threshold)

    def histogram_series(self, ctx: SLIContext) -> tuple[str, list[str]]:
        return self._metric, promql.parse_matchers(_fmt(self.selector, ctx))

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        metric, matchers = self.histogram_series(ctx)
        return _latency(metric, matchers, self.bound(), self.histogram, ctx)


class TraefikErrors(_HTTPErrors):
    """Traefik's per-service request counter (traefik_service_requests_total)."""

    kind: Literal["traefik-errors"]
    selector: str = F(
        'service=~"{stack}[-_]{service}@.*"', check=_check_matchers, description="matchers on Traefik's `service` label"
    )
    _metric: ClassVar[str] = "traefik_service_requests_total"
    _code_label: ClassVar[str] = "code"


class TraefikLatency(_HTTPLatency):
    """Traefik's per-service request duration histogram."""

    kind: Literal["traefik-latency"]
    selector: str = F(
        'service=~"{stack}[-_]{service}@.*"', check=_check_matchers, description="matchers on Traefik's `service` label"
    )
    _metric: ClassVar[str] = "traefik_service_request_duration_seconds"


class PrometheusClientErrors(_HTTPErrors):
    """The prometheus-client convention: http_requests_total with a `code` label."""

    kind: Literal["prometheus-client-errors"]
    _metric: ClassVar[str] = "http_requests_total"
    _code_label: ClassVar[str] = "code"
    _breakdown_label: ClassVar[str | None] = "instance"  # no route label by convention; the task


class PrometheusClientLatency(_HTTPLatency):
    """The prometheus-client convention: http_request_duration_seconds histogram."""

    kind: Literal["prometheus-client-latency"]
    _metric: ClassVar[str] = "http_request_duration_seconds"


class OTelHTTPErrors(_HTTPErrors):
    """OpenTelemetry semantic conventions: http.server.request.duration, counted."""

    kind: Literal["otel-http-errors"]
    _metric: ClassVar[str] = "http_server_request_duration_seconds_count"
    _code_label: ClassVar[str] = "http_response_status_code"
    _breakdown_label: ClassVar[str | None] = "http_route"


class OTelHTTPLatency(_HTTPLatency):
    """OpenTelemetry semantic conventions: http.server.request.duration histogram."""

    kind: Literal["otel-http-latency"]
    _metric: ClassVar[str] = "http_server_request_duration_seconds"


_SWARM_SERVICE = 'container_label_com_docker_swarm_service_name="{stack}_{service}"'


class CAdvisorCPU(_Kind):
    """CPU of each task of a Swarm service under a share of its limit (cAdvisor)."""

    kind: Literal["cadvisor-cpu"]
    selector: str = F(_SWARM_SERVICE, check=_check_matchers, description="matchers for the service's containers")
    below: Decimal = F(Decimal("0.8"), gt=0, description="good while usage/limit is below this")

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        m = promql.parse_matchers(_fmt(self.selector, ctx))
        usage = promql.aggregate(
            "sum",
            promql.range_call("rate", promql.vector_selector("container_cpu_usage_seconds_total", m), ctx.window),
            by=("id",),
        )
        limit = promql.aggregate(
            "sum",
            promql.binary(
                promql.vector_selector("container_spec_cpu_quota", m),
                "/",
                promql.vector_selector("container_spec_cpu_period", m),
            ),
            by=("id",),
        )
        return _threshold(promql.binary(usage, "/", limit), "<", self.below)


class CAdvisorMemory(_Kind):
    """Working-set memory of each task of a Swarm service under a share of its limit."""

    kind: Literal["cadvisor-memory"]
    selector: str = F(_SWARM_SERVICE, check=_check_matchers, description="matchers for the service's containers")
    below: Decimal = F(Decimal("0.9"), gt=0, description="good while working set/limit is below this")

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        m = promql.parse_matchers(_fmt(self.selector, ctx))
        used = promql.aggregate("sum", promql.vector_selector("container_memory_working_set_bytes", m), by=("id",))
        limit = promql.aggregate(
            "sum",
            promql.binary(
                promql.vector_selector("container_spec_memory_limit_bytes", m),
                ">",
                promql.number("0"),
            ),
            by=("id",),
        )
        return _threshold(promql.binary(used, "/", limit), "<", self.below)


class NodeDisk(_Kind):
    """Free disk space above a share of the file system (node-exporter)."""

    kind: Literal["node-disk"]
    selector: str = F('mountpoint="/"', check=_check_matchers, description="matchers for node_filesystem_* series")
    free_above: Decimal = F(Decimal("0.1"), gt=0, lt=1, description="good while avail/size is above this")

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        m = promql.parse_matchers(_fmt(self.selector, ctx))
        free = promql.binary(
            promql.vector_selector("node_filesystem_avail_bytes", m),
            "/",
            promql.vector_selector("node_filesystem_size_bytes", m),
        )
        return _threshold(free, ">", self.free_above)


class SwarmReplicas(_Kind):
    """Running replicas at least the desired count (our Swarm exporter)."""

    kind: Literal["swarm-replicas"]
    selector: str = F(
        f'{naming.SWARM_LABEL_SERVICE}="{{stack}}_{{service}}"',
        check=_check_matchers,
        description="matchers for the exporter's service series",
    )

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        m = promql.parse_matchers(_fmt(self.selector, ctx))
        shortfall = promql.binary(
            promql.vector_selector(naming.SWARM_SERVICE_REPLICAS_RUNNING, m),
            "-",
            promql.vector_selector(naming.SWARM_SERVICE_REPLICAS_DESIRED, m),
        )
        return _threshold(shortfall, ">=", Decimal(0))


class SwarmTaskHealth(_Kind):
    """Running task containers passing their health check (our Swarm exporter, reported by each
    node's own engine). Good time per container: healthy, starting or without a check."""

    kind: Literal["swarm-task-health"]
    selector: str = F(
        f'{naming.SWARM_LABEL_SERVICE}="{{stack}}_{{service}}"',
        check=_check_matchers,
        description="matchers for the exporter's task series",
    )

    def expressions(self, ctx: SLIContext) -> SLIExpressions:
        m = promql.parse_matchers(_fmt(self.selector, ctx))
        containers = promql.vector_selector(naming.SWARM_TASK_CONTAINER_HEALTH, m)
        unhealthy = promql.vector_selector(naming.SWARM_TASK_CONTAINER_HEALTH, [*m, 'health="unhealthy"'])
        total = promql.aggregate("count", containers)
        return SLIExpressions(
            bad=_zero_when_absent(promql.aggregate("count", unhealthy), total), total=total, time_based=True
        )


SLI = (
    RatioSLI
    | LatencySLI
    | ThresholdSLI
    | TraefikErrors
    | TraefikLatency
    | PrometheusClientErrors
    | PrometheusClientLatency
    | OTelHTTPErrors
    | OTelHTTPLatency
    | CAdvisorCPU
    | CAdvisorMemory
    | NodeDisk
    | SwarmReplicas
    | SwarmTaskHealth
)
