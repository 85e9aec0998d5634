"""The routing table: labels in, expected receivers out. One case per team and severity,
plus the Watchdog, unrouted alerts and the self-alerts. Written into the bundle
(`alertmanager/routes.test.yml`) and run by `slo check` with `amtool config routes test`.

A case carries the labels our rules really put on the alert: for a team with SLOs, those of
its first SLO's alert of that severity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slo.compile.rules import CompileOptions
from slo.compile.units import Unit

from . import naming, swarm
from .config import receivers_for
from .spec import SEVERITIES, OnCall

__all__ = ["Case", "cases", "cases_document", "swarm_cases"]

_REPRESENTATIVE = {"page": naming.PAGE_FAST, "ticket": naming.TICKET_ALERTS[0], "info": "SwarmServiceInfo"}


@dataclass(frozen=True)
class Case:
    name: str
    labels: dict[str, str]
    receivers: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "labels": dict(sorted(self.labels.items())), "receivers": list(self.receivers)}


def _labels(unit: Unit | None, team: str, severity: str) -> dict[str, str]:
    out = {naming.LABEL_STACK: "example", naming.LABEL_SERVICE: "example"} if unit is None else dict(unit.labels)
    out.update({"alertname": _REPRESENTATIVE[severity], naming.LABEL_TEAM: team, naming.LABEL_SEVERITY: severity})
    return out


def _swarm_case(name: str, rule: dict[str, Any], labels: dict[str, str], receivers: list[str]) -> Case:
    """A Swarm alert as Prometheus sends it: the series' labels, then the rule's."""
    return Case(name, {"alertname": rule["alert"], **labels, **rule["labels"]}, tuple(receivers))


def swarm_cases(oncall: OnCall, units: Sequence[Unit], options: CompileOptions) -> list[Case]:
    """The replica page of each team's first service reaches the team; the cluster-wide page
    and ticket reach the default team."""
    out = []
    first: dict[str, Unit] = {}
    for u in units:
        first.setdefault(u.service.team, u)
    for team in sorted(first):
        if team not in oncall.teams:
            continue
        svc = first[team].service
        (rule,) = [
            r
            for r in swarm.service_rules(svc, options)
            if r["alert"] == naming.SERVICE_REPLICAS_MISSING and r["labels"][naming.LABEL_SEVERITY] == "page"
        ]
        series = {naming.LABEL_STACK: svc.stack, naming.LABEL_SERVICE: swarm.swarm_service(svc)}
        out.append(_swarm_case(f"{team} replicas page", rule, series, receivers_for(team, oncall.teams[team], "page")))
    default = oncall.default_team
    rules = {r["alert"]: r for r in swarm.cluster_rules(options, default)}
    node = {"node_id": "n1", "hostname": "node-1", naming.LABEL_NODE: "node-1"}
    dteam = oncall.teams[default]
    out.append(
        _swarm_case(f"node down pages {default}", rules[naming.NODE_DOWN], node, receivers_for(default, dteam, "page"))
    )
    out.append(
        _swarm_case(
            f"exporter absent tickets {default}",
            rules[naming.EXPORTER_ABSENT],
            {},
            receivers_for(default, dteam, "ticket"),
        )
    )
    return out


def cases(oncall: OnCall, units: Sequence[Unit], options: CompileOptions | None = None) -> list[Case]:
    first: dict[str, Unit] = {}
    for u in units:
        first.setdefault(u.service.team, u)
    out = [
        Case(
            "watchdog goes to the dead man's switch",
            {"alertname": naming.WATCHDOG, naming.LABEL_SEVERITY: "none"},
            (naming.DEAD_MANS_SWITCH,),
        )
    ]
    for name in sorted(oncall.teams):
        team = oncall.teams[name]
        for sev in SEVERITIES:
            out.append(
                Case(f"{name} {sev}", _labels(first.get(name), name, sev), tuple(receivers_for(name, team, sev)))
            )
    default = oncall.default_team
    dteam = oncall.teams[default]
    for sev in SEVERITIES:
        labels = _labels(None, "no-such-team", sev)
        out.append(Case(f"unknown team {sev} goes to {default}", labels, tuple(receivers_for(default, dteam, sev))))
    out.append(
        Case(
            f"no team label goes to {default}",
            {"alertname": "SomeAlert", naming.LABEL_SEVERITY: "page"},
            tuple(receivers_for(default, dteam, "page")),
        )
    )
    out.append(
        Case(
            f"stack outage pages {default}",
            {"alertname": naming.STACK_OUTAGE, naming.LABEL_STACK: "shop", naming.LABEL_TEAM: default,
             naming.LABEL_SEVERITY: "page"},
            tuple(receivers_for(default, dteam, "page")),
        )
    )  # fmt: skip
    if options is not None and options.swarm_alerts:
        out += swarm_cases(oncall, units, options)
    return out


def cases_document(oncall: OnCall, units: Sequence[Unit], options: CompileOptions | None = None) -> dict[str, Any]:
    return {
        "alertmanager": oncall.alertmanager,
        "cases": [c.as_dict() for c in cases(oncall, units, options)],
    }
