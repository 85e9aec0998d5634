"""The demo shop's faults (/admin/faults): each kind works on each role it applies to and is
reset by POST {}; bad fault states are refused with the field named; probes are never hit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from stack.demo import faults as faults_module
from stack.demo.faults import MB, FaultInjector, Faults
from tests.demo_shop import make_shop

# role, method, path of the role's business request, status when healthy
REQUESTS = [
    ("web", "GET", "/", 200),
    ("web", "GET", "/orders", 200),
    ("api", "POST", "/orders", 201),
    ("api", "GET", "/orders", 200),
]

ClientFactory = Any  # pytest-aiohttp's aiohttp_client fixture


async def _set(client: TestClient[Any, Any], body: object) -> dict[str, Any]:
    resp = await client.post("/admin/faults", json=body)
    assert resp.status == 200, await resp.text()
    state: dict[str, Any] = await resp.json()
    return state


async def _timed(client: TestClient[Any, Any], method: str, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    resp = await client.request(method, path)
    await resp.read()
    return resp.status, time.perf_counter() - start


@pytest.mark.parametrize(("role", "method", "path", "healthy"), REQUESTS)
async def test_error_ratio_one_fails_every_request_until_reset(
    aiohttp_client: ClientFactory, role: str, method: str, path: str, healthy: int
) -> None:
    client = await aiohttp_client(make_shop(role).app)
    assert (await _timed(client, method, path))[0] == healthy
    state = await _set(client, {"error_ratio": 1})
    assert state["error_ratio"] == 1
    statuses = [(await _timed(client, method, path))[0] for _ in range(5)]
    assert statuses == [500] * 5
    await _set(client, {})
    assert (await _timed(client, method, path))[0] == healthy


async def test_error_ratio_half_fails_about_half(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(make_shop("api").app)
    await _set(client, {"error_ratio": 0.5})
    statuses = [(await _timed(client, "GET", "/orders"))[0] for _ in range(200)]
    assert 70 <= statuses.count(500) <= 130, statuses.count(500)
    assert statuses.count(500) + statuses.count(200) == 200


@pytest.mark.parametrize(("role", "method", "path", "healthy"), REQUESTS[::2])
async def test_latency_delays_every_request_until_reset(
    aiohttp_client: ClientFactory, role: str, method: str, path: str, healthy: int
) -> None:
    client = await aiohttp_client(make_shop(role).app)
    await _set(client, {"latency_ms": 300})
    status, seconds = await _timed(client, method, path)
    assert status == healthy and seconds >= 0.3
    await _set(client, {})
    status, seconds = await _timed(client, method, path)
    assert status == healthy and seconds < 0.3


@pytest.mark.parametrize("role", ["web", "api", "worker"])
async def test_probes_and_admin_are_never_faulted(aiohttp_client: ClientFactory, role: str) -> None:
    client = await aiohttp_client(make_shop(role).app)
    await _set(client, {"error_ratio": 1, "latency_ms": 2000})
    for path in ("/healthz", "/metrics", "/admin/faults"):
        status, seconds = await _timed(client, "GET", path)
        assert (status, seconds < 1) == (200, True), path


@pytest.mark.parametrize("role", ["web", "api", "worker"])
async def test_crash_exits_with_status_1_after_answering(aiohttp_client: ClientFactory, role: str) -> None:
    shop = make_shop(role)
    client = await aiohttp_client(shop.app)
    state = await _set(client, {"crash": True})
    assert state["crash"] is True and state["crash_pending"] is True
    assert shop.exits == []  # the answer came first
    await asyncio.sleep(0.2)
    assert shop.exits == [1]


async def test_crash_is_cancelled_by_a_reset_in_time(aiohttp_client: ClientFactory) -> None:
    shop = make_shop("api")
    client = await aiohttp_client(shop.app)
    await _set(client, {"crash": True})
    state = await _set(client, {})
    assert state["crash_pending"] is False
    await asyncio.sleep(0.2)
    assert shop.exits == []


@pytest.mark.parametrize("role", ["web", "api", "worker"])
async def test_memory_grows_while_set_and_is_freed_by_reset(aiohttp_client: ClientFactory, role: str) -> None:
    shop = make_shop(role, tick_s=0.02)
    client = await aiohttp_client(shop.app)
    await _set(client, {"memory_mb_per_min": 120})  # 2 MB/s: 40 kB per 20 ms tick
    await asyncio.sleep(0.3)
    held = (await (await client.get("/admin/faults")).json())["memory_held_mb"]
    assert 0.1 < held < 2, held
    state = await _set(client, {})
    assert state["memory_held_mb"] == 0 and shop.faults.memory_held_bytes == 0


def test_memory_growth_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults_module, "MAX_MEMORY_MB", 2)
    injector = FaultInjector()
    injector.faults = Faults(memory_mb_per_min=120)
    for _ in range(5):
        injector.grow(60)  # 120 MB wanted each time
    assert injector.memory_held_bytes == 2 * MB


async def test_worker_error_ratio_fails_jobs_not_requests(aiohttp_client: ClientFactory) -> None:
    shop = make_shop("worker")
    client = await aiohttp_client(shop.app)
    await _set(client, {"error_ratio": 1})
    for order in range(3):
        assert (await client.post("/jobs", json={"order_id": order})).status == 202
    await _until(lambda: 'worker_jobs_total{outcome="error"} 3.0' in shop_metrics_text(shop))
    await _set(client, {})
    assert (await client.post("/jobs", json={"order_id": 9})).status == 202
    await _until(lambda: 'worker_jobs_total{outcome="ok"} 1.0' in shop_metrics_text(shop))


async def test_worker_latency_makes_the_queue_age(aiohttp_client: ClientFactory) -> None:
    shop = make_shop("worker", workers=1)
    client = await aiohttp_client(shop.app)
    await _set(client, {"latency_ms": 400})
    for order in range(2):
        assert (await client.post("/jobs", json={"order_id": order})).status == 202
    await asyncio.sleep(0.3)  # job 0 is being slowed down; job 1 waits
    assert _gauge(shop_metrics_text(shop), "worker_queue_oldest_job_age_seconds") >= 0.25
    assert _gauge(shop_metrics_text(shop), "worker_queue_jobs") == 1
    await _set(client, {})
    await _until(lambda: _gauge(shop_metrics_text(shop), "worker_queue_jobs") == 0, timeout=2)
    assert _gauge(shop_metrics_text(shop), "worker_queue_oldest_job_age_seconds") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error_ratio": 1.5}, "error_ratio: expected 0..1, got 1.5"),
        ({"error_ratio": True}, "error_ratio: expected a number, got True"),
        ({"latency_ms": 30001}, "latency_ms: expected 0..30000, got 30001"),
        ({"latency_ms": "5s"}, "latency_ms: expected a number, got '5s'"),
        ({"memory_mb_per_min": -1}, "memory_mb_per_min: expected 0..120, got -1"),
        ({"crash": "yes"}, "crash: expected true or false, got 'yes'"),
        ({"errors": 1}, "unknown fields ['errors']"),
        ([1], "expected a JSON object"),
    ],
)
async def test_bad_fault_states_are_refused_and_change_nothing(
    aiohttp_client: ClientFactory, body: object, message: str
) -> None:
    client = await aiohttp_client(make_shop("web").app)
    before = await _set(client, {"latency_ms": 1})
    resp = await client.post("/admin/faults", json=body)
    assert resp.status == 400
    assert message in (await resp.json())["error"]
    assert await (await client.get("/admin/faults")).json() == before


async def test_not_json_is_refused_and_an_empty_body_resets(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(make_shop("web").app)
    await _set(client, {"error_ratio": 0.2})
    resp = await client.post("/admin/faults", data=b"error_ratio=1")
    assert resp.status == 400 and "expected JSON" in (await resp.json())["error"]
    resp = await client.post("/admin/faults", data=b"")
    assert resp.status == 200 and (await resp.json())["error_ratio"] == 0


# --- helpers -------------------------------------------------------------------------------


def shop_metrics_text(shop: Any) -> str:
    from prometheus_client import generate_latest

    from stack.demo.app import REGISTRY

    return generate_latest(shop.app[REGISTRY]).decode()


def _gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the exposition")


async def _until(condition: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
