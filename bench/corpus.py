"""A generated corpus of SLO files covering every SLI kind and template, for the corpus
tests and the benchmarks. Deterministic: the same size gives the same files.

    python -m bench.corpus 1000 /tmp/corpus    # writes /tmp/corpus/svc-0000.yaml ...
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

from slo.compile.units import timeslices
from slo.render import to_yaml
from slo.sli import SLI, SLIContext
from slo.spec import ServiceSpec, SLOSpec

SLOS_PER_SERVICE = 5
_OBJECTIVES = [Decimal(x) for x in ("99.9", "99.5", "99", "99.95", "95")]
_PERIODS = ["30d", "30d", "28d", "7d"]


def _sli(i: int, svc: str) -> tuple[dict[str, object], bool]:
    """SLI number i of the cycle; the flag says whether it is a latency SLI."""
    job = f'job="{svc}"'
    cycle: list[tuple[dict[str, object], bool]] = [
        (
            {
                "kind": "ratio",
                "bad": f'http_requests_total{{{job},code=~"5.."}}',
                "total": f"http_requests_total{{{job}}}",
            },
            False,
        ),
        (
            {
                "kind": "ratio",
                "good": f'sum(rate(grpc_server_handled_total{{{job},grpc_code="OK"}}[{{{{window}}}}]))',
                "total": f"sum(rate(grpc_server_handled_total{{{job}}}[{{{{window}}}}]))",
            },
            False,
        ),
        (
            {
                "kind": "latency",
                "metric": "http_request_duration_seconds",
                "selector": job,
                "threshold": "300ms",
            },
            True,
        ),
        (
            {
                "kind": "latency",
                "metric": "rpc_duration_seconds",
                "selector": job,
                "threshold": "250ms",
                "histogram": "native",
            },
            True,
        ),
        (
            {
                "kind": "threshold",
                "expr": f"max(queue_oldest_age_seconds{{{job}}})",
                "op": "<",
                "value": 120,
            },
            False,
        ),
        ({"kind": "traefik-errors"}, False),
        ({"kind": "traefik-latency", "threshold": "500ms"}, True),
        ({"kind": "prometheus-client-errors", "selector": job}, False),
        ({"kind": "prometheus-client-latency", "selector": job, "threshold": "1s"}, True),
        ({"kind": "otel-http-errors", "selector": job}, False),
        (
            {
                "kind": "otel-http-latency",
                "selector": job,
                "threshold": "300ms",
                "histogram": "native",
            },
            True,
        ),
        ({"kind": "cadvisor-cpu"}, False),
        ({"kind": "cadvisor-memory", "below": Decimal("0.85")}, False),
        ({"kind": "node-disk"}, False),
        ({"kind": "swarm-replicas"}, False),
        ({"kind": "swarm-task-health"}, False),
    ]
    return cycle[i % len(cycle)]


def service_doc(s: int, first_slo: int, count: int) -> dict[str, object]:
    svc = f"svc-{s:04d}"
    slos = []
    for k in range(count):
        i = first_slo + k
        sli, latency = _sli(i, svc)
        slo: dict[str, object] = {"name": f"slo-{k}", "description": f"generated SLO {i}"}
        if latency and i % 3 == 0:
            slo["objectives"] = [
                {"target": 95, "name": "p95"},
                {"target": 99, "name": "p99", "threshold": "2s"},
            ]
        else:
            slo["objectives"] = [_OBJECTIVES[i % len(_OBJECTIVES)]]
        slo["period"] = _PERIODS[i % len(_PERIODS)]
        if i % 7 == 3 and sli["kind"] in ("ratio", "prometheus-client-errors", "traefik-errors"):
            slo["budgeting"] = "timeslices"
        alerting: dict[str, object] = {}
        if slo["period"] == "28d":
            alerting["tiers"] = {"ticket-slow": False}  # 0.93x: would fire at the objective
        elif slo["period"] == "7d":
            alerting["tiers"] = {"ticket-slow": False, "ticket-fast": False}  # 0.23x and 0.7x
        if i % 11 == 5:
            alerting["min_events"] = 50
            alerting["labels"] = {"component": "generated"}
        if alerting:
            slo["alerting"] = alerting
        slo["sli"] = sli
        slos.append(slo)
    return {
        "version": "swarm-slo/v1",
        "service": svc,
        "stack": f"stack-{s % 7}",
        "team": f"team-{s % 13}",
        "labels": {"domain": f"d{s % 3}"},
        "slos": slos,
    }


def generate(n_slos: int) -> dict[str, str]:
    """File name -> YAML text, n_slos SLOs in all (objectives may add units)."""
    files = {}
    s = 0
    done = 0
    while done < n_slos:
        count = min(SLOS_PER_SERVICE, n_slos - done)
        files[f"svc-{s:04d}.yaml"] = to_yaml(service_doc(s, done, count))
        done += count
        s += 1
    return files


def write(n_slos: int, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in generate(n_slos).items():
        p = out / name
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths


# --- the same SLOs in Sloth's prometheus/v1 format, for the benchmarks ------------------

SLOTH_WINDOW = "{{.window}}"
SLOTH_STEP = "1m"  # time-based SLIs count one slice per minute, like our rules at --rate-window 1m
SLOTH_PERIODS = ("30d", "28d", "7d")
_SENTINEL = "7654321s"
# Sloth's catalog has 30d and 28d; for 7d it needs a windows file. These are our tiers
# (slo/windows.py): the same windows and budget shares for every period.
SLOTH_7D_WINDOWS = """apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}
"""


def _sloth_queries(spec: ServiceSpec, slo: SLOSpec, sli: SLI, budget: Decimal) -> tuple[str, str]:
    """error_query and total_query with Sloth's {{.window}}, equivalent to our SLI.

    Event SLIs: our bad and total rates at Sloth's window. Time-based SLIs (threshold kinds,
    timeslices) count slices: our per-minute bad and total, summed over the window by a
    1m subquery, as our rules sum their 1m recordings."""
    # Our queries are parsed when built: build them at an odd window, then put Sloth's in.
    exprs = sli.expressions(SLIContext(spec.service, spec.stack, _SENTINEL))
    if not exprs.time_based and slo.budgeting != "timeslices":
        return tuple(str(e).replace(f"[{_SENTINEL}]", f"[{SLOTH_WINDOW}]") for e in (exprs.bad, exprs.total))  # type: ignore[return-value]
    exprs = sli.expressions(SLIContext(spec.service, spec.stack, SLOTH_STEP))
    if not exprs.time_based:
        exprs = timeslices(exprs, budget)
    step = f"[{SLOTH_WINDOW}:{SLOTH_STEP}]"
    return f"sum(sum_over_time(({exprs.bad}){step}))", f"sum(sum_over_time(({exprs.total}){step}))"


def sloth_service_docs(s: int, first_slo: int, count: int) -> dict[str, dict[str, object]]:
    """Sloth prometheus/v1 documents of service_doc(s, first_slo, count), one per period
    (Sloth's period is per run, not per SLO): period -> document. Each of our SLO objectives
    is one Sloth SLO with the same objective, SLI and alert windows."""
    spec = ServiceSpec.parse(service_doc(s, first_slo, count))
    by_period: dict[str, list[dict[str, object]]] = {}
    for slo in spec.slos:
        many = len(slo.objectives) > 1
        for obj in slo.objectives:
            sli = slo.sli
            if obj.threshold is not None:
                sli = sli.replace(threshold=obj.threshold)
            budget = (Decimal(100) - obj.target) / Decimal(100)
            error_query, total_query = _sloth_queries(spec, slo, sli, budget)
            tiers = slo.alerting.tiers
            name = f"{slo.name}-{obj.name or obj.default_name()}" if many else slo.name
            entry: dict[str, object] = {
                "name": name,
                "objective": obj.target,
                "description": slo.description,
                "sli": {"events": {"error_query": error_query, "total_query": total_query}},
                "alerting": {
                    "name": re.sub(r"[^a-zA-Z0-9]", "_", f"{spec.service}_{name}_burn_rate"),
                    "labels": {"team": spec.team, "stack": spec.stack, **slo.alerting.labels},
                    "annotations": {"summary": f"{spec.service}: SLO {name} burns its error budget"},
                    "page_alert": {"labels": {"severity": "page"}},
                    # Sloth turns both ticket tiers on or off together.
                    "ticket_alert": {
                        "labels": {"severity": "ticket"},
                        **({"disable": True} if tiers.get("ticket-fast", True) is False else {}),
                    },
                },
            }
            by_period.setdefault(slo.period, []).append(entry)
    return {
        period: {"version": "prometheus/v1", "service": spec.service, "labels": dict(spec.labels), "slos": slos}
        for period, slos in by_period.items()
    }


def generate_sloth(n_slos: int) -> dict[str, str]:
    """The SLOs of generate(n_slos) in Sloth's format: "<period>/<service file>" -> YAML text."""
    files = {}
    s = 0
    done = 0
    while done < n_slos:
        count = min(SLOS_PER_SERVICE, n_slos - done)
        for period, doc in sloth_service_docs(s, done, count).items():
            files[f"{period}/svc-{s:04d}.yaml"] = to_yaml(doc)
        done += count
        s += 1
    return files


if __name__ == "__main__":
    write(int(sys.argv[1]), Path(sys.argv[2]))
