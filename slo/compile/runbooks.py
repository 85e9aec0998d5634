"""One runbook page per SLO objective, with a section (and link anchor) per generated alert."""

from __future__ import annotations

from collections.abc import Iterator

from .. import naming
from ..duration import format_decimal
from .explain import tier_facts
from .units import Unit

__all__ = ["runbook_pages"]


def runbook_pages(units: list[Unit]) -> dict[str, str]:
    pages = {naming.runbook_file(u.service.stack, u.service.service, u.slo_label): _page(u) for u in units}
    pages["runbooks/README.md"] = _index(units)
    return pages


def _index(units: list[Unit]) -> str:
    lines = [
        "# Runbooks",
        "",
        "| stack | service | SLO | objective | team | page |",
        "|---|---|---|---|---|---|",
    ]
    for u in units:
        path = naming.runbook_file(u.service.stack, u.service.service, u.slo_label).removeprefix("runbooks/")
        lines.append(
            f"| {u.service.stack} | {u.service.service} | {u.slo_label} | {u.target_text}% / {u.period} "
            f"| {u.service.team} | [{path}]({path}) |"
        )
    return "\n".join(lines) + "\n"


def _page(u: Unit) -> str:
    return "\n".join(_lines(u)) + "\n"


def _lines(u: Unit) -> Iterator[str]:
    svc = u.service
    swarm_name = f"{svc.stack}_{svc.service}"
    sel = "{" + ",".join(f'{k}="{v}"' for k, v in u.identity.items()) + "}"
    yield f"# {svc.service} / {u.slo_label}"
    yield ""
    if u.slo.description:
        yield u.slo.description
        yield ""
    yield f"- Objective: {u.target_text}% over a rolling {u.period} ({u.slo.budgeting}); error budget {u.budget_text}."
    yield f"- SLI: `{u.slo.sli.kind}`. Owner: team `{svc.team}`. Swarm service: `{swarm_name}`."
    yield f"- Bad events: `{u.sli.bad}`"
    yield f"- All events: `{u.sli.total}`"
    yield f"- Budget left now: `{naming.BUDGET_REMAINING}{sel}`"
    yield ""
    yield "## First checks, for every alert below"
    yield ""
    yield f"1. What changed: `docker service ps {swarm_name} --no-trunc` (failed tasks, restarts) and"
    yield f"   `docker service inspect {swarm_name} --format '{{{{json .UpdateStatus}}}}'` (a rollout in progress?)."
    yield f"2. Errors and slow requests in the logs: `docker service logs --since 30m {swarm_name}`, and traces of"
    yield f"   `{svc.service}` in Jaeger for the same period."
    yield f"3. A bad release: `docker service rollback {swarm_name}` brings back the previous spec."
    yield "4. Dependencies: are the services this one calls burning their budgets too? Look at the SLO overview."
    for active in u.tiers:
        t = active.tier
        facts = tier_facts(u, active)
        yield ""
        yield f'<a id="{naming.runbook_anchor(t.alert)}"></a>'
        yield f"## {t.alert}"
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
        yield f'<a id="{naming.runbook_anchor(naming.ALERT_SLI_MISSING)}"></a>'
        yield f"## {naming.ALERT_SLI_MISSING}"
        yield ""
        yield (
            f"The SLI's series have been absent for {u.slo.alerting.no_data_for}. No burn-rate alert of this SLO "
            "can fire until they return. Check that the service runs and is scraped (Prometheus targets), and "
            "that the metric names and labels in the SLO file still match what the service exports."
        )
    if u.slo.alerting.budget_exhausted:
        yield ""
        yield f'<a id="{naming.runbook_anchor(naming.ALERT_BUDGET_EXHAUSTED)}"></a>'
        yield f"## {naming.ALERT_BUDGET_EXHAUSTED}"
        yield ""
        yield (
            f"More than {u.budget_text} of the last {u.period}'s events were bad. Agree with the team on a change "
            "freeze or on reliability work until the budget recovers; check whether the objective is still right."
        )
