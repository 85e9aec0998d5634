"""Each role's /metrics has the series its example SLO queries. The expected series are not
restated here: they are every vector selector in the SLI expressions the compiler makes from
examples/slos/<role>.yaml (those the demo itself must publish: not Traefik's, cAdvisor's,
node-exporter's or our Swarm exporter's), matched against the role's exposition with the `job`
label Prometheus adds from the Swarm service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from slo.bundle import build
from slo.compile.rules import CompileOptions
from stack.demo.app import ROLES
from tests.conftest import EXAMPLES
from tests.demo_shop import make_shop

ClientFactory = Any
# SLI kinds whose series come from other components of the stack, not from the demo.
ELSEWHERE = ("traefik-", "cadvisor-", "node-", "swarm-")

Selector = tuple[str, list[tuple[str, str, str]]]  # metric name, (label, op, value) matchers
Sample = tuple[str, dict[str, str]]


def _selectors(expr: str) -> Iterator[Selector]:
    found: list[Selector] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            matchers = [(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers]
            found.append((node.name, matchers))

    promql_parser.walk(promql_parser.parse(expr), visit)
    yield from found


def slo_queries(service: str) -> tuple[list[Selector], set[str]]:
    """The selectors of the service's own SLIs, and the labels its dashboards break errors down by."""
    bundle = build([str(EXAMPLES / f"{service}.yaml")], CompileOptions(dashboards=False))
    selectors: list[Selector] = []
    breakdown: set[str] = set()
    for unit in bundle.units:
        if unit.slo.sli.kind.startswith(ELSEWHERE):
            continue
        for expr in (unit.sli.bad, unit.sli.total):
            selectors.extend(s for s in _selectors(expr.text) if s not in selectors)
        if unit.sli.breakdown:
            breakdown.add(unit.sli.breakdown[0])
    return selectors, breakdown


def _matches(sample: Sample, selector: Selector) -> bool:
    name, labels = sample
    wanted, matchers = selector
    if name != wanted:
        return False
    for label, op, value in matchers:
        have = labels.get(label, "")
        ok = {
            "Equal": have == value,
            "NotEqual": have != value,
            "Re": re.fullmatch(value, have) is not None,
            "NotRe": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


def scrape_samples(text: str, job: str) -> list[Sample]:
    out: list[Sample] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            assert "job" not in s.labels, f"{s.name} sets job itself; Prometheus sets it from the service"
            out.append((s.name, {**s.labels, "job": job, "instance": "task:8080"}))
    return out


async def _traffic(client: TestClient[Any, Any], role: str) -> None:
    """A little of everything: successes, an injected server error, a slow-ish request."""
    request = {"web": ("GET", "/"), "api": ("POST", "/orders"), "worker": ("POST", "/jobs")}[role]
    for faults in ({}, {"error_ratio": 1}, {}):
        assert (await client.post("/admin/faults", json=faults)).status == 200
        await client.request(*request, json={"order_id": 1})


@pytest.mark.parametrize("role", ROLES)
async def test_exposition_has_every_series_the_slos_query(aiohttp_client: ClientFactory, role: str) -> None:
    selectors, breakdown = slo_queries(role)
    assert selectors, f"examples/slos/{role}.yaml has no SLI on the demo's own metrics"
    client = await aiohttp_client(make_shop(role).app)
    await _traffic(client, role)
    resp = await client.get("/metrics")
    assert resp.status == 200
    samples = scrape_samples(await resp.text(), role)
    missing = [s for s in selectors if not any(_matches(sample, s) for sample in samples)]
    assert missing == []
    for label in breakdown:  # dashboards break errors down by it (instance comes from Prometheus)
        assert any(label in labels for _, labels in samples), label


def test_the_slos_query_what_the_conventions_name() -> None:
    """The derivation above found what the SLI kinds promise (a guard against it finding nothing)."""
    names = {role: {name for name, _ in slo_queries(role)[0]} for role in ROLES}
    assert names == {
        "api": {"http_requests_total", "http_request_duration_seconds_count", "http_request_duration_seconds_bucket"},
        "web": {"http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket"},
        "worker": {"worker_jobs_total", "worker_queue_oldest_job_age_seconds"},
    }


@pytest.mark.parametrize("role", ROLES)
async def test_probes_and_admin_are_not_counted(aiohttp_client: ClientFactory, role: str) -> None:
    client = await aiohttp_client(make_shop(role).app)
    for path in ("/healthz", "/metrics", "/admin/faults", "/healthz"):
        await client.get(path)
    text = await (await client.get("/metrics")).text()
    assert "http_requests_total{" not in text and "http_server_request_duration_seconds_count{" not in text


async def test_a_404_is_counted_without_a_route(aiohttp_client: ClientFactory) -> None:
    web_client = await aiohttp_client(make_shop("web").app)
    api_client = await aiohttp_client(make_shop("api").app)
    assert (await web_client.get("/nope")).status == 404
    assert (await api_client.get("/nope")).status == 404
    web_text = await (await web_client.get("/metrics")).text()
    api_text = await (await api_client.get("/metrics")).text()
    web_404 = [
        labels for name, labels in scrape_samples(web_text, "web") if labels.get("http_response_status_code") == "404"
    ]
    assert web_404 and all("http_route" not in labels for labels in web_404)
    assert 'http_requests_total{code="404",handler="none",method="GET"} 1.0' in api_text


@pytest.mark.parametrize("role", ROLES)
async def test_promtool_check_metrics_passes(aiohttp_client: ClientFactory, role: str, promtool: Path) -> None:
    import subprocess

    client = await aiohttp_client(make_shop(role).app)
    await _traffic(client, role)
    text = await (await client.get("/metrics")).text()
    proc = subprocess.run([str(promtool), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
