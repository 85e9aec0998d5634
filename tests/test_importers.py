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
    services = {(u.service.stack, u.service.service) for u in bundle.units}
    assert result.rule_files == len(services) + 1 > 1  # one rule file per service, and the Swarm cluster rules
    assert result.test_files > 0
    return len(bundle.units)


def warnings_of(paths: list[Path]) -> list[str]:
    bundle = build([str(p) for p in paths], CompileOptions())
    return [f"{w.line}:{w.column} {w.field}" for w in bundle.warnings]


# --- upstream Sloth examples -------------------------------------------------------

# Every example whose SLI is `events` compiles unchanged: with the units listed here and
# the located warnings (renamed labels, plugins without effect on our rules), through
# both promtools.
_SEV = "slos[{}].alerting.{}.labels.severity"
_PAGE_TICKET = [_SEV.format(0, "page_alert"), _SEV.format(0, "ticket_alert")]
SLOTH_COMPILES: dict[str, tuple[int, list[str]]] = {
    "no-alerts.yml": (1, []),
    "getting-started.yml": (1, ["6:3 labels.tier", f"25:11 {_PAGE_TICKET[0]}", f"29:11 {_PAGE_TICKET[1]}"]),
    "contrib-slo-plugins.yml": (
        2,
        [
            "6:3 labels.tier",
            "14:15 slos[0].plugins.chain[0].id",
            f"33:11 {_PAGE_TICKET[0]}",
            f"37:11 {_PAGE_TICKET[1]}",
            "45:15 slos[1].plugins.chain[0].id",
            "62:11 " + _SEV.format(1, "page_alert"),
            "66:11 " + _SEV.format(1, "ticket_alert"),
        ],
    ),
    **{
        name: (
            2,
            [
                f"{lines[0]}:11 {_PAGE_TICKET[0]}",
                f"{lines[1]}:11 {_PAGE_TICKET[1]}",
                f"{lines[2]}:11 " + _SEV.format(1, "page_alert"),
                f"{lines[3]}:11 " + _SEV.format(1, "ticket_alert"),
            ],
        )
        for name, lines in (("home-wifi.yml", (40, 43, 56, 59)), ("kubernetes-apiserver.yml", (43, 46, 70, 73)))
    },
    "multifile.yml": (
        2,
        [
            "7:3 labels.tier",
            f"26:11 {_PAGE_TICKET[0]}",
            f"30:11 {_PAGE_TICKET[1]}",
            "39:3 labels.tier",
            f"58:11 {_PAGE_TICKET[0]}",
            f"62:11 {_PAGE_TICKET[1]}",
        ],
    ),
    "slo-plugin-getting-started.yml": (
        1,
        [
            "6:3 labels.tier",
            "9:11 slo_plugins.chain[0].id",
            "12:11 slo_plugins.chain[1].id",
            *(f"{line}:15 slos[0].plugins.chain[{i}].id" for i, line in enumerate((23, 26, 29, 32, 35))),
            f"51:11 {_PAGE_TICKET[0]}",
            f"55:11 {_PAGE_TICKET[1]}",
        ],
    ),
    "k8s-getting-started.yml": (
        1,
        [
            "16:5 spec.labels.tier",
            "33:13 spec.slos[0].alerting.pageAlert.labels.severity",
            "37:13 spec.slos[0].alerting.ticketAlert.labels.severity",
        ],
    ),
    "k8s-home-wifi.yml": (
        2,
        [
            "33:13 spec.slos[0].alerting.pageAlert.labels.severity",
            "36:13 spec.slos[0].alerting.ticketAlert.labels.severity",
            "49:13 spec.slos[1].alerting.pageAlert.labels.severity",
            "52:13 spec.slos[1].alerting.ticketAlert.labels.severity",
        ],
    ),
    "k8s-multifile.yml": (
        2,
        [
            "17:5 spec.labels.tier",
            "34:13 spec.slos[0].alerting.pageAlert.labels.severity",
            "38:13 spec.slos[0].alerting.ticketAlert.labels.severity",
            "51:5 spec.labels.tier",
            "68:13 spec.slos[0].alerting.pageAlert.labels.severity",
            "72:13 spec.slos[0].alerting.ticketAlert.labels.severity",
        ],
    ),
    "slo-plugin-k8s-getting-started.yml": (
        1,
        [
            "16:5 spec.labels.tier",
            "19:13 spec.sloPlugins.chain[0].id",
            "22:13 spec.sloPlugins.chain[1].id",
            *(f"{line}:17 spec.slos[0].plugins.chain[{i}].id" for i, line in enumerate((31, 34, 37, 40, 43))),
            "57:13 spec.slos[0].alerting.pageAlert.labels.severity",
            "61:13 spec.slos[0].alerting.ticketAlert.labels.severity",
        ],
    ),
}
# The others are reported, each at the lines listed.
SLOTH_REPORTED: dict[str, list[str]] = {
    # events, but a plugin that changes the SLI's math: the one events example that does not compile
    "contrib-denominator-corrected.yaml": ["12:13 spec.sloPlugins.chain[0].id"],
    "openslo-getting-started.yml": ["6:13 apiVersion"],
    "openslo-kubernetes-apiserver.yml": ["8:13 apiVersion", "34:13 apiVersion"],
    "plugin-getting-started.yml": ["14:9 slos[0].sli.plugin"],
    "plugin-k8s-getting-started.yml": ["28:11 spec.slos[0].sli.plugin"],
    "raw-home-wifi.yml": ["28:9 slos[0].sli.raw"],
    "victoria-metrics.yml": [  # VictoriaMetrics' MetricsQL, not PromQL
        "12:11 slo_plugins.chain[0].id",
        "27:20 slos[0].sli.events.error_query",
        "28:20 slos[0].sli.events.total_query",
        "44:20 slos[1].sli.events.error_query",
        "45:20 slos[1].sli.events.total_query",
    ],
    "windows/7d.yaml": ["2:7 kind"],
    "windows/custom-30d.yaml": ["2:7 kind"],
}


def test_sloth_examples_are_all_listed(sloth_examples: Path) -> None:
    found = {
        str(p.relative_to(sloth_examples))
        for pattern in ("*.yml", "*.yaml", "windows/*.yaml")
        for p in sloth_examples.glob(pattern)
    }
    assert found == set(SLOTH_COMPILES) | set(SLOTH_REPORTED)
    assert not set(SLOTH_COMPILES) & set(SLOTH_REPORTED)


@pytest.mark.parametrize("name", sorted(SLOTH_COMPILES))
def test_sloth_examples_compile_unchanged(sloth_examples: Path, name: str, tmp_path: Path, promtool: Path) -> None:
    units, warnings = SLOTH_COMPILES[name]
    assert warnings_of([sloth_examples / name]) == warnings
    assert prove([sloth_examples / name], tmp_path / "build", promtool) == units


@pytest.mark.parametrize("name", sorted(SLOTH_REPORTED))
def test_sloth_example_errors(sloth_examples: Path, name: str) -> None:
    assert errors_of([sloth_examples / name]) == SLOTH_REPORTED[name]


def test_sloth_example_warnings_and_mapping(sloth_examples: Path) -> None:
    bundle = build([str(sloth_examples / "getting-started.yml")], CompileOptions())
    severity = (
        "label 'severity' renamed to 'sloth_severity': swarm-slo sets severity=\"page\" or \"ticket\" on "
        "its alerts and Alertmanager routes on it"
    )
    assert [w.message for w in bundle.warnings] == [
        "label 'tier' renamed to 'sloth_tier': swarm-slo sets tier on its alerts (page-fast, page-slow, "
        "ticket-fast, ticket-slow, no-data, budget)",
        severity,
        severity,
    ]
    (svc,) = bundle.services
    assert svc.spec.labels == {"owner": "myteam", "repo": "myorg/myservice", "sloth_tier": "2"}
    alerting = svc.spec.slos[0].alerting
    assert alerting.labels == {"category": "availability", "sloth_alert_name": "MyServiceHighErrorRate"}
    assert alerting.page.labels == {"routing_key": "myteam", "sloth_severity": "pageteam"}
    assert alerting.ticket.labels == {"slack_channel": "#alerts-myteam", "sloth_severity": "slack"}


def test_sloth_plugin_messages(sloth_examples: Path) -> None:
    bundle = build([str(sloth_examples / "contrib-slo-plugins.yml")], CompileOptions())
    plugins = [w.message for w in bundle.warnings if "plugin" in w.message]
    assert plugins == [
        "Sloth plugin 'sloth.dev/contrib/info_labels/v1' not imported: its labels go on Sloth's "
        "sloth_slo_info series, which swarm-slo does not record",
        "Sloth plugin 'sloth.dev/contrib/rule_intervals/v1' not imported: swarm-slo's rule groups are "
        "evaluated at Prometheus' evaluation_interval (set `--rate-window` to it)",
    ]
    with pytest.raises(InputErrors) as exc:
        load_paths([str(sloth_examples / "contrib-denominator-corrected.yaml")])
    assert [e.message for e in exc.value.errors] == [
        "unsupported: Sloth plugin 'sloth.dev/contrib/denominator_corrected_rules/v1': it scales "
        "Sloth's error ratios by the window's share of the period's traffic, which swarm-slo does not "
        "compute (alerting.min_events guards low-traffic SLOs instead); remove it"
    ]
    with pytest.raises(InputErrors) as exc:
        load_paths([str(sloth_examples / "victoria-metrics.yml")])
    assert exc.value.errors[0].message == (
        "unsupported: Sloth plugin 'sloth.dev/contrib/validate_victoria_metrics/v1': it is for "
        "VictoriaMetrics' MetricsQL; swarm-slo compiles PromQL for Prometheus"
    )


def test_sloth_denominator_example_compiles_without_its_plugin(
    sloth_examples: Path, tmp_path: Path, promtool: Path
) -> None:
    (doc,) = yaml.safe_load_all((sloth_examples / "contrib-denominator-corrected.yaml").read_text())
    del doc["spec"]["sloPlugins"]
    fixed = tmp_path / "in" / "contrib-denominator-corrected.yaml"
    fixed.parent.mkdir()
    fixed.write_text(yaml.safe_dump(doc))
    assert prove([fixed], tmp_path / "build", promtool) == 1
    (svc,) = load_paths([str(fixed)])
    alerting = svc.spec.slos[0].alerting
    assert (alerting.page.labels, alerting.ticket.labels) == ({"alert03k1": "alert03v1"}, {"alert04k1": "alert04v1"})


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
    "sli/sli-description-ratio-bad-metricsourceref.yaml": [],
    "sli/sli-description-ratio-good-inline-metricsource.yaml": ["12:15 " + _TYPE.format("ratioMetric.good")],
    "sli/sli-description-ratio-good-metricsourceref.yaml": [],
    "sli/sli-description-ratio-inline-metricsource.yaml": ["9:5 spec.ratioMetric"],
    "sli/sli-description-threshold-inline-metricsource.yaml": ["10:13 " + _TYPE.format("thresholdMetric")],
    "sli/sli-description-threshold-metricsourceref.yaml": ["10:24 spec.thresholdMetric.metricSource.metricSourceRef"],
    "sli/sli-no-description-ratio-bad-inline-metricsource.yaml": ["11:15 " + _TYPE.format("ratioMetric.bad")],
    "sli/sli-no-description-ratio-bad-metricsourceref.yaml": [],
    "sli/sli-no-description-ratio-good-inline-metricsource.yaml": ["11:15 " + _TYPE.format("ratioMetric.good")],
    "sli/sli-no-description-ratio-good-metricsourceref.yaml": [],
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


# The upstream files with a Prometheus source: their SLI (GreatSLI, whose counter queries are
# `sum(selector)`) compiles once an SLO names it; oslo has no such SLO of its own.
OPENSLO_PROMETHEUS_SLIS = sorted(
    f for f, errors in OPENSLO_EXPECTED.items() if f.endswith("-metricsourceref.yaml") and not errors
)
_GREAT_SLO = (
    "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: great\nspec:\n  service: tv-show\n"
    "  indicatorRef: GreatSLI\n  timeWindow:\n    - duration: 28d\n      isRolling: true\n"
    "  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.98\n"
)


def test_openslo_prometheus_slis_are_listed() -> None:
    assert len(OPENSLO_PROMETHEUS_SLIS) == 4


@pytest.mark.parametrize("name", OPENSLO_PROMETHEUS_SLIS)
def test_openslo_prometheus_sli_compiles(openslo_examples: Path, name: str, tmp_path: Path, promtool: Path) -> None:
    slo = tmp_path / "in" / "slo.yaml"
    slo.parent.mkdir()
    slo.write_text(_GREAT_SLO)
    assert prove([openslo_examples / name, slo], tmp_path / "build", promtool) == 1
    (svc,) = load_paths([str(openslo_examples / name), str(slo)])
    sli = svc.spec.slos[0].sli.dump()
    part = "bad" if "-bad-" in name else "good"
    assert sli[part] == 'localhost_server_requests{code=~"2xx|3xx",host="*",instance="127.0.0.1:9090"}'
    assert sli["total"] == 'localhost_server_requests{code="total",host="*",instance="127.0.0.1:9090"}'


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
    assert avail.sli.dump() == {
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
    assert avail.sli.dump()["bad"] == ('sum(rate(http_requests_total{job="cart",code=~"(5..|429)"}[{{window}}]))')
    assert avail.period == "30d"
    assert avail.alerting.labels == {"category": "availability", "sloth_alert_name": "CartHighErrorRate"}
    assert avail.alerting.page.labels == {"routing_key": "checkout"}  # severity: page, ours, is dropped
    assert avail.alerting.ticket.labels == {"slack_channel": "#checkout"}
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
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      labels:\n        slo: x\n        sloth_slo: y\n",
        "f.yaml:12:9: slos[0].alerting.labels.slo: label 'slo' is set by swarm-slo, and 'sloth_slo' is "
        "taken: rename it",
        id="sloth-reserved-label-rename-taken",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    plugins:\n      chain:\n        - id: my/plugin\n",
        "f.yaml:12:15: slos[0].plugins.chain[0].id: unsupported: Sloth plugin 'my/plugin': Sloth SLO "
        "plugins are Go code run by Sloth and change its rules; they are not imported",
        id="sloth-unknown-plugin",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    plugins:\n      overridePrevious: true\n      chain:\n"
        "        - id: sloth.dev/core/debug/v1\n",
        "f.yaml:11:25: slos[0].plugins.overridePrevious: unsupported: overridePrevious without "
        "'sloth.dev/core/sli_rules/v1': Sloth would not generate those rules, and swarm-slo always "
        "generates its rules",
        id="sloth-override-previous",
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
        _os(query="sum(rate(e[5m]))"),
        "f.yaml:26:18: spec.ratioMetric.bad.metricSource.spec.query: unsupported: a counter "
        'query must be a series selector like http_requests_total{code=~"5.."}, or its sum, like '
        "sum(http_requests_total) (swarm-slo applies sum(rate(...)) itself), or PromQL with {{window}}",
        id="openslo-counter-expression",
    ),
    pytest.param(
        _os(query="'sum(e offset 1m)'"),
        "f.yaml:26:18: spec.ratioMetric.bad.metricSource.spec.query: unsupported: a counter "
        'query must be a series selector like http_requests_total{code=~"5.."}, or its sum, like '
        "sum(http_requests_total) (swarm-slo applies sum(rate(...)) itself), or PromQL with {{window}} "
        "(offset and @ are not allowed in an SLI selector)",
        id="openslo-counter-offset",
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


_SEVERITY_WHY = 'swarm-slo sets severity="page" or "ticket" on its alerts and Alertmanager routes on it'
WARNING_CASES = [
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      page_alert:\n        labels:\n          severity: critical\n",
        [
            f"f.yaml:13:11: slos[0].alerting.page_alert.labels.severity: label 'severity' renamed to "
            f"'sloth_severity': {_SEVERITY_WHY}"
        ],
        {"page": {"labels": {"sloth_severity": "critical"}, "annotations": {}}},
        id="sloth-severity",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      page_alert:\n        labels:\n          severity: page\n"
        "      ticket_alert:\n        annotations:\n          runbook: r\n",
        [],
        {"ticket": {"labels": {}, "annotations": {"runbook": "r"}}},
        id="sloth-our-severity-dropped",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    alerting:\n      labels:\n        slo: x\n",
        ["f.yaml:12:9: slos[0].alerting.labels.slo: label 'slo' renamed to 'sloth_slo': swarm-slo sets 'slo' itself"],
        {"labels": {"sloth_slo": "x"}},
        id="sloth-reserved-label",
    ),
    pytest.param(
        _SLOTH_HEAD + _EVENTS + "    plugins:\n      chain:\n        - id: sloth.dev/core/noop/v1\n",
        [
            "f.yaml:12:15: slos[0].plugins.chain[0].id: Sloth plugin 'sloth.dev/core/noop/v1' not imported: "
            "it does nothing"
        ],
        {},
        id="sloth-noop-plugin",
    ),
    pytest.param(
        _os(duration="30d", query="'sum by (code) (e{job=\"a\"})'"),
        [
            "f.yaml:26:18: spec.ratioMetric.bad.metricSource.spec.query: `by (code)` dropped: an SLI is one "
            'series of events, and swarm-slo counts them as sum(rate(e{job="a"}[window]))'
        ],
        {},
        id="openslo-sum-by",
    ),
]


@pytest.mark.parametrize(("text", "expected", "alerting"), WARNING_CASES)
def test_located_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: list[str], alerting: dict[str, Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.yaml").write_text(text)
    bundle = build(["f.yaml"], CompileOptions())
    assert [str(w) for w in bundle.warnings] == expected
    dumped = bundle.services[0].spec.slos[0].alerting.dump()
    assert {k: dumped[k] for k in alerting} == alerting


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
    assert svc.spec.slos[0].sli.dump()["bad"] == "e"
