"""Live-swarm helpers for the exporter's end-to-end tests: a busybox image without a registry,
the docker CLI, the exporter as a process, and a /metrics poller that times when a change shows."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.model import parse_time

__all__ = ["IMAGE", "Exporter", "busybox_image", "docker", "docker_json", "require_swarm", "start_exporter"]

BUSYBOX_PACKAGE = "busybox-static"
IMAGE = "swarm-slo-e2e/busybox:1.35"  # cached on the engine by name
ROOT = Path(__file__).resolve().parents[2]


def docker(*args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def docker_json(*args: str) -> Any:
    return json.loads(docker(*args))


def require_swarm() -> str:
    """The local node's ID; fails (not skips) when the engine or swarm is missing: run .ci/install-docker."""
    if shutil.which("docker") is None:
        pytest.fail("docker CLI not found; run .ci/install-docker")
    result = subprocess.run(["docker", "info", "--format", "{{json .Swarm}}"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"dockerd does not answer ({result.stderr.strip()}); run .ci/install-docker")
    swarm = json.loads(result.stdout)
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        pytest.fail("this engine is not a swarm manager; run .ci/install-docker (docker swarm init)")
    return str(swarm["NodeID"])


def busybox_image() -> str:
    """A tiny image from Debian's busybox-static (no registry here), imported once and cached."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0:
        return IMAGE
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(["apt-get", "download", BUSYBOX_PACKAGE], cwd=work, check=True, capture_output=True)
        deb = next(work.glob("busybox-static_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "pkg")], check=True)
        rootfs = work / "rootfs"
        for d in ("bin", "tmp", "etc", "proc", "sys", "dev"):
            (rootfs / d).mkdir(parents=True)
        shutil.copy2(work / "pkg" / "bin" / "busybox", rootfs / "bin" / "busybox")
        applets = subprocess.run(
            [str(rootfs / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True
        )
        for applet in applets.stdout.split():
            if applet != "busybox":
                (rootfs / "bin" / applet).symlink_to("busybox")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-c", 'CMD ["sh"]', "-", IMAGE], stdin=tar.stdout, check=True,
                       capture_output=True)  # fmt: skip
        assert tar.wait() == 0
    return IMAGE


@dataclass
class Exporter:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def scrape(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as resp:
            return str(resp.read().decode())

    def value(self, name: str, **labels: str) -> float | None:
        return value(self.scrape(), name, **labels)

    def wait(self, check: Callable[[str], bool], timeout: float = 60.0, what: str = "") -> float:
        """Polls /metrics every 20 ms; returns the wall time the check first held."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.scrape()
            if check(text):
                return time.time()
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen in {timeout}s: {what}\n{text}")
            time.sleep(0.02)

    def wait_value(self, name: str, want: float | None, timeout: float = 60.0, **labels: str) -> float:
        return self.wait(lambda text: value(text, name, **labels) == want, timeout, f"{name}{labels} == {want}")


def value(text: str, name: str, **labels: str) -> float | None:
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and set(labels.items()) <= set(s.labels.items())
    ]
    assert len(found) <= 1, f"{name} {labels}: {len(found)} samples"
    return found[0] if found else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start_exporter(tmp_path: Path, docker_host: str | None = None, *extra: str) -> Iterator[Exporter]:
    port = free_port()
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    log = tmp_path / f"exporter-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exporter.cli", "--listen", f"127.0.0.1:{port}", *extra],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    exporter = Exporter(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if exporter.value("swarm_exporter_docker_connected") == 1.0:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"exporter did not connect:\n{log.read_text()}")
            time.sleep(0.05)
        yield exporter
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def task_times(service: str, state: str) -> list[float]:
    """Engine timestamps at which the service's tasks reached `state`."""
    ids = docker("service", "ps", "-q", "--no-trunc", service).split()
    tasks = docker_json("inspect", *ids) if ids else []
    return sorted(
        t for t in (parse_time(x["Status"]["Timestamp"]) for x in tasks if x["Status"]["State"] == state) if t
    )
