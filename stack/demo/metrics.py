"""Each role's metrics, in the conventions its example SLO (examples/slos/) queries:

    api     prometheus-client: http_requests_total{method,handler,code} and the histogram
            http_request_duration_seconds{method,handler} (buckets include 0.3 and 1, the
            api's thresholds)
    web     OpenTelemetry semantic conventions: http.server.request.duration (seconds) from
            the SDK, exposed by opentelemetry-exporter-prometheus as
            http_server_request_duration_seconds{http_response_status_code,http_route,...}
            (buckets include 0.5, the web's threshold)
    worker  worker_jobs_total{outcome="ok|error"}, worker_queue_oldest_job_age_seconds and
            worker_queue_jobs

Every role also has process_* (memory, CPU, file descriptors). No role sets `job`: Prometheus
does, from the Swarm service. Probes (/healthz, /metrics) and /admin are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.url_attributes import URL_SCHEME
from opentelemetry.semconv.metrics.http_metrics import HTTP_SERVER_REQUEST_DURATION
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

__all__ = [
    "API_BUCKETS",
    "WEB_BUCKETS",
    "NoRequestMetrics",
    "OTelHTTPMetrics",
    "PrometheusHTTPMetrics",
    "RequestMetrics",
    "WorkerMetrics",
    "new_registry",
]

# prometheus-client's defaults plus 0.3 (the api's 300 ms objective) and 1.0 (its p99).
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# The semantic conventions' advice for http.server.request.duration (0.5: the web's objective).
WEB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


class RequestMetrics(Protocol):
    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None: ...


class NoRequestMetrics:
    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        return None


class PrometheusHTTPMetrics:
    """The prometheus-client convention (the SLI kinds prometheus-client-errors/-latency)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total", "HTTP requests answered.", ["method", "handler", "code"], registry=registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests.",
            ["method", "handler"],
            buckets=API_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        handler = route or "none"
        self.requests.labels(method, handler, str(status)).inc()
        self.duration.labels(method, handler).observe(seconds)


class OTelHTTPMetrics:
    """The OpenTelemetry convention (the SLI kinds otel-http-errors/-latency), recorded with the
    SDK and read by Prometheus through the registry the role serves on /metrics."""

    def __init__(self, registry: CollectorRegistry, resource: Resource) -> None:
        reader = PrometheusMetricReader(registry=registry)
        self.provider = MeterProvider(metric_readers=[reader], resource=resource)
        self.duration = self.provider.get_meter("stack.demo").create_histogram(
            HTTP_SERVER_REQUEST_DURATION,
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=list(WEB_BUCKETS),
        )

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        attributes: dict[str, str | int] = {
            HTTP_REQUEST_METHOD: method,
            URL_SCHEME: "http",
            HTTP_RESPONSE_STATUS_CODE: status,
        }
        if route:
            attributes[HTTP_ROUTE] = route
        if status >= 500:
            attributes[ERROR_TYPE] = str(status)
        self.duration.record(seconds, attributes)

    def shutdown(self) -> None:
        self.provider.shutdown()


class WorkerMetrics:
    """Jobs by outcome and the queue, as examples/slos/worker.yaml queries them."""

    OUTCOMES = ("ok", "error")

    def __init__(self, registry: CollectorRegistry, oldest_age: Callable[[], float], depth: Callable[[], int]) -> None:
        self.jobs = Counter("worker_jobs_total", "Jobs processed, by outcome.", ["outcome"], registry=registry)
        for outcome in self.OUTCOMES:
            self.jobs.labels(outcome)  # both series exist from the start, at 0
        age = Gauge(
            "worker_queue_oldest_job_age_seconds",
            "Age of the oldest job waiting in the queue; 0 when none waits.",
            registry=registry,
        )
        age.set_function(oldest_age)
        jobs = Gauge("worker_queue_jobs", "Jobs waiting in the queue.", registry=registry)
        jobs.set_function(lambda: float(depth()))

    def done(self, ok: bool) -> None:
        self.jobs.labels("ok" if ok else "error").inc()
