"""One runbook page per service: a section per SLO objective, and in it a section (with a
link anchor, `#<slo>-<alert>`) per generated alert."""

from __future__ import annotations

from collections.abc import Iterator

from .. import naming
from ..duration import format_decimal
from .explain import tier_facts
from .units import Unit

__all__ = ["runbook_index", "runbook_page"]


INDEX = "runbooks/README.md"


def runbook_page(units: list[Unit]) -> tuple[str, str]:
    svc = units[0].service
    swarm_name = f"{svc.stack}_{svc.service}"
    lines = [
        f"# Runbook: {svc.service} ({svc.stack})",
        "",
        f"Owner: team `{svc.team}`. Swarm service: `{swarm_name}`. SLOs: "
        + ", ".join(f"[{u.slo_label}](#{naming.runbook_anchor(u.slo_label)})" for u in units)
        + ".",
        "",
        "## First checks, for every alert below",
        "",
        f"1. What changed: `docker service ps {swarm_name} --no-trunc` (failed tasks, restarts) and",
        f"   `docker service inspect {swarm_name} --format '{{{{json .UpdateStatus}}}}'` (a rollout in progress?).",
        f"2. Errors and slow requests in the logs: `docker service logs --since 30m {swarm_name}`, and traces of",
        f"   `{svc.service}` in Jaeger for the same period.",
        f"3. A bad release: `docker service rollback {swarm_name}` brings back the previous spec.",
        "4. Dependencies: are the services this one calls burning their budgets too? Look at the SLO overview.",
    ]
    for u in units:
        lines.append("")
        lines.extend(_lines(u))
    return naming.runbook_file(svc.stack, svc.service), "\n".join(lines) + "\n"


def runbook_index(units: list[Unit], swarm: bool = False) -> tuple[str, str]:
    """The index of the per-service pages; `swarm`: the bundle has the Swarm alerts' page too."""
    return INDEX, _index(units, swarm)


def _index(units: list[Unit], swarm: bool) -> str:
    lines = ["# Runbooks", ""]
    if swarm:
        lines += [
            "Alerts on the Swarm exporter's metrics, of every service and cluster-wide: [swarm.md](swarm.md).",
            "",
        ]
    lines += ["| stack | service | SLO | objective | team | page |", "|---|---|---|---|---|---|"]
    for u in units:
        path = naming.runbook_file(u.service.stack, u.service.service).removeprefix("runbooks/")
        link = f"{path}#{naming.runbook_anchor(u.slo_label)}"
        lines.append(
            f"| {u.service.stack} | {u.service.service} | {u.slo_label} | {u.target_text}% / {u.period} "
            f"| {u.service.team} | [{link}]({link}) |"
        )
    return "\n".join(lines) + "\n"


def _lines(u: Unit) -> Iterator[str]:
    svc = u.service
    sel = "{" + ",".join(f'{k}="{v}"' for k, v in u.identity.items()) + "}"
    yield f'<a id="{naming.runbook_anchor(u.slo_label)}"></a>'
    yield ""
    yield f"## SLO {u.slo_label}"
    yield ""
    if u.slo.description:
        yield u.slo.description
        yield ""
    yield f"- Objective: {u.target_text}% over a rolling {u.period} ({u.slo.budgeting}); error budget {u.budget_text}."
    yield f"- SLI: `{u.slo.sli.kind}`. Owner: team `{svc.team}`."
    yield f"- Bad events: `{u.sli.bad}`"
    yield f"- All events: `{u.sli.total}`"
    yield f"- Budget left now: `{naming.BUDGET_REMAINING}{sel}`"
    yield ""
    for active in u.tiers:
        t = active.tier
        facts = tier_facts(u, active)
        yield ""
        yield f'<a id="{naming.runbook_anchor(u.slo_label, t.alert)}"></a>'
        yield f"### {t.alert}"
        yield ""
        yield (
            f"Severity **{t.severity}**. The error ratio over {t.long} and over {t.short} is above "
            f"{format_decimal(active.factor)}x the budget: at this pace {format_decimal(t.budget_share * 100)}% "
            f"of the {u.period} budget is gone within {t.long}, and all of it in {facts.exhaustion}."
        )
        yield f"It fires {facts.fire_100} after a total outage starts, and clears about {facts.clear} after recovery."
        yield ""
        if t.severity == "page":
            yield "Act now: users are affected. Mitigate first (roll back, scale, shed load), then find the cause."
        else:
            yield "Act within working hours: the budget erodes steadily. Find the cause before it pages."
    if u.slo.alerting.no_data:
        yield ""
        yield f'<a id="{naming.runbook_anchor(u.slo_label, naming.ALERT_SLI_MISSING)}"></a>'
        yield f"### {naming.ALERT_SLI_MISSING}"
        yield ""
        yield (
            f"The SLI's series have been absent for {u.slo.alerting.no_data_for}. No burn-rate alert of this SLO "
            "can fire until they return. Check that the service runs and is scraped (Prometheus targets), and "
            "that the metric names and labels in the SLO file still match what the service exports."
        )
    if u.slo.alerting.budget_exhausted:
        yield ""
        yield f'<a id="{naming.runbook_anchor(u.slo_label, naming.ALERT_BUDGET_EXHAUSTED)}"></a>'
        yield f"### {naming.ALERT_BUDGET_EXHAUSTED}"
        yield ""
        yield (
            f"More than {u.budget_text} of the last {u.period}'s events were bad. Agree with the team on a change "
            "freeze or on reliability work until the budget recovers; check whether the objective is still right."
        )
