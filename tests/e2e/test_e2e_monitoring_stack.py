"""`slo stack deploy --demo --rehearse` on the live swarm, as the README's main job runs it: the
monitoring stack and the demo shop come up healthy; Prometheus finds its targets through the
read-only proxy and loads the bundle's rules; the shop's Traefik edge finds its routes through
the same proxy and counts requests per service; a request to the shop is one trace across
Traefik, web, api and worker in Jaeger, with span metrics in Prometheus and the trace id in
every service's logs; faults page the owning team once, with a runbook the bundle has, and
resolve; every dashboard query returns data (Traefik's too; only cAdvisor's panels are
excused); a second deploy changes nothing, a changed SLO rolls only
Prometheus, and `slo stack down` removes it all.

Measured times are printed (pytest -s) and written to $SLO_E2E_REPORT when set."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.queries import metric_names, panel_queries
from stack.render import StackConfig
from tests.conftest import EXAMPLES
from tests.e2e.monitoring import (
    DEMO,
    JAEGER,
    OPENSEARCH,
    SINK,
    STACK,
    Deployed,
    build_bundle,
    build_images,
    containers,
    eventually,
    get_json,
    notifications,
    query,
    service_tasks,
    set_faults,
    slo,
)
from tests.e2e.swarm import require_swarm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    require_swarm()
    work = tmp_path_factory.mktemp("monitoring")
    d = Deployed(build_bundle(work / "build"), work / "stack" / "stack.yml", build_images())
    slo("stack", "down", "--name", STACK, "--volumes", "--demo", check=False)
    first = d.deploy()
    assert first["ok"] and sorted(first["changed"]) == sorted(s["name"] for s in first["services"])
    assert {s["name"] for s in first["demo"]["services"]} == {"traefik", "web", "api", "worker", "loadgen"}
    try:
        yield d
    finally:
        slo("stack", "down", "--name", STACK, "--volumes", "--demo", check=False)


MEASURED: dict[str, float] = {}


def _report(key: str, seconds: float) -> None:
    MEASURED[key] = round(seconds, 1)
    print(f"measured: {key} = {seconds:.1f} s")
    if os.environ.get("SLO_E2E_REPORT"):
        Path(os.environ["SLO_E2E_REPORT"]).write_text(json.dumps(MEASURED, indent=2, sort_keys=True) + "\n")


def _runbook_exists(bundle: Path, url: str) -> bool:
    """A runbook link `runbooks/<file>.md#<anchor>` names a heading in that bundle file."""
    path, _, anchor = url.partition("#")
    page = bundle / path
    if not page.is_file():
        return False
    headings = {
        line.lstrip("#").strip().lower().replace(" ", "-")
        for line in page.read_text().splitlines()
        if line.startswith("#")
    }
    anchors = {line.split('id="', 1)[1].split('"', 1)[0] for line in page.read_text().splitlines() if 'id="' in line}
    return not anchor or anchor in headings or anchor in anchors


def test_every_service_runs_and_prometheus_scrapes_through_the_proxy(deployed: Deployed) -> None:
    def targets() -> dict[str, str] | None:
        active = get_json("http://127.0.0.1:9090/api/v1/targets")["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in active}
        return health if {"swarm-exporter", "prometheus"} <= set(health) and set(health.values()) == {"up"} else None

    health = eventually("every target up", targets, timeout=120)
    assert {"swarm-exporter", f"{STACK}_node-exporter", f"{STACK}_otel-collector", "traefik"} <= set(health)
    # The shop's edge: Traefik found both routes through the proxy and counts them per service
    # (the label value the traefik-* SLIs select: examples/slos/api.yaml's edge-availability).
    edge = eventually(
        "Traefik's per-service requests",
        lambda: query("sum by (service) (rate(traefik_service_requests_total[1m]))"),
        timeout=120,
        interval=5,
    )
    assert {"shop-web@swarm", "shop-api@swarm"} <= {r["metric"]["service"] for r in edge}
    groups = get_json("http://127.0.0.1:9090/api/v1/rules")["data"]["groups"]
    rule_files = {g["file"] for g in groups}
    assert {"/etc/prometheus/rules/shop/api.yml", "/etc/prometheus/rules/alertmanager.yml"} <= rule_files
    # The exporter, through the proxy, sees this stack's own services, exactly once each.
    rows = query(f'swarm_service_replicas_desired{{stack="{STACK}"}}')
    services = sorted(r["metric"]["service"] for r in rows)
    assert services == sorted(set(services)) and f"{STACK}_prometheus" in services


def test_watchdog_reaches_the_dead_mans_switch_with_a_runbook_in_the_bundle(deployed: Deployed) -> None:
    def watchdog() -> list[dict[str, object]]:
        return [n for n in get_json(f"{SINK}/notifications") if n["alertname"] == "Watchdog"]

    got = eventually("Watchdog at the sink", watchdog, timeout=240, interval=5)
    assert got[0]["receiver"] == "dead-mans-switch"
    assert _runbook_exists(deployed.bundle, str(got[0]["runbook_url"])), got[0]["runbook_url"]


def test_a_request_is_one_trace_across_web_api_worker_with_span_metrics_and_logs(deployed: Deployed) -> None:
    trace_id = secrets.token_hex(16)
    request = urllib.request.Request(
        "http://127.0.0.1:8080/", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    )
    eventually("the shop answers", lambda: urllib.request.urlopen(request, timeout=10).status == 200, timeout=60)
    sent = time.monotonic()

    def trace() -> set[str] | None:
        try:
            data = get_json(f"{JAEGER}/api/traces/{trace_id}")["data"]
        except urllib.error.HTTPError:  # 404 until it is stored
            return None
        services = {p["serviceName"] for t in data for p in t["processes"].values()}
        return services if {"traefik", "web", "api", "worker"} <= services else None

    # Through the edge: Traefik's spans (it continues the caller's trace) around web and api.
    assert eventually("the trace in Jaeger", trace, timeout=60) >= {"traefik", "web", "api", "worker"}
    calls = eventually(
        "span metrics in Prometheus",
        lambda: query('sum by (service_name) (traces_span_metrics_calls_total{service_name=~"web|api|worker"})'),
        timeout=120,
        interval=5,
    )
    assert {r["metric"]["service_name"] for r in calls} == {"web", "api", "worker"}
    for service in ("web", "api", "worker"):
        # Each task's container log (`docker service logs` can hang on this engine version).
        logs = "".join(
            subprocess.run(["docker", "logs", cid], capture_output=True, text=True, check=True, timeout=60).stdout
            for cid in containers(service)
        )
        lines = [json.loads(line) for line in logs.splitlines() if trace_id in line]
        assert lines and all(line["trace_id"] == trace_id for line in lines), service

    # The same lines in the log store (Filebeat -> OpenSearch), found by the trace id.
    def logged() -> set[str] | None:
        found = get_json(f"{OPENSEARCH}/logs-*/_search?q=trace.id:{trace_id}&size=100")["hits"]["hits"]
        # Traefik's JSON access lines carry trace_id too, but no `service` field: its lines
        # are the container's (container.labels.com_docker_swarm_service_name).
        services = {h["_source"].get("service", {}).get("name") for h in found}
        return services if {"web", "api", "worker"} <= services else None

    services = eventually("the trace's log lines in OpenSearch", logged, timeout=120, interval=1)
    assert services - {None} == {"web", "api", "worker"}
    print(f"the trace's log lines found in OpenSearch {time.monotonic() - sent:.1f} s after the request (looked last)")


PAGE_FAST = "SLOBurnRatePageFast"
# What the faults below must page, and nothing else: (receiver, alertname, service, slo).
EXPECTED_PAGES = {
    ("checkout-page", PAGE_FAST, "api", "availability"),
    # The same errors seen at the edge: the web calls the api through Traefik, so the api's
    # traefik-errors SLO burns too (its own SLO, its own incident, the same team).
    ("checkout-page", PAGE_FAST, "api", "edge-availability"),
    ("storefront-page", PAGE_FAST, "web", "latency"),
    # The exporter-based replica alert (no SLO label): the worker belongs to team checkout.
    ("checkout-page", "SwarmServiceReplicasMissing", "worker", ""),
}


def _seconds(text: str) -> float:
    """`slo build --explain`'s and Prometheus' durations: 51.8s, 4m19s, 1h, 30s."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", text)
    assert m and text, f"not a duration: {text!r}"
    h, mins, secs = m.groups()
    return int(h or 0) * 3600 + int(mins or 0) * 60 + float(secs or 0)


def _group_wait(bundle: Path, receiver: str) -> str:
    """The group_wait of the route that notifies this receiver, in the bundle's routing tree."""

    def walk(route: dict[str, Any], inherited: str) -> str | None:
        wait = route.get("group_wait", inherited)
        if route.get("receiver") == receiver and route is not tree:
            return str(wait)
        return next((w for child in route.get("routes", []) if (w := walk(child, wait))), None)

    tree = yaml.safe_load((bundle / "alertmanager" / "alertmanager.yml").read_text())["route"]
    found = walk(tree, tree.get("group_wait", "30s"))
    assert found, f"no route to {receiver}"
    return found


def _page_bound_s(bundle: Path, receiver: str, service: str, slo_name: str) -> float:
    """When the SLO's fast page must reach its receiver at 100% errors: the Workbook's time to
    fire (`slo build --explain`, with a full long window of good traffic before: a young
    stack's shorter history only fires sooner), plus a scrape, a rule evaluation and the
    route's group_wait (the stack's Prometheus config and the bundle's routing tree)."""
    with tempfile.TemporaryDirectory() as out:
        explained = json.loads(slo("build", str(EXAMPLES), "--explain", "--output", "json", "--out", out).stdout)
    (unit,) = [u for u in explained["explain"] if u["service"] == service and u["slo"] == slo_name]
    (tier,) = [t for t in unit["tiers"] if t["alert"] == PAGE_FAST]
    config = StackConfig()
    return (
        _seconds(tier["time_to_fire_at_100_percent_errors"])
        + _seconds(config.scrape_interval)
        + _seconds(config.evaluation_interval)
        + _seconds(_group_wait(bundle, receiver))
    )


def _try_set_faults(service: str, faults: dict[str, Any]) -> bool:
    """set_faults, False while the new task's server is not up yet."""
    try:
        set_faults(service, faults)
    except subprocess.CalledProcessError:
        return False
    return True


def _key(n: dict[str, Any]) -> tuple[str, str, str, str]:
    return (n["receiver"], n["alertname"], n["labels"].get("service", ""), n["labels"].get("slo", ""))


def _scale(service: str, replicas: int) -> None:
    subprocess.run(
        ["docker", "service", "scale", "--detach", f"{DEMO}_{service}={replicas}"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_faults_page_the_owning_team_once_and_resolve(deployed: Deployed) -> None:
    """100% errors on the api, 800 ms added to every web request and the worker scaled to zero,
    at once (they are independent: the web degrades rather than fails when the api does, and
    the failing api calls no worker). Each pages its own team, once, with a runbook in the
    bundle (the api's errors twice: its own availability SLO and Traefik's view of it, the
    edge SLO); the other SLOs stay quiet; after the faults are lifted the resolved
    notification follows."""
    # Traffic first: the SLIs need a few minutes of history (the loadgen runs since the deploy).
    eventually(
        "the api SLI has data",
        lambda: query('sum(rate(http_requests_total{job="api"}[1m])) > 0'),
        timeout=180,
        interval=5,
    )
    # The worker seen running by two rule evaluations (1m apart) and its replica alert inactive:
    # an evaluation that saw it not yet started at the deploy would leave the alert pending, and
    # the scale-down below would fire it early, measuring the deploy instead of the fault.
    eventually(
        "the worker seen running for two evaluations, its replica alert inactive",
        lambda: (
            query(f'min_over_time(swarm_service_replicas_running{{service="{DEMO}_worker"}}[2m]) >= 1')
            and not query('ALERTS{alertname="SwarmServiceReplicasMissing"}')
        ),
        timeout=300,
        interval=5,
    )
    pages_before = {_key(n) for n in notifications() if n["receiver"].endswith("-page")}
    assert not pages_before & EXPECTED_PAGES, f"paging before any fault: {pages_before}"
    start = time.time()
    set_faults("api", {"error_ratio": 1.0})
    # Plus a trickle of errors far below any alert's burn rate (0.4x the web's budget), so the
    # error breakdown panels have something to show (the last test).
    set_faults("web", {"latency_ms": 800, "error_ratio": 0.002})
    _scale("worker", 0)
    try:

        def fired() -> dict[tuple[str, str, str, str], float] | None:
            got: dict[tuple[str, str, str, str], float] = {}
            for n in notifications():
                if n["status"] == "firing":
                    got.setdefault(_key(n), n["received"])  # the first one
            return got if set(got) >= EXPECTED_PAGES else None

        first = eventually("the three pages at their teams' receivers", fired, timeout=600, interval=5)
        for key in sorted(EXPECTED_PAGES):
            _report(f"page {key[1]} {key[2]}/{key[3] or '-'} after the fault", first[key] - start)
        api_page = first[("checkout-page", PAGE_FAST, "api", "availability")] - start
        bound = _page_bound_s(deployed.bundle, "checkout-page", "api", "availability")
        print(f"api availability page: {api_page:.1f} s, bound {bound:.1f} s")
        assert api_page <= bound, f"the api page took {api_page:.1f} s, more than the Workbook's {bound:.1f} s"
    finally:
        set_faults("api", {})
        set_faults("web", {"error_ratio": 0.002})  # the trickle stays, for the breakdown panels
        _scale("worker", 1)
    recovered = time.time()
    # The worker's trickle, 0.5x its budget (no alert), on the new task: for the breakdown panels.
    eventually("the worker runs again", lambda: containers("worker"), timeout=120)
    eventually("the worker takes faults", lambda: _try_set_faults("worker", {"error_ratio": 0.0005}), timeout=60)

    def resolved() -> dict[tuple[str, str, str, str], float] | None:
        got: dict[tuple[str, str, str, str], float] = {}
        for n in notifications():
            if n["status"] == "resolved":
                got.setdefault(_key(n), n["received"])
        return got if set(got) >= EXPECTED_PAGES else None

    done = eventually("the resolved notifications", resolved, timeout=900, interval=10)
    for key in sorted(EXPECTED_PAGES):
        _report(f"resolved {key[1]} {key[2]}/{key[3] or '-'} after recovery", done[key] - recovered)

    seen = [n for n in notifications() if n["received"] >= start]
    for key in EXPECTED_PAGES:
        firing = [n for n in seen if _key(n) == key and n["status"] == "firing"]
        assert len(firing) == 1, f"{key} paged {len(firing)} times"
        assert firing[0]["runbook_url"] and _runbook_exists(deployed.bundle, firing[0]["runbook_url"])
    # One incident per SLO: every page notification of an SLO is in one Alertmanager group (its
    # key is what PagerDuty and Opsgenie deduplicate on). When the fast tier resolves, the slow
    # tier it inhibited still burns (its 30m window holds the errors for 30 minutes): that is an
    # update of the same incident, in the same group, not a new page.
    incidents = {(n["receiver"], n["labels"].get("service", ""), n["labels"].get("slo", "")): set() for n in seen}
    for n in seen:
        if n["receiver"].endswith("-page"):
            incidents[(n["receiver"], n["labels"].get("service", ""), n["labels"].get("slo", ""))].add(n["group_key"])
    paged = {k: v for k, v in incidents.items() if v}
    assert set(paged) == {(r, s, o) for r, _, s, o in EXPECTED_PAGES}, f"paged: {sorted(paged)}"
    assert all(len(groups) == 1 for groups in paged.values()), paged
    for n in seen:
        assert _runbook_exists(deployed.bundle, n["runbook_url"]), n


def test_a_second_deploy_changes_nothing(deployed: Deployed) -> None:
    before = {s: service_tasks(s) for s in ("prometheus", "alertmanager", "exporter")}
    again = deployed.deploy()
    assert again["changed"] == [] and again["noop"] is True
    assert {s: service_tasks(s) for s in before} == before


def test_a_changed_slo_rolls_only_prometheus(deployed: Deployed, tmp_path: Path) -> None:
    slos = tmp_path / "slos"
    shutil.copytree(EXAMPLES, slos)
    api = slos / "api.yaml"
    doc = yaml.safe_load(api.read_text())
    doc["slos"][0]["objectives"] = [99.5]
    api.write_text(yaml.safe_dump(doc))
    bundle = build_bundle(tmp_path / "build", slos)
    others = {s: service_tasks(s) for s in ("alertmanager", "exporter", "jaeger")}
    changed = deployed.deploy(bundle)
    assert changed["changed"] == ["prometheus"]
    assert {s: service_tasks(s) for s in others} == others
    # Back to the module's bundle: Prometheus only again.
    assert deployed.deploy()["changed"] == ["prometheus"]


def test_deploy_without_the_on_call_secrets_is_refused_before_anything_changes(deployed: Deployed) -> None:
    args = [a for a in deployed.deploy_args() if a != "--rehearse"]
    before = {s: service_tasks(s) for s in ("prometheus", "alertmanager")}
    proc = slo(*args, check=False)
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert "missing Docker secrets the on-call file reads: checkout_opsgenie_key" in error
    assert {s: service_tasks(s) for s in before} == before


# SLI sources the local stack does not run, and why (docs/stack.md): their panels stay empty.
# (Traefik is the demo's edge: its SLIs are not excused.)
NOT_LOCAL = {
    "cadvisor-cpu": "cAdvisor is not deployed here",
    "cadvisor-memory": "cAdvisor is not deployed here",
}


EMPTY_RETRY_S = 240.0


def _why_empty(expr: str, kinds: dict[tuple[str, str], str]) -> str | None:
    names = metric_names(expr)
    if any(n.startswith("container_") for n in names):
        return NOT_LOCAL["cadvisor-cpu"]
    service, slo_name = re.search(r'service="([^"]+)"', expr), re.search(r'slo="([^"]+)"', expr)
    if service and slo_name:
        return NOT_LOCAL.get(kinds.get((service.group(1), slo_name.group(1)), ""))
    return None


def test_every_dashboard_query_returns_data(deployed: Deployed) -> None:
    """Last in the module: after the faults (error breakdowns have errors to show) and the
    redeploys (an update to show). Every query of every panel of every dashboard in the bundle,
    template variables substituted, returns at least one series from the live Prometheus,
    except the panels of SLI sources the local stack does not run (named, with the reason)."""
    kinds = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for s in doc["slos"]:
            kinds[(doc["service"], s["name"])] = s["sli"]["kind"]
    empty: list[tuple[str, str, str, str]] = []
    skipped: list[tuple[str, str, str, str]] = []
    checked = 0
    for path in sorted((deployed.bundle / "grafana" / "dashboards").rglob("*.json")):
        for q in panel_queries(json.loads(path.read_text())):
            expr = q.substituted()
            why = _why_empty(expr, kinds)
            if not query(expr):
                (skipped if why else empty).append((q.dashboard, q.panel, q.ref, why or expr))
            checked += 1
    # The error breakdowns rate over one minute, and the trickles leave a minute without a bad
    # event now and then (0.2% of 10 requests a second): an empty query is asked again, each
    # must show data at least once within a few minutes. A broken query never does.
    deadline = time.monotonic() + EMPTY_RETRY_S
    while empty and time.monotonic() < deadline:
        time.sleep(5)
        empty = [row for row in empty if not query(row[3])]
    print(
        f"dashboard queries: {checked} run, {checked - len(empty) - len(skipped)} with data, "
        f"{len(skipped)} empty for a named reason"
    )
    for row in skipped:
        print("  empty:", row)
    assert checked > 200
    assert not empty, f"{len(empty)} panel queries returned no data: {empty[:20]}"
