"""The period SLI is traffic-weighted, proven with Prometheus' own rule engine.

Raw request counters run for two days (night 12h, day 12h, twice) with 10x more traffic
by day than by night and 1% errors in one half only. promtool evaluates the generated rule
file over them, once per rate window (1m, 5m), and checks at the end of the second day:
- our `slo:sli_error:ratio_period` (sum_over_time of the bad rate over sum_over_time of
  the total rate) is within 1% of the true ratio, bad events / all events;
- the error budget left and the budget-exhausted alert follow the true ratio;
- Sloth's method, the average of the 5m ratios over the period, lands within 1% of the
  time-weighted mean of the ratios derived in `accuracy_model`, and so is off the true
  ratio by what that derivation predicts (x5.5 with night errors, x0.55 by day).
The same run asks promtool for the figures themselves: probes with a deliberately wrong
expectation, whose failure report carries the value the engine computed; the test then
checks that nothing but the probes failed. Figures and reasoning: docs/accuracy.md.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from accuracy_model import Half, Scenario, counter_values

from slo import naming
from slo.bundle import build, write
from slo.compile.rules import CompileOptions
from slo.compile.units import Unit
from slo.duration import parse_duration_ms

TOLERANCE = Fraction(1, 100)  # relative
STEP_S = 30  # samples of the raw counters: two per 1m rate window
EVAL_INTERVAL = "1m"  # rule evaluation: the default rate window, so no rate sample is skipped
DAYS = 2
OBJECTIVE = 99.9
JOB = "acc"

SLO_FILE = f"""\
version: swarm-slo/v1
service: acc
stack: lab
team: sre
slos:
  - name: availability
    objectives: [{OBJECTIVE}]
    sli:
      kind: ratio
      bad: http_requests_total{{job="{JOB}",code=~"5.."}}
      total: http_requests_total{{job="{JOB}"}}
"""

QUIET, BUSY = 10, 100  # requests/s: 10x more traffic by day
ONE_PERCENT = Fraction(1, 100)
SCENARIOS = [
    Scenario("night-errors", Half(QUIET, ONE_PERCENT), Half(BUSY, Fraction(0)), DAYS, STEP_S),
    Scenario("day-errors", Half(QUIET, Fraction(0)), Half(BUSY, ONE_PERCENT), DAYS, STEP_S),
]


@dataclass(frozen=True)
class Setup:
    unit: Unit
    rule_file: Path
    groups: list[dict[str, Any]]  # of the rule file, in its order
    end: str  # eval time: the end of the last day
    period_ratio: str  # our period SLI
    sloth_ratio: str  # Sloth's method over the same recordings' 5m ratio
    labels: str  # what an arithmetic result over one of our series carries


def _num(value: Fraction) -> str:
    return repr(float(value))


def _setup(tmp_path: Path, rate_window: str, scenario: Scenario) -> Setup:
    src = tmp_path / "slos" / "acc.yaml"
    src.parent.mkdir()
    src.write_text(SLO_FILE, encoding="utf-8")
    bundle = build([str(src)], CompileOptions(rate_window=rate_window, swarm_alerts=False))  # the SLO rules only
    assert bundle.warnings == []
    (unit,) = bundle.units
    write(bundle, str(tmp_path / "build"))
    (rule_path,) = [p for p in bundle.files if p.startswith("prometheus/rules/")]
    rule_file = tmp_path / "build" / rule_path
    # The data must fit in the period, so the period rule sees all of it.
    assert scenario.duration_s * 1000 <= unit.period_ms
    sloth = f"avg_over_time({unit.series(naming.ERROR_RATIO, '5m')}[{unit.period}])"
    labels = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(unit.labels.items())) + "}"
    groups = yaml.safe_load(rule_file.read_text(encoding="utf-8"))["groups"]
    return Setup(
        unit, rule_file, groups, f"{scenario.days * 24}h", str(unit.series(naming.ERROR_RATIO_PERIOD)), sloth, labels
    )


def _input_series(scenario: Scenario) -> list[dict[str, str]]:
    return [
        {
            "series": f'http_requests_total{{job="{JOB}",code="500"}}',
            "values": counter_values(scenario.increments(bad=True)),
        },
        {
            "series": f'http_requests_total{{job="{JOB}",code="200"}}',
            "values": counter_values(scenario.increments(bad=False)),
        },
    ]


def _within(expr: str, expected: Fraction, tolerance: Fraction) -> str:
    """1 when expr is within `tolerance` (relative) of `expected`."""
    return f"abs(({expr}) - {_num(expected)}) / {_num(abs(expected))} < bool {_num(tolerance)}"


def _budget_alert(setup: Setup, fires: bool) -> dict[str, Any]:
    (alert,) = [r for g in setup.groups for r in g["rules"] if r.get("alert") == naming.ALERT_BUDGET_EXHAUSTED]
    expected = {"exp_labels": {**setup.unit.labels, **alert["labels"]}, "exp_annotations": alert["annotations"]}
    return {
        "eval_time": setup.end,
        "alertname": naming.ALERT_BUDGET_EXHAUSTED,
        "exp_alerts": [expected] if fires else [],
    }


def _checks(setup: Setup, scenario: Scenario) -> list[str]:
    """Expressions that are 1 when the figure they test is right."""
    truth = scenario.true_ratio()
    mean = scenario.average_of_ratios()
    budget = Fraction(setup.unit.budget)
    remaining = 1 - truth / budget
    # Sloth's value is within TOLERANCE of `mean`, so it is off the truth by at least:
    sloth_off = abs(mean / truth - 1) - TOLERANCE * mean / truth
    assert sloth_off > Fraction(2, 10)
    return [
        _within(setup.period_ratio, truth, TOLERANCE),
        # budget left = 1 - ratio/budget: 1% of the ratio is 1% of ratio/budget
        f"abs({setup.unit.series(naming.BUDGET_REMAINING)} - {_num(remaining)}) "
        f"< bool {_num(TOLERANCE * truth / budget)}",
        _within(setup.sloth_ratio, mean, TOLERANCE),
        f"abs({setup.sloth_ratio} - {_num(truth)}) / {_num(truth)} > bool {_num(sloth_off)}",
    ]


def _probes(setup: Setup) -> dict[str, str]:
    """The figures themselves. Expected -1, they fail, and the failure shows each value."""
    return {
        "ours": setup.period_ratio,
        "budget_remaining": str(setup.unit.series(naming.BUDGET_REMAINING)),
        "sloth": setup.sloth_ratio,
    }


def _test_group(setup: Setup, scenario: Scenario) -> dict[str, Any]:
    def sample(expr: str, value: int) -> dict[str, Any]:
        return {"expr": expr, "eval_time": setup.end, "exp_samples": [{"labels": setup.labels, "value": value}]}

    exhausted = scenario.true_ratio() > Fraction(setup.unit.budget)
    return {
        "name": f"{scenario.name}: the period SLI is the true ratio, the average of ratios is not",
        "interval": f"{scenario.step_s}s",
        "input_series": _input_series(scenario),
        "promql_expr_test": [sample(c, 1) for c in _checks(setup, scenario)]
        + [sample(p, -1) for p in _probes(setup).values()],
        "alert_rule_test": [_budget_alert(setup, fires=exhausted)],
    }


_FAILED = re.compile(r'expr: "(?P<expr>(?:[^"\\]|\\.)*)", time: .*\n\s+exp: .*\n\s+got: \{[^}]*\} (?P<value>\S+)')


def _run(promtool: Path, tmp_path: Path, setup: Setup, scenario: Scenario) -> dict[str, float]:
    """Runs promtool once; returns the probed figures after checking nothing else failed."""
    doc = {
        "rule_files": [str(setup.rule_file)],
        "evaluation_interval": EVAL_INTERVAL,
        # Without an order promtool evaluates the groups in Go's random map order, and the
        # period group sees the burn group's recording of the same step or not, at random.
        "group_eval_order": [g["name"] for g in setup.groups],
        "tests": [_test_group(setup, scenario)],
    }
    path = tmp_path / "accuracy.test.yml"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")  # JSON is YAML
    result = subprocess.run([str(promtool), "test", "rules", str(path)], capture_output=True, text=True, timeout=300)
    report = result.stdout + result.stderr
    failed = {json.loads(f'"{m["expr"]}"'): float(m["value"]) for m in _FAILED.finditer(report)}
    probes = _probes(setup)
    # Only the probes fail: every check and the alert test passed.
    assert result.returncode == 1, report
    assert "alertname:" not in report, report
    assert sorted(failed) == sorted(probes.values()), report
    assert report.count('expr: "') == len(probes), report  # also failures without a value
    return {name: failed[expr] for name, expr in probes.items()}


@pytest.mark.parametrize("rate_window", ["1m", "5m"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_period_sli_is_traffic_weighted(promtool: Path, tmp_path: Path, rate_window: str, scenario: Scenario) -> None:
    assert parse_duration_ms(rate_window) >= 2 * scenario.step_s * 1000  # two samples per rate window
    setup = _setup(tmp_path, rate_window, scenario)
    values = _run(promtool, tmp_path, setup, scenario)
    truth, mean = float(scenario.true_ratio()), float(scenario.average_of_ratios())
    ours_err, sloth_err = values["ours"] / truth - 1, values["sloth"] / truth - 1
    print(  # the figures of docs/accuracy.md; shown with `pytest -s`
        f"\n{scenario.name} rate{rate_window} {promtool}: true {truth:.6g} ours {values['ours']:.6g} "
        f"({ours_err:+.3%}) average of ratios {values['sloth']:.6g} (derived {mean:.6g}; {sloth_err:+.1%}) "
        f"budget left {values['budget_remaining']:.6g}"
    )
    assert abs(ours_err) < TOLERANCE
    assert abs(values["sloth"] / mean - 1) < TOLERANCE
    assert abs(sloth_err) > abs(mean / truth - 1) - float(TOLERANCE) * mean / truth > 0.2
