"""The exporter on the live single-node swarm: scale a service, crash a task, make a container
unhealthy, roll an update and a rollback, drain the node. Each change must show in /metrics
within 2 s; the delay is measured from the engine's own timestamp of the change (task status
time, health check end, UpdateStatus times) or, for spec changes, from the docker command's
return, to the first scrape that shows it (polled every 20 ms)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.model import parse_time
from tests.e2e.swarm import busybox_image, docker, docker_json, require_swarm, start_exporter, task_times, value

pytestmark = pytest.mark.e2e

SERVICE = "slo-e2e-exporter-web"
BOUND_S = 2.0


@pytest.fixture
def web_service() -> Iterator[str]:
    node_id = require_swarm()
    image = busybox_image()
    docker("service", "rm", SERVICE, check=False)
    try:
        yield image
    finally:
        docker("service", "rm", SERVICE, check=False)
        docker("node", "update", "--availability", "active", node_id, check=False)


def _container_of(service: str, slot: int) -> str:
    for cid in docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}").split():
        labels = docker_json("inspect", cid)[0]["Config"]["Labels"]
        if labels["com.docker.swarm.task.name"].startswith(f"{service}.{slot}."):
            return cid
    raise AssertionError(f"no running container for {service}.{slot}")


def test_live_swarm_changes_show_within_two_seconds(
    tmp_path: Path, web_service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    node_id = require_swarm()
    delays: list[tuple[str, float]] = []

    def record(what: str, seen: float, since: float | None) -> None:
        assert since is not None, what
        delays.append((what, seen - since))

    with start_exporter(tmp_path) as ex:
        svc = {"service": SERVICE}
        docker(
            "service", "create", "--detach", "--name", SERVICE, "--replicas", "1",
            "--health-cmd", "test ! -f /tmp/unhealthy", "--health-interval", "1s", "--health-retries", "1",
            "--health-timeout", "1s", "--restart-delay", "1s", "--stop-grace-period", "1s",
            "--update-parallelism", "0", "--update-monitor", "2s", "--update-failure-action", "pause",
            web_service, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done",
        )  # fmt: skip
        done = time.time()
        record("create: service info", ex.wait_value("swarm_service_info", 1.0, **svc), done)
        ex.wait_value("swarm_task_container_health", 1.0, service=SERVICE, health="healthy")

        # Scale 1 -> 3: desired from the command, running from the last task's running time.
        docker("service", "scale", "--detach", f"{SERVICE}=3")
        done = time.time()
        record("scale: desired replicas", ex.wait_value("swarm_service_replicas_desired", 3.0, **svc), done)
        seen = ex.wait_value("swarm_service_replicas_running", 3.0, **svc)
        record("scale: running replicas", seen, task_times(SERVICE, "running")[-1])

        # Crash a task: SIGKILL its container; the failed task's status time to the restart counter.
        restarts = ex.value("swarm_service_task_restarts_total", reason="killed", **svc) or 0.0
        docker("kill", "--signal", "KILL", _container_of(SERVICE, 2))
        seen = ex.wait_value("swarm_service_task_restarts_total", restarts + 1, reason="killed", **svc)
        record("crash: restart counted", seen, task_times(SERVICE, "failed")[-1])
        assert ex.value("swarm_task_exit_code", task=f"{SERVICE}.2") == 137.0
        ex.wait_value("swarm_service_replicas_running", 3.0, **svc)

        # Make a container unhealthy: its health check reads a file we create.
        cid = _container_of(SERVICE, 1)
        docker("exec", cid, "touch", "/tmp/unhealthy")
        seen = ex.wait(
            lambda text: value(text, "swarm_task_container_health", health="unhealthy", **svc) == 1.0,
            what="unhealthy container",
        )
        health = docker_json("inspect", cid)[0]["State"]["Health"]
        unhealthy_at = [parse_time(h["End"]) for h in health["Log"] if h["ExitCode"] != 0]
        record("health: unhealthy container", seen, unhealthy_at[0] if unhealthy_at else None)
        # Swarm replaces the unhealthy task; the restart is counted as such.
        ex.wait(lambda text: (value(text, "swarm_service_task_restarts_total", reason="unhealthy", **svc) or 0) >= 1)
        ex.wait_value("swarm_service_replicas_running", 3.0, **svc)

        # Roll an update, then roll it back.
        for command, states in (
            (["service", "update", "--detach", "--env-add", "VERSION=2", SERVICE], ("updating", "completed")),
            (["service", "rollback", "--detach", SERVICE], ("rollback_started", "rollback_completed")),
        ):
            docker(*command)
            started, completed = states
            seen_started = ex.wait_value("swarm_service_update_state", 1.0, state=started, **svc)
            seen_completed = ex.wait_value("swarm_service_update_state", 1.0, state=completed, **svc)
            status = docker_json("service", "inspect", SERVICE)[0]["UpdateStatus"]
            record(f"{command[1]}: {started}", seen_started, parse_time(status["StartedAt"]))
            record(f"{command[1]}: {completed}", seen_completed, parse_time(status["CompletedAt"]))
            assert ex.value("swarm_service_update_transitions_total", state=completed, **svc) == 1.0

        # Drain the node: availability from the command; the tasks leave.
        docker("node", "update", "--availability", "drain", node_id)
        done = time.time()
        seen = ex.wait_value("swarm_node_info", 1.0, node_id=node_id, availability="drain")
        record("drain: node availability", seen, done)
        seen = ex.wait_value("swarm_service_replicas_running", 0.0, **svc)
        record("drain: running replicas", seen, (task_times(SERVICE, "shutdown") or [None])[-1])
        assert ex.value("swarm_exporter_docker_connected") == 1.0
        assert ex.value("swarm_exporter_resyncs_total", reason="periodic") == 0.0  # events did it, not polling

    values = [d for _, d in delays]
    with capsys.disabled():
        print(f"\nexporter e2e: delay from change to /metrics ({len(values)} changes)")
        for what, delay in delays:
            print(f"  {what:32} {delay * 1000:7.0f} ms")
        print(f"  median {statistics.median(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms")
    slow = [(what, round(d, 3)) for what, d in delays if d > BOUND_S]
    assert not slow, f"changes slower than {BOUND_S}s: {slow}"
