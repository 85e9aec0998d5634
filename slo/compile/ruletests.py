"""promtool unit tests for every unit, generated from the same model as the rules.

Scenarios feed synthetic 5m recordings (`slo:sli_bad:rate5m`, `slo:sli_total:rate5m`)
into the `-slo.yml` rule file and assert, per tier, *when* it fires:
- 100% errors after a clean long window: the tier fires at the step the Workbook's
  arithmetic predicts (budget share x long window / error ratio), not a step earlier;
- 10x the budget: tiers with a factor under 10 fire at their predicted step, the others
  stay silent for a whole long window;
- errors exactly at the objective, and no errors at all: nothing fires;
- no SLI series: SLOSLIMissing fires after its `for`, not before.
Each tier gets a file whose evaluation step is 1/24 of its long window, so a test
costs the same for a 1h tier and a 3d tier. Values are chosen so error ratios are
exact in binary floating point: total = 10^k events per second with bad an integer.

Predicted steps are computed for both range semantics Prometheus has had: 3.x selects
(t-w, t], 2.x selects [t-w, t]. Assertions leave room for either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from .. import naming
from ..duration import format_duration, parse_duration_ms
from ..windows import TIERS
from .rules import CompileOptions, Rule, rule_file
from .units import ActiveTier, Unit

__all__ = ["STEPS_PER_WINDOW", "fire_step", "test_files"]

STEPS_PER_WINDOW = 24  # divisible by 12, so each short window is a whole number of steps
_BASIC_STEP_MS = 60_000
_BASIC_STEPS = 12  # 12m at 1m: the error ratio is constant from t=0, so every window agrees


def _series(u: Unit, template: str) -> str:
    return naming.windowed(template, u.rate_window) + u.label_selector


def _traffic(u: Unit) -> tuple[int, Fraction]:
    return _traffic_for(u.budget)


@lru_cache(maxsize=1024)  # thousands of units share a few dozen budgets
def _traffic_for(budget_decimal: Decimal) -> tuple[int, Fraction]:
    """Total events/s and the exact budget: total x budget is an integer."""
    budget = Fraction(budget_decimal)
    total = 1
    while (total * budget).denominator != 1:
        total *= 10
    return total, budget


def fire_step(long_w: int, short_w: int, bad: Fraction, total: int, limit: Fraction, closed: bool) -> int | None:
    """First step (0 = first bad sample) where both windows' ratio exceeds `limit`.

    After n bad samples a window of w samples holds min(n, w) of them, so its ratio is
    min(n, w) * bad / (w * total); it exceeds the limit from n = floor(limit*w*total/bad) + 1,
    unless even a full window (ratio bad/total) stays at or under the limit.
    """
    if bad <= 0 or bad / total <= limit:
        return None
    extra = 1 if closed else 0
    n = max((limit * (w + extra) * total / bad) // 1 + 1 for w in (long_w, short_w))
    return int(n) - 1


def _expected(alert: dict[str, Any], series_labels: dict[str, str]) -> dict[str, Any]:
    return {
        "exp_labels": dict(sorted({**series_labels, **alert["labels"]}.items())),
        "exp_annotations": alert["annotations"],
    }


def _alert_test(step: int, step_ms: int, name: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "eval_time": format_duration(step * step_ms) if step else "0s",
        "alertname": name,
        "exp_alerts": alerts,
    }


@dataclass(frozen=True)
class _Plan:
    """What one unit should do in one scenario: steps are counted from the first bad sample."""

    unit: Unit
    expected: dict[str, Any]
    bad: Fraction
    total: int
    early: int | None  # first firing step under the earlier of the two range semantics
    late: int | None  # ... under the later; None: never fires

    def instants(self, long_w: int) -> list[int]:
        if self.early is None or self.late is None:
            return [long_w]  # silent for a whole long window of these errors
        return ([self.early - 1] if self.early >= 1 else []) + [self.late + 1]

    def firing(self, step: int) -> bool | None:
        if self.early is None or self.late is None or step < self.early:
            return False
        return True if step > self.late else None  # None: either semantics may apply


def _plan(u: Unit, active: ActiveTier, errors_x: int | None, expected: dict[str, Any]) -> _Plan | None:
    steps = _steps(u.budget, active.factor, active.tier.short_ms * STEPS_PER_WINDOW // active.tier.long_ms, errors_x)
    if steps is None:
        return None
    bad, total, early, late = steps
    return _Plan(u, expected, bad, total, early, late)


@lru_cache(maxsize=4096)  # a pure function of a handful of values shared by thousands of units
def _steps(
    budget_decimal: Decimal, factor: Decimal, short_w: int, errors_x: int | None
) -> tuple[Fraction, int, int | None, int | None] | None:
    """Bad and total rates of the scenario, and its first firing step under each range semantics."""
    total, budget = _traffic_for(budget_decimal)
    if errors_x is None:
        bad = Fraction(total)
    elif errors_x * budget > 1:
        return None  # N x the budget is more than every event; the 100% scenario covers it
    else:
        bad = errors_x * budget * total
    long_w = STEPS_PER_WINDOW
    limit = Fraction(factor) * budget
    k3 = fire_step(long_w, short_w, bad, total, limit, closed=False)
    k2 = fire_step(long_w, short_w, bad, total, limit, closed=True)
    early = None if k2 is None or k3 is None else min(k2, k3)
    late = None if k2 is None or k3 is None else max(k2, k3)
    return bad, total, early, late


def _batches(plans: list[_Plan]) -> list[list[_Plan]]:
    """Group units whose assertions do not fall where another unit's state is uncertain.

    All units of a batch share one test group (one promtool evaluation), and every
    assertion lists exactly the alerts firing at that instant across the batch."""
    out: list[list[_Plan]] = []
    w = STEPS_PER_WINDOW
    for p in plans:
        for batch in out:
            if all(q.firing(x) is not None for q in batch for x in p.instants(w)) and all(
                p.firing(x) is not None for q in batch for x in q.instants(w)
            ):
                batch.append(p)
                break
        else:
            out.append([p])
    return out


def _tier_groups(
    members: list[tuple[Unit, ActiveTier, dict[str, Any]]], step_ms: int, errors_x: int | None
) -> list[dict[str, Any]]:
    plans = [p for u, a, alert in members if (p := _plan(u, a, errors_x, alert)) is not None]
    if not plans:
        return []
    tier = members[0][1].tier
    start = STEPS_PER_WINDOW + 1  # after a clean long window, the first bad sample
    what = "100% errors" if errors_x is None else f"errors at {errors_x}x the budget"
    groups = []
    for i, batch in enumerate(_batches(plans)):
        instants = sorted({x for p in batch for x in p.instants(STEPS_PER_WINDOW)})
        end = start + instants[-1]
        tests = [
            _alert_test(start + x, step_ms, tier.alert, [p.expected for p in batch if p.firing(x)]) for x in instants
        ]
        series = []
        for p in batch:
            series.append(
                {"series": _series(p.unit, naming.BAD_RATE), "values": f"0x{start - 1} {_num(p.bad)}x{end - start + 1}"}
            )
            series.append({"series": _series(p.unit, naming.TOTAL_RATE), "values": f"{p.total}x{end + 1}"})
        suffix = f" ({i + 1})" if i else ""
        groups.append(
            {
                "name": f"{what} after a clean {tier.long}{suffix}",
                "interval": format_duration(step_ms),
                "input_series": series,
                "alert_rule_test": tests,
            }
        )
    return groups


def _num(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _basic_file(
    units: list[Unit], expected: Mapping[tuple[int, str], dict[str, Any]], rule_path: str
) -> dict[str, Any]:
    quiet: list[dict[str, str]] = []
    at_objective: list[dict[str, str]] = []
    quiet_tests: list[dict[str, Any]] = []
    objective_tests: list[dict[str, Any]] = []
    missing_tests: list[dict[str, Any]] = []
    missing_units: list[tuple[int, Unit]] = []
    end = _BASIC_STEPS
    for index, u in enumerate(units):
        total, budget = _traffic(u)
        quiet.append({"series": _series(u, naming.BAD_RATE), "values": f"0x{end}"})
        quiet.append({"series": _series(u, naming.TOTAL_RATE), "values": f"{total}x{end}"})
        at_objective.append({"series": _series(u, naming.BAD_RATE), "values": f"{_num(budget * total)}x{end}"})
        at_objective.append({"series": _series(u, naming.TOTAL_RATE), "values": f"{total}x{end}"})
        names = [a.tier.alert for a in u.tiers]
        if u.slo.alerting.no_data:
            names.append(naming.ALERT_SLI_MISSING)
        if u.slo.alerting.budget_exhausted:
            names.append(naming.ALERT_BUDGET_EXHAUSTED)
        for name in names:
            quiet_tests.append(_alert_test(end, _BASIC_STEP_MS, name, []))
            objective_tests.append(_alert_test(end, _BASIC_STEP_MS, name, []))
        # A tier under 1x fires at the objective: that is why the build warns about it.
        for a in u.tiers:
            if a.factor < 1:
                objective_tests.append(_alert_test(end, _BASIC_STEP_MS, a.tier.alert, [expected[index, a.tier.alert]]))
        if u.slo.alerting.no_data:
            missing_units.append((index, u))
    # Every unit's SLI is absent at once, so at each instant all units past their `for` fire.
    instants: set[int] = set()
    for _, u in missing_units:
        steps = -(-parse_duration_ms(u.slo.alerting.no_data_for) // _BASIC_STEP_MS)
        instants.update(s for s in (steps - 1, steps + 1) if s >= 1)
    for step in sorted(instants):
        firing = [
            expected[index, naming.ALERT_SLI_MISSING]
            for index, u in missing_units
            if step * _BASIC_STEP_MS >= parse_duration_ms(u.slo.alerting.no_data_for)
        ]
        missing_tests.append(_alert_test(step, _BASIC_STEP_MS, naming.ALERT_SLI_MISSING, firing))
    # Alerts of the same name from different units are asserted together, so merge them.
    groups = [
        {
            "name": "no errors: nothing fires",
            "interval": "1m",
            "input_series": quiet,
            "alert_rule_test": _merge(quiet_tests),
        },
        {
            "name": "errors exactly at the objective: nothing fires",
            "interval": "1m",
            "input_series": at_objective,
            "alert_rule_test": _merge(objective_tests),
        },
    ]
    if missing_tests:
        groups.append(
            {
                "name": "no SLI series: SLOSLIMissing after its for",
                "interval": "1m",
                "input_series": [{"series": 'up{job="unrelated"}', "values": f"1x{max(end, max(instants) + 1)}"}],
                "alert_rule_test": _merge(missing_tests),
            }
        )
    return {"rule_files": [rule_path], "evaluation_interval": "1m", "tests": groups}


def _merge(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in tests:
        merged.setdefault((t["eval_time"], t["alertname"]), []).extend(t["exp_alerts"])
    return [
        {
            "eval_time": k[0],
            "alertname": k[1],
            "exp_alerts": sorted(v, key=lambda a: sorted(a["exp_labels"].items())),
        }
        for k, v in merged.items()
    ]


def test_files(
    units: list[Unit], options: CompileOptions, alerts: Mapping[tuple[int, str], Rule] | None = None
) -> dict[str, dict[str, Any]]:
    """Path in the bundle -> promtool test file content, for the units of one service.

    `alerts` are the service's alert rules by (unit index, alert name), as `rule_file`
    returns them: passing them saves building them again."""
    if alerts is None:
        alerts = rule_file(units, options).alerts
    # One expected-alert mapping per alert, shared by every assertion: the YAML writer
    # renders a shared mapping once.
    expected = {
        (i, name): _expected(alert, dict(units[i].identity) if name == naming.ALERT_SLI_MISSING else units[i].labels)
        for (i, name), alert in alerts.items()
    }
    stack, service = units[0].service.stack, units[0].service.service
    basic = naming.test_file(stack, service, "basic")
    rule_path = "../" * basic.count("/") + naming.rule_file(stack, service)
    out: dict[str, dict[str, Any]] = {basic: _basic_file(units, expected, rule_path)}
    for tier in TIERS:
        members = [
            (u, a, expected[i, a.tier.alert]) for i, u in enumerate(units) for a in u.tiers if a.tier.id == tier.id
        ]
        if not members:
            continue
        step_ms = tier.long_ms // STEPS_PER_WINDOW
        out[naming.test_file(stack, service, tier.id)] = {
            "rule_files": [rule_path],
            "evaluation_interval": format_duration(step_ms),
            "tests": _tier_groups(members, step_ms, None) + _tier_groups(members, step_ms, 10),
        }
    return out
