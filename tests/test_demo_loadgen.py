"""The load generator: its counts add up against servers that answer well, badly, slowly or
not at all; it stops at its time and count bounds; nearest-rank percentiles."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import pytest
from aiohttp import web

from stack.demo.loadgen import Load, parse_args, percentile, run
from tests.demo_shop import NOWHERE

ServerFactory = Any


def _server(statuses: list[int], delay_s: float = 0.0) -> web.Application:
    """Answers with the given statuses in turn."""
    served = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal served
        status = statuses[served % len(statuses)]
        served += 1
        await asyncio.sleep(delay_s)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_get("/", handle)
    return app


@pytest.mark.parametrize(
    ("statuses", "delay_s", "load", "expected"),
    [
        ([200], 0, {"rate": 200, "duration_s": 0.1}, {"sent": 20, "ok": 20, "errors": 0, "skipped": 0}),
        ([200, 500], 0, {"rate": 200, "duration_s": 0.1}, {"sent": 20, "ok": 10, "errors": 10, "skipped": 0}),
        ([302, 404, 503, 200], 0, {"rate": 400, "duration_s": 0.05}, {"sent": 20, "ok": 10, "errors": 10}),
        ([200], 0, {"rate": 200, "duration_s": 1, "max_requests": 7}, {"sent": 7, "ok": 7, "errors": 0}),
        ([200], 0.5, {"rate": 100, "duration_s": 0.1, "concurrency": 3}, {"sent": 3, "ok": 3, "skipped": 7}),
        ([200], 1.0, {"rate": 100, "duration_s": 0.05, "timeout_s": 0.2}, {"sent": 5, "ok": 0, "errors": 5}),
    ],
)
async def test_counts_add_up(
    aiohttp_server: ServerFactory, statuses: list[int], delay_s: float, load: dict[str, Any], expected: dict[str, int]
) -> None:
    server = await aiohttp_server(_server(statuses, delay_s))
    summary = await run(Load(url=str(server.make_url("/")), **load))
    assert {k: summary[k] for k in expected} == expected
    assert summary["sent"] == summary["ok"] + summary["errors"]
    if summary["ok"]:
        assert 0 < summary["p50_ms"] <= summary["p99_ms"]


async def test_refused_connections_are_errors_without_latencies() -> None:
    out = io.StringIO()
    summary = await run(Load(url=NOWHERE + "/", rate=100, duration_s=0.05), out=out)
    assert {k: summary[k] for k in ("sent", "ok", "errors", "p50_ms", "p99_ms")} == {
        "sent": 5, "ok": 0, "errors": 5, "p50_ms": None, "p99_ms": None,
    }  # fmt: skip
    assert json.loads(out.getvalue()) == summary  # one JSON line


async def test_it_keeps_time_and_stops_early_when_told(aiohttp_server: ServerFactory) -> None:
    server = await aiohttp_server(_server([200]))
    start = time.monotonic()
    summary = await run(Load(url=str(server.make_url("/")), rate=50, duration_s=0.4))
    assert 0.35 <= time.monotonic() - start < 1.5 and summary["sent"] == 20
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)
    start = time.monotonic()
    summary = await run(Load(url=str(server.make_url("/")), rate=50, duration_s=60), stop)
    assert time.monotonic() - start < 1.5 and 5 <= summary["sent"] <= 15 and summary["final"] is True


async def test_interim_reports(aiohttp_server: ServerFactory) -> None:
    server = await aiohttp_server(_server([200]))
    out = io.StringIO()
    await run(Load(url=str(server.make_url("/")), rate=100, duration_s=0.35, report_every_s=0.1), out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) >= 3 and [line["final"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert lines[-1]["sent"] == 35


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 101)], 100, 100.0),
        ([float(i) for i in range(1, 1001)], 99, 990.0),
    ],
)
def test_percentile_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--url", "http://x/", "--rate", "0"], "expected a positive number"),
        (["--url", "http://x/", "--duration", "-1"], "expected a positive number"),
        (["--rate", "1"], "--url"),
    ],
)
def test_bad_arguments(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert error in capsys.readouterr().err


def test_arguments() -> None:
    load = parse_args(["--url", "http://web:8080/", "--rate", "10", "--duration", "600"])
    assert load == Load("http://web:8080/", 10.0, 600.0)
    assert load.total == 6000
    assert Load("u", 10, 600, max_requests=50).total == 50
