"""The whole monitoring stack on the live swarm, as a user gets it: images from
stack/build-images (stand-ins where nothing can be pulled), a bundle from the example SLOs and
on-call file, `slo stack deploy --rehearse` (every notification to the stack's webhook sink).

Host ports are the stack's defaults (Prometheus 9090, Alertmanager 9093, Jaeger 16686,
OpenSearch 9200, the sink 9099): nothing else on a CI machine uses them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import EXAMPLES, ROOT

STACK = "slo-e2e"
DEMO = "shop"
SLO = str(ROOT / ".venv" / "bin" / "slo")
PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
JAEGER = "http://127.0.0.1:16686"
OPENSEARCH = "http://127.0.0.1:9200"
SINK = "http://127.0.0.1:9099"

T = TypeVar("T")


def build_images() -> dict[str, str]:
    """stack/build-images: `key=image` for every image now on the engine (cached by version)."""
    env = os.environ | {"PYTHON": str(ROOT / ".venv" / "bin" / "python")}
    proc = subprocess.run([str(ROOT / "stack" / "build-images")], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(line.split("=", 1) for line in proc.stdout.split())


def slo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SLO, *args], capture_output=True, text=True, check=False, cwd=ROOT)
    if check:
        assert proc.returncode == 0, f"slo {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc


def build_bundle(out: Path, slos: Path = EXAMPLES) -> Path:
    slo("build", str(slos), "--oncall", str(ROOT / "examples" / "oncall.yaml"), "--out", str(out))
    return out


@dataclass
class Deployed:
    bundle: Path
    stack_file: Path
    images: dict[str, str]

    def deploy_args(self, bundle: Path | None = None) -> list[str]:
        args = ["stack", "deploy", "--name", STACK, "--bundle", str(bundle or self.bundle)]
        args += ["--out", str(self.stack_file), "--rehearse", "--output", "json", "--timeout", "300"]
        args += ["--image", f"exporter={self.images['exporter']}", "--image", f"demo={self.images['demo']}", "--demo"]
        if "grafana" not in self.images:
            args += ["--omit", "grafana"]
        return args

    def deploy(self, bundle: Path | None = None) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(slo(*self.deploy_args(bundle)).stdout)
        return result


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def query(expr: str) -> list[dict[str, Any]]:
    data = get_json(f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def eventually(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0) -> T:
    """Poll until probe returns something truthy; fail naming what did not happen (bounded)."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except OSError as e:  # not up yet
            last_error = str(e)
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s {last_error}")


def service_tasks(service: str, stack: str = STACK) -> list[str]:
    proc = subprocess.run(
        ["docker", "service", "ps", "-q", "--filter", "desired-state=running", f"{stack}_{service}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(proc.stdout.split())


def containers(service: str, stack: str = DEMO) -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_{service}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.split()


def set_faults(service: str, faults: dict[str, Any]) -> None:
    """POST the fault state to every task of a demo service, from inside its container (the
    admin endpoint is not published)."""
    script = (
        "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request("
        "'http://localhost:8080/admin/faults', data=sys.argv[1].encode(), method='POST', "
        "headers={'Content-Type': 'application/json'}), timeout=10)"
    )
    tasks = containers(service)
    assert tasks, f"no running container of {DEMO}_{service}"
    for cid in tasks:
        subprocess.run(["docker", "exec", cid, "python3", "-c", script, json.dumps(faults)], check=True, timeout=30)


def notifications() -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = get_json(f"{SINK}/notifications")
    return got
