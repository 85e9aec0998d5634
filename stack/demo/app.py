"""The HTTP app of each role. Every role serves GET /healthz, GET /metrics and
GET|POST /admin/faults; then

    web     GET /        places an order (api POST /orders) and renders a page
            GET /orders  lists recent orders (api GET /orders)
    api     POST /orders stores an order and queues its job (worker POST /jobs)
            GET /orders  the last orders
    worker  POST /jobs   queues a job (202); consumers process it (worker.py)

Each request gets a server span (W3C trace context extracted from its headers), one JSON log
line with its trace and span ids, and counts in the role's HTTP metrics; probes (/healthz,
/metrics) get none of these but a debug log line. A failing or slow next hop degrades the
answer (web renders the page without the order, the api defers the job) rather than failing
it: each role's SLIs measure the role itself, so a fault pages only its team.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from aiohttp import web
from opentelemetry import context as otel_context
from opentelemetry.propagate import extract
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_SCHEME
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .faults import FaultError, FaultInjector, Faults
from .metrics import (
    NoRequestMetrics,
    OTelHTTPMetrics,
    PrometheusHTTPMetrics,
    RequestMetrics,
    WorkerMetrics,
    new_registry,
)
from .telemetry import Telemetry
from .upstream import Upstream
from .worker import JobQueue, Processor

__all__ = ["ROLES", "Config", "Role", "create_app"]

Role = Literal["web", "api", "worker"]
ROLES: tuple[Role, ...] = ("web", "api", "worker")
PROBES = frozenset({"/healthz", "/metrics"})
ADMIN = "/admin/faults"
ITEMS = ("teapot", "kettle", "mug", "tray", "spoon")

log = logging.getLogger("stack.demo")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Config:
    role: Role
    api_url: str = "http://api:8080"
    worker_url: str = "http://worker:8080"
    upstream_timeout_s: float = 0.25
    workers: int = 2
    queue_limit: int = 10_000


CONFIG = web.AppKey("config", Config)
TELEMETRY = web.AppKey("telemetry", Telemetry)
FAULTS = web.AppKey("faults", FaultInjector)
REGISTRY = web.AppKey("registry", CollectorRegistry)
METRICS = web.AppKey("metrics", RequestMetrics)
UPSTREAM = web.AppKey("upstream", Upstream)


class Orders:
    """The api's recent orders (in memory, the last 20) and its order numbers."""

    def __init__(self, keep: int = 20) -> None:
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self._ids = itertools.count(1)

    def new(self, item: str) -> dict[str, Any]:
        return {"id": next(self._ids), "item": item, "created": round(time.time(), 3)}


ORDERS = web.AppKey("orders", Orders)
QUEUE = web.AppKey("queue", JobQueue)
PROCESSOR = web.AppKey("processor", Processor)


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = _route(request)
    if route in PROBES:
        response = await handler(request)
        log.debug("probe", extra={"path": request.path, "status": response.status})
        return response
    tel = request.app[TELEMETRY]
    method = request.method
    attributes: dict[str, str] = {HTTP_REQUEST_METHOD: method, URL_SCHEME: request.scheme, URL_PATH: request.path}
    if route:
        attributes[HTTP_ROUTE] = route
    start = time.perf_counter()
    with tel.tracer.start_as_current_span(
        f"{method} {route}" if route else method,
        context=extract(request.headers),
        kind=SpanKind.SERVER,
        attributes=attributes,
    ) as span:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            seconds = time.perf_counter() - start
            span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 500:
                span.set_attribute(ERROR_TYPE, str(status))
                span.set_status(StatusCode.ERROR)
            if route != ADMIN:
                request.app[METRICS].observe(method, route, status, seconds)
            extra = {"service": tel.service, "method": method, "path": request.path, "status": status}
            log.info("request", extra={**extra, "duration_ms": round(seconds * 1000, 1)})


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = _route(request)
    if route in PROBES or route == ADMIN:
        return await handler(request)
    faults = request.app[FAULTS]
    await faults.delay()
    if faults.fails():
        return web.json_response({"error": "injected fault"}, status=500)
    return await handler(request)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].state())


async def _post_faults(request: web.Request) -> web.Response:
    text = await request.text()
    try:
        faults = Faults.parse(json.loads(text) if text.strip() else {})
    except json.JSONDecodeError as exc:
        return web.json_response({"error": f"expected JSON: {exc}"}, status=400)
    except FaultError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[FAULTS].set(faults)
    return web.json_response(request.app[FAULTS].state())


# --- web -----------------------------------------------------------------------


def _page(title: str, body: str) -> web.Response:
    html = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(body)}</p>\n"
    return web.Response(text=html, content_type="text/html")


async def _web_index(request: web.Request) -> web.Response:
    item = random.choice(ITEMS)
    reply = await request.app[UPSTREAM].call("POST", "/orders", {"item": item})
    if reply.ok(201) and isinstance(reply.body, dict):
        return _page("The demo shop", f"Order {reply.body.get('id')} placed: one {item}.")
    log.warning("api unavailable: page degraded", extra={"upstream_status": reply.status, "error": reply.error})
    return _page("The demo shop", "Orders are paused for a moment; please come back soon.")


async def _web_orders(request: web.Request) -> web.Response:
    reply = await request.app[UPSTREAM].call("GET", "/orders")
    if reply.ok(200) and isinstance(reply.body, list):
        return _page("Recent orders", ", ".join(f"{o.get('id')}: {o.get('item')}" for o in reply.body) or "none yet")
    log.warning("api unavailable: page degraded", extra={"upstream_status": reply.status, "error": reply.error})
    return _page("Recent orders", "The order list is not available right now.")


# --- api -----------------------------------------------------------------------


async def _api_create_order(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    item = body.get("item") if isinstance(body, dict) else None
    orders = request.app[ORDERS]
    order = orders.new(str(item or "teapot"))
    reply = await request.app[UPSTREAM].call("POST", "/jobs", {"order_id": order["id"]})
    if reply.ok(202):
        order["fulfilment"] = "queued"
    else:
        order["fulfilment"] = "deferred"
        log.warning("worker unavailable: job deferred", extra={"upstream_status": reply.status, "error": reply.error})
    orders.recent.append(order)
    return web.json_response(order, status=201)


async def _api_list_orders(request: web.Request) -> web.Response:
    return web.json_response(list(reversed(request.app[ORDERS].recent)))


# --- worker --------------------------------------------------------------------


async def _worker_enqueue(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": 'expected JSON like {"order_id": 1}'}, status=400)
    order_id = body.get("order_id") if isinstance(body, dict) else None
    queue = request.app[QUEUE]
    job = queue.put(order_id, otel_context.get_current())
    if job is None:
        return web.json_response({"error": "queue full"}, status=503)
    return web.json_response({"job": job.id, "waiting": len(queue)}, status=202)


# --- assembly --------------------------------------------------------------------


def create_app(
    config: Config,
    telemetry: Telemetry | None = None,
    faults: FaultInjector | None = None,
) -> web.Application:
    tel = telemetry or Telemetry(config.role)
    injector = faults or FaultInjector()
    middlewares = [observe] if config.role == "worker" else [observe, inject_faults]
    app = web.Application(middlewares=middlewares)
    app[CONFIG] = config
    app[TELEMETRY] = tel
    app[FAULTS] = injector
    app[REGISTRY] = registry = new_registry()
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get(ADMIN, _get_faults)
    app.router.add_post(ADMIN, _post_faults)

    if config.role == "web":
        app[METRICS] = OTelHTTPMetrics(registry, tel.resource)
        app[UPSTREAM] = Upstream(config.api_url, tel.tracer, config.upstream_timeout_s)
        app.router.add_get("/", _web_index)
        app.router.add_get("/orders", _web_orders)
    elif config.role == "api":
        app[METRICS] = PrometheusHTTPMetrics(registry)
        app[UPSTREAM] = Upstream(config.worker_url, tel.tracer, config.upstream_timeout_s)
        app[ORDERS] = Orders()
        app.router.add_post("/orders", _api_create_order)
        app.router.add_get("/orders", _api_list_orders)
    else:
        queue = JobQueue(config.queue_limit)
        app[QUEUE] = queue
        app[METRICS] = NoRequestMetrics()
        worker_metrics = WorkerMetrics(registry, queue.oldest_age, lambda: len(queue))
        app[PROCESSOR] = Processor(queue, tel, injector, worker_metrics)
        app.router.add_post("/jobs", _worker_enqueue)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    """Background work and what to close: the fault ticker, the worker's consumers, the
    client session; the tracer and meter providers last (they flush)."""
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(app[TELEMETRY].shutdown)
        metrics = app[METRICS]
        if isinstance(metrics, OTelHTTPMetrics):
            stack.callback(metrics.shutdown)
        await stack.enter_async_context(app[FAULTS].running())
        if UPSTREAM in app:
            stack.push_async_callback(app[UPSTREAM].close)
        if PROCESSOR in app:
            processor = app[PROCESSOR]
            tasks = [asyncio.create_task(processor.consume(), name=f"consumer-{i}") for i in range(app[CONFIG].workers)]
            stack.push_async_callback(_cancel, tasks)
        yield


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
