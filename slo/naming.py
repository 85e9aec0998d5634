"""Every generated name: recording rules, alerts, labels, files. One place, so dashboards,
routing and docs can import them instead of repeating strings."""

from __future__ import annotations

import functools
import re
from typing import Final

# Recording rules follow Prometheus' level:metric:operations convention.
# The level is `slo`: one series per SLO objective, carrying the identity labels.
BAD_RATE: Final = "slo:sli_bad:rate{window}"
TOTAL_RATE: Final = "slo:sli_total:rate{window}"
ERROR_RATIO: Final = "slo:sli_error:ratio_rate{window}"
ERROR_RATIO_PERIOD: Final = "slo:sli_error:ratio_period"
BURN_RATE: Final = "slo:burn_rate:ratio_rate{window}"
BURN_RATE_PERIOD: Final = "slo:burn_rate:ratio_period"
BUDGET_REMAINING: Final = "slo:error_budget_remaining:ratio"
OBJECTIVE: Final = "slo:objective:ratio"
ERROR_BUDGET: Final = "slo:error_budget:ratio"
PERIOD: Final = "slo:period:seconds"

ALERT_BUDGET_EXHAUSTED: Final = "SLOErrorBudgetExhausted"
ALERT_SLI_MISSING: Final = "SLOSLIMissing"

# Labels users filter and route on. Identity labels select one SLO objective's series.
LABEL_SLO: Final = "slo"
LABEL_SERVICE: Final = "service"
LABEL_STACK: Final = "stack"
LABEL_TEAM: Final = "team"
LABEL_SEVERITY: Final = "severity"
LABEL_TIER: Final = "tier"
LABEL_LONG_WINDOW: Final = "long_window"
LABEL_SHORT_WINDOW: Final = "short_window"
IDENTITY_LABELS: Final = (LABEL_SLO, LABEL_SERVICE, LABEL_STACK)
RESERVED_LABELS: Final = frozenset(
    {
        LABEL_SLO,
        LABEL_SERVICE,
        LABEL_STACK,
        LABEL_TEAM,
        LABEL_SEVERITY,
        LABEL_TIER,
        LABEL_LONG_WINDOW,
        LABEL_SHORT_WINDOW,
        "alertname",
        "objective",
    }
)

# The rate window of the SLI source rules, from which every alert window is built. Set it
# to the rule evaluation interval (at least two scrape intervals): a longer one delays the
# fast page by half its length, because sum_over_time counts recent events only in part
# (measured: 53.8 s with 2s, 81.9 s with 1m; docs/e2e.md). Equal to the evaluation interval,
# each sample extrapolates the increases between the samples inside it: unbiased for steady
# traffic, up to one evaluation interval of jitter on a step change.
DEFAULT_RATE_WINDOW: Final = "1m"
# Always recorded as a ratio, for dashboards, even when no tier uses it.
DASHBOARD_WINDOW_MS: Final = 300_000

# Metrics published by our Swarm exporter that built-in templates read. The exporter declares
# them in its table of families (exporter/families.py); tests/test_sli_sources.py fails when
# these differ from it, so a template can never name a metric the exporter lacks. (Not
# imported from there: `slo` starts faster without the exporter's modules.)
SWARM_SERVICE_REPLICAS_DESIRED: Final = "swarm_service_replicas_desired"
SWARM_SERVICE_REPLICAS_RUNNING: Final = "swarm_service_replicas_running"
SWARM_TASK_CONTAINER_HEALTH: Final = "swarm_task_container_health"
SWARM_LABEL_SERVICE: Final = "service"  # the full Swarm service name, like shop_api
SWARM_LABEL_STACK: Final = "stack"
# The scrape job of the exporter: the stack's `prometheus.job` service label gives it this name
# (stack/templates/stack.yml.j2); `slo build --swarm-exporter-job` sets another.
SWARM_EXPORTER_JOB: Final = "swarm-exporter"


def windowed(template: str, window: str) -> str:
    return template.format(window=window)


def slo_id(slo: str, objective: str | None) -> str:
    """The `slo` label: the SLO name, suffixed by the objective's name when there are several."""
    return slo if objective is None else f"{slo}-{objective}"


def group_name(stack: str, service: str, slo: str, part: str) -> str:
    return f"slo:{stack}:{service}:{slo}:{part}"


# Files are per service, not per SLO: a bundle of 10,000 SLOs stays a few thousand files
# (creating files is most of the cost of writing a bundle, and of reviewing one).
def rule_file(stack: str, service: str) -> str:
    return f"prometheus/rules/{stack}/{service}.yml"


def test_file(stack: str, service: str, part: str) -> str:
    return f"prometheus/tests/{stack}/{service}.{part}.test.yml"


def runbook_file(stack: str, service: str) -> str:
    return f"runbooks/{stack}/{service}.md"


_NOT_ANCHOR = re.compile(r"[^\w-]")  # what a Markdown heading anchor keeps: letters, digits, - and _


@functools.lru_cache(maxsize=65536)
def runbook_anchor(slo: str, alert: str | None = None) -> str:
    anchor = slo.lower() if alert is None else f"{slo}-{alert}".lower()
    return _NOT_ANCHOR.sub("-", anchor)
