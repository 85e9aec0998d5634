"""The exporter's pieces: the generated metrics page, promtool on a scrape, the CLI's signal
handling, DOCKER_HOST parsing, parsers and placement constraints."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from exporter import families
from exporter.app import Config, Exporter
from exporter.docker import endpoint_of, parse_host
from exporter.model import Node, parse_time
from exporter.state import constraint_matches
from exporter.sync import SyncConfig
from tests.conftest import ROOT
from tests.fake_docker import FakeDocker, container, node, service, task

DOC = ROOT / "docs" / "exporter-metrics.md"


def test_metrics_page_is_generated_from_the_table() -> None:
    assert DOC.read_text() == families.metrics_doc(), (
        "docs/exporter-metrics.md is stale: run `.venv/bin/swarm-exporter --print-metrics-doc > docs/exporter-metrics.md`"
    )


def test_each_family_is_declared_once_with_prometheus_names() -> None:
    names = [f.name for f in families.FAMILIES]
    assert len(names) == len(set(names))
    for f in families.FAMILIES:
        assert f.name.startswith(("swarm_service_", "swarm_task_", "swarm_node_", "swarm_exporter_")), f.name
        assert f.name.endswith("_total") == (f.kind == families.Kind.COUNTER), f.name


async def _full_scrape(tmp_path: Path) -> bytes:
    fake = FakeDocker(tmp_path / "docker.sock")
    fake.nodes["n2"] = node("n2", "node-2", role="worker", state="down")
    fake.services["s1"] = service("s1", "api", 2, update="rollback_completed", completed="2026-11-28T10:05:00Z",
                                  limits={"NanoCPUs": 250_000_000, "MemoryBytes": 1 << 26},
                                  reservations={"NanoCPUs": 100_000_000, "MemoryBytes": 1 << 25})  # fmt: skip
    fake.services["g1"] = service("g1", "agent", None, mode="global")
    fake.tasks |= {
        "t1": task("t1", "s1", 1),
        "t0": task("t0", "s1", 1, state="failed", desired="shutdown", exit_code=3, err="task: non-zero exit (3)"),
        "t2": task("t2", "s1", 2, "n2"),
        "g": task("g", "g1", None),
    }
    fake.containers["c1"] = container("c1", "t1", "api", 1, "healthy")
    await fake.start()
    exporter = Exporter(Config(docker_host=f"unix://{fake.path}", sync=SyncConfig()))
    run = asyncio.create_task(exporter.syncer.run())
    try:
        for _ in range(300):
            if exporter.stats.connected:
                break
            await asyncio.sleep(0.01)
        fake.emit("service", "update", "s1")  # count an event, fill the latency histogram
        await asyncio.sleep(0.2)
        return exporter.scrape()
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await exporter.client.close()
        await fake.stop()


async def test_promtool_check_metrics_passes_on_a_scrape(tmp_path: Path, promtool: Path) -> None:
    text = await _full_scrape(tmp_path)
    published = {line.split()[2] for line in text.decode().splitlines() if line.startswith("# TYPE")}
    # Every family is present in this scrape (only the error counter needs a failure).
    assert published == {f.name for f in families.FAMILIES} - {"swarm_exporter_docker_api_errors_total"}
    result = subprocess.run([str(promtool), "check", "metrics"], input=text, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_cli_serves_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    fake = FakeDocker(tmp_path / "docker.sock")
    fake.services["s1"] = service("s1", "api", 1)
    await fake.start()
    port = _free_port()
    env = os.environ | {"DOCKER_HOST": f"unix://{fake.path}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exporter.cli", "--listen", f"127.0.0.1:{port}", env=env, cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        body = b""
        for _ in range(100):
            try:
                body = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
                )
                if b'service="api"' in body:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        assert (
            b'swarm_service_info{service_id="s1",service="api",stack="shop",mode="replicated",image="busybox:1"} 1\n'
            in body
        )
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - start < 5
    finally:
        if proc.returncode is None:
            proc.kill()
        await fake.stop()
    assert proc.stderr is not None
    logs = [json.loads(line) for line in (await proc.stderr.read()).decode().splitlines()]
    assert [entry["msg"] for entry in logs] == ["listening", "following docker state", "stopped"]
    assert logs[0]["address"] == f"127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("host", "base", "socket_path"),
    [
        (None, "http://docker", "/var/run/docker.sock"),
        ("", "http://docker", "/var/run/docker.sock"),
        ("unix:///run/proxy.sock", "http://docker", "/run/proxy.sock"),
        ("tcp://127.0.0.1:2375", "http://127.0.0.1:2375", None),
        ("tcp://docker-proxy:2375", "http://docker-proxy:2375", None),
    ],
)
def test_docker_host(host: str | None, base: str, socket_path: str | None) -> None:
    assert parse_host(host) == (base, socket_path)


@pytest.mark.parametrize("host", ["ssh://user@host", "npipe:////./pipe/docker_engine", "tcp://"])
def test_unsupported_docker_host(host: str) -> None:
    with pytest.raises(ValueError, match="unsupported DOCKER_HOST"):
        parse_host(host)


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [("/containers/json", "/containers/json"), ("/containers/abc123/json", "/containers/{id}/json"),
     ("/services", "/services"), ("/events", "/events")],
)  # fmt: skip
def test_endpoint_labels(path: str, endpoint: str) -> None:
    assert endpoint_of(path) == endpoint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-28T10:00:00.123456789Z", 1795860000.123456),
        ("2026-11-28T10:00:00Z", 1795860000.0),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        (17, None),
        (None, None),
    ],
)
def test_parse_time(raw: object, expected: float | None) -> None:
    assert parse_time(raw) == (pytest.approx(expected) if expected else None)


_NODE = Node.parse(node("abc", "edge-1", role="worker", labels={"tier": "edge"}))


@pytest.mark.parametrize(
    ("constraint", "matches"),
    [
        ("node.role==worker", True),
        ("node.role == manager", False),
        ("node.role!=manager", True),
        ("node.hostname==edge-1", True),
        ("node.id==abc", True),
        ("node.labels.tier==edge", True),
        ("node.labels.tier!=edge", False),
        ("node.labels.zone==a", False),
        ("node.labels.zone!=a", True),
        ("node.platform.os==linux", True),
        ("engine.labels.x==y", False),
        ("something.unknown==1", True),
        ("no operator", True),
    ],
)
def test_placement_constraints(constraint: str, matches: bool) -> None:
    assert _NODE is not None
    assert constraint_matches(constraint, _NODE) is matches


def test_incremental_render_equals_a_full_render() -> None:
    from exporter.model import Container, Service, Task
    from exporter.render import StateRenderer, render_state
    from exporter.state import SwarmState

    state = SwarmState(local_node_id="n1", manager=True)
    state.set_nodes([Node.parse(node("n1", "node-1", leader=True)), Node.parse(node("n2", "node-2", role="worker"))])
    state.set_services([Service.parse(service(f"s{i}", f"svc{i}", 2)) for i in range(5)])
    state.set_tasks([Task.parse(task(f"t{i}-{j}", f"s{i}", j, f"n{j}")) for i in range(5) for j in (1, 2)])
    renderer = StateRenderer()
    steps = [
        lambda: state.set_tasks(
            [Task.parse(task("t1-1", "s1", 1, state="failed", desired="shutdown", exit_code=1))], "s1"
        ),
        lambda: state.put_service(Service.parse(service("s2", "svc2", 3, update="updating"))),
        lambda: state.remove_service("s3"),
        lambda: state.set_nodes([Node.parse(node("n1", "node-1", leader=True))]),
        lambda: state.put_container(Container.parse(container("c1", "t0-1", "svc0", 1, "healthy"))),
        lambda: state.set_services([Service.parse(service("s9", "new", 1))]),
    ]
    assert renderer.render(state) == render_state(state)
    for step in steps:
        step()
        assert renderer.render(state) == render_state(state)
