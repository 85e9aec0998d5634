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

from decimal import Decimal
from fractions import Fraction
from typing import Any

from .. import naming, promql
from ..duration import format_duration, parse_duration_ms
from .rules import CompileOptions, _missing_alert, _tier_alert
from .units import ActiveTier, Unit

__all__ = ["STEPS_PER_WINDOW", "fire_step", "test_files"]

STEPS_PER_WINDOW = 24  # divisible by 12, so each short window is a whole number of steps
_BASIC_STEP_MS = 60_000
_BASIC_STEPS = 12  # 12m at 1m: the error ratio is constant from t=0, so every window agrees


def _series(u: Unit, template: str) -> str:
    return str(promql.selector(naming.windowed(template, u.rate_window), u.labels))


def _traffic(u: Unit) -> tuple[int, Fraction]:
    """Total events/s and the exact budget: total x budget is an integer."""
    budget = Fraction(u.budget)
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


def _tier_group(
    u: Unit, active: ActiveTier, step_ms: int, errors_x: int | None, alert: dict[str, Any]
) -> dict[str, Any] | None:
    """One scenario for one unit and tier: errors at 100% (None) or at N x the budget."""
    history = STEPS_PER_WINDOW
    total, budget = _traffic(u)
    if errors_x is None:
        bad = Fraction(total)
    elif errors_x * budget > 1:
        return None  # N x the budget is more than every event; the 100% scenario covers it
    else:
        bad = errors_x * budget * total
    t = active.tier
    long_w = STEPS_PER_WINDOW
    short_w = long_w * t.short_ms // t.long_ms
    limit = Fraction(active.factor) * budget
    k3 = fire_step(long_w, short_w, bad, total, limit, closed=False)
    k2 = fire_step(long_w, short_w, bad, total, limit, closed=True)
    tests = []
    if k3 is None or k2 is None:
        end = history + 1 + long_w  # a whole long window of these errors, and silence
        tests.append(_alert_test(end, step_ms, t.alert, []))
    else:
        early, late = min(k2, k3), max(k2, k3)
        if early >= 1:
            tests.append(_alert_test(history + 1 + early - 1, step_ms, t.alert, []))
        end = history + 1 + late + 1
        tests.append(_alert_test(end, step_ms, t.alert, [_expected(alert, u.labels)]))
    what = "100% errors" if errors_x is None else f"errors at {errors_x}x the budget"
    return {
        "name": f"{u.slo_label}: {what} after a clean {t.long}",
        "interval": format_duration(step_ms),
        "input_series": [
            {
                "series": _series(u, naming.BAD_RATE),
                "values": f"0x{history} {_num(bad)}x{end - history}",
            },
            {"series": _series(u, naming.TOTAL_RATE), "values": f"{total}x{end + 1}"},
        ],
        "alert_rule_test": tests,
    }


def _num(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _basic_file(units: list[Unit], options: CompileOptions, rule_path: str) -> dict[str, Any]:
    quiet: list[dict[str, str]] = []
    at_objective: list[dict[str, str]] = []
    quiet_tests: list[dict[str, Any]] = []
    objective_tests: list[dict[str, Any]] = []
    missing_tests: list[dict[str, Any]] = []
    missing_units: list[Unit] = []
    end = _BASIC_STEPS
    for u in units:
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
                alert = _expected(_tier_alert(u, a, options), u.labels)
                objective_tests.append(_alert_test(end, _BASIC_STEP_MS, a.tier.alert, [alert]))
        if u.slo.alerting.no_data:
            missing_units.append(u)
    # Every unit's SLI is absent at once, so at each instant all units past their `for` fire.
    instants: set[int] = set()
    for u in missing_units:
        steps = -(-parse_duration_ms(u.slo.alerting.no_data_for) // _BASIC_STEP_MS)
        instants.update(s for s in (steps - 1, steps + 1) if s >= 1)
    for step in sorted(instants):
        firing = [
            _expected(_missing_alert(u, options), dict(u.identity))
            for u in missing_units
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


def test_files(units: list[Unit], options: CompileOptions) -> dict[str, dict[str, Any]]:
    """Path in the bundle -> promtool test file content; one directory per unit."""
    out: dict[str, dict[str, Any]] = {}
    for u in units:
        base = naming.test_dir(u.service.stack, u.service.service, u.slo_label)
        rule_path = "../" * (base.count("/") + 1) + naming.rule_file(u.service.stack, u.service.service, u.slo_label)
        out[f"{base}/basic.test.yml"] = _basic_file([u], options, rule_path)
        for a in u.tiers:
            step_ms = a.tier.long_ms // STEPS_PER_WINDOW
            alert = _tier_alert(u, a, options)
            groups = [g for g in (_tier_group(u, a, step_ms, x, alert) for x in (None, 10)) if g]
            out[f"{base}/{a.tier.id}.test.yml"] = {
                "rule_files": [rule_path],
                "evaluation_interval": format_duration(step_ms),
                "tests": groups,
            }
    return out
