"""The local log pipeline, end to end, as the stack file deploys it: OpenSearch (assembled from
its Maven artifacts), Filebeat OSS 7.12.1 (one per node, reading the engine's json-file logs)
and the read-only socket proxy (Filebeat's container metadata), deployed as the Swarm stack
`slo-logs-e2e` from the rendered stack file with everything else left out. Then the demo's web
role answers a request that carries a known random trace id, and a container prints JSON lines
with it: both are found in OpenSearch by that id, within a bounded time (measured, printed).

Swarm services rather than processes on loopback: they prove the stack's own service
definitions (configs, health checks, the global shipper, the proxy's socket volume) with the
images the demo deploys. OpenSearch's port is a free one, published in host mode; everything
this test creates is named slo-logs-e2e* and removed at the end."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stack.render import SERVICES, Ports, StackConfig, render
from tests.conftest import ROOT
from tests.e2e.swarm import busybox_image, docker, free_port, require_swarm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STACK = "slo-logs-e2e"
KEEP = {"opensearch", "filebeat", "socket-proxy"}
SEARCHABLE_WITHIN = 60.0  # seconds from a log line written to found by its trace id


def _images(*keys: str) -> dict[str, str]:
    """stack/build-images for these keys only (cached: nothing is built when they exist)."""
    env = os.environ | {"PYTHON": str(ROOT / ".venv" / "bin" / "python")}
    start = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "stack" / "build-images"), *keys], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"images ready in {time.monotonic() - start:.1f} s")
    return dict(line.split("=", 1) for line in proc.stdout.split())


def _demo_image() -> str:
    env = os.environ | {"PYTHON": str(ROOT / ".venv" / "bin" / "python")}
    proc = subprocess.run(
        [str(ROOT / "stack" / "demo" / "build-image")], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 10) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass
class LogStore:
    url: str
    stack_file: Path

    def search(self, trace_id: str) -> list[dict[str, Any]]:
        query = {"size": 100, "query": {"term": {"trace.id": trace_id}}, "sort": [{"@timestamp": "asc"}]}
        try:
            found = _request(f"{self.url}/logs-*/_search?ignore_unavailable=true", query)
        except (urllib.error.URLError, OSError):
            return []
        return [hit["_source"] for hit in found["hits"]["hits"]]

    def wait_for(self, trace_id: str, count: int, timeout: float) -> tuple[list[dict[str, Any]], float]:
        start = time.monotonic()
        while True:
            hits = self.search(trace_id)
            if len(hits) >= count:
                return hits, time.monotonic() - start
            if time.monotonic() - start > timeout:
                found = sorted(str(h.get("json", {}).get("msg")) + "/" + str(h.get("stream")) for h in hits)
                pytest.fail(f"{len(hits)} of {count} log lines with trace id {trace_id} after {timeout:.0f} s: {found}")
            time.sleep(0.25)


def _service_logs(service: str) -> str:
    proc = subprocess.run(
        ["docker", "service", "logs", "--raw", "--tail", "40", f"{STACK}_{service}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.stdout + proc.stderr


def _wait_healthy(store: LogStore, timeout: float) -> float:
    start = time.monotonic()
    while True:
        try:
            health = _request(f"{store.url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=5)
            if health["status"] in ("yellow", "green"):
                return time.monotonic() - start
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() - start > timeout:
            pytest.fail(f"OpenSearch did not answer within {timeout:.0f} s:\n{_service_logs('opensearch')}")
        time.sleep(1)


def _remove_stack() -> None:
    docker("stack", "rm", STACK, check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}", check=False)
        nets = docker("network", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}", check=False)
        if not left and not nets:
            break
        time.sleep(1)
    volumes = docker("volume", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}", check=False)
    for volume in volumes.split():
        docker("volume", "rm", volume, check=False)


@pytest.fixture(scope="module")
def log_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogStore]:
    require_swarm()
    images = _images("opensearch", "filebeat", "socket_proxy")
    bundle = tmp_path_factory.mktemp("bundle") / "build"
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "slo"), "build", str(ROOT / "examples" / "slos"), "--out", str(bundle)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    port = free_port()
    config = StackConfig(
        name=STACK,
        network="logs",
        images=StackConfig().images.replace(images),
        ports=Ports(opensearch=port),
        omit=frozenset(SERVICES) - KEEP,
        log_max_age="10m",  # this engine is shared: ship only what is recent
    )
    stack_file = tmp_path_factory.mktemp("stack") / "stack.yml"
    render(bundle, config).write(stack_file)
    _remove_stack()  # a previous run's leftovers (ours only)
    start = time.monotonic()
    _deploy(stack_file)
    store = LogStore(f"http://127.0.0.1:{port}", stack_file)
    try:
        _wait_healthy(store, timeout=180)
        print(f"OpenSearch healthy {time.monotonic() - start:.1f} s after the deploy")
        # The first line after a deploy waits for Filebeat to start, load its index template and
        # ship the last minutes of every container on this (shared) engine: timed here, once, so
        # the tests below time the steady state.
        trace_id = _trace_id()
        canary = f"{STACK}-canary-{trace_id[:8]}"
        line = json.dumps({"msg": "canary", "trace_id": trace_id})
        docker("run", "-d", "--name", canary, busybox_image(), "sh", "-c", f"echo '{line}'; sleep 300")
        try:
            store.wait_for(trace_id, 1, timeout=180)
        finally:
            docker("rm", "-f", canary, check=False)
        print(f"first log line searchable {time.monotonic() - start:.1f} s after the deploy")
        yield store
    finally:
        print("filebeat's last lines:\n" + _service_logs("filebeat")[-3000:])
        print("the socket proxy's last lines:\n" + _service_logs("socket-proxy")[-3000:])
        _remove_stack()


def _shipped(store: LogStore, container: str) -> str:
    """What OpenSearch holds of one container, and what the engine logged for it (a failure's
    diagnosis)."""
    container_id = docker("inspect", "-f", "{{.Id}}", container)
    by_path = {"size": 50, "query": {"wildcard": {"log.file.path": f"*{container_id}*"}}}
    found = _request(f"{store.url}/logs-*/_search", by_path)["hits"]["hits"]
    lines = [(h["_source"].get("message", "")[:60], h["_source"].get("container", {}).get("name")) for h in found]
    return f"indexed for {container}: {lines}\nthe engine's log: {docker('logs', container, check=False)[-2000:]}"


def _deploy(stack_file: Path) -> None:
    docker("stack", "deploy", "--resolve-image", "never", "-c", str(stack_file), STACK, env=os.environ.copy())


def _task_containers(service: str) -> list[str]:
    return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_{service}").split()


def _trace_id() -> str:
    return secrets.token_hex(16)


def test_the_demos_log_line_is_found_by_its_trace_id(log_store: LogStore) -> None:
    """One request to the demo's web role carrying a W3C traceparent: its request log line
    (docs/demo.md#logs) has that trace id and reaches OpenSearch, decoded, with the container's
    metadata."""
    image = _demo_image()
    trace_id, parent = _trace_id(), secrets.token_hex(8)
    port = free_port()
    name = f"{STACK}-web-{trace_id[:8]}"
    docker(
        "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080",
        "--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
        image, "--role", "web", "--listen", "0.0.0.0:8080", "--api-url", "http://127.0.0.1:9",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail("the demo's web role did not start:\n" + docker("logs", name, check=False))
                time.sleep(0.2)
        headers = {"traceparent": f"00-{trace_id}-{parent}-01"}
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers), timeout=10):
            pass
        hits, delay = log_store.wait_for(trace_id, 1, SEARCHABLE_WITHIN)
        print(f"demo request -> its log line searchable by trace id in {delay:.2f} s")
        request = [h for h in hits if h["json"].get("msg") == "request"]
        assert request, hits
        line = request[0]
        assert line["json"]["service"] == "web" and line["json"]["path"] == "/" and line["json"]["status"] == 200
        assert line["service"]["name"] == "web"
        assert line["span"]["id"] != parent  # web's own server span, a child of the caller's
        container_id = docker("inspect", "-f", "{{.Id}}", name)
        assert f"/{container_id}/" in line["log"]["file"]["path"]
        # Metadata through the read-only proxy, once Filebeat's watcher has seen the container
        # start (a line read before that has none: add_docker_metadata does not wait).
        assert line.get("container", {"name": name})["name"] == name
    finally:
        docker("rm", "-f", name, check=False)


def test_json_lines_from_a_container_are_searchable_within_bounded_time(log_store: LogStore) -> None:
    """A container prints 20 JSON lines (stdout and stderr; fields whose types differ from line to
    line, as between services) and one plain line: the JSON ones are all found by their trace id
    (none refused by the index's mapping); the plain one is shipped as it is."""
    trace_id = _trace_id()
    name = f"{STACK}-printer-{trace_id[:8]}"
    lines = [
        json.dumps(
            {
                "level": "info",
                "service": "printer",
                "msg": f"line {i}",
                "trace_id": trace_id,
                "span_id": f"{i:016x}",
                "status": 200 + i if i % 2 else "firing",
                "duration_ms": "n/a" if i == 3 else i / 10,
                "labels": {"n": i} if i % 3 else f"label {i}",  # an unmapped field: kept in _source only
            }
        )
        for i in range(20)
    ]
    script = "; ".join(f"echo '{line}'" + (" >&2" if i % 5 == 4 else "") for i, line in enumerate(lines))
    docker(
        "run", "-d", "--name", name, "--log-driver", "json-file", "--log-opt", "max-size=1m",
        busybox_image(), "sh", "-c", f"sleep 2; {script}; echo 'plain {trace_id}'; sleep 120",
    )  # fmt: skip
    written = time.monotonic() + 2
    try:
        hits, _ = log_store.wait_for(trace_id, len(lines), SEARCHABLE_WITHIN)
        since_written = time.monotonic() - written
        print(f"20 JSON lines -> all searchable by trace id {since_written:.2f} s after they were printed")
        assert sorted(h["json"]["msg"] for h in hits) == sorted(f"line {i}" for i in range(20))
        assert {h["stream"] for h in hits} == {"stdout", "stderr"}
        assert all(h["log"]["level"] == "info" for h in hits)
        assert {h["json"]["status"] for h in hits} >= {"firing", 201}
        by_status = {"bool": {"filter": [{"term": {"trace.id": trace_id}}, {"term": {"json.status": "201"}}]}}
        statuses = _request(f"{log_store.url}/logs-*/_search", {"size": 0, "query": by_status})
        assert statuses["hits"]["total"]["value"] == 1
        # Printed after the JSON lines, so possibly in a later batch: polled within the same bound.
        # Found by its text (the trace id is one token), not by container metadata: a line read
        # before Filebeat's watcher saw the container start has none (asserted below for the
        # JSON lines, printed 2 s after the start).
        by_plain = {"match_phrase": {"message": f"plain {trace_id}"}}
        deadline = time.monotonic() + SEARCHABLE_WITHIN
        while not (plain := _request(f"{log_store.url}/logs-*/_search", {"query": by_plain})["hits"]["hits"]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert [h["_source"]["message"] for h in plain] == [f"plain {trace_id}"], _shipped(log_store, name)
        assert "json" not in plain[0]["_source"]
        # Printed 2 s after the start: Filebeat's watcher knows the container by then.
        assert {h["container"]["image"]["name"] for h in hits} == {busybox_image()}
    finally:
        docker("rm", "-f", name, check=False)


def test_opensearch_runs_as_non_root_within_its_memory_limit(log_store: LogStore) -> None:
    (container,) = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_opensearch").split()
    assert docker("exec", container, "id", "-u") == "1000"
    stats = json.loads(docker("stats", "--no-stream", "--format", "{{json .}}", container))
    print(f"OpenSearch memory: {stats['MemUsage']}")
    for shipper in docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_filebeat").split():
        print(
            f"Filebeat memory: {json.loads(docker('stats', '--no-stream', '--format', '{{json .}}', shipper))['MemUsage']}"
        )
    info = _request(log_store.url)
    assert info["version"]["number"] == "7.10.2"  # compatibility.override_main_response_version
    (node,) = _request(f"{log_store.url}/_nodes/_local/jvm,plugins")["nodes"].values()
    assert node["version"].startswith("2.19.")
    assert node["jvm"]["mem"]["heap_max_in_bytes"] == 512 * 1024 * 1024
    modules = {m["name"] for m in node["modules"]}
    assert {"transport-netty4", "lang-painless", "analysis-common", "mapper-extras"} <= modules, modules


def test_a_shipper_started_before_the_proxy_still_names_containers(log_store: LogStore) -> None:
    """Filebeat's add_docker_metadata gives up for good when the engine does not answer at its
    start, so a node where the shipper comes up before the socket proxy (a deploy's race, a
    reboot) would ship every line without container name, image or Swarm labels. The stack's
    Filebeat waits for the proxy: here it is restarted while the proxy is gone, the proxy comes
    back a while later, and a new container's lines carry its metadata."""
    # The proxy placed nowhere (its task goes; its service and Filebeat's spec stay as deployed:
    # a redeploy would restart Filebeat again, after the proxy).
    nowhere = "node.labels.slo-e2e-nowhere==true"
    docker("service", "update", "--detach", "--constraint-add", nowhere, f"{STACK}_socket-proxy")
    try:
        deadline = time.monotonic() + 60
        while _task_containers("socket-proxy"):
            assert time.monotonic() < deadline, "the socket proxy's container is still there after 60 s"
            time.sleep(0.5)
        before = set(_task_containers("filebeat"))
        docker("service", "update", "--force", "--detach", f"{STACK}_filebeat")
        deadline = time.monotonic() + 60
        while not (set(_task_containers("filebeat")) - before):
            assert time.monotonic() < deadline, "no new Filebeat task within 60 s"
            time.sleep(0.5)
        time.sleep(5)  # the new shipper starts and finds no proxy
    finally:
        docker("service", "update", "--detach", "--constraint-rm", nowhere, f"{STACK}_socket-proxy")
    deadline = time.monotonic() + 60
    while not _task_containers("socket-proxy"):
        assert time.monotonic() < deadline, "the socket proxy did not come back within 60 s"
        time.sleep(0.5)
    trace_id = _trace_id()
    name = f"{STACK}-late-{trace_id[:8]}"
    line = json.dumps({"msg": "after the proxy came back", "trace_id": trace_id})
    docker("run", "-d", "--name", name, busybox_image(), "sh", "-c", f"sleep 5; echo '{line}'; sleep 120")
    try:
        (hit,), delay = log_store.wait_for(trace_id, 1, 2 * SEARCHABLE_WITHIN)
        print(f"after the proxy came back: the line searchable in {delay:.1f} s, container {hit.get('container')}")
        assert hit.get("container", {}).get("name") == name, hit
        assert hit["container"]["image"]["name"] == busybox_image()
    finally:
        docker("rm", "-f", name, check=False)
