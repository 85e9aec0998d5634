"""Dashboards: the strict Grafana schema, every panel query on synthetic series with the bundle's
own rules (promtool), the unknown-series check, stable ids and the correction layer."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, ROOT, current_promtool, grafana_schema

from dashboards.check import unknown_series
from dashboards.ids import dashboard_uid
from dashboards.modernize import SCHEMA_VERSION, modernize
from dashboards.queries import PanelQuery, panel_queries
from slo import naming
from slo.bundle import Bundle, build
from slo.compile.rules import CompileOptions
from slo.compile.units import Unit
from slo.duration import format_decimal

GOLDEN_KINDS = ROOT / "tests" / "golden" / "build" / "kinds" / "input"
CASES = {"shop": EXAMPLES, "kinds": GOLDEN_KINDS}


def _bundle(case: str) -> Bundle:
    return build([str(CASES[case])], CompileOptions())


def _write(files: dict[str, str], root: Path) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_dashboard_passes_the_grafana_schema(case: str, tmp_path: Path) -> None:
    files = _bundle(case).files
    _write(files, tmp_path)
    dashboards = sorted(str(tmp_path / p) for p in files if p.startswith("grafana/dashboards/"))
    assert len(dashboards) >= 2
    proc = subprocess.run([grafana_schema(), *dashboards], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for d in dashboards:
        assert json.loads(Path(d).read_text())["schemaVersion"] == SCHEMA_VERSION


def test_the_schema_checker_rejects_what_grafanalib_writes(tmp_path: Path) -> None:
    """The checker can fail: grafanalib's raw output (before our corrections) does not pass."""
    from grafanalib._gen import DashboardEncoder

    from dashboards.service import service_dashboard

    bundle = _bundle("shop")
    raw = service_dashboard(bundle.by_service[0], bundle.options).to_json_data()
    (tmp_path / "raw.json").write_text(json.dumps(raw, cls=DashboardEncoder))
    proc = subprocess.run([grafana_schema(), tmp_path / "raw.json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "unexpected field 'rows'" in proc.stdout
    assert "cannot unmarshal string into Go struct field" in proc.stdout  # the "null" threshold


# What each panel query must return when every objective runs at half its error budget:
# error ratio x = budget / 2 in every window. Keyed by (panel title, refId).
HALF = Decimal("0.5")


def _expected(u: Unit) -> dict[tuple[str, str], Decimal]:
    x = u.budget * HALF
    out = {
        ("SLI over the period", "A"): 1 - x,
        ("Error budget left", "A"): HALF,
        ("Budget left this month", "A"): HALF,
        ("Burn rate over the period", "A"): HALF,
        ("Alerts firing", "A"): Decimal(0),
        ("SLI against the objective", "A"): 1 - x,
        ("SLI against the objective", "B"): u.target / 100,
        ("Error budget", "A"): HALF,
        ("Error budget", "B"): HALF,
    }
    for active in u.tiers:
        title = f"Burn rate, {active.tier.id} ({format_decimal(active.factor)}x)"
        out[(title, "A")] = HALF
        out[(title, "B")] = HALF
    return out


def _labels(q: PanelQuery, expr: str, u: Unit) -> dict[str, str]:
    if expr.startswith("count("):
        return {}
    if expr.startswith("slo:"):  # a bare selector keeps its name
        return {"__name__": expr.split("{")[0], **u.labels}
    return dict(u.labels)


def _inputs(units: list[Unit]) -> list[dict[str, str]]:
    series = []
    for u in units:
        bad = Decimal(10) * u.budget * HALF
        series.append(
            {"series": naming.windowed(naming.BAD_RATE, u.rate_window) + u.label_selector, "values": f"{bad}+0x240"}
        )
        series.append(
            {"series": naming.windowed(naming.TOTAL_RATE, u.rate_window) + u.label_selector, "values": "10+0x240"}
        )
    return series


def _sample(labels: dict[str, str], value: Decimal) -> dict[str, Any]:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"labels": "{" + body + "}", "value": float(value)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_panel_query_parses_in_both_prometheus_versions(case: str, promtool: Path, tmp_path: Path) -> None:
    """Each query as a recording rule: `promtool check rules` parses it (2.42 and 3.x)."""
    files = _bundle(case).files
    rules = [
        {"record": f"panel:query_{i}:check", "expr": q.substituted()}
        for i, q in enumerate(
            q
            for p, t in sorted(files.items())
            if p.startswith("grafana/dashboards/")
            for q in panel_queries(json.loads(t))
        )
    ]
    (tmp_path / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    proc = subprocess.run(
        [promtool, "check", "rules", tmp_path / "panels.yml"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_panel_query_returns_the_expected_value(case: str, tmp_path: Path) -> None:
    """promtool evaluates the bundle's own rules over synthetic SLI series, then every query of
    every dashboard (template variables substituted) and compares with the arithmetic.
    (Prometheus 3.x: 2.42 compares floats exactly, and 0.5 comes out as 0.5000000000000001.)"""
    # Without the Swarm alerts: with no exporter series, SwarmExporterAbsent would fire and
    # count among the overview's tickets.
    bundle = build([str(CASES[case])], CompileOptions(swarm_alerts=False))
    files = bundle.files
    _write(files, tmp_path)
    rule_files = sorted(p for p in files if p.startswith("prometheus/rules/"))
    by_uid: dict[str, list[Unit]] = {}
    for units in bundle.by_service:
        svc = units[0].service
        by_uid[dashboard_uid("slo", svc.stack, svc.service)] = units
    tests: list[dict[str, Any]] = []
    checked = 0
    for path in sorted(p for p in files if p.startswith("grafana/dashboards/")):
        dashboard = json.loads(files[path])
        if dashboard["uid"].startswith("swarm-"):
            continue  # test_swarm_dashboard_queries feeds exporter series
        for q in panel_queries(dashboard):
            expr = q.substituted()
            if dashboard["uid"] == "slo-overview":
                samples = _overview_samples(q, bundle.units)
            else:
                if q.panel.startswith("Top 5 "):  # reads the raw counters, absent here: the e2e test has them
                    samples = []
                else:
                    units = by_uid[dashboard["uid"]]
                    unit = next(u for u in units if u.identity_selector[1:-1] in q.expr)
                    samples = [_sample(_labels(q, expr, unit), _expected(unit)[(q.panel, q.ref)])]
            tests.append({"expr": expr, "eval_time": "4h", "exp_samples": samples})
            checked += 1
    doc = {
        "rule_files": [str(tmp_path / p) for p in rule_files],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _inputs(bundle.units), "promql_expr_test": tests}],
    }
    (tmp_path / "panels.test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [current_promtool(), "test", "rules", tmp_path / "panels.test.yml"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert checked >= 10 * len(bundle.by_service)


def _overview_samples(q: PanelQuery, units: list[Unit]) -> list[dict[str, Any]]:
    counts = {"SLOs": Decimal(len(units)), "Out of budget": Decimal(0), "Pages firing": Decimal(0)}
    counts["Tickets firing"] = Decimal(0)
    if q.panel in counts:
        return [_sample({}, counts[q.panel])]
    assert q.panel == "All SLOs", q.panel
    per_unit = {
        "A": lambda u: (u.target / 100, True),
        "B": lambda u: (1 - u.budget * HALF, False),
        "C": lambda u: (HALF, True),
        "D": lambda u: (HALF, True),
    }[q.ref]
    out = []
    for u in units:
        value, named = per_unit(u)
        labels = {"__name__": q.expr.split("{")[0], **u.labels} if named else dict(u.labels)
        out.append(_sample(labels, value))
    return out


def test_a_panel_reading_an_unrecorded_series_fails_the_check() -> None:
    files = _bundle("shop").files
    path = "grafana/dashboards/checkout/shop-api.json"
    rules = [t for p, t in files.items() if p.startswith("prometheus/rules/")]
    from dashboards.check import recorded_names

    produced = recorded_names(rules)
    assert unknown_series(files[path], path, produced) == []
    renamed = files[path].replace("slo:error_budget_remaining:ratio", "slo:error_budget_left:ratio")
    problems = unknown_series(renamed, path, produced)
    assert problems
    assert problems[0] == (
        f"{path}: panel 'Error budget left' query A reads slo:error_budget_left:ratio, which neither the bundle records nor the exporters of the stack publish"
    )


def test_slo_check_fails_on_a_dashboard_that_reads_an_unrecorded_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slo.cli import main

    out = tmp_path / "bundle"
    assert main(["build", str(EXAMPLES), "--out", str(out)]) == 0
    dash = out / "grafana" / "dashboards" / "SLOs" / "overview.json"
    dash.write_text(dash.read_text().replace("slo:objective:ratio", "slo:objective_typo:ratio"))
    capsys.readouterr()
    assert main(["check", str(out), "--output", "json"]) == 1
    failures = json.loads(capsys.readouterr().out)["failures"]
    assert any(
        "reads slo:objective_typo:ratio, which neither the bundle records nor the exporters of the stack publish" in f
        for f in failures
    )


def _ids_by_slo(text: str) -> tuple[str, dict[tuple[str, str], int]]:
    """The dashboard's uid and each panel's id, keyed by (its row's title, its title)."""
    data = json.loads(text)
    ids: dict[tuple[str, str], int] = {}
    row = ""
    for p in data["panels"]:
        row = p["title"] if p["type"] == "row" else row
        ids[(row, p["title"])] = p["id"]
    return data["uid"], ids


def test_panel_ids_and_uid_survive_removing_an_slo() -> None:
    from dashboards.files import service_dashboard_file

    bundle = _bundle("shop")
    api = bundle.by_service[0]
    assert len(api) >= 3
    uid_all, all_ids = _ids_by_slo(service_dashboard_file(api, bundle.options)[1])
    uid_rest, rest_ids = _ids_by_slo(service_dashboard_file(api[1:], bundle.options)[1])
    assert uid_all == uid_rest == "slo-shop-api"
    assert len(set(all_ids.values())) == len(all_ids)  # unique within the dashboard
    assert rest_ids == {k: v for k, v in all_ids.items() if k in rest_ids}
    assert len(rest_ids) < len(all_ids)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # grafanalib writes the base threshold as the string "null"; Grafana wants JSON null
        (
            {
                "fieldConfig": {
                    "defaults": {
                        "thresholds": {
                            "mode": "absolute",
                            "steps": [
                                {
                                    "color": "red",
                                    "index": 0,
                                    "value": "null",
                                    "op": "gt",
                                    "line": True,
                                    "yaxis": "left",
                                },
                                {"color": "green", "index": 1, "value": 0.99},
                            ],
                        }
                    }
                }
            },
            {
                "fieldConfig": {
                    "defaults": {
                        "thresholds": {
                            "mode": "absolute",
                            "steps": [{"color": "red", "value": None}, {"color": "green", "value": 0.99}],
                        }
                    }
                }
            },
        ),
        # fields current Grafana dropped
        ({"span": 6, "height": None, "minSpan": None, "error": False, "editable": True}, {}),
        # a panel link gets every field the schema requires
        (
            {"links": [{"title": "Runbook", "url": "r.md"}]},
            {
                "links": [
                    {
                        "title": "Runbook",
                        "url": "r.md",
                        "type": "link",
                        "icon": "external link",
                        "tooltip": "",
                        "tags": [],
                        "asDropdown": False,
                        "targetBlank": True,
                        "includeVars": False,
                        "keepTime": False,
                    }
                ]
            },
        ),
        # targets lose grafanalib's legacy fields
        (
            {"targets": [{"expr": "up", "refId": "A", "step": 10, "intervalFactor": 2, "target": "", "metric": ""}]},
            {"targets": [{"expr": "up", "refId": "A"}]},
        ),
    ],
)
def test_modernize_panel(before: dict[str, Any], after: dict[str, Any]) -> None:
    panel = {"type": "timeseries", "title": "t", **before}
    out = modernize({"panels": [panel]})["panels"][0]
    expected = {"type": "timeseries", "title": "t", "options": {}, "links": [], **after}
    if "fieldConfig" not in before:
        out.pop("fieldConfig", None)
    assert out == expected


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"rows": [], "style": "dark", "sharedCrosshair": False, "hideControls": False, "__inputs": []}, {}),
        ({"schemaVersion": 12}, {}),
        (
            {"timepicker": {"refresh_intervals": ["1m"], "time_options": ["5m"]}},
            {"timepicker": {"refresh_intervals": ["1m"]}},
        ),
    ],
)
def test_modernize_dashboard(before: dict[str, Any], after: dict[str, Any]) -> None:
    out = modernize({"title": "d", **before})
    assert out == {"title": "d", "schemaVersion": SCHEMA_VERSION, "panels": [], **after}


def test_row_keeps_only_row_fields() -> None:
    row = {"type": "row", "id": 1, "title": "r", "gridPos": {"h": 1}, "targets": [], "fieldConfig": {}, "links": []}
    assert modernize({"panels": [row]})["panels"][0] == {
        "type": "row",
        "id": 1,
        "title": "r",
        "gridPos": {"h": 1},
        "panels": [],
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_panel_has_a_description_unit_thresholds_and_the_datasource_variable(case: str) -> None:
    files = _bundle(case).files
    panels = 0
    for path, text in files.items():
        if not path.startswith("grafana/dashboards/"):
            continue
        dashboard = json.loads(text)
        assert dashboard["templating"]["list"][0]["name"] == "datasource"
        for p in dashboard["panels"]:
            if p["type"] == "row":
                continue
            panels += 1
            where = f"{path}: {p['title']}"
            assert p["description"], where
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            defaults = p["fieldConfig"]["defaults"]
            if p["type"] != "table":  # the table sets units per column
                assert defaults["unit"], where
            assert defaults["thresholds"]["steps"][0] == {
                "color": defaults["thresholds"]["steps"][0]["color"],
                "value": None,
            }, where
            assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"]), where
    assert panels >= 10


# The Swarm dashboards on synthetic exporter, cAdvisor and node-exporter series: two services
# (api 2 of 3 replicas, one unhealthy container, rolling back, restarting once a minute; web
# healthy), two nodes (h2 drained and down).
_API = 'service="shop_api",stack="shop"'
_WEB = 'service="shop_web",stack="shop"'
SWARM_SERIES = {
    f'swarm_service_info{{{_API},service_id="a",mode="replicated",image="api:1"}}': "1+0x120",
    f'swarm_service_info{{{_WEB},service_id="w",mode="replicated",image="web:1"}}': "1+0x120",
    f"swarm_service_replicas_desired{{{_API}}}": "3+0x120",
    f"swarm_service_replicas_running{{{_API}}}": "2+0x120",
    f"swarm_service_replicas_desired{{{_WEB}}}": "2+0x120",
    f"swarm_service_replicas_running{{{_WEB}}}": "2+0x120",
    f'swarm_service_tasks{{{_API},state="running"}}': "2+0x120",
    f'swarm_service_tasks{{{_API},state="failed"}}': "1+0x120",
    f'swarm_service_tasks{{{_WEB},state="running"}}': "2+0x120",
    f'swarm_task_container_health{{{_API},task="shop_api.1",task_id="t1",node_id="n1",health="healthy"}}': "1+0x120",
    f'swarm_task_container_health{{{_API},task="shop_api.2",task_id="t2",node_id="n1",health="unhealthy"}}': "1+0x120",
    f'swarm_task_container_health{{{_WEB},task="shop_web.1",task_id="t3",node_id="n1",health="healthy"}}': "1+0x120",
    f'swarm_service_update_state{{{_API},state="rollback_started"}}': "1+0x120",
    f'swarm_service_update_state{{{_API},state="completed"}}': "0+0x120",
    f'swarm_service_update_state{{{_WEB},state="completed"}}': "1+0x120",
    f'swarm_service_task_restarts_total{{{_API},reason="nonzero_exit"}}': "0+1x120",
    f"swarm_service_limit_cpu_cores{{{_API}}}": "0.5+0x120",
    f"swarm_service_limit_memory_bytes{{{_API}}}": "100000000+0x120",
    'container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_name="shop_api",id="/c1"}': "0+60x120",
    'container_memory_working_set_bytes{container_label_com_docker_swarm_service_name="shop_api",id="/c1"}': "50000000+0x120",
    'swarm_node_info{node_id="n1",hostname="h1",role="manager",engine_version="20.10.24",availability="active"}': "1+0x120",
    'swarm_node_info{node_id="n2",hostname="h2",role="worker",engine_version="20.10.24",availability="drain"}': "1+0x120",
    'swarm_node_state{node_id="n1",hostname="h1",state="ready"}': "1+0x120",
    'swarm_node_state{node_id="n2",hostname="h2",state="down"}': "1+0x120",
    'swarm_node_manager_reachability{node_id="n1",hostname="h1",reachability="reachable"}': "1+0x120",
    'node_cpu_seconds_total{instance="h1:9100",cpu="0",mode="idle"}': "0+45x120",
    'node_memory_MemAvailable_bytes{instance="h1:9100"}': "2000000000+0x120",
    'node_memory_MemTotal_bytes{instance="h1:9100"}': "8000000000+0x120",
    'node_filesystem_avail_bytes{instance="h1:9100",fstype="ext4",mountpoint="/"}': "10000000000+0x120",
    'node_filesystem_size_bytes{instance="h1:9100",fstype="ext4",mountpoint="/"}': "100000000000+0x120",
    'node_filesystem_avail_bytes{instance="h1:9100",fstype="tmpfs",mountpoint="/run"}': "1+0x120",
    'node_filesystem_size_bytes{instance="h1:9100",fstype="tmpfs",mountpoint="/run"}': "100+0x120",
}
_A = {"service": "shop_api", "stack": "shop"}
_W = {"service": "shop_web", "stack": "shop"}
_H1 = {"node_id": "n1", "hostname": "h1"}
SWARM_EXPECTED: dict[tuple[str, str], list[tuple[dict[str, str], float]]] = {
    ("Services", "A"): [({}, 2)],
    ("Below desired replicas", "A"): [({}, 1)],
    ("Unhealthy containers", "A"): [({}, 1)],
    ("Updates rolling back", "A"): [({}, 1)],
    ("Running and desired replicas", "A"): [
        ({"__name__": "swarm_service_replicas_running", **_A}, 2),
        ({"__name__": "swarm_service_replicas_running", **_W}, 2),
    ],
    ("Running and desired replicas", "B"): [
        ({"__name__": "swarm_service_replicas_desired", **_A}, 3),
        ({"__name__": "swarm_service_replicas_desired", **_W}, 2),
    ],
    ("Tasks by state", "A"): [({"state": "running"}, 4), ({"state": "failed"}, 1)],
    ("Container health", "A"): [({"health": "healthy"}, 2), ({"health": "unhealthy"}, 1)],
    ("Task restarts", "A"): [({**_A, "reason": "nonzero_exit"}, 60)],
    ("Update state", "A"): [
        ({"__name__": "swarm_service_update_state", **_A, "state": "rollback_started"}, 1),
        ({"__name__": "swarm_service_update_state", **_W, "state": "completed"}, 1),
    ],
    ("CPU used and limit", "A"): [
        ({"container_label_com_docker_swarm_service_name": "shop_api", "service": "shop_api"}, 1)
    ],
    ("CPU used and limit", "B"): [(_A, 1.5)],
    ("Memory used and limit", "A"): [
        ({"container_label_com_docker_swarm_service_name": "shop_api", "service": "shop_api"}, 5e7)
    ],
    ("Memory used and limit", "B"): [(_A, 3e8)],
    ("Nodes", "A"): [({}, 2)],
    ("Nodes not ready", "A"): [({}, 1)],
    ("Managers unreachable", "A"): [({}, 0)],
    ("Nodes drained or paused", "A"): [({}, 1)],
    ("Node state", "A"): [
        ({"__name__": "swarm_node_state", **_H1, "state": "ready"}, 1),
        ({"__name__": "swarm_node_state", "node_id": "n2", "hostname": "h2", "state": "down"}, 1),
    ],
    ("CPU busy", "A"): [({"instance": "h1:9100"}, 0.25)],
    ("Memory used", "A"): [({"instance": "h1:9100"}, 0.75)],
    ("Disk free", "A"): [({"instance": "h1:9100"}, 0.1)],
}


def test_swarm_dashboard_queries_return_the_expected_values(tmp_path: Path) -> None:
    files = _bundle("shop").files
    variables = {"$__rate_interval": "5m", "$stack": ".*", "$service": ".*"}
    tests, seen = [], set()
    for path in ("grafana/dashboards/Swarm/services.json", "grafana/dashboards/Swarm/nodes.json"):
        for q in panel_queries(json.loads(files[path])):
            expected = SWARM_EXPECTED[(q.panel, q.ref)]
            seen.add((q.panel, q.ref))
            samples = [_sample(labels, Decimal(str(value))) for labels, value in expected]
            tests.append({"expr": q.substituted(variables), "eval_time": "2h", "exp_samples": samples})
    assert seen == set(SWARM_EXPECTED)
    doc = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": k, "values": v} for k, v in SWARM_SERIES.items()],
                "promql_expr_test": tests,
            }
        ],
    }
    (tmp_path / "swarm.test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [current_promtool(), "test", "rules", tmp_path / "swarm.test.yml"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
