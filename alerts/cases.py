"""The routing table: labels in, expected receivers out. One case per team and severity,
plus the Watchdog, unrouted alerts and the self-alerts. Written into the bundle
(`alertmanager/routes.test.yml`) and run by `slo check` with `amtool config routes test`.

A case carries the labels our rules really put on the alert: for a team with SLOs, those of
its first SLO's alert of that severity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slo.compile.units import Unit

from . import naming
from .config import receivers_for
from .spec import SEVERITIES, OnCall

__all__ = ["Case", "cases", "cases_document"]

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


def cases(oncall: OnCall, units: Sequence[Unit]) -> list[Case]:
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
    return out


def cases_document(oncall: OnCall, units: Sequence[Unit]) -> dict[str, Any]:
    return {
        "alertmanager": oncall.alertmanager,
        "cases": [c.as_dict() for c in cases(oncall, units)],
    }
