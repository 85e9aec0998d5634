"""Prometheus rules that routing needs: the Watchdog (always firing, routed to the dead man's
switch), the stack-wide outage that inhibits per-service pages, and Alertmanager's standard
self-alerts (after the alertmanager mixin). Each has a runbook section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import naming
from .config import matcher
from .spec import OnCall

__all__ = ["SelfAlert", "rule_groups", "rule_tests", "runbook", "self_alerts"]


@dataclass(frozen=True)
class SelfAlert:
    name: str
    expr: str
    for_: str | None
    severity: str
    summary: str
    description: str
    runbook: str  # what to do, Markdown


def self_alerts(oncall: OnCall) -> list[SelfAlert]:
    job = matcher("job", oncall.alertmanager_job)
    page_alerts = naming.alternation(naming.PAGE_ALERTS)
    n = oncall.stack_outage.services
    failed_ratio = (
        f"rate(alertmanager_notifications_failed_total{{{job}}}[5m]) / ignoring (reason) group_left () "
        f"rate(alertmanager_notifications_total{{{job}}}[5m])"
    )
    return [
        SelfAlert(
            naming.WATCHDOG,
            "vector(1)",
            None,
            "none",
            "Always firing: proves that the alerting pipeline works end to end",
            "This alert always fires. It is routed to the dead man's switch, which alerts when the heartbeat stops.",
            "Nothing to do while it fires. When the dead man's switch reports that it stopped: Prometheus, its "
            "connection to Alertmanager, every Alertmanager replica or the dead man's switch receiver is down. "
            'Check `up{job="prometheus"}` and the Alertmanager replicas\' logs first.',
        ),
        SelfAlert(
            naming.STACK_OUTAGE,
            f'count by (stack) (count by (stack, service) (ALERTS{{alertname=~"{page_alerts}",alertstate="firing"}})) '
            f">= {n}",
            None,
            "page",
            "Stack {{ $labels.stack }}: {{ $value }} services burn their error budget at page rate",
            f"At least {n} services of one stack page at once: a shared cause (network, node, database, ingress) "
            "is likelier than many separate failures. Their own pages are held back while this fires.",
            "Look for what the services share: the nodes they run on (`docker node ls`), the overlay network, "
            "Traefik, a shared database. The services' own alerts are inhibited, not gone: see them in "
            "Alertmanager's UI.",
        ),
        SelfAlert(
            naming.AM_FAILED_RELOAD,
            f"max_over_time(alertmanager_config_last_reload_successful{{{job}}}[5m]) == 0",
            "10m",
            "page",
            "Alertmanager {{ $labels.instance }} failed to reload its configuration",
            "The replica runs its previous configuration: routing changes since then are not in effect.",
            "Run `slo check` on the deployed bundle; read the replica's log for the parse error; redeploy the "
            "config. Replicas with different configurations route and deduplicate differently.",
        ),
        SelfAlert(
            naming.AM_MEMBERS_INCONSISTENT,
            f"max_over_time(alertmanager_cluster_members{{{job}}}[5m]) < on (job) group_left () "
            f"count by (job) (max_over_time(alertmanager_cluster_members{{{job}}}[5m]))",
            "15m",
            "ticket",
            "Alertmanager {{ $labels.instance }} does not see every other replica",
            "Replicas that do not gossip cannot deduplicate: each may notify on its own (duplicates).",
            "Check the cluster port (9094, TCP and UDP) on the overlay network, the `--cluster.peer` "
            "`tasks.<service>` name and the advertise address of each replica.",
        ),
        SelfAlert(
            naming.AM_FAILED_TO_SEND,
            f"({failed_ratio}) > 0.01",
            "5m",
            "ticket",
            "Alertmanager {{ $labels.instance }} fails to send notifications via {{ $labels.integration }}",
            "More than 1% of the notifications of this integration fail on this replica.",
            "Read the replica's log for the integration's error; check the secret file it reads and the "
            "receiver's service status. Run `slo check --secrets-dir` on the host.",
        ),
        SelfAlert(
            naming.AM_CLUSTER_FAILED_TO_SEND,
            f"min by (job, integration) ({failed_ratio}) > 0.01",
            "5m",
            "page",
            "Every Alertmanager replica fails to send notifications via {{ $labels.integration }}",
            "No replica gets notifications of this integration through: alerts routed to it are lost.",
            "As for AlertmanagerFailedToSendAlerts, but urgent: the receiver or its secret is broken for the whole "
            "cluster. Route its team to another receiver meanwhile.",
        ),
    ]


def _anchor(name: str) -> str:
    return name.lower()


def rule_groups(oncall: OnCall, runbook_base_url: str = "") -> list[dict[str, Any]]:
    rules = []
    for a in self_alerts(oncall):
        rule: dict[str, Any] = {"alert": a.name, "expr": a.expr}
        if a.for_:
            rule["for"] = a.for_
        labels = {"severity": a.severity}
        if a.name != naming.WATCHDOG:
            labels["team"] = oncall.default_team
        rule["labels"] = labels
        rule["annotations"] = {
            "description": a.description,
            "runbook_url": f"{runbook_base_url}{naming.RUNBOOK_FILE}#{_anchor(a.name)}",
            "summary": a.summary,
        }
        rules.append(rule)
    return [{"name": "alertmanager:routing", "rules": rules}]


def _expected(oncall: OnCall, name: str, labels: dict[str, str], value: str, base: str) -> dict[str, Any]:
    """The alert promtool must see: rule labels plus the series' labels, annotations rendered."""
    (rule,) = [r for g in rule_groups(oncall, base) for r in g["rules"] if r["alert"] == name]
    annotations = {}
    for k, v in rule["annotations"].items():
        for label, text in labels.items():
            v = v.replace(f"{{{{ $labels.{label} }}}}", text)
        annotations[k] = v.replace("{{ $value }}", value)
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": annotations}


def rule_tests(oncall: OnCall, runbook_base_url: str = "") -> dict[str, Any]:
    """promtool tests of the rules above: the Watchdog always fires; pages of N services of one
    stack are an outage, N-1 are not (pending alerts do not count); replicas that disagree on
    the cluster size, and a failed reload, alert after their `for`."""
    n = oncall.stack_outage.services
    job = oncall.alertmanager_job
    series = []
    for i in range(n):
        alertname = naming.PAGE_ALERTS[i % len(naming.PAGE_ALERTS)]
        series.append(
            {
                "series": f'ALERTS{{alertname="{alertname}",alertstate="firing",service="s{i}",slo="x",stack="big"}}',
                "values": "1x30",
            }
        )
    for i in range(n - 1):
        series.append(
            {
                "series": f'ALERTS{{alertname="{naming.PAGE_FAST}",alertstate="firing",service="s{i}",slo="x",'
                f'stack="small"}}',
                "values": "1x30",
            }
        )
    series.append(
        {
            "series": f'ALERTS{{alertname="{naming.PAGE_FAST}",alertstate="pending",service="late",slo="x",'
            f'stack="small"}}',
            "values": "1x30",
        }
    )
    for i, members in enumerate((2, 1)):
        series.append(
            {"series": f'alertmanager_cluster_members{{instance="am{i}",job="{job}"}}', "values": f"{members}x30"}
        )
        series.append(
            {
                "series": f'alertmanager_config_last_reload_successful{{instance="am{i}",job="{job}"}}',
                "values": f"{1 - i}x30",
            }
        )
    base = runbook_base_url
    alert_tests = [
        {
            "eval_time": "20m",
            "alertname": naming.WATCHDOG,
            "exp_alerts": [_expected(oncall, naming.WATCHDOG, {}, "1", base)],
        },
        {
            "eval_time": "20m",
            "alertname": naming.STACK_OUTAGE,
            "exp_alerts": [_expected(oncall, naming.STACK_OUTAGE, {"stack": "big"}, str(n), base)],
        },
        {"eval_time": "14m", "alertname": naming.AM_MEMBERS_INCONSISTENT, "exp_alerts": []},
        {
            "eval_time": "20m",
            "alertname": naming.AM_MEMBERS_INCONSISTENT,
            "exp_alerts": [
                _expected(oncall, naming.AM_MEMBERS_INCONSISTENT, {"instance": "am1", "job": job}, "1", base)
            ],
        },
        {
            "eval_time": "20m",
            "alertname": naming.AM_FAILED_RELOAD,
            "exp_alerts": [_expected(oncall, naming.AM_FAILED_RELOAD, {"instance": "am1", "job": job}, "0", base)],
        },
    ]
    return {
        "rule_files": ["../rules/alertmanager.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "watchdog, stack outage and Alertmanager self-alerts",
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": alert_tests,
            }
        ],
    }


def runbook(oncall: OnCall) -> str:
    lines = [
        "# Runbook: alerting pipeline",
        "",
        f"Owner: team `{oncall.default_team}` (the on-call file's default team). These alerts watch the "
        "alerting pipeline itself: the Watchdog, stack-wide outages and the Alertmanager replicas.",
        "",
    ]
    for a in self_alerts(oncall):
        lines += [f"## {a.name}", "", f"Severity: `{a.severity}`. {a.description}", "", a.runbook, ""]
    return "\n".join(lines)
