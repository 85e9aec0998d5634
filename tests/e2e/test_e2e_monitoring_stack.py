"""`slo stack deploy` on the live swarm: the monitoring stack comes up healthy, Prometheus finds
its targets through the read-only proxy and loads the bundle's rules, the alerting pipeline
delivers (Watchdog reaches the dead man's switch receiver, with a runbook the bundle has), a
second deploy changes nothing, a changed SLO rolls only Prometheus, and `slo stack down`
removes it all."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.e2e.monitoring import (
    SINK,
    STACK,
    Deployed,
    build_bundle,
    build_images,
    eventually,
    get_json,
    query,
    service_tasks,
    slo,
)
from tests.e2e.swarm import require_swarm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    require_swarm()
    work = tmp_path_factory.mktemp("monitoring")
    d = Deployed(build_bundle(work / "build"), work / "stack" / "stack.yml", build_images())
    slo("stack", "down", "--name", STACK, "--volumes", check=False)
    first = d.deploy()
    assert first["ok"] and sorted(first["changed"]) == sorted(s["name"] for s in first["services"])
    try:
        yield d
    finally:
        slo("stack", "down", "--name", STACK, "--volumes", check=False)


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
    assert {"swarm-exporter", f"{STACK}_node-exporter", f"{STACK}_otel-collector"} <= set(health)
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
