"""Each SLI kind and template reads raw series correctly: promtool evaluates the generated
source rules (`slo:sli_bad:rate1m`, `slo:sli_total:rate1m`) on synthetic raw series.

Counters grow linearly (every 15s), so rate() is exact in both Prometheus versions.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import families
from slo import naming
from slo.bundle import build, write
from slo.compile.rules import CompileOptions
from slo.render import to_yaml

API = 'job="api"'
SWARM = 'container_label_com_docker_swarm_service_name="shop_api"'


def per_second(rate: float) -> str:
    """A counter growing `rate` per second, sampled every 15s for 10 minutes."""
    return f"0+{rate * 15:g}x40"


# kind -> (extra SLI fields, raw input series, expected bad, expected total)
CASES: dict[str, tuple[dict[str, Any], dict[str, str], float, float]] = {
    "ratio-bad": (
        {"kind": "ratio", "bad": 'x_total{job="api",code=~"5.."}', "total": 'x_total{job="api"}'},
        {'x_total{job="api",code="500"}': per_second(1), 'x_total{job="api",code="200"}': per_second(3)},
        1,
        4,
    ),
    "ratio-bad-absent": (
        {"kind": "ratio", "bad": 'x_total{job="api",code=~"5.."}', "total": 'x_total{job="api"}'},
        {'x_total{job="api",code="200"}': per_second(3)},
        0,
        3,
    ),
    "ratio-good-promql": (
        {
            "kind": "ratio",
            "good": 'sum(rate(g_total{job="api",ok="true"}[{{window}}]))',
            "total": 'sum(rate(g_total{job="api"}[{{window}}]))',
        },
        {'g_total{job="api",ok="true"}': per_second(9), 'g_total{job="api",ok="false"}': per_second(1)},
        1,
        10,
    ),
    "latency-classic": (
        {"kind": "latency", "metric": "d_seconds", "selector": API, "threshold": "300ms"},
        {
            'd_seconds_bucket{job="api",le="0.3"}': per_second(3),
            'd_seconds_bucket{job="api",le="+Inf"}': per_second(4),
            'd_seconds_count{job="api"}': per_second(4),
        },
        1,
        4,
    ),
    "latency-classic-integer-bound-prometheus-3": (
        {"kind": "latency", "metric": "d_seconds", "selector": API, "threshold": "1s"},
        {'d_seconds_bucket{job="api",le="1.0"}': per_second(2), 'd_seconds_count{job="api"}': per_second(4)},
        2,
        4,
    ),
    "latency-classic-integer-bound-prometheus-2": (
        {"kind": "latency", "metric": "d_seconds", "selector": API, "threshold": "1s"},
        {'d_seconds_bucket{job="api",le="1"}': per_second(2), 'd_seconds_count{job="api"}': per_second(4)},
        2,
        4,
    ),
    "threshold": (
        {"kind": "threshold", "expr": "queue_age_seconds", "op": "<", "value": 120},
        {'queue_age_seconds{queue="a"}': "30x40", 'queue_age_seconds{queue="b"}': "300x40"},
        1,
        2,
    ),
    "traefik-errors": (
        {"kind": "traefik-errors"},
        {
            'traefik_service_requests_total{service="shop-api@swarm",code="503"}': per_second(1),
            'traefik_service_requests_total{service="shop-api@swarm",code="200"}': per_second(4),
            'traefik_service_requests_total{service="shop-web@swarm",code="500"}': per_second(7),
        },
        1,
        5,
    ),
    "traefik-latency": (
        {"kind": "traefik-latency", "threshold": "500ms"},
        {
            'traefik_service_request_duration_seconds_bucket{service="shop_api@swarm",le="0.5"}': per_second(3),
            'traefik_service_request_duration_seconds_count{service="shop_api@swarm"}': per_second(5),
        },
        2,
        5,
    ),
    "prometheus-client-errors": (
        {"kind": "prometheus-client-errors", "selector": API},
        {
            'http_requests_total{job="api",code="502"}': per_second(2),
            'http_requests_total{job="api",code="200"}': per_second(6),
        },
        2,
        8,
    ),
    "prometheus-client-latency": (
        {"kind": "prometheus-client-latency", "selector": API, "threshold": "250ms"},
        {
            'http_request_duration_seconds_bucket{job="api",le="0.25"}': per_second(6),
            'http_request_duration_seconds_count{job="api"}': per_second(8),
        },
        2,
        8,
    ),
    "otel-http-errors": (
        {"kind": "otel-http-errors", "selector": API},
        {
            'http_server_request_duration_seconds_count{job="api",http_response_status_code="500"}': per_second(1),
            'http_server_request_duration_seconds_count{job="api",http_response_status_code="200"}': per_second(1),
        },
        1,
        2,
    ),
    "otel-http-latency": (
        {"kind": "otel-http-latency", "selector": API, "threshold": "300ms"},
        {
            'http_server_request_duration_seconds_bucket{job="api",le="0.3"}': per_second(1),
            'http_server_request_duration_seconds_count{job="api"}': per_second(4),
        },
        3,
        4,
    ),
    "cadvisor-cpu": (
        {"kind": "cadvisor-cpu"},
        {
            f'container_cpu_usage_seconds_total{{id="/a",{SWARM}}}': per_second(1),
            f'container_cpu_usage_seconds_total{{id="/b",{SWARM}}}': per_second(1.8),
            f'container_spec_cpu_quota{{id="/a",{SWARM}}}': "200000x40",
            f'container_spec_cpu_quota{{id="/b",{SWARM}}}': "200000x40",
            f'container_spec_cpu_period{{id="/a",{SWARM}}}': "100000x40",
            f'container_spec_cpu_period{{id="/b",{SWARM}}}': "100000x40",
        },
        1,
        2,
    ),
    "cadvisor-memory": (
        {"kind": "cadvisor-memory"},
        {
            f'container_memory_working_set_bytes{{id="/a",{SWARM}}}': "950x40",
            f'container_memory_working_set_bytes{{id="/b",{SWARM}}}': "100x40",
            f'container_spec_memory_limit_bytes{{id="/a",{SWARM}}}': "1000x40",
            f'container_spec_memory_limit_bytes{{id="/b",{SWARM}}}': "1000x40",
        },
        1,
        2,
    ),
    "node-disk": (
        {"kind": "node-disk"},
        {
            'node_filesystem_avail_bytes{instance="n1",mountpoint="/"}': "5x40",
            'node_filesystem_size_bytes{instance="n1",mountpoint="/"}': "100x40",
            'node_filesystem_avail_bytes{instance="n2",mountpoint="/"}': "50x40",
            'node_filesystem_size_bytes{instance="n2",mountpoint="/"}': "100x40",
        },
        1,
        2,
    ),
    "swarm-replicas": (
        {"kind": "swarm-replicas"},
        {
            'swarm_service_replicas_running{service="shop_api",stack="shop"}': "2x40",
            'swarm_service_replicas_desired{service="shop_api",stack="shop"}': "3x40",
        },
        1,
        1,
    ),
    "swarm-task-health": (
        {"kind": "swarm-task-health"},
        {
            'swarm_task_container_health{service="shop_api",stack="shop",task="shop_api.1",health="healthy"}': "1x40",
            'swarm_task_container_health{service="shop_api",stack="shop",task="shop_api.2",health="unhealthy"}': "1x40",
            'swarm_task_container_health{service="shop_api",stack="shop",task="shop_api.3",health="none"}': "1x40",
        },
        1,
        3,
    ),
}


def _slo_file(sli: dict[str, Any], budgeting: str = "occurrences") -> str:
    return to_yaml(
        {
            "service": "api",
            "stack": "shop",
            "team": "checkout",
            "slos": [{"name": "s", "objectives": [99], "budgeting": budgeting, "sli": sli}],
        }
    )


def _run(
    promtool: Path,
    tmp_path: Path,
    sli: dict[str, Any],
    series: dict[str, str],
    expected: dict[str, float],
    budgeting: str = "occurrences",
) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "api.yaml").write_text(_slo_file(sli, budgeting))
    bundle = build([str(tmp_path / "slos")], CompileOptions())
    write(bundle, str(tmp_path / "build"))
    labels = '{service="api",slo="s",stack="shop",team="checkout"}'
    test = {
        "rule_files": [str(tmp_path / "build" / "prometheus" / "rules" / "shop" / "api.yml")],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": [
                    {
                        # rate() of 15s-step counters is exact up to float rounding
                        "expr": f"round({name}{labels}, 0.001)",
                        "eval_time": "5m",
                        "exp_samples": [{"labels": labels, "value": value}],
                    }
                    for name, value in expected.items()
                ],
            }
        ],
    }
    path = tmp_path / "sources.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    proc = subprocess.run([str(promtool), "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_source_rules(case: str, promtool: Path, tmp_path: Path) -> None:
    sli, series, bad, total = CASES[case]
    _run(promtool, tmp_path, sli, series, {"slo:sli_bad:rate1m": bad, "slo:sli_total:rate1m": total})


@pytest.mark.parametrize(("errors", "bad"), [(2, 1), (1, 0), (0.5, 0)])
def test_timeslices_count_slices_over_budget(errors: float, bad: float, promtool: Path, tmp_path: Path) -> None:
    """A slice is bad when its error ratio is over the budget (1% here); exactly at it is good."""
    sli = {"kind": "ratio", "bad": 'x_total{job="api",code=~"5.."}', "total": 'x_total{job="api"}'}
    series = {'x_total{job="api",code="500"}': per_second(errors), 'x_total{job="api",code="200"}': per_second(99)}
    _run(promtool, tmp_path, sli, series, {"slo:sli_bad:rate1m": bad, "slo:sli_total:rate1m": 1}, "timeslices")


NATIVE = "{{schema:0 offset:-1 sum:30 count:60 buckets:[45 15]}}"  # per 15s: 45 in (0.25,0.5], 15 in (0.5,1]


@pytest.mark.parametrize(
    "sli",
    [
        {"kind": "latency", "metric": "d_seconds", "selector": API, "threshold": "500ms", "histogram": "native"},
        {"kind": "otel-http-latency", "selector": API, "threshold": "500ms", "histogram": "native"},
    ],
    ids=["latency", "otel-http-latency"],
)
def test_native_histograms(sli: dict[str, Any], tmp_path: Path) -> None:
    """histogram_fraction at a bucket boundary: 1 of 4 requests is slower than 500ms.

    Only Prometheus 3.x: promtool 2.42 cannot write native histograms in test input."""
    from conftest import current_promtool

    metric = "d_seconds" if sli["kind"] == "latency" else "http_server_request_duration_seconds"
    series = {f'{metric}{{job="api"}}': f"{NATIVE}+{NATIVE}x40"}
    _run(current_promtool(), tmp_path, sli, series, {"slo:sli_bad:rate1m": 1, "slo:sli_total:rate1m": 4})


@pytest.mark.parametrize(
    ("ours", "family"),
    [
        (naming.SWARM_SERVICE_REPLICAS_DESIRED, families.SERVICE_REPLICAS_DESIRED),
        (naming.SWARM_SERVICE_REPLICAS_RUNNING, families.SERVICE_REPLICAS_RUNNING),
        (naming.SWARM_TASK_CONTAINER_HEALTH, families.TASK_CONTAINER_HEALTH),
    ],
)
def test_swarm_templates_name_what_the_exporter_publishes(ours: str, family: str) -> None:
    assert ours == family
    assert {naming.SWARM_LABEL_SERVICE, naming.SWARM_LABEL_STACK} <= set(families.BY_NAME[family].labels)
