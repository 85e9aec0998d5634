"""The demo shop as three processes on loopback sending traces to a real Jaeger v2 (in-memory
storage, tests/e2e/jaeger-memory.yaml): one request to web is one trace in Jaeger's query API
with spans from web, api and worker, and the trace id each service logged is that trace's.
Then the processes stop: SIGTERM exits 0, the crash fault exits 1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest

from stack.demo.healthcheck import check
from tests.conftest import CACHE, ROOT

pytestmark = pytest.mark.e2e

JAEGER_VERSION = os.environ.get("JAEGER_MODULE_VERSION", "1.76.0")
JAEGER = CACHE / f"jaeger-{JAEGER_VERSION}" / "jaeger"
CONFIG = Path(__file__).with_name("jaeger-memory.yaml")
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def _logs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _start(stack: ExitStack, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = stack.enter_context(log.open("wb"))
    proc = subprocess.Popen(args, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

    stack.callback(stop)
    return proc


@pytest.fixture
def jaeger(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Jaeger running: its OTLP/HTTP and query addresses."""
    if not JAEGER.exists():
        pytest.skip(f"Jaeger v2 not built at {JAEGER} (stack/build-images builds it)")
    ports = {name: _free_port() for name in ("QUERY", "QUERY_GRPC", "HEALTH", "OTLP")}
    env = {f"JAEGER_{name}_PORT": str(port) for name, port in ports.items()}
    env["OTEL_TRACES_EXPORTER"] = "none"  # Jaeger's own traces, which would go to localhost:4317
    with ExitStack() as stack:
        _start(stack, [str(JAEGER), "--config", str(CONFIG)], env, tmp_path / "jaeger.log")
        health = f"http://127.0.0.1:{ports['HEALTH']}/status"
        _wait("Jaeger healthy", lambda: True if check(health, 1.0) is None else None)
        yield f"127.0.0.1:{ports['OTLP']}", f"127.0.0.1:{ports['QUERY']}"


def test_one_request_is_one_trace_in_jaeger_and_in_every_log(tmp_path: Path, jaeger: tuple[str, str]) -> None:
    otlp, query = jaeger
    ports = {role: _free_port() for role in ("web", "api", "worker")}
    with ExitStack() as stack:
        procs = {}
        for role in ("worker", "api", "web"):
            env = {
                "OTEL_SERVICE_NAME": role,
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp}",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "API_URL": f"http://127.0.0.1:{ports['api']}",
                "WORKER_URL": f"http://127.0.0.1:{ports['worker']}",
            }
            args = [sys.executable, "-m", "stack.demo", "--role", role, "--listen", f"127.0.0.1:{ports[role]}"]
            procs[role] = _start(stack, args, env, tmp_path / f"{role}.log")
        for role, port in ports.items():
            url = f"http://127.0.0.1:{port}/healthz"
            _wait(f"{role} healthy", lambda url=url: True if check(url, 1.0) is None else None)

        with urllib.request.urlopen(f"http://127.0.0.1:{ports['web']}/", timeout=5) as resp:
            assert resp.status == 200 and b"placed" in resp.read()

        def request_line(role: str) -> dict[str, Any] | None:
            return next((r for r in _logs(tmp_path / f"{role}.log") if r["msg"] == "request"), None)

        trace_id = _wait("web's log line", lambda: request_line("web"))["trace_id"]
        assert len(trace_id) == 32 and int(trace_id, 16)

        def trace_with_three_services() -> dict[str, Any] | None:
            try:
                data = _get_json(f"http://{query}/api/traces/{trace_id}")["data"]
            except OSError:  # 404 until the first span arrives
                return None
            services = {p["serviceName"] for p in data[0]["processes"].values()} if data else set()
            spans = {s["operationName"] for s in data[0]["spans"]} if data else set()
            return data[0] if services == {"web", "api", "worker"} and "process job" in spans else None

        trace = _wait("the trace in Jaeger", trace_with_three_services)
        assert trace["traceID"] == trace_id
        services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
        spans = sorted((services[s["processID"]], s["operationName"]) for s in trace["spans"])
        assert spans == [
            ("api", "POST /jobs"),
            ("api", "POST /orders"),
            ("web", "GET /"),
            ("web", "POST /orders"),
            ("worker", "POST /jobs"),
            ("worker", "process job"),
        ]
        span_ids = {s["spanID"] for s in trace["spans"]}
        for role in ("web", "api", "worker"):
            line = _wait(f"{role}'s log line", lambda role=role: request_line(role))
            assert (line["service"], line["trace_id"]) == (role, trace_id)
            assert line["span_id"] in span_ids
        job = next(r for r in _logs(tmp_path / "worker.log") if r["msg"] == "job done")
        assert job["trace_id"] == trace_id and job["span_id"] in span_ids

        # Stopping: SIGTERM is a clean exit; the crash fault is status 1 shortly after answering.
        procs["web"].send_signal(signal.SIGTERM)
        assert procs["web"].wait(10) == 0
        req = urllib.request.Request(
            f"http://127.0.0.1:{ports['worker']}/admin/faults",
            data=b'{"crash": true}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.load(resp)["crash_pending"] is True
        assert procs["worker"].wait(10) == 1
        assert any(r["msg"] == "crash fault: exiting with status 1" for r in _logs(tmp_path / "worker.log"))
