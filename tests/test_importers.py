"""Sloth and OpenSLO importers, proved on the projects' own example files.

The upstream files are fetched at test time from the Go module proxy (`go mod download`,
cached by Go), never committed: Sloth v0.16.0's examples/ and the OpenSLO v1 files in
oslo v0.12.0 (the OpenSLO module Sloth v0.16.0 itself depends on). Every file either
compiles into a bundle that both promtools check and test, or yields exactly the located
errors listed here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from slo.bundle import build, write
from slo.check import check_bundle
from slo.compile.rules import CompileOptions
from slo.errors import InputErrors
from slo.load import load_paths

GOLDEN = ROOT / "tests" / "golden" / "importers"
SLOTH_MODULE = "github.com/slok/sloth@v0.16.0"
OSLO_MODULE = "github.com/OpenSLO/oslo@v0.12.0"


def go_module_dir(module: str) -> Path:
    """The module's read-only directory in Go's module cache; fails (never skips) when the
    module cannot be fetched: CI reaches the Go module proxy."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("the `go` command is needed to fetch upstream example files")
    proc = subprocess.run([go, "mod", "download", "-json", module], capture_output=True, text=True, check=False)
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"go mod download {module} failed: {proc.stderr.strip()}")
    if "Dir" not in info or "Error" in info:
        pytest.fail(f"go mod download {module} failed: {info.get('Error', proc.stderr.strip())}")
    return Path(info["Dir"])


@pytest.fixture(scope="session")
def sloth_examples() -> Path:
    return go_module_dir(SLOTH_MODULE) / "examples"


@pytest.fixture(scope="session")
def openslo_examples() -> Path:
    return go_module_dir(OSLO_MODULE) / "test" / "v1"


def errors_of(paths: list[Path]) -> list[str]:
    try:
        load_paths([str(p) for p in paths])
    except InputErrors as e:
        return [f"{x.line}:{x.column} {x.field}" for x in e.errors]
    return []


def prove(paths: list[Path], out: Path, promtool: Path) -> int:
    bundle = build([str(p) for p in paths], CompileOptions())
    write(bundle, str(out))
    result = check_bundle(str(out), str(promtool))
    assert result.failures == []
    assert result.rule_files == len(bundle.units) > 0
    return len(bundle.units)


# --- upstream Sloth examples -------------------------------------------------------

SLOTH_EXPECTED: dict[str, list[str]] = {
    "no-alerts.yml": [],
    "contrib-denominator-corrected.yaml": [
        "11:5 spec.sloPlugins",
        "31:13 spec.slos[0].alerting.pageAlert.labels.alert03k1",
        "34:13 spec.slos[0].alerting.ticketAlert.labels.alert04k1",
    ],
    "contrib-slo-plugins.yml": [
        "6:3 labels.tier",
        "13:7 slos[0].plugins",
        "33:21 slos[0].alerting.page_alert.labels.severity",
        "34:11 slos[0].alerting.page_alert.labels.routing_key",
        "37:21 slos[0].alerting.ticket_alert.labels.severity",
        "38:11 slos[0].alerting.ticket_alert.labels.slack_channel",
        "44:7 slos[1].plugins",
        "62:21 slos[1].alerting.page_alert.labels.severity",
        "63:11 slos[1].alerting.page_alert.labels.routing_key",
        "66:21 slos[1].alerting.ticket_alert.labels.severity",
        "67:11 slos[1].alerting.ticket_alert.labels.slack_channel",
    ],
    "getting-started.yml": [
        "6:3 labels.tier",
        "25:21 slos[0].alerting.page_alert.labels.severity",
        "26:11 slos[0].alerting.page_alert.labels.routing_key",
        "29:21 slos[0].alerting.ticket_alert.labels.severity",
        "30:11 slos[0].alerting.ticket_alert.labels.slack_channel",
    ],
    "home-wifi.yml": [
        "40:21 slos[0].alerting.page_alert.labels.severity",
        "43:21 slos[0].alerting.ticket_alert.labels.severity",
        "56:21 slos[1].alerting.page_alert.labels.severity",
        "59:21 slos[1].alerting.ticket_alert.labels.severity",
    ],
    "k8s-getting-started.yml": [
        "16:5 spec.labels.tier",
        "33:23 spec.slos[0].alerting.pageAlert.labels.severity",
        "34:13 spec.slos[0].alerting.pageAlert.labels.routing_key",
        "37:23 spec.slos[0].alerting.ticketAlert.labels.severity",
        "38:13 spec.slos[0].alerting.ticketAlert.labels.slack_channel",
    ],
    "k8s-home-wifi.yml": [
        "33:23 spec.slos[0].alerting.pageAlert.labels.severity",
        "36:23 spec.slos[0].alerting.ticketAlert.labels.severity",
        "49:23 spec.slos[1].alerting.pageAlert.labels.severity",
        "52:23 spec.slos[1].alerting.ticketAlert.labels.severity",
    ],
    "k8s-multifile.yml": [
        "17:5 spec.labels.tier",
        "34:23 spec.slos[0].alerting.pageAlert.labels.severity",
        "35:13 spec.slos[0].alerting.pageAlert.labels.routing_key",
        "38:23 spec.slos[0].alerting.ticketAlert.labels.severity",
        "39:13 spec.slos[0].alerting.ticketAlert.labels.slack_channel",
        "51:5 spec.labels.tier",
        "68:23 spec.slos[0].alerting.pageAlert.labels.severity",
        "69:13 spec.slos[0].alerting.pageAlert.labels.routing_key",
        "72:23 spec.slos[0].alerting.ticketAlert.labels.severity",
        "73:13 spec.slos[0].alerting.ticketAlert.labels.slack_channel",
    ],
    "kubernetes-apiserver.yml": [
        "43:21 slos[0].alerting.page_alert.labels.severity",
        "46:21 slos[0].alerting.ticket_alert.labels.severity",
        "70:21 slos[1].alerting.page_alert.labels.severity",
        "73:21 slos[1].alerting.ticket_alert.labels.severity",
    ],
    "multifile.yml": [
        "7:3 labels.tier",
        "26:21 slos[0].alerting.page_alert.labels.severity",
        "27:11 slos[0].alerting.page_alert.labels.routing_key",
        "30:21 slos[0].alerting.ticket_alert.labels.severity",
        "31:11 slos[0].alerting.ticket_alert.labels.slack_channel",
        "39:3 labels.tier",
        "58:21 slos[0].alerting.page_alert.labels.severity",
        "59:11 slos[0].alerting.page_alert.labels.routing_key",
        "62:21 slos[0].alerting.ticket_alert.labels.severity",
        "63:11 slos[0].alerting.ticket_alert.labels.slack_channel",
    ],
    "openslo-getting-started.yml": ["6:13 apiVersion"],
    "openslo-kubernetes-apiserver.yml": ["8:13 apiVersion", "34:13 apiVersion"],
    "plugin-getting-started.yml": ["6:3 labels.tier", "14:9 slos[0].sli.plugin"],
    "plugin-k8s-getting-started.yml": ["20:5 spec.labels.tier", "28:11 spec.slos[0].sli.plugin"],
    "raw-home-wifi.yml": ["28:9 slos[0].sli.raw"],
    "slo-plugin-getting-started.yml": [
        "6:3 labels.tier",
        "8:3 slo_plugins",
        "22:7 slos[0].plugins",
        "51:21 slos[0].alerting.page_alert.labels.severity",
        "52:11 slos[0].alerting.page_alert.labels.routing_key",
        "55:21 slos[0].alerting.ticket_alert.labels.severity",
        "56:11 slos[0].alerting.ticket_alert.labels.slack_channel",
    ],
    "slo-plugin-k8s-getting-started.yml": [
        "16:5 spec.labels.tier",
        "18:5 spec.sloPlugins",
        "30:9 spec.slos[0].plugins",
        "57:23 spec.slos[0].alerting.pageAlert.labels.severity",
        "58:13 spec.slos[0].alerting.pageAlert.labels.routing_key",
        "61:23 spec.slos[0].alerting.ticketAlert.labels.severity",
        "62:13 spec.slos[0].alerting.ticketAlert.labels.slack_channel",
    ],
    "victoria-metrics.yml": [  # VictoriaMetrics' MetricsQL, not PromQL
        "10:3 slo_plugins",
        "27:20 slos[0].sli.events.error_query",
        "28:20 slos[0].sli.events.total_query",
        "32:7 slos[0].alerting.labels.objective",
        "44:20 slos[1].sli.events.error_query",
        "45:20 slos[1].sli.events.total_query",
        "49:7 slos[1].alerting.labels.objective",
    ],
    "windows/7d.yaml": ["2:7 kind"],
    "windows/custom-30d.yaml": ["2:7 kind"],
}
# Examples whose only errors are Sloth's per-severity alert labels, plugins or the `tier`
# label: with those removed (what the messages ask for), the rest must compile and pass.
SLOTH_AFTER_FIXES = sorted(
    f
    for f in SLOTH_EXPECTED
    if f.endswith((".yml", ".yaml")) and not f.startswith(("windows/", "openslo-", "raw-", "plugin-", "victoria-"))
)


def test_sloth_examples_are_all_listed(sloth_examples: Path) -> None:
    found = {
        str(p.relative_to(sloth_examples))
        for pattern in ("*.yml", "*.yaml", "windows/*.yaml")
        for p in sloth_examples.glob(pattern)
    }
    assert found == set(SLOTH_EXPECTED)


@pytest.mark.parametrize("name", sorted(SLOTH_EXPECTED))
def test_sloth_example_errors(sloth_examples: Path, name: str) -> None:
    assert errors_of([sloth_examples / name]) == SLOTH_EXPECTED[name]


def test_sloth_example_messages(sloth_examples: Path) -> None:
    with pytest.raises(InputErrors) as exc:
        load_paths([str(sloth_examples / "getting-started.yml")])
    messages = [e.message for e in exc.value.errors]
    assert messages[0] == "label 'tier' is set by swarm-slo and cannot be overridden"
    assert messages[1].startswith("unsupported: severity 'pageteam': swarm-slo labels page alerts")
    assert messages[2].startswith("unsupported: label 'routing_key' is not the same on page_alert and ticket_alert")


def _strip_unsupported(doc: Any) -> Any:
    spec = doc.get("spec", doc) if isinstance(doc, dict) else doc
    if not isinstance(spec, dict):
        return doc
    spec.get("labels", {}).pop("tier", None)
    for key in ("slo_plugins", "sloPlugins"):
        spec.pop(key, None)
    for slo in spec.get("slos", []):
        slo.pop("plugins", None)
        for tier in ("page_alert", "ticket_alert", "pageAlert", "ticketAlert"):
            slo.get("alerting", {}).get(tier, {}).pop("labels", None)
    return doc


@pytest.mark.parametrize("name", SLOTH_AFTER_FIXES)
def test_sloth_examples_compile_after_fixes(sloth_examples: Path, name: str, tmp_path: Path, promtool: Path) -> None:
    docs = list(yaml.safe_load_all((sloth_examples / name).read_text()))
    fixed = tmp_path / "in" / Path(name).name
    fixed.parent.mkdir()
    fixed.write_text(yaml.safe_dump_all([_strip_unsupported(d) for d in docs if d]))
    assert prove([fixed], tmp_path / "build", promtool) >= 1


def test_sloth_example_without_alerts_compiles(sloth_examples: Path, tmp_path: Path, promtool: Path) -> None:
    assert prove([sloth_examples / "no-alerts.yml"], tmp_path / "build", promtool) == 1


# --- upstream OpenSLO v1 files (oslo's test inputs) --------------------------------

_TYPE = "spec.{}.metricSource.type"
OPENSLO_EXPECTED: dict[str, list[str]] = {
    **{
        f"alert-condition/alert-condition{s}.yaml": ["2:7 kind"]
        for s in ("", "-invalid-name", "-no-condition", "-no-description", "-no-sev")
    },
    **{
        f"alert-notification-target/alert-notification-target{s}.yaml": ["2:7 kind"]
        for s in ("", "-no-description", "-no-target")
    },
    **{
        f"alert-policy/alert-policy{s}.yaml": ["2:7 kind"]
        for s in (
            "",
            "-inline-cond",
            "-malformed-cond",
            "-malformed-targetref",
            "-many-cond",
            "-many-notificationref",
            "-no-cond",
            "-no-notification",
        )
    },
    # metadata only: accepted, nothing to compile
    "data-source/data-source-cloudwatch.yaml": [],
    "data-source/data-source.yaml": [],
    "service/service-long-description.yaml": [],
    "service/service-no-displayname.yaml": [],
    "service/service-with-labels.yaml": [],
    "service/service.yaml": [],
    "invalid-apiversion.yaml": ["1:13 apiVersion"],
    "multi.yaml": ["31:13 " + _TYPE.format("thresholdMetric")],
    "sli/sli-description-ratio-bad-inline-metricsource.yaml": ["12:15 " + _TYPE.format("ratioMetric.bad")],
    "sli/sli-description-ratio-bad-metricsourceref.yaml": ["15:18 spec.ratioMetric.bad.metricSource.spec.query"],
    "sli/sli-description-ratio-good-inline-metricsource.yaml": ["12:15 " + _TYPE.format("ratioMetric.good")],
    "sli/sli-description-ratio-good-metricsourceref.yaml": ["15:18 spec.ratioMetric.good.metricSource.spec.query"],
    "sli/sli-description-ratio-inline-metricsource.yaml": ["9:5 spec.ratioMetric"],
    "sli/sli-description-threshold-inline-metricsource.yaml": ["10:13 " + _TYPE.format("thresholdMetric")],
    "sli/sli-description-threshold-metricsourceref.yaml": ["10:24 spec.thresholdMetric.metricSource.metricSourceRef"],
    "sli/sli-no-description-ratio-bad-inline-metricsource.yaml": ["11:15 " + _TYPE.format("ratioMetric.bad")],
    "sli/sli-no-description-ratio-bad-metricsourceref.yaml": ["14:18 spec.ratioMetric.bad.metricSource.spec.query"],
    "sli/sli-no-description-ratio-good-inline-metricsource.yaml": ["11:15 " + _TYPE.format("ratioMetric.good")],
    "sli/sli-no-description-ratio-good-metricsourceref.yaml": ["14:18 spec.ratioMetric.good.metricSource.spec.query"],
    "sli/sli-no-description-threshold-inline-metricsource.yaml": ["9:13 " + _TYPE.format("thresholdMetric")],
    "sli/sli-no-description-threshold-metricsourceref.yaml": ["9:24 spec.thresholdMetric.metricSource.metricSourceRef"],
    "sli/sli-ratio-good-and-bad.yaml": ["9:5 spec.ratioMetric"],
    "sli/sli-threshold-cloudwatch.yaml": ["10:13 " + _TYPE.format("thresholdMetric")],
    "slo/slo-indicatorRef-rolling-cloudwatch.yaml": ["8:17 spec.indicatorRef"],
    "slo/slo-indicatorref-calendar-alerts.yaml": [
        "9:17 spec.indicatorRef",
        "13:9 spec.timeWindow[0].calendar",
        "21:5 spec.alertPolicies",
    ],
    "slo/slo-indicatorref-calendar-no-alerts.yaml": [
        "9:17 spec.indicatorRef",
        "13:9 spec.timeWindow[0].calendar",
    ],
    "slo/slo-indicatorref-rolling-alerts.yaml": [
        "9:17 spec.indicatorRef",
        "18:5 spec.alertPolicies",
    ],
    "slo/slo-indicatorref-rolling-no-alerts.yaml": ["9:17 spec.indicatorRef"],
    "slo/slo-no-indicatorref-calendar-alerts.yaml": [
        "19:19 " + _TYPE.format("indicator.spec.ratioMetric.good"),
        "31:9 spec.timeWindow[0].calendar",
        "39:5 spec.alertPolicies",
    ],
    "slo/slo-no-indicatorref-calendar-no-alerts.yaml": [
        "19:19 " + _TYPE.format("indicator.spec.ratioMetric.good"),
        "31:9 spec.timeWindow[0].calendar",
    ],
    "slo/slo-no-indicatorref-rolling-alerts.yaml": [
        "19:19 " + _TYPE.format("indicator.spec.ratioMetric.good"),
        "29:17 spec.timeWindow[0].duration",
        "36:5 spec.alertPolicies",
    ],
    "slo/slo-no-indicatorref-rolling-no-alerts.yaml": [
        "19:19 " + _TYPE.format("indicator.spec.ratioMetric.good"),
        "29:17 spec.timeWindow[0].duration",
    ],
    "slo/slo-with-annotations.yaml": ["9:5 spec.indicator"],
    "slo/slo-with-labels.yaml": ["16:5 spec.indicator"],
}


def test_openslo_examples_are_all_listed(openslo_examples: Path) -> None:
    found = {str(p.relative_to(openslo_examples)) for p in openslo_examples.rglob("*.yaml")}
    assert found == set(OPENSLO_EXPECTED)


@pytest.mark.parametrize("name", sorted(OPENSLO_EXPECTED))
def test_openslo_example_errors(openslo_examples: Path, name: str) -> None:
    # Each file alone: they are separate test inputs and reuse names (GreatSLI) across files.
    assert errors_of([openslo_examples / name]) == OPENSLO_EXPECTED[name]


def test_sloth_openslo_v1alpha_examples_are_reported(sloth_examples: Path) -> None:
    with pytest.raises(InputErrors) as exc:
        load_paths([str(sloth_examples / "openslo-getting-started.yml")])
    assert [e.message for e in exc.value.errors] == [
        "unsupported OpenSLO version 'openslo/v1alpha'; only openslo/v1 is imported"
    ]


# --- our own small corpus: everything supported, through promtool ------------------


def test_golden_importer_corpus_compiles(tmp_path: Path, promtool: Path) -> None:
    assert prove([GOLDEN], tmp_path / "build", promtool) == 6


def test_openslo_translation() -> None:
    (svc,) = load_paths([str(GOLDEN / "openslo")])
    spec = svc.spec
    assert (spec.service, spec.stack, spec.team) == ("checkout", "shop", "payments")
    by_name = {s.name: s for s in spec.slos}
    avail = by_name["availability"]
    assert avail.period == "28d" and [str(o.target) for o in avail.objectives] == ["99.9"]
    assert avail.sli.model_dump() == {
        "kind": "ratio",
        "bad": 'http_requests_total{job="checkout",code=~"5.."}',
        "good": None,
        "total": 'http_requests_total{job="checkout"}',
    }
    assert avail.alerting.labels == {"tier_name": "gold"}
    cpu = by_name["cpu"]
    assert cpu.budgeting == "timeslices" and cpu.period == "7d"
    assert (cpu.sli.kind, cpu.sli.op, str(cpu.sli.value)) == ("threshold", "<", "0.8")
    latency = by_name["latency"]
    assert [(o.name, str(o.target)) for o in latency.objectives] == [("p95", "95"), ("p99", "99")]


def test_sloth_translation() -> None:
    (svc,) = load_paths([str(GOLDEN / "sloth")])
    spec = svc.spec
    assert (spec.service, spec.stack, spec.team) == ("cart", "shop", "checkout")
    assert spec.labels == {"owner": "checkout", "repo": "shop/cart"}
    avail, latency = spec.slos
    assert avail.sli.model_dump()["bad"] == ('sum(rate(http_requests_total{job="cart",code=~"(5..|429)"}[{{window}}]))')
    assert avail.period == "30d"
    assert avail.alerting.labels == {
        "category": "availability",
        "routing_key": "checkout",
        "sloth_alert_name": "CartHighErrorRate",
    }
    assert avail.alerting.annotations == {"summary": "High error rate on cart requests"}
    assert latency.alerting.tiers == {"ticket-fast": False, "ticket-slow": False}


# --- exact messages for small cases --------------------------------------------------

_SLOTH_HEAD = 'version: "prometheus/v1"\nservice: svc\nslos:\n  - name: a\n    objective: 99\n'
_EVENTS = (
    "    sli:\n      events:\n"
    "        error_query: sum(rate(e[{{.window}}]))\n"
    "        total_query: sum(rate(t[{{.window}}]))\n"
)
_OS_SLO = (
    "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: a\nspec:\n  service: svc\n"
    "  indicatorRef: {ref}\n  timeWindow:\n    - duration: {duration}\n      isRolling: {rolling}\n"
    "  budgetingMethod: {budgeting}\n  objectives:\n    - target: 0.99\n"
)
_OS_SLI = (
    "---\napiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: errs\nspec:\n  ratioMetric:\n"
    "    counter: true\n    bad:\n      metricSource:\n        type: {type}\n        spec:\n"
    "          query: {query}\n    total:\n      metricSource:\n        type: Prometheus\n"
    "        spec:\n          query: t\n"
)


def _os(
    ref: str = "errs",
    duration: str = "28d",
    rolling: str = "true",
    budgeting: str = "Occurrences",
    type: str = "Prometheus",
    query: str = "e",
) -> str:
    return _OS_SLO.format(ref=ref, duration=duration, rolling=rolling, budgeting=budgeting) + _OS_SLI.format(
        type=type, query=query
    )


CASES = [
    pytest.param(
        _SLOTH_HEAD + "    sli:\n      raw:\n        error_ratio_query: 1 - avg(up)\n",
        "f.yaml:8:9: slos[0].sli.raw: unsupported: raw SLI (error_ratio_query): a ratio cannot be "
        "weighted by traffic across windows; write it as events (error_query and total_query)",
        id="sloth-raw",
    ),
    pytest.param(
        _SLOTH_HEAD + "    sli:\n      plugin:\n        id: sloth-common/availability\n",
        "f.yaml:8:9: slos[0].sli.plugin: unsupported: SLI plugin 'sloth-common/availability': "
        "Sloth plugins are Go code; write the SLI as events (error_query and total_query)",
        id="sloth-plugin",
    ),
    pytest.param(
        _SLOTH_HEAD + "    sli:\n      events:\n        error_query: e\n"
        "        total_query: sum(rate(t[{{.window}}]))\n",
        "f.yaml:8:22: slos[0].sli.events.error_query: unsupported: a query without {{.window}}; "
        "swarm-slo evaluates it at its own windows, so it must contain the {{.window}} placeholder",
        id="sloth-no-window",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      page_alert:\n        labels:\n          severity: critical\n",
        "f.yaml:13:21: slos[0].alerting.page_alert.labels.severity: unsupported: severity "
        "'critical': swarm-slo labels page alerts severity=\"page\" and ticket alerts "
        'severity="ticket"; route on those and remove this label',
        id="sloth-severity",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      labels:\n        slo: x\n",
        "f.yaml:12:9: slos[0].alerting.labels.slo: label 'slo' is set by swarm-slo and cannot be overridden",
        id="sloth-reserved-label",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    objectiv: 99\n",
        "f.yaml:10:5: slos[0].objectiv: unknown Sloth field 'objectiv' (expected one of: name, "
        "objective, description, labels, sli, alerting, plugins)",
        id="sloth-unknown-field",
    ),
    pytest.param(
        _os(ref="nope"),
        "f.yaml:7:17: spec.indicatorRef: SLI 'nope' not found: no OpenSLO SLI document of that name in the files given",
        id="openslo-missing-sli",
    ),
    pytest.param(
        _os(type="Datadog"),
        "f.yaml:24:15: spec.ratioMetric.bad.metricSource.type: unsupported metric source type "
        "'Datadog': only Prometheus is imported",
        id="openslo-datadog",
    ),
    pytest.param(
        _os(rolling="false"),
        "f.yaml:10:18: spec.timeWindow[0].isRolling: unsupported: calendar time windows; "
        "swarm-slo's periods are rolling (isRolling: true)",
        id="openslo-calendar",
    ),
    pytest.param(
        _os(duration="1M"),
        "f.yaml:9:17: spec.timeWindow[0].duration: unsupported: duration '1M'; the period must "
        "be whole days, like 28d (months, quarters and years are calendar units)",
        id="openslo-month",
    ),
    pytest.param(
        _os(budgeting="RatioTimeslices"),
        "f.yaml:11:20: spec.budgetingMethod: unsupported: RatioTimeslices (the mean of "
        "per-slice ratios); use Occurrences or Timeslices",
        id="openslo-ratio-timeslices",
    ),
    pytest.param(
        _os(query="sum(e)"),
        "f.yaml:26:18: spec.ratioMetric.bad.metricSource.spec.query: unsupported: a counter "
        'query must be a series selector like http_requests_total{code=~"5.."} (swarm-slo '
        "applies sum(rate(...)) itself), or PromQL with {{window}}",
        id="openslo-counter-expression",
    ),
    pytest.param(
        _os().replace("service: svc", "service: bad name"),
        "f.yaml:6:12: spec.service: 'bad name' is not a valid name: use letters, digits, '.', "
        "'_' and '-', starting and ending with a letter or digit",
        id="openslo-validation-after-translation",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_located_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.yaml").write_text(text)
    with pytest.raises(InputErrors) as exc:
        load_paths(["f.yaml"])
    assert [str(e) for e in exc.value.errors] == [expected]


def test_openslo_sli_in_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    slo, sli = _os().split("---\n")
    Path("slo.yaml").write_text(slo)
    Path("sli.yaml").write_text(sli.replace("query: e", "query: e)"))
    with pytest.raises(InputErrors) as exc:
        load_paths(["."])
    (err,) = exc.value.errors
    assert (err.file, err.line, err.field) == (
        "./sli.yaml",
        12,
        "spec.ratioMetric.bad.metricSource.spec.query",
    )
    Path("sli.yaml").write_text(sli)
    (svc,) = load_paths(["."])
    assert svc.spec.slos[0].sli.model_dump()["bad"] == "e"
