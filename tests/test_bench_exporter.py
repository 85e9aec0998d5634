"""The exporter benchmark's own parts: the recording tiled to a size, and the poll-per-scrape
yardstick's page (both feed the report, so both must be right)."""

from __future__ import annotations

import gzip
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.exporter_compare import RECORDING, _tile
from bench.poll_exporter import _render
from tests.fake_docker import node, service, task


def _recording() -> dict[str, object]:
    return {
        "services": [service("svc-a", "web", 3, stack="")],
        "tasks": [task(f"task-{i}", "svc-a", i, "node-1") for i in range(1, 4)],
        "nodes": [node("node-1", "host", leader=True)],
        "info": {"Swarm": {"NodeID": "node-1"}},
    }


@pytest.mark.parametrize("size", [1, 3, 100, 1000])
def test_tile_gives_exactly_size_tasks_of_listed_services_on_ready_nodes(size: int) -> None:
    tiled = _tile(_recording(), size)
    tasks, services, nodes = tiled["tasks"], tiled["services"], tiled["nodes"]
    assert len(tasks) == size
    assert len({t["ID"] for t in tasks}) == size
    assert {t["ServiceID"] for t in tasks} <= {s["ID"] for s in services}
    assert len({s["Spec"]["Name"] for s in services}) == len(services) == -(-size // 3)
    assert {t["NodeID"] for t in tasks} <= {n["ID"] for n in nodes}
    assert [n["ManagerStatus"]["Leader"] for n in nodes].count(True) == 1
    assert tiled["info"]["Swarm"]["NodeID"] == nodes[0]["ID"]


def test_tile_leaves_the_recording_untouched() -> None:
    recording = _recording()
    before = json.dumps(recording, sort_keys=True)
    _tile(recording, 10)
    assert json.dumps(recording, sort_keys=True) == before


def test_shipped_recording_is_a_real_engine_answer() -> None:
    recorded = json.loads(gzip.decompress(RECORDING.read_bytes()))
    assert recorded["tasks"] and all(t["Status"]["State"] == "running" for t in recorded["tasks"])
    assert {t["ServiceID"] for t in recorded["tasks"]} == {s["ID"] for s in recorded["services"]}
    assert recorded["info"]["Swarm"]["NodeID"] in {n["ID"] for n in recorded["nodes"]}


def test_poll_page_counts_running_replicas_on_ready_nodes_only() -> None:
    services = [service("s1", "api", 3, stack="shop"), service("s2", "agent", None, mode="global", stack="")]
    nodes = [node("n1", "a"), node("n2", "b", state="down")]
    tasks = [
        task("t1", "s1", 1, "n1"),
        task("t2", "s1", 2, "n2"),
        task("t3", "s1", 3, "n1", state="failed", desired="shutdown"),
        task("t4", "s2", None, "n1"),
        task("t5", "gone", 1, "n1"),
    ]
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(_render(services, tasks, nodes))
        for s in family.samples
    }
    api = (("service", "api"), ("stack", "shop"))
    agent = (("service", "agent"), ("stack", ""))
    assert samples[("swarm_service_replicas_desired", api)] == 3
    assert samples[("swarm_service_replicas_desired", agent)] == 1  # one ready node
    assert samples[("swarm_service_replicas_running", api)] == 1  # t2's node is down
    assert samples[("swarm_service_tasks", (*api, ("state", "failed")))] == 1
    assert samples[("swarm_node_ready", (("node_id", "n2"),))] == 0
