"""Helpers for the demo shop's tests: apps with an in-memory span exporter and a fault
injector whose crash is recorded instead of ending pytest."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stack.demo.app import Config, Role, create_app
from stack.demo.faults import FaultInjector
from stack.demo.telemetry import JsonFormatter, Telemetry

# Nothing listens here (port 9 is "discard"; connections are refused on loopback): an
# unreachable next hop for a role tested alone.
NOWHERE = "http://127.0.0.1:9"


@dataclass
class Shop:
    app: web.Application
    spans: InMemorySpanExporter
    faults: FaultInjector
    exits: list[int] = field(default_factory=list)


def make_shop(
    role: Role, *, api_url: str = NOWHERE, worker_url: str = NOWHERE, workers: int = 2, tick_s: float = 0.02
) -> Shop:
    spans = InMemorySpanExporter()
    exits: list[int] = []
    faults = FaultInjector(random.Random(7), exit=exits.append, crash_delay_s=0.05, tick_s=tick_s)
    config = Config(role=role, api_url=api_url, worker_url=worker_url, workers=workers, upstream_timeout_s=1.0)
    app = create_app(config, Telemetry(role, spans, batch=False), faults)
    return Shop(app, spans, faults, exits)


@contextmanager
def json_logs(service: str) -> Iterator[list[dict[str, Any]]]:
    """The demo's log lines while the block runs, formatted as in production and parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    logger = logging.getLogger("stack.demo")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())
