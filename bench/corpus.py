"""A generated corpus of SLO files covering every SLI kind and template, for the corpus
tests and the benchmarks. Deterministic: the same size gives the same files.

    python -m bench.corpus 1000 /tmp/corpus    # writes /tmp/corpus/svc-0000.yaml ...
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from slo.render import to_yaml

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


if __name__ == "__main__":
    write(int(sys.argv[1]), Path(sys.argv[2]))
