"""The shipped stack on the live swarm: the exporter image (stack/build-image, no registry),
deployed with stack/swarm-exporter.yml, reads the engine through the HAProxy proxy on a
node-local unix socket and publishes the stack's own services on its host-mode port."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.e2e.swarm import docker, free_port, require_swarm, value

pytestmark = pytest.mark.e2e

STACK = "slo-e2e-exporter-stack"


@pytest.fixture
def deployed() -> Iterator[str]:
    require_swarm()
    image = subprocess.run(
        [str(ROOT / "stack" / "build-image")], capture_output=True, text=True, check=False,
        env=os.environ | {"PYTHON": str(ROOT / ".venv" / "bin" / "python")},
    )  # fmt: skip
    assert image.returncode == 0, image.stderr
    port = free_port()
    env = os.environ | {"EXPORTER_IMAGE": image.stdout.strip(), "EXPORTER_PORT": str(port)}
    docker("stack", "rm", STACK, check=False)
    _wait_gone()
    docker("stack", "deploy", "-c", str(ROOT / "stack" / "swarm-exporter.yml"), STACK, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        docker("stack", "rm", STACK, check=False)
        _wait_gone()


def _wait_gone() -> None:
    """A stack's network and volume go only after its containers: wait for them (bounded)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}")
        if not left and not docker("network", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}"):
            break
        time.sleep(0.5)
    docker("volume", "rm", f"{STACK}_exporter-socket", check=False)


def test_stack_exporter_reads_through_the_proxy(deployed: str) -> None:
    deadline = time.monotonic() + 90
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{deployed}/metrics", timeout=5) as resp:
                text = resp.read().decode()
            if value(text, "swarm_service_replicas_running", service=f"{STACK}_exporter") == 1.0:
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise AssertionError(f"the stack's exporter did not report itself running in 90 s:\n{text}")
    assert value(text, "swarm_exporter_docker_connected") == 1.0
    assert value(text, "swarm_exporter_cluster_reporter") == 1.0
    assert value(text, "swarm_service_info", service=f"{STACK}_docker-proxy", stack=STACK, mode="global") == 1.0
    assert value(text, "swarm_service_limit_memory_bytes", service=f"{STACK}_exporter") == 256 * 1024 * 1024
    assert "swarm_exporter_docker_api_errors_total" not in text


def test_stack_exporter_stops_gracefully(deployed: str) -> None:
    service = f"{STACK}_exporter"
    deadline = time.monotonic() + 90
    while True:
        old = docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service).split()
        if old and json.loads(docker("inspect", old[0]))[0]["Status"]["State"] == "running":
            break
        assert time.monotonic() < deadline, "the exporter's task did not start"
        time.sleep(0.5)
    # A forced update stops the old task with SIGTERM; past the 10 s grace period it would be
    # SIGKILLed (exit 137). A graceful stop exits 0, well within the period.
    docker("service", "update", "--force", "--detach", service)
    deadline = time.monotonic() + 60
    while True:
        task = json.loads(docker("inspect", old[0]))[0]
        if task["Status"]["State"] in ("shutdown", "complete", "failed"):
            break
        assert time.monotonic() < deadline, f"old task still {task['Status']['State']}"
        time.sleep(0.5)
    assert task["Status"]["ContainerStatus"]["ExitCode"] == 0, task["Status"]
