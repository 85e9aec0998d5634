"""Every name the routing configuration generates or relies on: receivers, time intervals,
files, and the alert and label names of other producers (our SLO rules, the Swarm
exporter) that routes and inhibit rules match. One place, so docs and tests import them."""

from __future__ import annotations

from typing import Final

from slo import naming as slo_naming
from slo.windows import TIERS

# Files in the bundle.
CONFIG_FILE: Final = "alertmanager/alertmanager.yml"
ROUTES_TEST_FILE: Final = "alertmanager/routes.test.yml"
RULE_FILE: Final = "prometheus/rules/alertmanager.yml"
RULE_TEST_FILE: Final = "prometheus/tests/alertmanager.test.yml"
RUNBOOK_FILE: Final = "runbooks/alertmanager.md"

# Labels routes match and group on.
LABEL_TEAM: Final = slo_naming.LABEL_TEAM
LABEL_SEVERITY: Final = slo_naming.LABEL_SEVERITY
LABEL_STACK: Final = slo_naming.LABEL_STACK
LABEL_SERVICE: Final = slo_naming.LABEL_SERVICE
LABEL_SLO: Final = slo_naming.LABEL_SLO
LABEL_NODE: Final = "node"  # the Swarm node (hostname) a node, task or replica alert is about
# One notification per SLO incident: every alert of one SLO objective (its burn-rate tiers of
# one severity, its SLI-missing and budget alerts) shares a group. Alerts without an `slo`
# label (exporter, self-monitoring) group per service.
GROUP_BY: Final = (LABEL_TEAM, LABEL_STACK, LABEL_SERVICE, LABEL_SLO)
SLO_IDENTITY: Final = slo_naming.IDENTITY_LABELS  # slo, service, stack

# Our own SLO alerts.
PAGE_ALERTS: Final = tuple(t.alert for t in TIERS if t.severity == "page")
TICKET_ALERTS: Final = tuple(t.alert for t in TIERS if t.severity == "ticket")
PAGE_FAST: Final = TIERS[0].alert
PAGE_SLOW: Final = TIERS[1].alert
BUDGET_EXHAUSTED: Final = slo_naming.ALERT_BUDGET_EXHAUSTED
SLI_MISSING: Final = slo_naming.ALERT_SLI_MISSING

# Alerts this package adds to the bundle.
WATCHDOG: Final = "Watchdog"
STACK_OUTAGE: Final = "SLOStackOutage"
AM_FAILED_RELOAD: Final = "AlertmanagerFailedReload"
AM_MEMBERS_INCONSISTENT: Final = "AlertmanagerMembersInconsistent"
AM_FAILED_TO_SEND: Final = "AlertmanagerFailedToSendAlerts"
AM_CLUSTER_FAILED_TO_SEND: Final = "AlertmanagerClusterFailedToSendAlerts"

# Alerts of the Swarm exporter's rules (exporter/): a node that is down, and the task and
# replica alerts of services on it, which all carry the `node` label.
NODE_DOWN: Final = "SwarmNodeDown"
NODE_SCOPED_ALERTS: Final = "SwarmTask.+|SwarmServiceReplicas.+"

DEAD_MANS_SWITCH: Final = "dead-mans-switch"


def receiver(team: str, severity: str) -> str:
    return f"{team}-{severity}"


def escalation_receiver(team: str) -> str:
    return f"{team}-escalation"


def business_hours(team: str) -> str:
    return f"{team}-business-hours"


def alternation(names: tuple[str, ...]) -> str:
    return "|".join(names)
