"""The exporter behind the read-only socket proxy the stack ships (stack/docker-socket-proxy,
Debian's HAProxy run from the host in front of the live dockerd): the exporter works through
it, and write requests through it are refused with 403."""

from __future__ import annotations

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


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    require_swarm()
    haproxy = shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if haproxy is None:
        pytest.fail("haproxy not found; run .ci/install-docker (it installs Debian's haproxy)")
    port = free_port()
    env = os.environ | {"PROXY_BIND": f"127.0.0.1:{port}", "DOCKER_SOCKET": "/var/run/docker.sock"}
    log = (tmp_path / "haproxy.log").open("wb")
    proc = subprocess.Popen([haproxy, "-db", "-f", str(CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"haproxy did not start:\n{(tmp_path / 'haproxy.log').read_text()}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
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
