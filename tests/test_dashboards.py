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
    bundle = _bundle(case)
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
        f"{path}: panel 'Error budget left' query A reads slo:error_budget_left:ratio, which the bundle does not record"
    )


def test_slo_check_fails_on_a_dashboard_that_reads_an_unrecorded_series(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from slo.cli import cli

    out = tmp_path / "bundle"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(EXAMPLES), "--out", str(out)]).exit_code == 0
    dash = out / "grafana" / "dashboards" / "SLOs" / "overview.json"
    dash.write_text(dash.read_text().replace("slo:objective:ratio", "slo:objective_typo:ratio"))
    result = runner.invoke(cli, ["check", str(out), "--output", "json"])
    assert result.exit_code == 1
    failures = json.loads(result.stdout)["failures"]
    assert any("reads slo:objective_typo:ratio, which the bundle does not record" in f for f in failures)


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
