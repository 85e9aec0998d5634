"""The Alertmanager configuration: a pure function of the on-call model.

Route tree: the Watchdog first, then one route per team (matching its `team` label) with a
child per severity, then a catch-all that routes like the default team. Inhibit rules and
time intervals follow. Only fields the targeted Alertmanager version accepts are emitted: the
loader refuses, at its line, a receiver that version lacks (alerts/versions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import naming
from .spec import SEVERITIES, OnCall, Receiver, Team, Timing

__all__ = ["TIMING", "alertmanager_config", "matcher", "receivers_for"]


@dataclass(frozen=True)
class Defaults:
    group_wait: str
    group_interval: str
    repeat_interval: str
    why: str


# Why each value is what it is: docs/alerts-routing.md (rendered from this table).
TIMING: dict[str, Defaults] = {
    "page": Defaults(
        "30s",
        "5m",
        "4h",
        "30s collects the other tier and the neighbouring SLOs of one incident into the first page and "
        "adds little to the fast tier's own detection time (minutes); 5m tells the on-call engineer "
        "promptly when the incident grows; 4h re-pages an incident nobody resolved, about twice a shift.",
    ),
    "ticket": Defaults(
        "5m",
        "30m",
        "24h",
        "ticket tiers look at 1-3 day windows, so 5m of waiting costs nothing and merges what fires together; "
        "30m bounds how long a ticket held outside business hours waits after they start; "
        "24h reminds once a working day.",
    ),
    "info": Defaults(
        "5m",
        "1h",
        "168h",
        "for the record: batched hourly, reminded weekly.",
    ),
    "watchdog": Defaults(
        "0s",
        "1m",
        "1m",
        "the dead man's switch expects a heartbeat every minute; its silence is the alert.",
    ),
}


def matcher(label: str, value: str, op: str = "=") -> str:
    """A matcher both the classic and the UTF-8 parser read the same way."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{label}{op}"{escaped}"'


def _timing(oncall: OnCall, kind: str) -> dict[str, str]:
    d = TIMING[kind]
    o = oncall.timing.get(kind, Timing())
    return {
        "group_wait": o.group_wait or d.group_wait,
        "group_interval": o.group_interval or d.group_interval,
        "repeat_interval": o.repeat_interval or d.repeat_interval,
    }


def receivers_for(team_name: str, team: Team, severity: str) -> list[str]:
    """The receivers an alert of this team and severity reaches, in route order."""
    if severity == "page":
        out = [naming.receiver(team_name, "page")]
        if team.escalation is not None:
            out.append(naming.escalation_receiver(team_name))
        return out
    if severity == "info" and team.info is not None:
        return [naming.receiver(team_name, "info")]
    return [naming.receiver(team_name, "ticket")]


def _severity_routes(oncall: OnCall, name: str, team: Team) -> list[dict[str, Any]]:
    hours = [naming.business_hours(name)] if team.business_hours is not None else []
    routes: list[dict[str, Any]] = []
    page: dict[str, Any] = {
        "receiver": naming.receiver(name, "page"),
        "matchers": [matcher(naming.LABEL_SEVERITY, "page")],
        **_timing(oncall, "page"),
    }
    routes.append(page)
    if team.escalation is not None:
        # Alertmanager's own escalation: a second route for the same pages whose group_wait is
        # the escalation delay. Its group flushes only if a page still fires by then.
        page["continue"] = True
        routes.append(
            {
                "receiver": naming.escalation_receiver(name),
                "matchers": [matcher(naming.LABEL_SEVERITY, "page")],
                **_timing(oncall, "page"),
                "group_wait": team.escalation.after,
            }
        )
    for sev in ("ticket", "info"):
        route: dict[str, Any] = {
            "receiver": receivers_for(name, team, sev)[0],
            "matchers": [matcher(naming.LABEL_SEVERITY, sev)],
            **_timing(oncall, sev),
        }
        if hours:
            route["active_time_intervals"] = hours
        routes.append(route)
    return routes


def _team_route(oncall: OnCall, name: str, team: Team, *, catch_all: bool = False) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": naming.receiver(name, "ticket")}
    if not catch_all:
        route["matchers"] = [matcher(naming.LABEL_TEAM, name)]
    route["routes"] = _severity_routes(oncall, name, team)
    return route


def _route(oncall: OnCall) -> dict[str, Any]:
    default = oncall.teams[oncall.default_team]
    watchdog = {
        "receiver": naming.DEAD_MANS_SWITCH,
        "matchers": [matcher("alertname", naming.WATCHDOG)],
        **_timing(oncall, "watchdog"),
    }
    routes = [watchdog]
    routes += [_team_route(oncall, name, oncall.teams[name]) for name in sorted(oncall.teams)]
    # Unrouted alerts (no team label, or a team the on-call file does not know): the default team.
    routes.append(_team_route(oncall, oncall.default_team, default, catch_all=True))
    return {
        "receiver": naming.receiver(oncall.default_team, "ticket"),
        "group_by": list(naming.GROUP_BY),
        **_timing(oncall, "ticket"),
        "routes": routes,
    }


def _integrations(oncall: OnCall, r: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.email is not None:
        out["email_configs"] = [{"to": r.email.to, "send_resolved": True}]
    if r.msteams is not None:
        out["msteamsv2_configs"] = [{"webhook_url_file": r.msteams.webhook_url_file, "send_resolved": True}]
    if r.opsgenie is not None:
        og: dict[str, Any] = {"api_key_file": r.opsgenie.api_key_file}
        if r.opsgenie.api_url is not None:
            og["api_url"] = r.opsgenie.api_url
        if r.opsgenie.priority is not None:
            og["priority"] = r.opsgenie.priority
        out["opsgenie_configs"] = [og]
    if r.pagerduty is not None:
        pd: dict[str, Any] = {"routing_key_file": r.pagerduty.routing_key_file}
        if r.pagerduty.severity is not None:
            pd["severity"] = r.pagerduty.severity
        out["pagerduty_configs"] = [pd]
    if r.slack is not None:
        out["slack_configs"] = [
            {"api_url_file": r.slack.api_url_file, "channel": r.slack.channel, "send_resolved": True}
        ]
    if r.webhook is not None:
        wh: dict[str, Any] = {"url_file": r.webhook.url_file, "send_resolved": True}
        if r.webhook.max_alerts:
            wh["max_alerts"] = r.webhook.max_alerts
        out["webhook_configs"] = [wh]
    return out


def _receivers(oncall: OnCall) -> list[dict[str, Any]]:
    out = [{"name": naming.DEAD_MANS_SWITCH, **_integrations(oncall, oncall.dead_mans_switch)}]
    for name in sorted(oncall.teams):
        team = oncall.teams[name]
        for sev in SEVERITIES:
            r = getattr(team, sev)
            if r is not None:
                out.append({"name": naming.receiver(name, sev), **_integrations(oncall, r)})
        if team.escalation is not None:
            out.append({"name": naming.escalation_receiver(name), **_integrations(oncall, team.escalation)})
    return out


def _alternatives(names: tuple[str, ...]) -> str:
    return naming.alternation(names)


def _inhibit_rules() -> list[dict[str, Any]]:
    same_slo = list(naming.SLO_IDENTITY)
    return [
        {  # a page of an SLO makes its tickets redundant: same incident, slower windows
            "source_matchers": [matcher("alertname", _alternatives(naming.PAGE_ALERTS), "=~")],
            "target_matchers": [matcher("alertname", _alternatives(naming.TICKET_ALERTS), "=~")],
            "equal": same_slo,
        },
        {  # the fast page tier makes the slow one redundant
            "source_matchers": [matcher("alertname", naming.PAGE_FAST)],
            "target_matchers": [matcher("alertname", naming.PAGE_SLOW)],
            "equal": same_slo,
        },
        {  # a spent budget says more than a ticket about burning it
            "source_matchers": [matcher("alertname", naming.BUDGET_EXHAUSTED)],
            "target_matchers": [matcher("alertname", _alternatives(naming.TICKET_ALERTS), "=~")],
            "equal": same_slo,
        },
        {  # a node that is down explains its tasks and replicas
            "source_matchers": [matcher("alertname", naming.NODE_DOWN)],
            "target_matchers": [matcher("alertname", naming.NODE_SCOPED_ALERTS, "=~")],
            "equal": [naming.LABEL_NODE],
        },
        {  # a stack-wide outage pages once, not once per service
            "source_matchers": [matcher("alertname", naming.STACK_OUTAGE)],
            "target_matchers": [matcher("alertname", _alternatives(naming.PAGE_ALERTS), "=~")],
            "equal": [naming.LABEL_STACK],
        },
    ]


def _time_intervals(oncall: OnCall) -> list[dict[str, Any]]:
    out = []
    for name in sorted(oncall.teams):
        bh = oncall.teams[name].business_hours
        if bh is None:
            continue
        ranges = [
            {
                "times": [{"start_time": h.start, "end_time": h.end}],
                "weekdays": list(h.weekdays),
                "location": bh.time_zone,
            }
            for h in bh.hours
        ]
        out.append({"name": naming.business_hours(name), "time_intervals": ranges})
    return out


def _global(oncall: OnCall) -> dict[str, Any]:
    g: dict[str, Any] = {"resolve_timeout": oncall.global_.resolve_timeout}
    smtp = oncall.global_.smtp
    if smtp is not None:
        g["smtp_smarthost"] = smtp.smarthost
        g["smtp_from"] = smtp.sender
        if smtp.auth_username is not None:
            g["smtp_auth_username"] = smtp.auth_username
        if smtp.auth_password_file is not None:
            g["smtp_auth_password_file"] = smtp.auth_password_file
        g["smtp_require_tls"] = smtp.require_tls
    return g


def alertmanager_config(oncall: OnCall) -> dict[str, Any]:
    config: dict[str, Any] = {
        "global": _global(oncall),
        "route": _route(oncall),
        "inhibit_rules": _inhibit_rules(),
        "receivers": _receivers(oncall),
    }
    intervals = _time_intervals(oncall)
    if intervals:
        config["time_intervals"] = intervals
    return config
