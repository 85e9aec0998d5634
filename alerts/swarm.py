"""Alerts on the Swarm exporter's metrics, what kube-state-metrics' alerts are to Kubernetes:
replicas missing, an update paused or rolled back, tasks crash-looping or failing their
health check, for every service of the SLO files (labelled for its team); nodes down,
managers unreachable, no leader and the exporter itself, for the default team.

One table (`RULES`) drives the rules, their promtool tests, the runbook page and the docs
table. Metric names come from the exporter's own table (`exporter.families`), alert names
and labels from `alerts.naming`. Pure functions: no I/O.

De-duplication. Cluster-scope families are published only by the exporter instance on the
raft leader, but while leadership moves two instances can publish them at once (the old
leader's last scrape and the new one's); node-scope families come from the instance of the
node that runs the container, and a restarted instance is a new target. So every
expression first collapses copies with `max by` the labels that identify the object
(service, node, task), and only then counts or sums: a duplicate can never double a count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import promql_parser

from exporter import families as f
from slo import promql
from slo.compile.rules import CompileOptions
from slo.duration import format_duration
from slo.naming import rule_file, test_file
from slo.render import to_yaml
from slo.spec import ServiceSpec

from . import naming

__all__ = [
    "RULES",
    "RUNBOOKS",
    "SwarmRule",
    "Target",
    "alerts_doc",
    "cluster_files",
    "cluster_rules",
    "metrics_of",
    "runbook",
    "service_group",
    "service_rules",
    "service_test_file",
]

Scope = Literal["service", "cluster"]
Rule = dict[str, Any]

# Update states (exporter.families.UPDATE_STATES) the rules single out.
ROLLING = ("updating", "rollback_started")  # a rolling update or rollback in progress
PAUSED = ("paused", "rollback_paused")  # stopped half-way, waiting for a person
ROLLED_BACK = "rollback_completed"
# Restart reasons (exporter.families.RESTART_REASONS) that are not the service's own doing:
# a node that went away orphans its tasks (SwarmNodeDown covers it).
NOT_CRASHES = ("orphaned",)
CRASH_WINDOW = "15m"
CRASH_RESTARTS = 3  # task replacements within CRASH_WINDOW
# Swarm replaces a task whose container turns unhealthy within seconds, so an unhealthy
# container shows in a scrape or two at most: the alert looks back over a window.
UNHEALTHY_WINDOW = "10m"
# The exporter's staleness is 0 while it follows the engine's events, else the time since it
# lost them; its periodic full reload (default every 300 s) moves the last-sync timestamp.
STALE_AFTER_S = 60
SYNC_OVERDUE_S = 900  # three missed periodic reloads

_SVC = (naming.LABEL_STACK, naming.LABEL_SERVICE)
_NODE = ("node_id", "hostname")
_INSTANCE = ("instance", naming.LABEL_TARGET_NODE)


def _alternatives(values: Iterable[str]) -> str:
    return "|".join(values)


@dataclass(frozen=True)
class Target:
    """What the expressions select: the exporter's scrape job, and for a service's rules its
    stack and Swarm service name (`<stack>_<service>`, the exporter's `service` label)."""

    job: str
    stack: str = ""
    swarm_service: str = ""

    def job_selector(self, metric: str, *matchers: str) -> promql.Expr:
        return promql.vector_selector(metric, [f"job={promql.quote(self.job)}", *matchers])

    def selector(self, metric: str, *matchers: str) -> promql.Expr:
        """The series of this target's service (cluster rules have none: job only)."""
        own = [f"{naming.LABEL_STACK}={promql.quote(self.stack)}"] if self.stack else []
        own += [f"{naming.LABEL_SERVICE}={promql.quote(self.swarm_service)}"] if self.swarm_service else []
        return self.job_selector(metric, *own, *matchers)


def _label_replace(inner: promql.Expr, dst: str, src: str, regex: str) -> promql.Expr:
    return promql.call("label_replace", inner, promql.quote(dst), '"$1"', promql.quote(src), promql.quote(regex))


def _by(op: str, inner: promql.Expr, *labels: str) -> promql.Expr:
    return promql.aggregate(op, inner, labels)


def _on(*labels: str) -> str:
    return f"on ({', '.join(labels)})"


_ONE = promql.number("1")
_ZERO = promql.number("0")


# --- expressions, per rule --------------------------------------------------------------


def _running(t: Target) -> promql.Expr:
    return _by("max", t.selector(f.SERVICE_REPLICAS_RUNNING), *_SVC)


def _desired(t: Target) -> promql.Expr:
    return _by("max", t.selector(f.SERVICE_REPLICAS_DESIRED), *_SVC)


def _replicas_none(t: Target) -> promql.Expr:
    return promql.binary(_running(t), "==", _ZERO)


def _replicas_short(t: Target) -> promql.Expr:
    short = promql.binary(promql.binary(_running(t), "<", _desired(t)), "and", promql.binary(_running(t), ">", _ZERO))
    states = f"state=~{promql.quote(_alternatives(ROLLING))}"
    rolling = promql.binary(_by("max", t.selector(f.SERVICE_UPDATE_STATE, states), *_SVC), "==", _ONE)
    return promql.binary(short, "unless", rolling, _on(*_SVC))


def _service_absent(t: Target) -> promql.Expr:
    reporting = promql.binary(promql.aggregate("max", t.job_selector(f.EXPORTER_CLUSTER_REPORTER)), "==", _ONE)
    return promql.binary(promql.call("absent", t.selector(f.SERVICE_REPLICAS_DESIRED)), "and", reporting, "on ()")


def _update_paused(t: Target) -> promql.Expr:
    states = f"state=~{promql.quote(_alternatives(PAUSED))}"
    return promql.binary(_by("max", t.selector(f.SERVICE_UPDATE_STATE, states), *_SVC, "state"), "==", _ONE)


def _rolled_back(t: Target) -> promql.Expr:
    state = f"state={promql.quote(ROLLED_BACK)}"
    return promql.binary(_by("max", t.selector(f.SERVICE_UPDATE_STATE, state), *_SVC), "==", _ONE)


def _crash_looping(t: Target) -> promql.Expr:
    reasons = f"reason!~{promql.quote(_alternatives(NOT_CRASHES))}"
    increase = promql.range_call("increase", t.selector(f.SERVICE_TASK_RESTARTS, reasons), CRASH_WINDOW)
    per_reason = _by("max", increase, *_SVC, "reason")  # one copy per reason, whichever instance
    return promql.binary(_by("sum", per_reason, *_SVC), ">=", promql.number(str(CRASH_RESTARTS)))


def _unhealthy(t: Target) -> promql.Expr:
    seen = promql.range_call(
        "max_over_time", t.selector(f.TASK_CONTAINER_HEALTH, 'health="unhealthy"'), UNHEALTHY_WINDOW
    )
    tasks = _by("count", _by("max", seen, *_SVC, "task_id", "node_id"), *_SVC, "node_id")
    hostnames = _by("max", t.job_selector(f.NODE_INFO), *_NODE)
    named = _label_replace(
        promql.binary(tasks, "*", hostnames, "on (node_id) group_left (hostname)"),
        naming.LABEL_NODE,
        "hostname",
        "(.*)",
    )
    # Without the cluster reporter there are no hostnames: name the node by its ID instead.
    fallback = _label_replace(tasks, naming.LABEL_NODE, "node_id", "(.*)")
    return promql.binary(named, "or", fallback, _on(*_SVC, "node_id"))


def _node_down(t: Target) -> promql.Expr:
    down = _by("max", t.job_selector(f.NODE_STATE, 'state!="ready"'), *_NODE)
    drained = _by("max", t.job_selector(f.NODE_INFO, 'availability="drain"'), "node_id")
    return _label_replace(promql.binary(down, "unless", drained, _on("node_id")), naming.LABEL_NODE, "hostname", "(.*)")


def _manager_unreachable(t: Target) -> promql.Expr:
    unreachable = _by("max", t.job_selector(f.NODE_MANAGER_REACHABILITY, 'reachability="unreachable"'), *_NODE)
    return _label_replace(unreachable, naming.LABEL_NODE, "hostname", "(.*)")


def _no_leader(t: Target) -> promql.Expr:
    fresh_leader = promql.binary(
        promql.binary(t.job_selector(f.NODE_LEADER), "==", _ONE),
        "and",
        promql.binary(t.job_selector(f.EXPORTER_STALENESS), "<", promql.number(str(STALE_AFTER_S))),
        _on("instance"),
    )
    scraped = promql.binary(promql.aggregate("max", t.job_selector("up")), "==", _ONE)
    return promql.binary(scraped, "unless", promql.aggregate("max", fresh_leader), "on ()")


def _exporter_absent(t: Target) -> promql.Expr:
    return promql.call("absent", promql.binary(t.job_selector("up"), "==", _ONE))


def _exporter_down(t: Target) -> promql.Expr:
    return _label_replace(
        promql.binary(t.job_selector("up"), "==", _ZERO), naming.LABEL_NODE, naming.LABEL_TARGET_NODE, "(.+)"
    )


def _exporter_stale(t: Target) -> promql.Expr:
    lagging = promql.binary(
        _by("max", t.job_selector(f.EXPORTER_STALENESS), *_INSTANCE), ">", promql.number(str(STALE_AFTER_S))
    )
    since_sync = promql.binary(promql.call("time"), "-", _by("max", t.job_selector(f.EXPORTER_LAST_SYNC), *_INSTANCE))
    overdue = promql.binary(since_sync, ">", promql.number(str(SYNC_OVERDUE_S)))
    return _label_replace(promql.binary(lagging, "or", overdue), naming.LABEL_NODE, naming.LABEL_TARGET_NODE, "(.+)")


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SwarmRule:
    """One alerting rule. Texts may hold `{service}` (the Swarm service, `<stack>_<service>`),
    `{team}`, and Prometheus' `{{ $labels.X }}` templates."""

    alert: str
    scope: Scope
    severity: str
    for_: str | None
    when: str  # the condition in words, for the docs table
    expr: Callable[[Target], promql.Expr]
    summary: str
    description: str

    @property
    def node_label(self) -> bool:
        """Whether its alerts name a node: the expression label_replace()s into `node`."""
        text = str(self.expr(Target("job", "stack", "stack_service")))
        return "label_replace(" in text and f', {promql.quote(naming.LABEL_NODE)}, "$1", ' in text


RULES: tuple[SwarmRule, ...] = (
    SwarmRule(
        naming.SERVICE_REPLICAS_MISSING, "service", "page", "1m",
        "no replica running on a ready node: desired > 0 but none runs, or scaled to zero",
        _replicas_none,
        "{service}: no replica is running",
        "No task of {service} has been running on a ready node for 1m: its tasks cannot be placed or "
        "started, their node went down, or the service was scaled to zero. A service with SLOs is "
        "expected to serve: this is an outage. Owner: team {team}.",
    ),
    SwarmRule(
        naming.SERVICE_REPLICAS_MISSING, "service", "ticket", "2m",
        "0 < running < desired, outside a rolling update or rollback",
        _replicas_short,
        "{service}: fewer replicas running than desired",
        "Fewer of {service}'s tasks than desired have been running on ready nodes for 2m, outside a rolling "
        "update: tasks cannot be placed (resources, constraints), fail to start, or were on a node that "
        "went down. The service runs with less capacity and redundancy. Owner: team {team}.",
    ),
    SwarmRule(
        naming.SERVICE_ABSENT, "service", "ticket", "5m",
        "the service is not in the swarm, while the exporter reports cluster state",
        _service_absent,
        "{service}: the service is not in the swarm",
        "The SLO files name {service}, but the swarm has had no such service for 5m: it was removed, "
        "renamed or never deployed here. Its SLIs go missing too. Owner: team {team}.",
    ),
    SwarmRule(
        naming.SERVICE_UPDATE_PAUSED, "service", "ticket", None,
        "the update state is paused or rollback_paused",
        _update_paused,
        "{service}: its update stopped half-way ({{ $labels.state }})",
        "The last update (or rollback) of {service} is paused: its update failure action stopped it, so "
        "some tasks may run the new spec and some the old one until someone resumes, rolls back or "
        "updates again. Owner: team {team}.",
    ),
    SwarmRule(
        naming.SERVICE_UPDATE_ROLLED_BACK, "service", "ticket", None,
        "the update state is rollback_completed (until the next update)",
        _rolled_back,
        "{service}: its last update was rolled back",
        "The last update of {service} failed and Swarm rolled it back: the service runs its previous spec, "
        "not the one last deployed. The alert stays until the next update. Owner: team {team}.",
    ),
    SwarmRule(
        naming.TASK_CRASH_LOOPING, "service", "ticket", "5m",
        f"at least {CRASH_RESTARTS} tasks ended and were replaced within {CRASH_WINDOW} "
        f"(any reason but {', '.join(NOT_CRASHES)})",
        _crash_looping,
        "{service}: tasks keep ending and being replaced",
        f"At least {CRASH_RESTARTS} tasks of {{service}} ended (non-zero exit, killed, unhealthy, rejected or "
        f"completed) and were replaced within {CRASH_WINDOW}, for 5m: the service crash-loops. Owner: team "
        "{team}.",
    ),
    SwarmRule(
        naming.TASK_UNHEALTHY, "service", "ticket", None,
        f"a task container reported unhealthy by its node's engine within {UNHEALTHY_WINDOW}, per node",
        _unhealthy,
        "{service}: task containers on {{ $labels.node }} failed their health check",
        f"A task container of {{service}} on node {{{{ $labels.node }}}} was unhealthy within the last "
        f"{UNHEALTHY_WINDOW}; Swarm stops and replaces such tasks. Owner: team {{team}}.",
    ),
    SwarmRule(
        naming.NODE_DOWN, "cluster", "page", "2m",
        "node state is not ready (down, unknown, disconnected), unless the node is drained",
        _node_down,
        "Swarm node {{ $labels.node }} is down",
        "Node {{ $labels.node }} has not been ready for 2m and was not drained first. Swarm reschedules "
        "its replicated tasks elsewhere if it can; its global tasks are gone. Alerts about tasks on it "
        "are held back while this fires.",
    ),
    SwarmRule(
        naming.MANAGER_UNREACHABLE, "cluster", "ticket", "2m",
        "a manager's reachability is unreachable",
        _manager_unreachable,
        "Swarm manager {{ $labels.node }} is unreachable",
        "Manager {{ $labels.node }} has been unreachable from the leader for 2m. The swarm keeps working "
        "while a majority of managers is reachable, but it tolerates one failure less.",
    ),
    SwarmRule(
        naming.NO_LEADER, "cluster", "page", "2m",
        "exporter targets are up, but none with fresh state reports a leader",
        _no_leader,
        "The swarm has no leader, or nothing reports its state",
        "No exporter instance with fresh state reports a raft leader for 2m. Only the instance on the "
        "leader's node publishes cluster state, so either the managers lost quorum (no scheduling, no "
        "updates) or the leader's exporter lost its engine. Either way the node and replica alerts are "
        "blind.",
    ),
    SwarmRule(
        naming.EXPORTER_ABSENT, "cluster", "ticket", "5m",
        "no target of the exporter's job is up (absent(up == 1))",
        _exporter_absent,
        "The Swarm exporter is not scraped",
        "No target of the Swarm exporter's scrape job has been up for 5m: every Swarm alert and the Swarm "
        "SLIs are blind.",
    ),
    SwarmRule(
        naming.EXPORTER_DOWN, "cluster", "ticket", "5m",
        "one exporter target is down (up == 0)",
        _exporter_down,
        "Swarm exporter {{ $labels.instance }} is down",
        "Prometheus has failed to scrape the Swarm exporter at {{ $labels.instance }} for 5m: the health "
        "of the task containers on its node is unknown.",
    ),
    SwarmRule(
        naming.EXPORTER_STALE, "cluster", "ticket", "5m",
        f"an instance lost the engine's events (staleness > {STALE_AFTER_S} s) or has not reloaded in "
        f"{SYNC_OVERDUE_S} s",
        _exporter_stale,
        "Swarm exporter {{ $labels.instance }} serves stale state",
        f"The Swarm exporter at {{{{ $labels.instance }}}} has not followed its engine for over {STALE_AFTER_S} s, "
        f"or its last full reload is over {SYNC_OVERDUE_S} s old, for 5m: it serves the last state it knew.",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Runbook:
    meaning: str
    checks: tuple[str, ...]  # shell commands
    action: str


_SVC_NAME = "<stack>_<service>"
RUNBOOKS: dict[str, Runbook] = {
    naming.SERVICE_REPLICAS_MISSING: Runbook(
        "Fewer tasks of the service run on ready nodes than it should. Severity `page` when none runs (an "
        "outage: desired replicas above 0 with none running, or the service was scaled to zero); `ticket` "
        "when some run, and never while a rolling update or rollback is in progress (it replaces tasks "
        "one by one by design). A node that went down shows as `SwarmNodeDown`; this alert is not held "
        "back by it, because Swarm should have rescheduled the tasks elsewhere within its `for`.",
        (
            "docker service ls --filter name=<stack>_<service>",
            "docker service ps <stack>_<service> --no-trunc --filter desired-state=running",
            "docker service inspect <stack>_<service> --format '{{json .Spec.TaskTemplate.Placement}}'",
            "docker node ls",
        ),
        "Read the `ERROR` column of `docker service ps`: `no suitable node` means placement constraints or "
        "resource reservations no node satisfies (free capacity, relax the constraint); image errors mean a "
        "registry or tag problem; a task that starts and dies is a crash (see `SwarmTaskCrashLooping`). "
        "Scaled to zero by mistake: `docker service scale <stack>_<service>=N`. On purpose (maintenance): "
        "silence the alert for the service while it lasts.",
    ),
    naming.SERVICE_ABSENT: Runbook(
        "An SLO file names a service the swarm does not have (the exporter, which reports cluster state, "
        "lists no such service). Its SLIs will go missing too.",
        ("docker service ls --filter name=<stack>_<service>", "docker stack ls", "docker stack services <stack>"),
        "If the stack was removed or renamed, deploy it again or fix the SLO file's `stack` and `service`. "
        "An SLO file for a service that does not run on this swarm belongs in another bundle.",
    ),
    naming.SERVICE_UPDATE_PAUSED: Runbook(
        "A rolling update (`paused`) or a rollback (`rollback_paused`) stopped half-way because tasks "
        "failed and the update's failure action is `pause` (the default). Tasks of both specs may run.",
        (
            "docker service inspect <stack>_<service> --format '{{json .UpdateStatus}}'",
            "docker service ps <stack>_<service> --no-trunc",
            "docker service logs --since 30m <stack>_<service>",
        ),
        "Find why the new tasks failed (the `ERROR` column, the logs). Then "
        "`docker service rollback <stack>_<service>` to the previous spec, or fix it and "
        "`docker service update --image <fixed> <stack>_<service>`. Consider "
        "`--update-failure-action rollback` so a failed update does not wait for a person.",
    ),
    naming.SERVICE_UPDATE_ROLLED_BACK: Runbook(
        "The last update failed its monitor period and Swarm rolled it back (`--update-failure-action "
        "rollback`): the service runs its previous spec, healthy, but not what was last deployed. It stays "
        "firing until the next update.",
        (
            "docker service inspect <stack>_<service> --format '{{json .UpdateStatus}}'",
            "docker service inspect <stack>_<service> --format '{{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}'",
            "docker service ps <stack>_<service> --no-trunc",
        ),
        "Find why the new version's tasks failed (exit codes, health checks, logs of the failed tasks), "
        "fix it and deploy again. Tell whoever deployed: their change is not live.",
    ),
    naming.TASK_CRASH_LOOPING: Runbook(
        f"Tasks of the service keep ending and being replaced: at least {CRASH_RESTARTS} within "
        f"{CRASH_WINDOW}, for 5m, counted by the exporter from the task history (a container's restart "
        "count is always 0 under Swarm, which replaces tasks instead). Tasks orphaned by a node that went "
        "away do not count. The reasons are in `swarm_service_task_restarts_total` by `reason`.",
        (
            "docker service ps <stack>_<service> --no-trunc",
            "docker service logs --since 30m <stack>_<service>",
            "docker inspect <task-id> --format '{{json .Status}}'",
        ),
        "Exit code 137 (`killed`) is usually the memory limit: compare usage with the limit. `unhealthy`: "
        "the health check fails, see `SwarmTaskUnhealthy`. A non-zero exit: the logs of the failed tasks. "
        "A bad release: `docker service rollback <stack>_<service>`.",
    ),
    naming.TASK_UNHEALTHY: Runbook(
        f"A task container of the service on the named node reported `unhealthy` (its health check failed "
        f"its retries) within {UNHEALTHY_WINDOW}. Swarm stops such a task and starts a replacement, so this "
        "shows a health check that fails, even if replacements come up; `SwarmTaskCrashLooping` fires too "
        "when it keeps happening.",
        (
            "docker service ps <stack>_<service> --no-trunc --filter node=<node>",
            "docker inspect <container> --format '{{json .State.Health}}'   # on that node",
            "docker service inspect <stack>_<service> --format '{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}'",
        ),
        "Read the health check's last outputs (`.State.Health.Log`): a dependency down, a slow start (raise "
        "`start_period`), an overloaded container (timeouts), or a check that tests the wrong thing. Only "
        "one node? Look at that node (disk, memory, network).",
    ),
    naming.NODE_DOWN: Runbook(
        "The node is not `ready` (down, unknown or disconnected) and was not drained first. Swarm moves "
        "its replicated tasks elsewhere if constraints and resources allow; global tasks on it are gone. "
        "Alerts that carry the same `node` label (tasks, replicas, manager, exporter on it) are held back.",
        ("docker node ls", "docker node inspect <node> --format '{{json .Status}} {{json .ManagerStatus}}'",
         "docker node ps <node>"),
        "Is the host up (console, cloud provider)? Is dockerd running (`systemctl status docker` on it)? "
        "Network partition? Planned maintenance: `docker node update --availability drain <node>` before "
        "taking a node down keeps this alert quiet. A manager down: check that a majority of managers is "
        "still reachable.",
    ),
    naming.MANAGER_UNREACHABLE: Runbook(
        "The leader cannot reach this manager. The raft quorum holds while a majority of managers is "
        "reachable; with three managers one more failure stops all scheduling and updates.",
        ("docker node ls --filter role=manager", "docker node inspect <node> --format '{{json .ManagerStatus}}'"),
        "Check the manager's host, dockerd and the network between managers (TCP 2377). A manager that "
        "cannot come back: `docker node demote` it and promote a healthy node to keep an odd number.",
    ),
    naming.NO_LEADER: Runbook(
        "No exporter instance reports a raft leader with fresh state. Only the instance on the leader's "
        "node publishes cluster state, so either the managers lost quorum, or the leader's exporter "
        "instance cannot read its engine. Until it clears, `SwarmNodeDown` and every replica alert are "
        "blind.",
        ("docker node ls   # on a manager: 'The swarm does not have a leader' means lost quorum",
         "docker service ps monitoring_exporter monitoring_socket-proxy"),
        "Lost quorum: bring back enough managers; as a last resort `docker swarm init --force-new-cluster` "
        "on one healthy manager (then re-add the others). Otherwise restart the exporter task (or its "
        "socket proxy) on the leader's node and see `SwarmExporterStale`.",
    ),
    naming.EXPORTER_ABSENT: Runbook(
        "Prometheus scrapes no Swarm exporter target: every Swarm alert and the Swarm SLIs are blind.",
        ("docker service ps monitoring_exporter", "curl -s http://<prometheus>/api/v1/targets"),
        "Is the exporter service deployed and running? Does its service carry the labels the scrape job "
        "selects (`prometheus.scrape`, `prometheus.port`, `prometheus.job`)? Does the job name match "
        "`slo build --swarm-exporter-job`?",
    ),
    naming.EXPORTER_DOWN: Runbook(
        "One exporter target fails its scrapes: the health of the task containers on its node is unknown, "
        "and if it is the leader's, the cluster state too (`SwarmNoLeader`).",
        ("docker service ps monitoring_exporter --filter node=<node>", "docker service logs monitoring_exporter"),
        "Restart the task on that node; look at its logs and resource limits (memory).",
    ),
    naming.EXPORTER_STALE: Runbook(
        "The exporter instance serves the last state it knew: it lost the engine's event stream (the "
        "engine or its read-only socket proxy is down) or its periodic reloads fail.",
        ("docker service logs --since 30m monitoring_exporter   # 'docker state no longer followed ...'",
         "docker service ps monitoring_socket-proxy --filter node=<node>"),
        "Restart the socket proxy on that node, check the engine there. The exporter reconnects by itself "
        "with backoff once the engine answers.",
    ),
}  # fmt: skip


# --- rules --------------------------------------------------------------------------------


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"{{{key}}}", value)
    return text


def runbook_url(alert: str, options: CompileOptions) -> str:
    return f"{options.runbook_base_url}{naming.SWARM_RUNBOOK_FILE}#{alert.lower()}"


def _rule(r: SwarmRule, target: Target, labels: dict[str, str], texts: dict[str, str], options: CompileOptions) -> Rule:
    rule: Rule = {"alert": r.alert, "expr": str(r.expr(target))}
    if r.for_:
        rule["for"] = r.for_
    rule["labels"] = dict(sorted({**labels, naming.LABEL_SEVERITY: r.severity}.items()))
    rule["annotations"] = {
        "description": _fill(r.description, texts),
        "runbook_url": runbook_url(r.alert, options),
        "summary": _fill(r.summary, texts),
    }
    return rule


def swarm_service(svc: ServiceSpec) -> str:
    return f"{svc.stack}_{svc.service}"


def service_labels(svc: ServiceSpec) -> dict[str, str]:
    """The labels of a service's Swarm alerts: the SLO file's labels (but never `node`, which
    inhibition matches on) and its identity and owner."""
    out = {k: v for k, v in svc.labels.items() if k != naming.LABEL_NODE}
    out.update({naming.LABEL_STACK: svc.stack, naming.LABEL_SERVICE: svc.service, naming.LABEL_TEAM: svc.team})
    return out


def service_rules(svc: ServiceSpec, options: CompileOptions) -> list[Rule]:
    target = Target(options.swarm_exporter_job, svc.stack, swarm_service(svc))
    texts = {"service": swarm_service(svc), "team": svc.team}
    labels = service_labels(svc)
    return [_rule(r, target, labels, texts, options) for r in RULES if r.scope == "service"]


def service_group(svc: ServiceSpec, rules: list[Rule]) -> dict[str, Any]:
    """The group of a service's Swarm alerts, in the service's own rule file."""
    return {"name": f"swarm:{svc.stack}:{svc.service}", "rules": rules}


def cluster_labels(team: str | None) -> dict[str, str]:
    return {naming.LABEL_TEAM: team} if team else {}


def cluster_rules(options: CompileOptions, team: str | None) -> list[Rule]:
    target = Target(options.swarm_exporter_job)
    return [_rule(r, target, cluster_labels(team), {}, options) for r in RULES if r.scope == "cluster"]


# --- promtool tests ----------------------------------------------------------------------
#
# Series look as Prometheus stores them: the exporter's labels plus `job`, `instance` and the
# stack's `swarm_node` target label. Instance A is the leader's; B another manager's; C a
# worker's. Every scenario runs at a 1m interval; no assertion falls where Prometheus 2.x
# ([t-w, t]) and 3.x ((t-w, t]) range selection disagree.

_INSTANCES = {"A": ("10.0.1.1:9338", "node-1", "n1"), "B": ("10.0.1.2:9338", "node-2", "n2"),
              "C": ("10.0.1.3:9338", "node-3", "n3")}  # fmt: skip
Points = Sequence[int | None]


@functools.lru_cache(maxsize=1024)  # every service's scenario has the same timelines
def _values(points: tuple[int | None, ...]) -> str:
    """promtool's expanding notation for one value per step (None: no sample)."""
    out: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[i]:
            j += 1
        n, v = j - i + 1, points[i]
        if v is None:
            out.append("_" if n == 1 else f"_x{n}")
        else:
            out.append(str(v) if n == 1 else f"{v}x{n - 1}")
        i = j + 1
    return " ".join(out)


def _run(*parts: tuple[int, int | None]) -> list[int | None]:
    """Runs of (steps, value): `_run((5, 3), (5, 2))` is 3 for five steps, then 2 for five."""
    return [v for n, v in parts for _ in range(n)]


class _Scenario:
    """One promtool test group: series, and what each alert does at chosen instants."""

    def __init__(self, name: str, job: str, rules: list[Rule]) -> None:
        self.name, self.job, self.rules = name, job, rules
        self.series: list[dict[str, str]] = []
        self.tests: dict[tuple[int, str], list[dict[str, Any]]] = {}

    def add(self, metric: str, instance: str, labels: dict[str, str], points: Points) -> None:
        address, node, _ = _INSTANCES[instance]
        full = {"instance": address, "job": self.job, naming.LABEL_TARGET_NODE: node, **labels}
        self.series.append({"series": str(promql.selector(metric, full)), "values": _values(tuple(points))})

    def add_plain(self, metric: str, labels: dict[str, str], points: Points) -> None:
        self.series.append({"series": str(promql.selector(metric, labels)), "values": _values(tuple(points))})

    def expect(self, alert: str, steps: Iterable[int], firing: Sequence[tuple[str, dict[str, str]]] = ()) -> None:
        """At each step, exactly these alerts of that name fire: (severity, labels of the series)."""
        for step in steps:
            self.tests.setdefault((step, alert), []).extend(self._expected(alert, sev, lab) for sev, lab in firing)

    def _expected(self, alert: str, severity: str, labels: dict[str, str]) -> dict[str, Any]:
        (rule,) = [r for r in self.rules if r["alert"] == alert and r["labels"][naming.LABEL_SEVERITY] == severity]
        annotations = {}
        for key, text in rule["annotations"].items():
            for label, value in labels.items():
                text = text.replace(f"{{{{ $labels.{label} }}}}", value)
            annotations[key] = text
        return {"exp_labels": dict(sorted({**labels, **rule["labels"]}.items())), "exp_annotations": annotations}

    def quiet(self, alerts: Iterable[str], steps: Iterable[int]) -> None:
        for step in steps:
            for alert in alerts:
                self.tests.setdefault((step, alert), [])

    def group(self) -> dict[str, Any]:
        tests: list[dict[str, Any]] = [
            {
                "eval_time": format_duration(step * 60_000) if step else "0s",
                "alertname": alert,
                "exp_alerts": sorted(self.tests[step, alert], key=_by_labels),
            }
            for step, alert in sorted(self.tests)
        ]
        return {"name": self.name, "interval": "1m", "input_series": self.series, "alert_rule_test": tests}


def _by_labels(expected: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(expected["exp_labels"].items())


def _state_series(s: _Scenario, svc: dict[str, str], instance: str, timeline: Sequence[str | None]) -> None:
    """swarm_service_update_state for each of the six states, from the current state per step
    ("": never updated, every state 0; None: no sample)."""
    for state in f.UPDATE_STATES:
        points = [None if cur is None else int(cur == state) for cur in timeline]
        s.add(f.SERVICE_UPDATE_STATE, instance, {**svc, "state": state}, points)


_SERVICE_ALERTS = tuple(dict.fromkeys(r.alert for r in RULES if r.scope == "service"))
_CLUSTER_ALERTS = tuple(dict.fromkeys(r.alert for r in RULES if r.scope == "cluster"))


def _service_scenarios(svc: ServiceSpec, options: CompileOptions, rules: list[Rule]) -> list[_Scenario]:
    """Two groups: one 40-minute story with every service alert but the absent one (the
    service's rule file holds its SLO rules too, and promtool evaluates them all at every step:
    steps are what a test costs), and the service missing from the swarm."""
    job = options.swarm_exporter_job
    name = swarm_service(svc)
    series_svc = {naming.LABEL_STACK: svc.stack, naming.LABEL_SERVICE: name}
    fired = {naming.LABEL_STACK: svc.stack, naming.LABEL_SERVICE: name}  # what the aggregations keep
    n1 = {"node_id": "n1", "hostname": "node-1"}
    info = {**n1, "role": "manager", "engine_version": "27.5.1", "availability": "active"}
    s = _Scenario("a service's life: replicas, updates, crashes, health, scale to zero", job, rules)

    # Replicas: short (5-9m, a ticket after 2m), none (10-14m, a page after 1m), short during
    # a rolling update (20-24m, quiet), scaled to zero (from 30m: a page, and nothing else).
    # Updates: paused (15-17m), rollback paused (18-19m), rolled back (25-29m). From 15m to
    # 24m a second instance publishes the same cluster state, as during a leader change.
    desired = _run((30, 3), (10, 0))
    running = _run((5, 3), (5, 2), (5, 0), (5, 3), (5, 2), (5, 3), (10, 0))
    states = (
        ["completed"] * 15 + ["paused"] * 3 + ["rollback_paused"] * 2 + ["updating"] * 5
        + ["rollback_completed"] * 5 + ["completed"] * 10
    )  # fmt: skip
    for inst, first, last in (("A", 0, 40), ("B", 15, 25)):
        s.add(f.SERVICE_REPLICAS_DESIRED, inst, series_svc, _window(desired, first, last))
        s.add(f.SERVICE_REPLICAS_RUNNING, inst, series_svc, _window(running, first, last))
        _state_series(s, series_svc, inst, _window(states, first, last))
    # Restarts: six crashes in 1-6m (firing from 8m, clear by 20m); two kills at 20-21m
    # published by both instances (2, not 4: quiet); tasks orphaned by a lost node at 22-24m
    # (not crashes: quiet).
    restarts = {
        "nonzero_exit": [0, 1, 2, 3, 4, 5, *[6] * 34],
        "killed": [*[0] * 20, 1, *[2] * 19],
        "orphaned": [*[0] * 22, 3, 6, *[9] * 16],
    }
    for reason, points in restarts.items():
        s.add(f.SERVICE_TASK_RESTARTS, "A", {**series_svc, "reason": reason}, points)
    s.add(f.SERVICE_TASK_RESTARTS, "B", {**series_svc, "reason": "killed"}, restarts["killed"])
    # Health: task 1 unhealthy in two scrapes (5-6m; Swarm then replaces it), task 3 in one
    # (20m) on a node whose hostname is unknown (named by its ID); task 2 healthy throughout.
    s.add(f.EXPORTER_CLUSTER_REPORTER, "A", {"node_id": "n1"}, _run((40, 1)))
    s.add(f.NODE_INFO, "A", info, _run((40, 1)))
    t1 = {**series_svc, "task": f"{name}.1", "task_id": "t1", "node_id": "n1"}
    s.add(f.TASK_CONTAINER_HEALTH, "A", {**t1, "health": "healthy"}, _run((5, 1), (35, None)))
    s.add(f.TASK_CONTAINER_HEALTH, "A", {**t1, "health": "unhealthy"}, _run((5, None), (2, 1), (33, None)))
    t2 = {**series_svc, "task": f"{name}.2", "task_id": "t2", "node_id": "n1"}
    s.add(f.TASK_CONTAINER_HEALTH, "A", {**t2, "health": "healthy"}, _run((30, 1), (10, None)))
    t3 = {**series_svc, "task": f"{name}.3", "task_id": "t3", "node_id": "n3"}
    s.add(f.TASK_CONTAINER_HEALTH, "C", {**t3, "health": "unhealthy"}, _run((20, None), (1, 1), (19, None)))

    missing = naming.SERVICE_REPLICAS_MISSING
    s.expect(missing, (4, 6, 10, 16, 22, 26, 30))
    s.expect(missing, (7, 9), [("ticket", fired)])
    s.expect(missing, (11, 14, 31, 39), [("page", fired)])
    paused = naming.SERVICE_UPDATE_PAUSED
    s.expect(paused, (14, 20))
    s.expect(paused, (15, 17), [("ticket", {**fired, "state": "paused"})])
    s.expect(paused, (18, 19), [("ticket", {**fired, "state": "rollback_paused"})])
    back = naming.SERVICE_UPDATE_ROLLED_BACK
    s.expect(back, (24, 30))
    s.expect(back, (25, 29), [("ticket", fired)])
    looping = naming.TASK_CRASH_LOOPING
    s.expect(looping, (2, 20, 26, 29))
    s.expect(looping, (8, 12), [("ticket", fired)])
    unhealthy = naming.TASK_UNHEALTHY
    s.expect(unhealthy, (4, 17, 31))
    s.expect(unhealthy, (5, 15), [("ticket", {**fired, **n1, naming.LABEL_NODE: "node-1"})])
    s.expect(unhealthy, (20, 29), [("ticket", {**fired, "node_id": "n3", naming.LABEL_NODE: "n3"})])
    # Scaled to zero: the page only.
    s.quiet([a for a in _SERVICE_ALERTS if a != missing], (33,))
    out = [s]

    # A service the swarm lacks while the exporter reports cluster state; then no reporter.
    s = _Scenario("the service is not in the swarm", job, rules)
    s.add(f.EXPORTER_CLUSTER_REPORTER, "A", {"node_id": "n1"}, _run((7, 1), (2, 0)))
    absent = naming.SERVICE_ABSENT
    s.expect(absent, (4, 7))
    s.expect(absent, (5, 6), [("ticket", {"job": job, **fired})])
    s.quiet([missing], (6,))
    out.append(s)
    return out


def _window(points: Sequence[Any], first: int, last: int) -> list[Any]:
    """The points from step `first` to `last` (excluded); no sample elsewhere."""
    return [p if first <= i < last else None for i, p in enumerate(points)]


def service_test_file(svc: ServiceSpec, options: CompileOptions, rules: list[Rule] | None = None) -> tuple[str, str]:
    """The promtool tests of a service's Swarm alerts, against its whole rule file."""
    rules = service_rules(svc, options) if rules is None else rules
    path = test_file(svc.stack, svc.service, naming.SWARM_TEST_PART)
    doc = {
        "rule_files": ["../" * path.count("/") + rule_file(svc.stack, svc.service)],
        "evaluation_interval": "1m",
        "tests": [s.group() for s in _service_scenarios(svc, options, rules)],
    }
    return path, to_yaml(doc)


def _cluster_scenarios(options: CompileOptions, rules: list[Rule]) -> list[_Scenario]:
    job = options.swarm_exporter_job
    out = []
    node = {name: {"node_id": nid, "hostname": host} for name, (_, host, nid) in _INSTANCES.items()}

    # Node 2 (a manager) goes down and unreachable at t5; node 3 (a drained worker) goes down
    # too; from t10 a second instance reports the same node state.
    s = _Scenario("nodes: one down, one drained and down; a manager unreachable", job, rules)
    for key, role, availability in (("A", "manager", "active"), ("B", "manager", "active"), ("C", "worker", "drain")):
        info = {**node[key], "role": role, "engine_version": "27.5.1", "availability": availability}
        s.add(f.NODE_INFO, "A", info, _run((20, 1)))
    s.add(f.NODE_STATE, "A", {**node["A"], "state": "ready"}, _run((20, 1)))
    for key in ("B", "C"):
        s.add(f.NODE_STATE, "A", {**node[key], "state": "ready"}, _run((5, 1), (15, None)))
        s.add(f.NODE_STATE, "A", {**node[key], "state": "down"}, _run((5, None), (15, 1)))
    s.add(f.NODE_STATE, "B", {**node["B"], "state": "down"}, _run((10, None), (10, 1)))
    s.add(f.NODE_MANAGER_REACHABILITY, "A", {**node["A"], "reachability": "reachable"}, _run((20, 1)))
    s.add(f.NODE_MANAGER_REACHABILITY, "A", {**node["B"], "reachability": "reachable"}, _run((5, 1), (15, None)))
    s.add(f.NODE_MANAGER_REACHABILITY, "A", {**node["B"], "reachability": "unreachable"}, _run((5, None), (15, 1)))
    on_n2 = {**node["B"], naming.LABEL_NODE: "node-2"}
    s.expect(naming.NODE_DOWN, (4, 6))
    s.expect(naming.NODE_DOWN, (7, 12, 19), [("page", on_n2)])
    s.expect(naming.MANAGER_UNREACHABLE, (6,))
    s.expect(naming.MANAGER_UNREACHABLE, (7, 19), [("ticket", on_n2)])
    out.append(s)

    # Instances A (leader), B and C: C is down; A loses its engine at t10 (staleness grows);
    # B's periodic reloads stop after t0.
    s = _Scenario("exporter instances: one down, the leader's stale, one not reloading", job, rules)
    s.add("up", "A", {}, _run((30, 1)))
    s.add("up", "B", {}, _run((30, 1)))
    s.add("up", "C", {}, _run((30, 0)))
    s.add(f.EXPORTER_CLUSTER_REPORTER, "A", {"node_id": "n1"}, _run((30, 1)))
    s.add(f.EXPORTER_CLUSTER_REPORTER, "B", {"node_id": "n2"}, _run((30, 0)))
    s.add(f.NODE_LEADER, "A", node["A"], _run((30, 1)))
    s.add(f.NODE_LEADER, "A", node["B"], _run((30, 0)))
    s.add(f.EXPORTER_STALENESS, "A", {}, [*[0] * 10, *range(60, 1260, 60)])
    s.add(f.EXPORTER_STALENESS, "B", {}, _run((30, 0)))
    s.add(f.EXPORTER_LAST_SYNC, "A", {}, list(range(0, 1800, 60)))
    s.add(f.EXPORTER_LAST_SYNC, "B", {}, _run((30, 0)))
    target = {name: {"instance": addr, naming.LABEL_TARGET_NODE: host, naming.LABEL_NODE: host}
              for name, (addr, host, _) in _INSTANCES.items()}  # fmt: skip
    s.expect(naming.NO_LEADER, (9, 11))
    s.expect(naming.NO_LEADER, (12, 29), [("page", {})])
    s.expect(naming.EXPORTER_STALE, (15,))
    s.expect(naming.EXPORTER_STALE, (16, 20), [("ticket", target["A"])])
    s.expect(naming.EXPORTER_STALE, (21, 29), [("ticket", target["A"]), ("ticket", target["B"])])
    s.expect(naming.EXPORTER_DOWN, (4,))
    s.expect(naming.EXPORTER_DOWN, (5, 29), [("ticket", {**target["C"], "job": job})])
    s.quiet([naming.EXPORTER_ABSENT, naming.NODE_DOWN], (10,))
    out.append(s)

    # No target of the exporter's job at all.
    s = _Scenario("no exporter target", job, rules)
    s.add_plain("up", {"instance": "localhost:9090", "job": "prometheus"}, _run((10, 1)))
    s.expect(naming.EXPORTER_ABSENT, (4,))
    s.expect(naming.EXPORTER_ABSENT, (5, 9), [("ticket", {})])
    s.quiet([naming.NO_LEADER, naming.EXPORTER_DOWN], (6,))
    out.append(s)
    return out


_HEADER = (
    "# Generated by swarm-slo. Alerts on the Swarm exporter's metrics (docs/alerts.md); do not edit: "
    "run `slo build` (`--no-swarm-alerts` leaves them out).\n"
)


def cluster_files(options: CompileOptions, team: str | None) -> dict[str, str]:
    """The cluster-wide rule file, its promtool tests and the runbook of every Swarm alert."""
    rules = cluster_rules(options, team)
    test_doc = {
        "rule_files": ["../" * naming.SWARM_RULE_TEST_FILE.count("/") + naming.SWARM_RULE_FILE],
        "evaluation_interval": "1m",
        "tests": [s.group() for s in _cluster_scenarios(options, rules)],
    }
    return {
        naming.SWARM_RULE_FILE: _HEADER + to_yaml({"groups": [{"name": "swarm:cluster", "rules": rules}]}),
        naming.SWARM_RULE_TEST_FILE: to_yaml(test_doc),
        naming.SWARM_RUNBOOK_FILE: runbook(team),
    }


# --- runbook and docs --------------------------------------------------------------------


def _alert_rules(alert: str) -> list[SwarmRule]:
    return [r for r in RULES if r.alert == alert]


def _sections(heading: str) -> list[str]:
    """A section per alert: when it fires, what it means, what to check and do."""
    lines: list[str] = []
    for alert in dict.fromkeys(r.alert for r in RULES):
        rb = RUNBOOKS[alert]
        when = "; ".join(
            f"severity `{r.severity}` when {r.when}" + (f", for {r.for_}" if r.for_ else "")
            for r in _alert_rules(alert)
        )
        lines += [f"{heading} {alert}", "", f"{when[0].upper()}{when[1:]}.", "", rb.meaning, "", "Check:", "", "```sh"]
        lines += [*rb.checks, "```", "", rb.action, ""]
    return lines


def runbook(team: str | None) -> str:
    owner = f"team `{team}` (the on-call file's default team)" if team else "the default team (no `team` label)"
    lines = [
        "# Runbook: Swarm alerts",
        "",
        "Alerts on the Swarm exporter's metrics. Per service of the SLO files (`SwarmService*`, `SwarmTask*`): "
        "owned by the service's team, with its `team`, `stack` and `service` labels; the Swarm service is "
        f"`{_SVC_NAME}`. Cluster-wide (nodes, managers, the exporter): owned by {owner}. Alerts about one "
        "node carry its hostname as `node`, and are held back while `SwarmNodeDown` fires for it.",
        "",
        *_sections("##"),
    ]
    return "\n".join(lines)


def alerts_doc() -> str:
    """For docs/alerts.md: a table of every rule, then the runbook's section per alert."""
    rows = [
        "| alert | fires when | for | severity | labels | routed to |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        labels = "`team`, `stack`, `service`" if r.scope == "service" else "`team` (default team)"
        if r.node_label:
            labels += ", `node`"
        route = "the service's team" if r.scope == "service" else "the default team"
        when = r.when.replace("|", "\\|")
        rows.append(
            f"| [`{r.alert}`](#{r.alert.lower()}) | {when} | {r.for_ or '-'} | {r.severity} | {labels} | {route} |"
        )
    return "\n".join([*rows, "", *_sections("###")])


def metrics_of(expr: str) -> set[str]:
    """Metric names an expression selects (promql-parser's syntax tree)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            return
        if isinstance(node, promql_parser.MatrixSelector):
            walk(node.vector_selector)
            return
        for attr in ("lhs", "rhs", "expr", "param"):
            child = getattr(node, attr, None)
            if child is not None:
                walk(child)
        for arg in getattr(node, "args", None) or ():
            walk(arg)

    walk(promql_parser.parse(expr))
    return names
