"""Prometheus recording and alerting rules, one file per unit (SLO objective), two groups:

- `burn`, evaluated in order: the SLI source rules (bad and total event rates at 5m, the
  only rules that read the user's raw series); error ratios for every alert window as
  traffic-weighted sums built from those two recordings (sum_over_time of bad over
  sum_over_time of total: never an average of ratios, never long ranges over raw
  counters); burn rates; one alert per tier; the SLI-missing alert.
- `period`: the period's ratio and burn rate, budget left, metadata (objective, budget,
  period) and the budget-exhausted alert.
In the generated promtool tests the raw series are absent, so the source rules write
nothing and the synthetic 5m recordings fed by the test stand in for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import naming, promql
from ..duration import format_decimal, format_duration
from ..windows import windows_ms
from .units import ActiveTier, Unit

__all__ = ["CompileOptions", "RuleFile", "rule_file", "runbook_url"]

Rule = dict[str, Any]


@dataclass(frozen=True)
class CompileOptions:
    runbook_base_url: str = ""  # prefix for runbook links; empty: paths inside the bundle
    rate_window: str = naming.DEFAULT_RATE_WINDOW  # of the SLI source rules; see naming
    dashboards: bool = True  # Grafana dashboards and provisioning (the `dashboards` package)
    swarm_alerts: bool = True  # alerts on the Swarm exporter's metrics (alerts/swarm.py)
    swarm_exporter_job: str = naming.SWARM_EXPORTER_JOB  # the exporter's scrape job, for those alerts


@dataclass(frozen=True)
class RuleFile:
    path: str
    groups: list[dict[str, Any]]
    alerts: dict[tuple[int, str], Rule]  # (unit index, alert name) -> the alert rule, for the tests


def rule_file(units: list[Unit], options: CompileOptions) -> RuleFile:
    """The rules of one service: two groups per unit."""
    stack, service = units[0].service.stack, units[0].service.service
    groups = []
    alerts: dict[tuple[int, str], Rule] = {}
    for index, u in enumerate(units):
        burn = sli_rules(u) + burn_rules(u, options)
        period = period_rules(u, options)
        groups.append({"name": naming.group_name(stack, service, u.slo_label, "burn"), "rules": burn})
        groups.append({"name": naming.group_name(stack, service, u.slo_label, "period"), "rules": period})
        alerts.update(((index, r["alert"]), r) for r in (*burn, *period) if "alert" in r)
    return RuleFile(naming.rule_file(stack, service), groups, alerts)


def _record(name: str, expr: promql.Expr | str, labels: dict[str, str]) -> Rule:
    return {"record": name, "expr": str(expr), "labels": labels}


def sli_rules(u: Unit) -> list[Rule]:
    w = u.rate_window
    return [
        _record(naming.windowed(naming.BAD_RATE, w), u.sli.bad, u.labels),
        _record(naming.windowed(naming.TOTAL_RATE, w), u.sli.total, u.labels),
    ]


def _ratio(u: Unit, window: str) -> promql.Expr:
    base = u.rate_window
    bad = u.series(naming.BAD_RATE, base)
    total = u.series(naming.TOTAL_RATE, base)
    if window == base:
        return promql.binary(bad, "/", total)
    return promql.binary(
        promql.Expr(f"sum_over_time({bad}[{window}])", True),
        "/",
        promql.Expr(f"sum_over_time({total}[{window}])", True),
    )


def burn_rules(u: Unit, options: CompileOptions) -> list[Rule]:
    rules: list[Rule] = []
    budget = promql.number(u.budget_text)
    windows_set = set(windows_ms(tuple(a.tier for a in u.tiers))) | {naming.DASHBOARD_WINDOW_MS}
    windows = [format_duration(ms) for ms in sorted(windows_set)]
    for w in windows:
        rules.append(_record(naming.windowed(naming.ERROR_RATIO, w), _ratio(u, w), u.labels))
    for w in windows:
        ratio = u.series(naming.ERROR_RATIO, w)
        rules.append(_record(naming.windowed(naming.BURN_RATE, w), promql.binary(ratio, "/", budget), u.labels))
    for active in u.tiers:
        rules.append(_tier_alert(u, active, options))
    if u.slo.alerting.no_data:
        rules.append(_missing_alert(u, options))
    return rules


def _tier_alert(u: Unit, active: ActiveTier, options: CompileOptions) -> Rule:
    t = active.tier
    f = promql.number(format_decimal(active.factor))
    expr = promql.binary(
        promql.binary(u.series(naming.BURN_RATE, t.long), ">", f),
        "and",
        promql.binary(u.series(naming.BURN_RATE, t.short), ">", f),
    )
    guard = u.slo.alerting.min_events
    if guard is not None:
        events = promql.binary(
            promql.Expr(f"avg_over_time({u.series(naming.TOTAL_RATE, u.rate_window)}[{t.long}])", True),
            "*",
            promql.number(str(t.long_ms // 1000)),
        )
        expr = promql.binary(expr, "and", promql.binary(events, ">=", promql.number(str(guard))))
    spent = format_decimal(t.budget_share * 100)
    what = "latency" if "latency" in u.slo.sli.kind else "error"
    summary = (
        f"{u.service.service} ({u.service.stack}): SLO {u.slo_label} burns its {u.period} error budget "
        f"{format_decimal(active.factor)}x too fast"
    )
    description = (
        f"The {what} ratio of {u.service.service} over the last {t.long} and {t.short} is above "
        f"{format_decimal(active.factor)} times the budget of {u.budget_text} "
        f"(objective {u.target_text}%). At this rate {spent}% of the {u.period} error budget is spent "
        f"within {t.long}. Owner: team {u.service.team}."
    )
    labels = {
        naming.LABEL_SEVERITY: t.severity,
        naming.LABEL_TIER: t.id,
        naming.LABEL_LONG_WINDOW: t.long,
        naming.LABEL_SHORT_WINDOW: t.short,
        **u.slo.alerting.labels,
    }
    return _alert(t.alert, expr, None, labels, summary, description, u, options)


def _missing_alert(u: Unit, options: CompileOptions) -> Rule:
    total = u.series(naming.TOTAL_RATE, u.rate_window)
    expr = promql.call("absent", total)
    labels = {
        naming.LABEL_SEVERITY: "ticket",
        naming.LABEL_TIER: "no-data",
        naming.LABEL_TEAM: u.service.team,
        **u.service.labels,
        **u.slo.alerting.labels,
    }
    summary = f"{u.service.service} ({u.service.stack}): the SLI of SLO {u.slo_label} has no data"
    description = (
        f"The SLI source series of {u.slo_label} have been absent for {u.slo.alerting.no_data_for}: "
        f"the metrics it reads are missing or renamed, or the service is not scraped. "
        f"Until this is fixed no burn-rate alert of this SLO can fire."
    )
    return _alert(
        naming.ALERT_SLI_MISSING,
        expr,
        u.slo.alerting.no_data_for,
        labels,
        summary,
        description,
        u,
        options,
    )


def period_rules(u: Unit, options: CompileOptions) -> list[Rule]:
    ratio = _ratio(u, u.period)
    budget = promql.number(u.budget_text)
    period_ratio = u.series(naming.ERROR_RATIO_PERIOD)
    rules = [
        _record(naming.ERROR_RATIO_PERIOD, ratio, u.labels),
        _record(naming.BURN_RATE_PERIOD, promql.binary(period_ratio, "/", budget), u.labels),
        _record(
            naming.BUDGET_REMAINING,
            promql.binary(promql.number("1"), "-", promql.binary(period_ratio, "/", budget)),
            u.labels,
        ),
        _record(naming.OBJECTIVE, promql.call("vector", format_decimal(u.target / 100)), u.labels),
        _record(naming.ERROR_BUDGET, promql.call("vector", u.budget_text), u.labels),
        _record(naming.PERIOD, promql.call("vector", str(u.period_ms // 1000)), u.labels),
    ]
    if u.slo.alerting.budget_exhausted:
        expr = promql.binary(u.series(naming.BUDGET_REMAINING), "<", promql.number("0"))
        labels = {
            naming.LABEL_SEVERITY: "ticket",
            naming.LABEL_TIER: "budget",
            **u.slo.alerting.labels,
        }
        summary = (
            f"{u.service.service} ({u.service.stack}): SLO {u.slo_label} has overspent its {u.period} error budget"
        )
        description = (
            f"More than {u.budget_text} of the events of the last {u.period} were bad "
            f"(objective {u.target_text}%). Freeze risky changes until the budget recovers."
        )
        rules.append(_alert(naming.ALERT_BUDGET_EXHAUSTED, expr, "5m", labels, summary, description, u, options))
    return rules


def runbook_url(u: Unit, alert: str, options: CompileOptions) -> str:
    if u.slo.alerting.runbook_url:
        return u.slo.alerting.runbook_url
    path = naming.runbook_file(u.service.stack, u.service.service)
    return f"{options.runbook_base_url}{path}#{naming.runbook_anchor(u.slo_label, alert)}"


def _alert(
    name: str,
    expr: promql.Expr,
    for_: str | None,
    labels: dict[str, str],
    summary: str,
    description: str,
    u: Unit,
    options: CompileOptions,
) -> Rule:
    rule: Rule = {"alert": name, "expr": str(expr)}
    if for_:
        rule["for"] = for_
    alerting = u.slo.alerting
    by_severity = alerting.page if labels[naming.LABEL_SEVERITY] == "page" else alerting.ticket
    # The unit's labels are on the firing series already; stated on the rule too, they make
    # each alert rule distinct (promtool's duplicate-rules lint) and readable on its own.
    rule["labels"] = dict(sorted({**u.labels, **labels, **by_severity.labels}.items()))
    annotations = {
        "summary": summary,
        "description": description,
        "runbook_url": runbook_url(u, name, options),
        **alerting.annotations,
        **by_severity.annotations,
    }
    rule["annotations"] = dict(sorted(annotations.items()))
    return rule
