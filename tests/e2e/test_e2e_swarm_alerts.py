"""The Swarm alerts in a real Prometheus, on the real exporter's output: the exporter follows a
fake Docker API (tests/fake_docker.py) holding the example shop, Prometheus scrapes it under
the exporter's job and evaluates the shop's bundle. Scaling the worker to zero fires the
replica page, labelled for the worker's team, about a minute after Prometheus sees it, and
no other Swarm alert is ever pending or firing. (`-s` prints the measured delay.)"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alerts import naming
from slo.bundle import build, write
from slo.compile.rules import CompileOptions
from tests.conftest import EXAMPLES, ROOT, prometheus_binary
from tests.e2e.prom_stack import EVALUATION_INTERVAL_S, Prometheus, free_port
from tests.fake_docker import FakeDocker, container, service, task

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHOP = {"sapi": ("shop_api", 2), "sweb": ("shop_web", 1), "swork": ("shop_worker", 1)}


def _swarm_alerts(prom: Prometheus) -> list[dict[str, Any]]:
    return [a for a in prom.alerts() if a["labels"]["alertname"].startswith("Swarm")]


async def _until(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


async def test_scale_to_zero_pages_the_owning_team_and_nothing_else(tmp_path: Path) -> None:
    bundle = build([str(EXAMPLES)], CompileOptions())
    write(bundle, str(tmp_path / "build"))
    rule_files = sorted((tmp_path / "build" / "prometheus" / "rules").rglob("*.yml"))

    fake = FakeDocker(tmp_path / "docker.sock")
    for sid, (name, replicas) in SHOP.items():
        fake.services[sid] = service(sid, name, replicas, update="completed")
        for slot in range(1, replicas + 1):
            tid = f"{sid}-{slot}"
            fake.tasks[tid] = task(tid, sid, slot)
            fake.containers[f"c-{tid}"] = container(f"c-{tid}", tid, name, slot, "healthy")
    await fake.start()
    port = free_port()
    env = os.environ | {"DOCKER_HOST": f"unix://{fake.path}"}
    exporter = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exporter.cli", "--listen", f"127.0.0.1:{port}", env=env, cwd=ROOT,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    prom = Prometheus(prometheus_binary(), tmp_path / "prom", f"127.0.0.1:{port}", rule_files, job=naming.EXPORTER_JOB)
    try:
        await asyncio.to_thread(prom.start)
        worker = 'swarm_service_replicas_running{service="shop_worker"}'
        await _until("Prometheus to see the worker running", lambda: prom.value(worker) == 1, 60)
        await asyncio.sleep(3 * EVALUATION_INTERVAL_S)  # rules evaluated on scraped data
        steady_until = time.monotonic() + 10
        while time.monotonic() < steady_until:
            assert await asyncio.to_thread(_swarm_alerts, prom) == []
            await asyncio.sleep(1)

        # docker service scale shop_worker=0: the spec says 0, the task is shut down.
        fake.services["swork"] = service("swork", "shop_worker", 0, update="completed")
        fake.tasks["swork-1"] = task("swork-1", "swork", 1, state="shutdown", desired="shutdown")
        del fake.containers["c-swork-1"]
        fake.emit("service", "update", "swork")
        await _until("Prometheus to see the worker scaled to zero", lambda: prom.value(worker) == 0, 30)
        seen = time.monotonic()

        def firing() -> dict[str, Any] | None:
            found = _swarm_alerts(prom)
            unexpected = [a for a in found if a["labels"]["alertname"] != naming.SERVICE_REPLICAS_MISSING]
            assert unexpected == [], unexpected
            return next((a for a in found if a["state"] == "firing"), None)

        alert = await _until("the replica page", firing, 150)
        delay = time.monotonic() - seen
        labels = alert["labels"]
        assert {k: labels[k] for k in ("alertname", "severity", "team", "stack", "service")} == {
            "alertname": naming.SERVICE_REPLICAS_MISSING,
            "severity": "page",
            "team": "checkout",
            "stack": "shop",
            "service": "worker",
        }
        assert alert["annotations"]["runbook_url"] == "runbooks/swarm.md#swarmservicereplicasmissing"
        assert 60 <= delay <= 60 + 4 * EVALUATION_INTERVAL_S + 5, delay
        for _ in range(10):  # and nothing else follows
            assert [a["labels"]["service"] for a in await asyncio.to_thread(_swarm_alerts, prom)] == ["worker"]
            await asyncio.sleep(1)
        print(f"\nscale to zero: replica page firing {delay:.1f} s after Prometheus saw running 0 (for: 1m)")
    finally:
        await asyncio.to_thread(prom.stop)
        if exporter.returncode is None:
            exporter.terminate()
            await exporter.wait()
        await fake.stop()
