"""The alerts on the Swarm exporter's metrics (alerts/swarm.py): the table, the metrics and labels
they read (all the exporter's own), de-duplication of copies, labels for routing and
inhibition, runbook links, the options, and promtool proving the generated tests with
Prometheus 3.x and 2.42."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from conftest import EXAMPLES, ROOT, current_promtool

from alerts import naming
from alerts import swarm as sw
from alerts.bundle import build as build_with_oncall
from exporter import families
from slo.bundle import Bundle, build, write
from slo.compile.rules import CompileOptions

# (alert, severity, for, scope, carries `node`): what an SRE reads in docs/alerts.md.
EXPECTED = [
    (naming.SERVICE_REPLICAS_MISSING, "page", "1m", "service", False),
    (naming.SERVICE_REPLICAS_MISSING, "ticket", "2m", "service", False),
    (naming.SERVICE_ABSENT, "ticket", "5m", "service", False),
    (naming.SERVICE_UPDATE_PAUSED, "ticket", None, "service", False),
    (naming.SERVICE_UPDATE_ROLLED_BACK, "ticket", None, "service", False),
    (naming.TASK_CRASH_LOOPING, "ticket", "5m", "service", False),
    (naming.TASK_UNHEALTHY, "ticket", None, "service", True),
    (naming.NODE_DOWN, "page", "2m", "cluster", True),
    (naming.MANAGER_UNREACHABLE, "ticket", "2m", "cluster", True),
    (naming.NO_LEADER, "page", "2m", "cluster", False),
    (naming.EXPORTER_ABSENT, "ticket", "5m", "cluster", False),
    (naming.EXPORTER_DOWN, "ticket", "5m", "cluster", True),
    (naming.EXPORTER_STALE, "ticket", "5m", "cluster", True),
]
RULE_IDS = [f"{r.alert}-{r.severity}" for r in sw.RULES]
SHOP_SERVICES = ("api", "web", "worker")


def test_the_table() -> None:
    assert [(r.alert, r.severity, r.for_, r.scope, r.node_label) for r in sw.RULES] == EXPECTED
    assert set(sw.RUNBOOKS) == {r.alert for r in sw.RULES}


def test_states_and_reasons_are_the_exporters() -> None:
    assert {*sw.ROLLING, *sw.PAUSED, sw.ROLLED_BACK} <= set(families.UPDATE_STATES)
    assert set(sw.NOT_CRASHES) <= set(families.RESTART_REASONS)
    assert "unhealthy" in families.HEALTH_STATES


def _exprs(rule: sw.SwarmRule, job: str = naming.EXPORTER_JOB) -> str:
    target = sw.Target(job, "shop", "shop_api") if rule.scope == "service" else sw.Target(job)
    return str(rule.expr(target))


def _walk(node: Any, ancestors: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every node of a promql-parser tree, with its ancestors (outermost first)."""
    yield node, ancestors
    inner = (*ancestors, node)
    if isinstance(node, promql_parser.MatrixSelector):
        yield from _walk(node.vector_selector, inner)
        return
    for attr in ("lhs", "rhs", "expr", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _walk(child, inner)
    for arg in getattr(node, "args", None) or ():
        yield from _walk(arg, inner)


def _selectors(expr: str) -> Iterator[tuple[promql_parser.VectorSelector, tuple[Any, ...]]]:
    for node, ancestors in _walk(promql_parser.parse(expr)):
        if isinstance(node, promql_parser.VectorSelector):
            yield node, ancestors


@pytest.mark.parametrize("rule", sw.RULES, ids=RULE_IDS)
def test_reads_only_the_exporters_families_and_labels(rule: sw.SwarmRule) -> None:
    """Every metric is a family of exporter/families.py (or Prometheus' `up` of the exporter's
    job), and every label matched is one the family has."""
    expr = _exprs(rule)
    assert sw.metrics_of(expr) <= set(families.BY_NAME) | {"up"}
    for sel, _ in _selectors(expr):
        matchers = {m.name: m.value for m in sel.matchers.matchers}
        assert matchers.get("job") == naming.EXPORTER_JOB, f"{sel.name} without the exporter's job"
        if sel.name != "up":
            assert set(matchers) - {"job"} <= set(families.BY_NAME[sel.name].labels), sel.name


@pytest.mark.parametrize("rule", sw.RULES, ids=RULE_IDS)
def test_copies_of_a_series_cannot_double_count(rule: sw.SwarmRule) -> None:
    """A cluster- or node-scope family may come from two instances at once (a leader change, a
    restarted instance): the first aggregation over its series is a `max` (or it is only tested
    for absence), so a `sum` or `count` above it sees each object once."""
    for sel, ancestors in _selectors(_exprs(rule)):
        if sel.name == "up" or families.BY_NAME[sel.name].scope == families.Scope.EXPORTER:
            continue
        first = next(
            (a for a in reversed(ancestors) if isinstance(a, promql_parser.AggregateExpr | promql_parser.Call)
             and (isinstance(a, promql_parser.AggregateExpr) or a.func.name == "absent")),
            None,
        )  # fmt: skip
        assert first is not None, f"{sel.name} is never aggregated"
        what = str(first.op) if isinstance(first, promql_parser.AggregateExpr) else first.func.name
        assert what in ("max", "absent"), f"{sel.name} is first aggregated by {what}"


def test_node_alerts_are_held_back_by_a_down_node() -> None:
    """Every alert with a `node` label but SwarmNodeDown matches the inhibit rule's targets."""
    for r in sw.RULES:
        matched = re.fullmatch(naming.NODE_SCOPED_ALERTS, r.alert) is not None
        if r.alert == naming.NODE_DOWN:
            assert not matched
        elif r.node_label:
            assert matched, r.alert


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        bundle = build_with_oncall([str(EXAMPLES.relative_to(ROOT))], "examples/oncall.yaml", CompileOptions())
        bundle.files  # noqa: B018  (rendered while the paths in headers are relative)
    finally:
        os.chdir(cwd)
    return bundle


def _rules(files: dict[str, str], path: str) -> list[dict[str, Any]]:
    groups = yaml.safe_load(files[path])["groups"]
    return [r for g in groups if g["name"].startswith("swarm:") for r in g["rules"]]


def test_labels_route_to_the_owning_team(shop: Bundle) -> None:
    """Service alerts carry the SLO file's team, stack, service and labels; cluster-wide ones the
    on-call file's default team."""
    for svc in SHOP_SERVICES:
        spec = next(u.service for u in shop.units if u.service.service == svc)
        rules = _rules(shop.files, f"prometheus/rules/shop/{svc}.yml")
        assert [r["alert"] for r in rules] == [r.alert for r in sw.RULES if r.scope == "service"]
        for r in rules:
            assert r["labels"] == {**spec.labels, "stack": "shop", "service": svc, "team": spec.team,
                                   "severity": r["labels"]["severity"]}  # fmt: skip
            assert f'service="shop_{svc}"' in r["expr"] and 'stack="shop"' in r["expr"]
    cluster = _rules(shop.files, naming.SWARM_RULE_FILE)
    assert [r["alert"] for r in cluster] == [r.alert for r in sw.RULES if r.scope == "cluster"]
    assert {r["labels"]["team"] for r in cluster} == {"platform"}
    without_oncall = build([str(EXAMPLES)], CompileOptions())
    assert all("team" not in r["labels"] for r in _rules(without_oncall.files, naming.SWARM_RULE_FILE))


def test_routing_cases_cover_the_swarm_alerts(shop: Bundle) -> None:
    cases = yaml.safe_load(shop.files[naming.ROUTES_TEST_FILE])["cases"]
    swarm_cases = {c["name"]: c["receivers"] for c in cases if c["labels"]["alertname"] == naming.NODE_DOWN
                   or c["labels"]["alertname"] in (naming.SERVICE_REPLICAS_MISSING, naming.EXPORTER_ABSENT)}  # fmt: skip
    assert swarm_cases == {
        "checkout replicas page": ["checkout-page", "checkout-escalation"],
        "storefront replicas page": ["storefront-page"],
        "node down pages platform": ["platform-page"],
        "exporter absent tickets platform": ["platform-ticket"],
    }


def test_every_runbook_link_resolves(shop: Bundle) -> None:
    page = shop.files[naming.SWARM_RUNBOOK_FILE]
    headings = {line[3:].strip().lower() for line in page.splitlines() if line.startswith("## ")}
    rules = _rules(shop.files, naming.SWARM_RULE_FILE)
    for svc in SHOP_SERVICES:
        rules += _rules(shop.files, f"prometheus/rules/shop/{svc}.yml")
    for r in rules:
        path, _, anchor = r["annotations"]["runbook_url"].partition("#")
        assert path == naming.SWARM_RUNBOOK_FILE and anchor in headings
        assert set(r["annotations"]) == {"summary", "description", "runbook_url"}
    assert "`platform`" in page  # the owner of the cluster-wide alerts


def _assertions(files: dict[str, str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, text in files.items():
        if path.endswith(".test.yml") and ("swarm" in path.rsplit("/", 1)[-1]):
            for group in yaml.safe_load(text)["tests"]:
                for t in group["alert_rule_test"]:
                    yield group["name"], t["eval_time"], t


def test_every_alert_is_tested_firing_and_silent(shop: Bundle) -> None:
    firing: set[tuple[str, str]] = set()
    silent: set[str] = set()
    for _, _, t in _assertions(shop.files):
        if t["exp_alerts"]:
            firing |= {(t["alertname"], a["exp_labels"]["severity"]) for a in t["exp_alerts"]}
        else:
            silent.add(t["alertname"])
    assert firing == {(r.alert, r.severity) for r in sw.RULES}
    assert silent == {r.alert for r in sw.RULES}


def test_scaling_to_zero_fires_the_replica_page_only(shop: Bundle) -> None:
    """In the scale-to-zero part of the service's story (desired and running 0 from 30m), the
    page fires after its 1m, and every other service alert is asserted silent."""
    at: dict[str, list[dict[str, Any]]] = {}
    for group, when, t in _assertions({"x.swarm.test.yml": shop.files["prometheus/tests/shop/worker.swarm.test.yml"]}):
        scale_to_zero = when == "33m" or (when in ("30m", "31m") and t["alertname"] == naming.SERVICE_REPLICAS_MISSING)
        if group.startswith("a service's life") and scale_to_zero:
            at.setdefault(f"{when} {t['alertname']}", []).extend(t["exp_alerts"])
    assert at.pop(f"30m {naming.SERVICE_REPLICAS_MISSING}") == []
    (page,) = at.pop(f"31m {naming.SERVICE_REPLICAS_MISSING}")
    assert page["exp_labels"]["severity"] == "page" and page["exp_labels"]["team"] == "checkout"
    assert at == {f"33m {a}": [] for a in dict.fromkeys(r.alert for r in sw.RULES if r.scope == "service")
                  if a != naming.SERVICE_REPLICAS_MISSING}  # fmt: skip


def test_options_turn_them_off_and_name_the_job() -> None:
    off = build([str(EXAMPLES)], CompileOptions(swarm_alerts=False)).files
    assert not [p for p in off if "swarm" in p.rsplit("/", 1)[-1] and p.startswith(("prometheus/", "runbooks/"))]
    assert not any("alert: Swarm" in text for text in off.values())
    job = build([str(EXAMPLES)], CompileOptions(swarm_exporter_job="exporters")).files
    rules = job[naming.SWARM_RULE_FILE] + job["prometheus/rules/shop/api.yml"]
    assert 'job="exporters"' in rules and naming.EXPORTER_JOB not in rules


def test_the_stack_scrapes_the_exporter_under_this_job() -> None:
    templates = ROOT / "stack" / "templates"
    assert f"prometheus.job: {naming.EXPORTER_JOB}\n" in (templates / "stack.yml.j2").read_text()
    assert f"target_label: {naming.LABEL_TARGET_NODE}\n" in (templates / "prometheus.yml.j2").read_text()


def test_metrics_of() -> None:
    assert sw.metrics_of('sum(rate(a{x="1"}[5m])) / on () max(b) or absent(c) unless label_replace(d, "", "", "", "")') == {
        "a", "b", "c", "d"}  # fmt: skip


def _swarm_part(bundle: Bundle, root: Path) -> list[Path]:
    """The bundle on disk; returns its Swarm test files."""
    write(bundle, str(root))
    return sorted(p for p in (root / "prometheus" / "tests").rglob("*.test.yml") if "swarm" in p.name)


def test_promtool_proves_the_generated_tests(shop: Bundle, promtool: Path, tmp_path: Path) -> None:
    tests = _swarm_part(shop, tmp_path / "build")
    assert len(tests) == len(SHOP_SERVICES) + 1
    rules = [tmp_path / "build" / naming.SWARM_RULE_FILE]
    rules += [tmp_path / "build" / "prometheus" / "rules" / "shop" / f"{s}.yml" for s in SHOP_SERVICES]
    check = subprocess.run([promtool, "check", "rules", "--lint-fatal", *rules], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([promtool, "test", "rules", *tests], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]


def test_a_wrong_expectation_fails(shop: Bundle, tmp_path: Path) -> None:
    """The tests bite: the node-down page asserted a minute before its `for` is over fails."""
    _swarm_part(shop, tmp_path / "build")
    test = tmp_path / "build" / naming.SWARM_RULE_TEST_FILE
    doc = yaml.safe_load(test.read_text())
    for t in doc["tests"][0]["alert_rule_test"]:
        if t["alertname"] == naming.NODE_DOWN and t["eval_time"] == "7m":
            t["eval_time"] = "6m"
    test.write_text(yaml.safe_dump(doc))
    run = subprocess.run([current_promtool(), "test", "rules", test], capture_output=True, text=True)
    assert run.returncode == 1 and "alertname: SwarmNodeDown, time: 6m" in run.stdout + run.stderr
    shutil.rmtree(tmp_path / "build")
