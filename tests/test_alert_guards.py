"""Alert behaviour the generated tests do not cover, in promtool 3.16 and 2.42:
the budget-exhausted alert and the low-traffic guard (`alerting.min_events`)."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo.bundle import build, write
from slo.compile.rules import CompileOptions
from slo.render import to_yaml

LABELS = '{service="api",slo="s",stack="shop",team="checkout"}'


def _bundle(tmp_path: Path, alerting: dict[str, Any]) -> Path:
    (tmp_path / "slos").mkdir()
    spec = {
        "service": "api",
        "stack": "shop",
        "team": "checkout",
        "slos": [
            {"name": "s", "objectives": [Decimal("99.9")], "alerting": alerting, "sli": {"kind": "swarm-replicas"}}
        ],
    }
    (tmp_path / "slos" / "api.yaml").write_text(to_yaml(spec))
    write(build([str(tmp_path / "slos")], CompileOptions()), str(tmp_path / "build"))
    return tmp_path / "build" / "prometheus" / "rules" / "shop" / "api.yml"


def _promtool_test(promtool: Path, tmp_path: Path, rules: Path, group: dict[str, Any]) -> str:
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [group]}
    path = tmp_path / "guard.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run([str(promtool), "test", "rules", str(path)], capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr if proc.returncode else ""


def _firing_labels(rules: Path, alert: str) -> dict[str, str]:
    rule = next(r for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"] if r.get("alert") == alert)
    labels = {"service": "api", "slo": "s", "stack": "shop", "team": "checkout", **rule["labels"]}
    return {"exp_labels": labels, "exp_annotations": rule["annotations"]}


def test_budget_exhausted_fires_after_its_for(promtool: Path, tmp_path: Path) -> None:
    rules = _bundle(tmp_path, {})
    expected = _firing_labels(rules, "SLOErrorBudgetExhausted")
    # 10 clean minutes, then every event bad: the period's ratio passes the budget at once,
    # and the alert fires after its 5m `for`.
    group = {
        "interval": "1m",
        "input_series": [
            {"series": f"slo:sli_bad:rate1m{LABELS}", "values": "0x9 10x20"},
            {"series": f"slo:sli_total:rate1m{LABELS}", "values": "10x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "14m", "alertname": "SLOErrorBudgetExhausted", "exp_alerts": []},
            {"eval_time": "16m", "alertname": "SLOErrorBudgetExhausted", "exp_alerts": [expected]},
        ],
    }
    assert _promtool_test(promtool, tmp_path, rules, group) == ""


@pytest.mark.parametrize(("min_events", "fires"), [(100, False), (10, True)])
def test_min_events_guard(promtool: Path, tmp_path: Path, min_events: int, fires: bool) -> None:
    """At 100% errors and 1 event every 200 s (18 in the 1h window), a guard of 100 events
    keeps the fast page quiet; a guard of 10 lets it fire."""
    rules = _bundle(tmp_path, {"min_events": min_events})
    expected = [_firing_labels(rules, "SLOBurnRatePageFast")] if fires else []
    group = {
        "interval": "1m",
        "input_series": [
            {"series": f"slo:sli_bad:rate1m{LABELS}", "values": "0.005x90"},
            {"series": f"slo:sli_total:rate1m{LABELS}", "values": "0.005x90"},
        ],
        "alert_rule_test": [{"eval_time": "80m", "alertname": "SLOBurnRatePageFast", "exp_alerts": expected}],
    }
    assert _promtool_test(promtool, tmp_path, rules, group) == ""
