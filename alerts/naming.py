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

# Alerts on the Swarm exporter's metrics (alerts/swarm.py). Per service of the SLO files,
# labelled for the owning team:
SERVICE_REPLICAS_MISSING: Final = "SwarmServiceReplicasMissing"
SERVICE_ABSENT: Final = "SwarmServiceAbsent"
SERVICE_UPDATE_PAUSED: Final = "SwarmServiceUpdatePaused"
SERVICE_UPDATE_ROLLED_BACK: Final = "SwarmServiceUpdateRolledBack"
TASK_CRASH_LOOPING: Final = "SwarmTaskCrashLooping"
TASK_UNHEALTHY: Final = "SwarmTaskUnhealthy"
# ... and cluster-wide, for the default team:
NODE_DOWN: Final = "SwarmNodeDown"
MANAGER_UNREACHABLE: Final = "SwarmManagerUnreachable"
NO_LEADER: Final = "SwarmNoLeader"
EXPORTER_ABSENT: Final = "SwarmExporterAbsent"
EXPORTER_DOWN: Final = "SwarmExporterDown"
EXPORTER_STALE: Final = "SwarmExporterStale"
# A node that is down explains the alerts about that node: the task, replica, manager and
# exporter alerts that carry its `node` label (the hostname).
NODE_SCOPED_ALERTS: Final = "SwarmTask.+|SwarmServiceReplicas.+|SwarmManagerUnreachable|SwarmExporter(Down|Stale)"

# The exporter's scrape job, and the target label the stack's Prometheus puts the node's
# hostname in (stack/templates/prometheus.yml.j2: `swarm_node`).
EXPORTER_JOB: Final = slo_naming.SWARM_EXPORTER_JOB
LABEL_TARGET_NODE: Final = "swarm_node"

# Files of the Swarm alerts: cluster-wide rules and tests, and the runbook of every Swarm alert.
# Per-service rules are a group of the service's own rule file, tested in its own test file.
SWARM_RULE_FILE: Final = "prometheus/rules/swarm.yml"
SWARM_RULE_TEST_FILE: Final = "prometheus/tests/swarm.test.yml"
SWARM_RUNBOOK_FILE: Final = "runbooks/swarm.md"
SWARM_TEST_PART: Final = "swarm"  # prometheus/tests/<stack>/<service>.swarm.test.yml

DEAD_MANS_SWITCH: Final = "dead-mans-switch"


def receiver(team: str, severity: str) -> str:
    return f"{team}-{severity}"


def escalation_receiver(team: str) -> str:
    return f"{team}-escalation"


def business_hours(team: str) -> str:
    return f"{team}-business-hours"


def alternation(names: tuple[str, ...]) -> str:
    return "|".join(names)
