"""The shop's three roles chained on loopback (in process, each with its own tracer): one
request to web is one trace, server and client spans parented across the hops, the worker's
job a child of its enqueue request; every request's log line carries the trace id; a failing
next hop degrades the answer instead of failing it. Plus the health check and the CLI."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from stack.demo.cli import parse_args
from stack.demo.faults import Faults
from stack.demo.healthcheck import check
from stack.demo.healthcheck import main as healthcheck_main
from tests.demo_shop import NOWHERE, Shop, json_logs, make_shop

ClientFactory = Any
ServerFactory = Any


async def _chain(aiohttp_server: ServerFactory) -> tuple[Shop, Shop, Shop, Any]:
    worker = make_shop("worker")
    worker_server = await aiohttp_server(worker.app)
    api = make_shop("api", worker_url=str(worker_server.make_url("")))
    api_server = await aiohttp_server(api.app)
    web = make_shop("web", api_url=str(api_server.make_url("")))
    return web, api, worker, await aiohttp_server(web.app)


async def _job_span(worker: Shop, timeout: float = 2.0) -> ReadableSpan:
    deadline = time.monotonic() + timeout
    while True:
        done = [s for s in worker.spans.get_finished_spans() if s.name == "process job"]
        if done:
            return done[0]
        assert time.monotonic() < deadline, "the worker never processed the job"
        await asyncio.sleep(0.01)


async def test_one_request_is_one_trace_across_the_three_roles(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    web, api, worker, web_server = await _chain(aiohttp_server)
    client = await aiohttp_client(web_server)
    with json_logs("test") as logs:
        resp = await client.get("/")
        assert resp.status == 200 and "placed" in await resp.text()
        job = await _job_span(worker)

    spans = [s for shop in (web, api, worker) for s in shop.spans.get_finished_spans()]
    by_name = {(s.resource.attributes["service.name"], s.name): s for s in spans}
    assert len(by_name) == len(spans) == 6
    assert sorted(by_name) == [
        ("api", "POST /jobs"),  # client
        ("api", "POST /orders"),  # server
        ("web", "GET /"),
        ("web", "POST /orders"),
        ("worker", "POST /jobs"),
        ("worker", "process job"),
    ]
    trace_ids = {s.context.trace_id for s in by_name.values()}
    assert len(trace_ids) == 1
    chain = [
        (("web", "GET /"), SpanKind.SERVER),
        (("web", "POST /orders"), SpanKind.CLIENT),
        (("api", "POST /orders"), SpanKind.SERVER),
        (("api", "POST /jobs"), SpanKind.CLIENT),
        (("worker", "POST /jobs"), SpanKind.SERVER),
        (("worker", "process job"), SpanKind.INTERNAL),
    ]
    parent = None
    for key, kind in chain:
        span = by_name[key]
        assert span.kind == kind, key
        assert (span.parent.span_id if span.parent else None) == parent, key
        parent = span.context.span_id
    assert job.attributes is not None and job.attributes["order.id"] == "1"

    trace_id = format_trace_id(trace_ids.pop())
    requests = [line for line in logs if line["msg"] == "request"]
    assert sorted(line["service"] for line in requests) == ["api", "web", "worker"]
    for line in [*requests, *(line for line in logs if line["msg"] == "job done")]:
        assert line["trace_id"] == trace_id, line
        assert {"time", "level", "service", "msg", "span_id"} <= set(line)
    span_ids = {format_span_id(s.context.span_id) for s in spans}
    assert {line["span_id"] for line in logs if "span_id" in line} <= span_ids


@pytest.mark.parametrize(
    ("role", "request_", "status", "degraded"),
    [
        ("web", ("GET", "/"), 200, "Orders are paused"),
        ("web", ("GET", "/orders"), 200, "not available"),
        ("api", ("POST", "/orders"), 201, '"fulfilment": "deferred"'),
    ],
)
async def test_an_unreachable_next_hop_degrades_the_answer(
    aiohttp_client: ClientFactory, role: str, request_: tuple[str, str], status: int, degraded: str
) -> None:
    shop = make_shop(role, api_url=NOWHERE, worker_url=NOWHERE)
    client = await aiohttp_client(shop.app)
    with json_logs(role) as logs:
        resp = await client.request(*request_)
        assert (resp.status, degraded in await resp.text()) == (status, True)
    warning = next(line for line in logs if line["level"] == "warning")
    assert warning["upstream_status"] == 0 and "ClientConnectorError" in warning["error"]
    client_span = next(s for s in shop.spans.get_finished_spans() if s.kind == SpanKind.CLIENT)
    assert not client_span.status.is_ok


async def test_an_injected_api_error_does_not_fail_the_web_page(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    _, api, _, web_server = await _chain(aiohttp_server)
    api.faults.faults = Faults(error_ratio=1)
    client = await aiohttp_client(web_server)
    resp = await client.get("/")
    assert resp.status == 200 and "Orders are paused" in await resp.text()
    server = next(s for s in api.spans.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 500


async def test_healthcheck(aiohttp_server: ServerFactory) -> None:
    server = await aiohttp_server(make_shop("worker").app)
    url = str(server.make_url("/healthz"))
    assert await asyncio.to_thread(check, url, 2.0) is None
    assert await asyncio.to_thread(check, str(server.make_url("/nope")), 2.0) == "status 404"
    assert await asyncio.to_thread(healthcheck_main, [url]) == 0
    assert "Connection refused" in (check(NOWHERE + "/healthz", 2.0) or "")
    assert healthcheck_main([NOWHERE + "/healthz", "--timeout", "1"]) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--role", "web"], {"role": "web", "listen": ("0.0.0.0", 8080)}),
        (["--role", "api", "--listen", "127.0.0.1:9000"], {"role": "api", "listen": ("127.0.0.1", 9000)}),
        (["--role", "worker", "--listen", ":81", "--workers", "4"], {"listen": ("0.0.0.0", 81), "workers": 4}),
    ],
)
def test_cli_arguments(argv: list[str], expected: dict[str, object]) -> None:
    args = vars(parse_args(argv))
    assert {k: args[k] for k in expected} == expected


def test_cli_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_URL", "http://shop-api:8080")
    monkeypatch.setenv("WORKER_URL", "http://shop-worker:8080")
    args = parse_args(["--role", "web"])
    assert (args.api_url, args.worker_url) == ("http://shop-api:8080", "http://shop-worker:8080")


@pytest.mark.parametrize("argv", [["--role", "db"], ["--role", "web", "--listen", "8080"], []])
def test_cli_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
