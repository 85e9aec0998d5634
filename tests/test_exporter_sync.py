"""The exporter's state cache against a fake Docker API: event sequences replayed, faults
injected, and what /metrics says after each step."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Config, Exporter
from exporter.sync import SyncConfig
from tests.fake_docker import FakeDocker, container, node, service, task

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FAST = SyncConfig(resync_s=3600, tasks_s=3600, status_s=3600, backoff_min_s=0.05, backoff_max_s=0.2, debounce_s=0.01)


def samples(text: bytes) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: bytes, name: str, **labels: str) -> float | None:
    """The one sample of `name` whose labels include `labels` (None when absent)."""
    found = [v for (n, ls), v in samples(text).items() if n == name and set(labels.items()) <= ls]
    assert len(found) <= 1, f"{name} {labels}: {len(found)} samples"
    return found[0] if found else None


class Harness:
    def __init__(self, fake: FakeDocker, exporter: Exporter) -> None:
        self.fake, self.exporter = fake, exporter

    def scrape(self) -> bytes:
        return self.exporter.scrape()

    def value(self, name: str, **labels: str) -> float | None:
        return value(self.scrape(), name, **labels)

    async def until(self, check: Callable[[], bool], timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                text = self.scrape().decode()
                raise AssertionError(f"condition not met in {timeout}s; scrape:\n{text}")
            await asyncio.sleep(0.01)

    async def expect(self, name: str, want: float | None, timeout: float = 3.0, **labels: str) -> None:
        await self.until(lambda: self.value(name, **labels) == want, timeout)


async def _harness(tmp_path: Path, config: SyncConfig, start_fake: bool = True) -> AsyncIterator[Harness]:
    fake = FakeDocker(tmp_path / "docker.sock")
    if start_fake:
        await fake.start()
    exporter = Exporter(Config(docker_host=f"unix://{fake.path}", sync=config))
    run = asyncio.create_task(exporter.syncer.run())
    try:
        yield Harness(fake, exporter)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await exporter.client.close()
        await fake.stop()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in _harness(tmp_path, FAST):
        yield harness


async def connected(h: Harness) -> None:
    await h.expect("swarm_exporter_docker_connected", 1.0)
    await h.until(lambda: h.fake.subscribers == 1)


async def test_create_and_scale(h: Harness) -> None:
    await connected(h)
    assert h.value("swarm_service_info") is None
    h.fake.services["s1"] = service("s1", "api", 2, running=2, desired=2)
    h.fake.tasks |= {"t1": task("t1", "s1", 1), "t2": task("t2", "s1", 2, state="starting")}
    h.fake.emit("service", "create", "s1", name="api")
    await h.expect("swarm_service_replicas_desired", 2.0, service="api", stack="shop")
    await h.expect("swarm_service_replicas_running", 1.0, service="api")
    assert h.value("swarm_service_info", service="api") == 1.0
    assert h.value("swarm_service_info", service="api", mode="replicated", image="busybox:1") == 1.0
    assert h.value("swarm_task_state", task="api.2", state="starting") == 1.0
    # The task starts later, with no event: the follow-up re-lists after a service event see it.
    h.fake.tasks["t2"] = task("t2", "s1", 2)
    await h.expect("swarm_service_replicas_running", 2.0, service="api")
    # Scale up.
    h.fake.services["s1"] = service("s1", "api", 3, running=2, desired=3)
    h.fake.tasks["t3"] = task("t3", "s1", 3)
    h.fake.emit("service", "update", "s1", name="api")
    await h.expect("swarm_service_replicas_desired", 3.0, service="api")
    await h.expect("swarm_service_replicas_running", 3.0, service="api")
    assert h.value("swarm_service_engine_tasks_desired", service="api") == 3.0
    # Removal.
    del h.fake.services["s1"]
    h.fake.tasks.clear()
    h.fake.emit("service", "remove", "s1", name="api")
    await h.expect("swarm_service_info", None, service="api")
    assert h.value("swarm_task_state", task="api.1") is None


# Update states as the engine reports them; each row: UpdateStatus after the event, and the
# transition counters expected from then on.
UPDATE_SEQUENCES = {
    "update": [("updating", None), ("completed", "2026-11-28T10:01:00Z")],
    "rollback": [
        ("updating", None),
        ("paused", None),
        ("rollback_started", None),
        ("rollback_completed", "2026-11-28T10:02:00Z"),
    ],
    "paused rollback": [("rollback_started", None), ("rollback_paused", None)],
}


@pytest.mark.parametrize("case", sorted(UPDATE_SEQUENCES))
async def test_update_states(h: Harness, case: str) -> None:
    h.fake.services["s1"] = service("s1", "api", 1)
    await connected(h)
    seen: dict[str, int] = {}
    for state, completed in UPDATE_SEQUENCES[case]:
        h.fake.services["s1"] = service("s1", "api", 1, update=state, completed=completed)
        h.fake.emit("service", "update", "s1", name="api")
        await h.expect("swarm_service_update_state", 1.0, service="api", state=state)
        seen[state] = seen.get(state, 0) + 1
        for other in ("updating", "paused", "completed", "rollback_started", "rollback_paused", "rollback_completed"):
            want = 1.0 if other == state else 0.0
            assert h.value("swarm_service_update_state", service="api", state=other) == want
            assert h.value("swarm_service_update_transitions_total", service="api", state=other) == seen.get(other, 0)
        started = h.value("swarm_service_update_started_timestamp_seconds", service="api")
        assert started == pytest.approx(1795860000.123456)
        done = h.value("swarm_service_update_completed_timestamp_seconds", service="api")
        assert (done is not None) == (completed is not None)


async def test_a_second_update_counts_even_when_its_updating_state_was_missed(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "api", 1, update="completed", completed="2026-11-28T10:01:00Z")
    await connected(h)
    assert h.value("swarm_service_update_transitions_total", service="api", state="completed") == 0.0
    later = "2026-11-28T11:00:00Z"
    h.fake.services["s1"] = service("s1", "api", 1, update="completed", started=later, completed=later)
    h.fake.emit("service", "update", "s1", name="api")
    await h.expect("swarm_service_update_transitions_total", 1.0, service="api", state="completed")


async def test_crash_loop_counts_restarts_by_reason_and_exit_code(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "worker", 1)
    h.fake.tasks["t1"] = task("t1", "s1", 1)
    await connected(h)
    history: list[dict[str, Any]] = []
    crashes = [
        (1, "task: non-zero exit (1)"),
        (137, "task: non-zero exit (137)"),
        (0, "unhealthy container"),
        (2, "task: non-zero exit (2)"),
    ]
    for i, (code, err) in enumerate(crashes):
        ts = f"2026-11-28T10:0{i}:00Z"
        history.append(task(f"t{i + 1}", "s1", 1, state="failed", desired="shutdown", exit_code=code, err=err, ts=ts))
        h.fake.tasks = {t["ID"]: t for t in history} | {f"t{i + 2}": task(f"t{i + 2}", "s1", 1, state="starting")}
        h.fake.emit(
            "container",
            "die",
            f"c-t{i + 1}",
            **{"com.docker.swarm.service.id": "s1", "com.docker.swarm.task.id": f"t{i + 1}"},
        )
        await h.expect("swarm_task_exit_code", float(code), service="worker", task_id=f"t{i + 1}")
    assert h.value("swarm_service_task_restarts_total", service="worker", reason="nonzero_exit") == 2.0
    assert h.value("swarm_service_task_restarts_total", service="worker", reason="killed") == 1.0
    assert h.value("swarm_service_task_restarts_total", service="worker", reason="unhealthy") == 1.0
    assert h.value("swarm_service_replicas_running", service="worker") == 0.0
    assert h.value("swarm_service_tasks", service="worker", state="failed") == 4.0
    # History pruned by the engine: the counter does not go down.
    h.fake.tasks = {t["ID"]: t for t in history[-1:]} | {"t9": task("t9", "s1", 1)}
    h.fake.emit("container", "start", "c-t9", **{"com.docker.swarm.service.id": "s1", "com.docker.swarm.task.id": "t9"})
    await h.expect("swarm_service_replicas_running", 1.0, service="worker")
    assert h.value("swarm_service_task_restarts_total", service="worker", reason="nonzero_exit") == 2.0


async def test_node_down_excludes_its_tasks_and_global_desired(h: Harness) -> None:
    h.fake.nodes["n2"] = node("n2", "node-2", role="worker")
    h.fake.nodes["n3"] = node("n3", "node-3", role="worker", labels={"tier": "edge"})
    h.fake.services["s1"] = service("s1", "api", 2, running=2, desired=2)
    h.fake.services["g1"] = service("g1", "agent", None, mode="global", running=3, desired=3)
    h.fake.services["g2"] = service("g2", "edge", None, mode="global", constraints=("node.labels.tier==edge",))
    h.fake.tasks |= {"t1": task("t1", "s1", 1, "n1"), "t2": task("t2", "s1", 2, "n2")}
    h.fake.tasks |= {f"g-{n}": task(f"g-{n}", "g1", None, n) for n in ("n1", "n2", "n3")}
    await connected(h)
    assert h.value("swarm_service_replicas_desired", service="agent") == 3.0
    assert h.value("swarm_service_replicas_desired", service="edge") == 1.0
    assert h.value("swarm_service_replicas_running", service="api") == 2.0
    assert h.value("swarm_task_info", task="agent.n2", hostname="node-2") == 1.0
    h.fake.nodes["n2"] = node("n2", "node-2", role="worker", state="down")
    h.fake.emit("node", "update", "n2", name="node-2")
    await h.expect("swarm_node_state", 1.0, hostname="node-2", state="down")
    await h.expect("swarm_service_replicas_running", 1.0, service="api")
    assert h.value("swarm_service_replicas_desired", service="agent") == 2.0
    assert h.value("swarm_service_replicas_running", service="agent") == 2.0
    # The engine's own counts still say all is well (moby/moby#45922): exported raw beside ours.
    assert h.value("swarm_service_engine_tasks_running", service="api") == 2.0
    h.fake.nodes["n3"] = node("n3", "node-3", role="worker", availability="drain", labels={"tier": "edge"})
    h.fake.emit("node", "update", "n3")
    await h.expect("swarm_service_replicas_desired", 0.0, service="edge")
    assert h.value("swarm_node_info", hostname="node-3", availability="drain") == 1.0


async def test_container_health_from_the_local_engine(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "web", 1)
    h.fake.tasks["t1"] = task("t1", "s1", 1)
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "starting")
    await connected(h)
    assert h.value("swarm_task_container_health", service="web", task_id="t1", health="starting") == 1.0
    for health in ("healthy", "unhealthy", None):
        h.fake.containers["c1"] = container("c1", "t1", "web", 1, health)
        h.fake.emit("container", f"health_status: {health}", "c1", **{"com.docker.swarm.task.id": "t1"})
        await h.expect("swarm_task_container_health", 1.0, task_id="t1", health=health or "none")
        assert len([k for k in samples(h.scrape()) if k[0] == "swarm_task_container_health"]) == 1
    h.fake.emit("container", "destroy", "c1", **{"com.docker.swarm.task.id": "t1"})
    del h.fake.containers["c1"]
    await h.expect("swarm_task_container_health", None, task_id="t1")


async def test_missed_events_are_healed_by_the_periodic_relists(tmp_path: Path) -> None:
    config = SyncConfig(resync_s=0.6, tasks_s=0.3, backoff_min_s=0.05, backoff_max_s=0.2, debounce_s=0.01)
    async for h in _harness(tmp_path, config):
        h.fake.services["s1"] = service("s1", "api", 1)
        await connected(h)
        h.fake.tasks["t1"] = task("t1", "s1", 1)  # no event: a task changed on another node
        await h.expect("swarm_service_replicas_running", 1.0, service="api")
        h.fake.services["s2"] = service("s2", "lost", 1)  # an event the daemon never sent
        await h.expect("swarm_service_info", 1.0, service="lost")
        assert (h.value("swarm_exporter_resyncs_total", reason="periodic") or 0) >= 1


async def test_a_task_that_ends_on_another_node_shows_at_the_next_count_read(tmp_path: Path) -> None:
    """No event reaches this engine when a task on another node ends: the services' task
    counts (read every status_s) moved, so that service's tasks are re-listed, long before
    the full task re-list."""
    config = SyncConfig(resync_s=3600, tasks_s=3600, status_s=0.2, debounce_s=0.01)
    async for h in _harness(tmp_path, config):
        h.fake.services |= {
            "s1": service("s1", "api", 2, running=2, desired=2),
            "s2": service("s2", "web", 1, running=1, desired=1),
        }
        h.fake.tasks |= {"t1": task("t1", "s1", 1), "t2": task("t2", "s1", 2, "n2"), "t3": task("t3", "s2", 1)}
        h.fake.nodes["n2"] = node("n2", "node-2", role="worker")
        await connected(h)
        await h.expect("swarm_service_replicas_running", 2.0, service="api")
        h.fake.queries.clear()
        h.fake.tasks["t2"] = task("t2", "s1", 2, "n2", state="failed", desired="shutdown", exit_code=137)
        h.fake.services["s1"] = service("s1", "api", 2, running=1, desired=2)
        await h.expect("swarm_service_replicas_running", 1.0, service="api")
        assert h.value("swarm_service_engine_tasks_running", service="api") == 1.0
        task_reads = [filters for path, filters in h.fake.queries if path == "/tasks"]
        assert task_reads and all(filters == {"service": ["s1"]} for filters in task_reads)


async def test_event_stream_cut_reconnects_and_reloads(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await connected(h)
    with caplog.at_level(logging.INFO, logger="swarm_exporter"):
        h.fake.cut_stream()
        h.fake.services["s1"] = service("s1", "api", 1)  # during the gap, no event
        await h.expect("swarm_exporter_resyncs_total", 1.0, reason="reconnect")
        await h.expect("swarm_service_info", 1.0, service="api")
        await connected(h)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("docker state no longer followed, serving the last known state") == 1
    assert messages.count("docker state followed again after a full reload") == 1


async def test_daemon_gone_then_back_keeps_serving_with_staleness(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "api", 1)
    await connected(h)
    await h.fake.stop()
    await h.expect("swarm_exporter_docker_connected", 0.0)
    await asyncio.sleep(0.3)
    assert (h.value("swarm_exporter_staleness_seconds") or 0) >= 0.2
    assert h.value("swarm_service_info", service="api") == 1.0  # the last known state
    assert (h.value("swarm_exporter_docker_api_errors_total", endpoint="/events", kind="connect") or 0) >= 1
    h.fake.services["s2"] = service("s2", "new", 1)
    await h.fake.start()
    await h.expect("swarm_exporter_docker_connected", 1.0)
    await h.expect("swarm_service_info", 1.0, service="new")
    assert h.value("swarm_exporter_staleness_seconds") == 0.0


async def test_socket_missing_at_start(tmp_path: Path) -> None:
    async for h in _harness(tmp_path, FAST, start_fake=False):
        await asyncio.sleep(0.2)
        assert h.value("swarm_exporter_docker_connected") == 0.0
        assert h.value("swarm_service_info") is None
        h.fake.services["s1"] = service("s1", "api", 1)
        await h.fake.start()
        await h.expect("swarm_service_info", 1.0, service="api")


GARBAGE = {
    "not JSON": b"{not json",
    "not a list": b'{"message": "odd"}',
    "truncated": b'[{"ID": "t1", "ServiceID": "s1", "Status": {"St',
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
async def test_garbage_answers_keep_the_last_state(h: Harness, case: str) -> None:
    h.fake.services["s1"] = service("s1", "api", 1)
    h.fake.tasks["t1"] = task("t1", "s1", 1)
    await connected(h)
    h.fake.garbage["/tasks"] = GARBAGE[case]
    h.fake.emit("service", "update", "s1")
    await h.until(lambda: (h.value("swarm_exporter_docker_api_errors_total", endpoint="/tasks") or 0) >= 1)
    assert h.value("swarm_service_replicas_running", service="api") == 1.0
    del h.fake.garbage["/tasks"]
    h.fake.tasks["t2"] = task("t2", "s1", 2)
    await h.expect("swarm_service_replicas_running", 2.0, service="api")


async def test_odd_objects_and_events_are_skipped(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "api", 1)
    h.fake.tasks |= {"t1": task("t1", "s1", 1), "bad": {"ID": 7, "Status": "no"}, "worse": {"ServiceID": "s1"}}
    h.fake.nodes["odd"] = {"ID": "odd", "Description": [], "Spec": None, "ManagerStatus": "x"}
    await connected(h)
    assert h.value("swarm_service_replicas_running", service="api") == 1.0
    assert h.value("swarm_node_state", node_id="odd", state="unknown") == 1.0
    assert h.value("swarm_exporter_docker_api_errors_total", endpoint="/tasks", kind="invalid_object") == 1.0
    h.fake.emit_raw("{garbage")
    h.fake.emit_raw(json.dumps({"Type": "service"}))
    h.fake.emit_raw(json.dumps([1, 2]))
    h.fake.services["s2"] = service("s2", "after", 1)
    h.fake.emit("service", "create", "s2")
    await h.expect("swarm_service_info", 1.0, service="after")
    assert h.value("swarm_exporter_docker_api_errors_total", endpoint="/events", kind="decode") == 1.0
    assert h.value("swarm_exporter_docker_api_errors_total", endpoint="/events", kind="invalid_object") == 2.0
    assert h.value("swarm_exporter_docker_connected") == 1.0


async def test_not_the_leader_publishes_only_its_node(h: Harness) -> None:
    h.fake.nodes["n1"] = node("n1", "node-1", leader=False)
    h.fake.nodes["n2"] = node("n2", "node-2", leader=True)
    h.fake.services["s1"] = service("s1", "web", 1)
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "healthy")
    await connected(h)
    text = h.scrape()
    assert value(text, "swarm_exporter_cluster_reporter", node_id="n1") == 0.0
    assert not [k for k in samples(text) if k[0].startswith(("swarm_service_", "swarm_node_"))]
    assert value(text, "swarm_task_container_health", task_id="t1", health="healthy") == 1.0
    # Leadership moves here: the node event makes this instance the reporter.
    h.fake.nodes["n1"] = node("n1", "node-1", leader=True)
    h.fake.nodes["n2"] = node("n2", "node-2", state="down")
    h.fake.emit("node", "update", "n2")
    await h.expect("swarm_exporter_cluster_reporter", 1.0)
    assert h.value("swarm_service_info", service="web") == 1.0


async def test_a_worker_node_reads_only_its_containers(h: Harness) -> None:
    h.fake.info = {"Swarm": {"NodeID": "w1", "ControlAvailable": False}}
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "unhealthy")
    await connected(h)
    assert h.value("swarm_task_container_health", task_id="t1", health="unhealthy") == 1.0
    assert h.fake.requests["/services"] == h.fake.requests["/tasks"] == h.fake.requests["/nodes"] == 0


async def test_a_scrape_makes_no_docker_call_and_only_gets_are_sent(h: Harness) -> None:
    h.fake.services["s1"] = service("s1", "api", 1, limits={"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20})
    await connected(h)
    before = sum(h.fake.requests.values())
    for _ in range(20):
        h.scrape()
    assert sum(h.fake.requests.values()) == before
    assert set(h.fake.methods) == {"GET"}
    assert h.value("swarm_service_limit_cpu_cores", service="api") == 0.5
    assert h.value("swarm_service_limit_memory_bytes", service="api") == 64 << 20
    assert h.value("swarm_service_reservation_cpu_cores", service="api") is None


async def test_a_task_ended_after_its_container_was_unhealthy_counts_as_unhealthy(h: Harness) -> None:
    # Engine 20.10 stops an unhealthy container and reports the task `complete` (exit 0) or
    # `failed` with the container's exit code: nothing in the task says why.
    h.fake.services["s1"] = service("s1", "web", 1)
    h.fake.tasks["t1"] = task("t1", "s1", 1)
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "healthy")
    await connected(h)
    attrs = {"com.docker.swarm.task.id": "t1", "com.docker.swarm.service.id": "s1"}
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "unhealthy")
    h.fake.emit("container", "health_status: unhealthy", "c1", **attrs)
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "unhealthy", running=False)
    h.fake.tasks["t1"] = task("t1", "s1", 1, state="complete", desired="shutdown", exit_code=0)
    h.fake.tasks["t2"] = task("t2", "s1", 1)
    h.fake.emit("container", "die", "c1", **attrs)
    await h.expect("swarm_service_task_restarts_total", 1.0, service="web", reason="unhealthy")
    assert h.value("swarm_service_task_restarts_total", service="web", reason="completed") == 0.0
    assert h.value("swarm_task_container_health", task_id="t1") is None


# What a manager cut off from the others answers once it has given up the leadership.
NO_LEADER = (
    500,
    "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers "
    "are online. Make sure more than half of the managers are online.",
)
LEADER_CHECKS = SyncConfig(
    resync_s=3600,
    tasks_s=3600,
    leader_s=0.05,
    leader_timeout_s=0.3,
    backoff_min_s=0.05,
    backoff_max_s=0.2,
    debounce_s=0.01,
)


def _cluster_samples(text: bytes) -> list[str]:
    return sorted(
        {k[0] for k in samples(text) if k[0].startswith(("swarm_service_", "swarm_task_info", "swarm_node_"))}
    )


def _three_managers(fake: FakeDocker, leader: str = "n1", unreachable: tuple[str, ...] = ()) -> None:
    for i in (1, 2, 3):
        nid = f"n{i}"
        reach = "unreachable" if nid in unreachable else "reachable"
        fake.nodes[nid] = node(nid, f"node-{i}", leader=nid == leader, reachability=reach)


async def _partitioned_leader_withholds(h: Harness) -> None:
    """Reporter first; the caller then cuts n1 off (no event comes); it must stop reporting."""
    await h.expect("swarm_exporter_cluster_reporter", 0.0, node_id="n1")
    text = h.scrape()
    assert _cluster_samples(text) == []
    assert value(text, "swarm_task_container_health", task_id="t1", health="healthy") == 1.0
    assert value(text, "swarm_exporter_docker_connected") == 1.0


@pytest.mark.parametrize("engine", ["no leader", "still the leader, others unreachable", "hangs"])
async def test_a_leader_cut_off_from_the_other_managers_stops_publishing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, engine: str
) -> None:
    caplog.set_level(logging.INFO, logger="swarm_exporter")
    async for h in _harness(tmp_path, LEADER_CHECKS):
        _three_managers(h.fake)
        h.fake.services["s1"] = service("s1", "web", 1)
        h.fake.containers["c1"] = container("c1", "t1", "web", 1, "healthy")
        await connected(h)
        assert h.value("swarm_exporter_cluster_reporter", node_id="n1") == 1.0
        # Cut off: the event stream stays open and no node event comes. The engine first
        # keeps calling itself the leader with the other managers unreachable, then hangs or
        # answers that the swarm has no leader (the others elect one of theirs meanwhile).
        if engine == "no leader":
            h.fake.failing["/nodes"] = NO_LEADER
        elif engine == "hangs":
            h.fake.hanging.add("/nodes")
        else:
            _three_managers(h.fake, unreachable=("n2", "n3"))
        await _partitioned_leader_withholds(h)
        # The partition heals with n2 leading: the nodes are re-read, still not the reporter.
        h.fake.failing.clear()
        h.fake.hanging.clear()
        _three_managers(h.fake, leader="n2")
        await h.until(lambda: h.exporter.state.nodes["n2"].leader)  # noqa: B023 (awaited here)
        assert h.exporter.state.leadership_confirmed
        assert h.value("swarm_exporter_cluster_reporter") == 0.0
        # Leadership comes back with no node event (a transfer): within the leader interval.
        _three_managers(h.fake, leader="n1")
        await h.expect("swarm_exporter_cluster_reporter", 1.0)
        assert h.value("swarm_node_leader", node_id="n1") == 1.0
        assert h.value("swarm_node_leader", node_id="n2") == 0.0
        assert h.value("swarm_service_info", service="web") == 1.0
    messages = [r.getMessage() for r in caplog.records]
    if engine != "still the leader, others unreachable":
        assert messages.count("the engine does not confirm the leadership") == 1
    assert messages.count("not publishing the cluster families") == 1
    assert messages.count("publishing the cluster families: this node is the leader") == 1


async def test_daemon_gone_withholds_the_cluster_families_when_another_manager_can_lead(h: Harness) -> None:
    # The only manager keeps serving its last state while its daemon is gone (see
    # test_daemon_gone_then_back_keeps_serving_with_staleness); with other managers one of
    # them may lead meanwhile, so the last state would count twice.
    _three_managers(h.fake)
    h.fake.services["s1"] = service("s1", "web", 1)
    h.fake.containers["c1"] = container("c1", "t1", "web", 1, "healthy")
    await connected(h)
    assert h.value("swarm_exporter_cluster_reporter") == 1.0
    await h.fake.stop()
    await h.expect("swarm_exporter_docker_connected", 0.0)
    text = h.scrape()
    assert value(text, "swarm_exporter_cluster_reporter") == 0.0
    assert _cluster_samples(text) == []
    assert value(text, "swarm_task_container_health", task_id="t1", health="healthy") == 1.0
    await h.fake.start()
    await h.expect("swarm_exporter_cluster_reporter", 1.0)
    assert h.value("swarm_service_info", service="web") == 1.0


async def test_a_leader_with_one_manager_down_of_three_still_reports(h: Harness) -> None:
    _three_managers(h.fake, unreachable=("n3",))
    h.fake.nodes["n3"]["Status"]["State"] = "down"
    await connected(h)
    assert h.value("swarm_exporter_cluster_reporter") == 1.0
    assert h.value("swarm_node_state", node_id="n3", state="down") == 1.0


async def test_the_leader_check_reads_only_the_managers(tmp_path: Path) -> None:
    async for h in _harness(tmp_path, LEADER_CHECKS):
        _three_managers(h.fake)
        h.fake.nodes["w1"] = node("w1", "worker-1", role="worker")
        await connected(h)
        before = len(h.fake.queries)
        await asyncio.sleep(0.3)
        checks = [filters for path, filters in h.fake.queries[before:] if path == "/nodes"]
        assert len(checks) >= 3
        assert all(filters == {"role": ["manager"]} for filters in checks)
        assert h.value("swarm_exporter_cluster_reporter") == 1.0
    worker = tmp_path / "worker"
    worker.mkdir()
    async for h in _harness(worker, LEADER_CHECKS):
        h.fake.info = {"Swarm": {"NodeID": "w1", "ControlAvailable": False}}
        await connected(h)
        await asyncio.sleep(0.2)
        assert h.fake.requests["/nodes"] == 0


async def test_a_hanging_leader_check_does_not_delay_the_election_events(tmp_path: Path) -> None:
    # While the old leader is gone a follower's requests hang (its engine forwards them to
    # the dead leader); the node events of the election must still be handled at once.
    slow_checks = SyncConfig(
        resync_s=3600, tasks_s=3600, leader_s=0.05, leader_timeout_s=30, backoff_min_s=0.05, debounce_s=0.01
    )
    async for h in _harness(tmp_path, slow_checks):
        _three_managers(h.fake, leader="n2")
        await connected(h)
        h.fake.hanging_filter = "role"
        await asyncio.sleep(0.2)  # a check is in flight and hangs
        _three_managers(h.fake, leader="n1", unreachable=("n2",))
        h.fake.emit("node", "update", "n1")
        await h.expect("swarm_exporter_cluster_reporter", 1.0, timeout=1.0)


async def test_a_follower_does_not_follow_services_and_tasks_and_reloads_when_it_takes_over(tmp_path: Path) -> None:
    # A follower's reads are forwarded to the leader (load there; they hang while the
    # leader is gone): it keeps only nodes and its containers current.
    config = SyncConfig(
        resync_s=3600, tasks_s=0.05, leader_s=0.05, leader_timeout_s=0.3, backoff_min_s=0.05, debounce_s=0.01
    )
    async for h in _harness(tmp_path, config):
        _three_managers(h.fake, leader="n2")
        h.fake.services["s1"] = service("s1", "web", 1)
        h.fake.tasks["t1"] = task("t1", "s1", 1)
        await connected(h)
        await asyncio.sleep(0.3)
        assert h.fake.requests["/tasks"] == h.fake.requests["/services"] == 1  # the start only
        h.fake.emit("service", "update", "s1")
        await asyncio.sleep(0.2)
        assert h.fake.requests["/tasks"] == h.fake.requests["/services"] == 1
        # Meanwhile, unseen: a new service, and the first one's task failed and was replaced.
        h.fake.services["s2"] = service("s2", "api", 1)
        h.fake.tasks["t1"] = task("t1", "s1", 1, state="failed", desired="shutdown", exit_code=1)
        h.fake.tasks["t2"] = task("t2", "s1", 1)
        # Leadership moves here: the first scrape that reports the cluster is already fresh.
        _three_managers(h.fake, leader="n1", unreachable=("n2",))
        h.fake.emit("node", "update", "n2")
        await h.expect("swarm_exporter_cluster_reporter", 1.0)
        text = h.scrape()
        assert value(text, "swarm_service_info", service="api") == 1.0
        assert value(text, "swarm_service_task_restarts_total", service="web", reason="nonzero_exit") == 1.0
        assert value(text, "swarm_exporter_resyncs_total", reason="takeover") == 1.0
        # From now on it follows them.
        before = h.fake.requests["/tasks"]
        await asyncio.sleep(0.3)
        assert h.fake.requests["/tasks"] > before
