"""The exporter behind the read-only socket proxy the stack ships (stack/docker-socket-proxy,
Debian's HAProxy run from the host in front of the live dockerd): the exporter works through
it, and write requests through it are refused with 403."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.swarm import busybox_image, docker, free_port, require_swarm, start_exporter

pytestmark = pytest.mark.e2e

CONFIG = ROOT / "stack" / "docker-socket-proxy" / "haproxy.cfg"
SERVICE = "slo-e2e-exporter-proxied"


def _haproxy(port: int, log: Path) -> subprocess.Popen[bytes]:
    haproxy = shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if haproxy is None:
        pytest.fail("haproxy not found; run .ci/install-docker (it installs Debian's haproxy)")
    env = os.environ | {"PROXY_BIND": f"127.0.0.1:{port}", "DOCKER_SOCKET": "/var/run/docker.sock"}
    with log.open("ab") as out:
        proc = subprocess.Popen([haproxy, "-db", "-f", str(CONFIG)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"haproxy did not start:\n{log.read_text()}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    require_swarm()
    port = free_port()
    proc = _haproxy(port, tmp_path / "haproxy.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)
        docker("service", "rm", SERVICE, check=False)


def _status(url: str, method: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1.41/info", 200),
        ("GET", "/v1.41/services?status=true", 200),
        ("GET", "/v1.41/containers/json", 200),
        ("POST", "/v1.41/services/create", 403),
        ("POST", "/v1.41/containers/create", 403),
        ("POST", "/v1.41/swarm/leave?force=true", 403),
        ("DELETE", "/v1.41/services/anything", 403),
        ("PUT", "/v1.41/containers/x/archive", 403),
        ("GET", "/v1.41/secrets", 403),  # a GET the exporter does not need
        ("GET", "/v1.41/containers/x/logs", 403),
    ],
)
def test_proxy_allows_only_the_exporters_reads(proxy: str, method: str, path: str, expected: int) -> None:
    body = b"{}" if method in ("POST", "PUT") else None
    assert _status(f"http://{proxy}{path}", method, body) == expected


def test_exporter_works_through_the_proxy_and_a_write_is_refused(proxy: str, tmp_path: Path) -> None:
    image = busybox_image()
    with start_exporter(tmp_path, f"tcp://{proxy}") as ex:
        docker("service", "create", "--detach", "--name", SERVICE, image, "sleep", "100000")
        ex.wait_value("swarm_service_replicas_running", 1.0, timeout=30, service=SERVICE)
        assert ex.value("swarm_exporter_docker_connected") == 1.0
        text = ex.scrape()
        assert "swarm_exporter_docker_api_errors_total" not in text  # it needs nothing the proxy refuses
        # The docker CLI through the proxy: a write request is refused.
        result = subprocess.run(
            ["docker", "-H", f"tcp://{proxy}", "service", "scale", "--detach", f"{SERVICE}=2"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode != 0
        assert "403" in result.stderr or "Forbidden" in result.stderr, result.stderr
        assert docker("service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", SERVICE) == "1"


def test_proxy_gone_then_back_the_exporter_serves_stale_state_then_reloads(tmp_path: Path) -> None:
    """The engine's endpoint disappears (the proxy stops: the event stream is cut, new
    connections are refused) and comes back: the last state stays served with a growing
    staleness, one log line says so, and a full reload follows the return."""
    require_swarm()
    image = busybox_image()
    port = free_port()
    proc = _haproxy(port, tmp_path / "haproxy.log")
    try:
        with start_exporter(tmp_path, f"tcp://127.0.0.1:{port}", "--log-level", "info") as ex:
            docker("service", "create", "--detach", "--name", SERVICE, image, "sleep", "100000")
            ex.wait_value("swarm_service_info", 1.0, timeout=30, service=SERVICE)
            _stop(proc)
            ex.wait_value("swarm_exporter_docker_connected", 0.0, timeout=10)
            time.sleep(1.0)
            assert (ex.value("swarm_exporter_staleness_seconds") or 0) >= 0.9
            assert ex.value("swarm_service_info", service=SERVICE) == 1.0  # the last known state
            docker("service", "rm", SERVICE)  # a change while the exporter cannot see
            proc = _haproxy(port, tmp_path / "haproxy.log")
            ex.wait_value("swarm_exporter_docker_connected", 1.0, timeout=40)
            ex.wait_value("swarm_service_info", None, timeout=5, service=SERVICE)
            assert ex.value("swarm_exporter_staleness_seconds") == 0.0
            assert (ex.value("swarm_exporter_resyncs_total", reason="reconnect") or 0) >= 1
        logs = [json.loads(line) for line in ex.log.read_text().splitlines() if line.startswith("{")]
        messages = [entry["msg"] for entry in logs]
        assert messages.count("docker state no longer followed, serving the last known state") == 1, messages
        assert messages.count("docker state followed again after a full reload") == 1, messages
    finally:
        _stop(proc)
        docker("service", "rm", SERVICE, check=False)
