"""Traces and logs: a tracer per process (OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set), W3C trace context on every call between the roles,
and JSON log lines that carry the current trace and span ids as Jaeger shows them (hex)."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

__all__ = ["JsonFormatter", "Telemetry", "current_ids", "env_span_exporter", "setup_logging"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def env_span_exporter() -> SpanExporter | None:
    """The OTLP/HTTP exporter when the standard environment names an endpoint, else None
    (spans are still made, so logs carry trace ids, but go nowhere)."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout from the OTEL_EXPORTER_OTLP_* variables


class Telemetry:
    """The tracer of one role. One per app, not the global provider, so tests can run the
    three roles in one process, each with its own service name."""

    def __init__(self, service: str, exporter: SpanExporter | None = None, batch: bool = True) -> None:
        self.service = service
        self.resource = Resource.create({SERVICE_NAME: service})
        # Shut down by shutdown(), within a bound, not by the SDK's own unbounded atexit hook.
        self.provider = TracerProvider(resource=self.resource, shutdown_on_exit=False)
        if exporter is not None:
            processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
            self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("stack.demo")

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Flush what the batch processor still holds, for at most `timeout_s`: with the
        collector unreachable the exporter retries for 10 s, longer than a stop grace period."""
        flusher = threading.Thread(target=self.provider.shutdown, name="otel-shutdown", daemon=True)
        flusher.start()
        flusher.join(timeout_s)


def current_ids() -> dict[str, str]:
    """trace_id and span_id of the current span, as Jaeger shows them; {} outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": trace.format_trace_id(ctx.trace_id), "span_id": trace.format_span_id(ctx.span_id)}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, msg, trace_id, span_id, then extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "msg": record.getMessage(),
            **current_ids(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            out["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json.dumps(out, default=str)


def setup_logging(level: str, service: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
