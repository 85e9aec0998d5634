"""The check that fails when a panel reads a series nobody produces: a renamed recording rule
would otherwise leave a panel silently empty."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

from exporter.families import FAMILIES, Kind

from .queries import metric_names, panel_queries

# Series Prometheus itself writes for the rules we generate.
PROMETHEUS_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
# What the stack's exporters publish that the Swarm dashboards read: ours, from its own table
# of families, and the few cAdvisor and node-exporter series named here.
EXPORTER_SERIES = frozenset(
    name
    for fam in FAMILIES
    for name in (
        (fam.name, f"{fam.name}_bucket", f"{fam.name}_sum", f"{fam.name}_count")
        if fam.kind == Kind.HISTOGRAM
        else (fam.name,)
    )
)
COMPONENT_SERIES = frozenset(
    {
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
    }
)
KNOWN_SERIES = PROMETHEUS_SERIES | EXPORTER_SERIES | COMPONENT_SERIES
_RECORD = re.compile(r"^\s*- record: (\S+)$", re.MULTILINE)
# The SLI source rules: the only rules that read the user's raw series (slo.compile.rules).
_SOURCE_EXPR = re.compile(r"^\s*- record: slo:sli_(?:bad|total):rate\S*\n\s*expr: '(.*)'$", re.MULTILINE)


def recorded_names(rule_texts: Iterable[str]) -> set[str]:
    """What the rules record, and the raw series their SLI source rules read: a panel may
    show either (an error breakdown reads the raw counters the SLI counts)."""
    names: set[str] = set()
    for text in rule_texts:
        names.update(_RECORD.findall(text))
        for expr in _SOURCE_EXPR.findall(text):
            try:
                names |= metric_names(expr.replace("''", "'"))
            except ValueError:
                continue  # a broken rule file: promtool reports it
    return names


def unknown_series(dashboard_text: str, path: str, produced: set[str]) -> list[str]:
    problems = []
    for q in panel_queries(json.loads(dashboard_text)):
        try:
            names = metric_names(q.substituted())
        except ValueError as e:
            problems.append(f"{path}: panel {q.panel!r} query {q.ref}: not valid PromQL: {e}")
            continue
        for name in sorted(names - produced - KNOWN_SERIES):
            problems.append(
                f"{path}: panel {q.panel!r} query {q.ref} reads {name}, which neither the bundle records "
                "nor the exporters of the stack publish"
            )
    return problems


def check_dashboards(bundle_dir: str, extra_series: Iterable[str] = ()) -> tuple[int, list[str]]:
    """(dashboards checked, problems) for a bundle on disk."""
    texts = []
    for base, _, names in os.walk(os.path.join(bundle_dir, "prometheus", "rules")):
        for n in names:
            with open(os.path.join(base, n), encoding="utf-8") as fh:
                texts.append(fh.read())
    produced = recorded_names(texts) | set(extra_series)
    problems: list[str] = []
    count = 0
    for base, _, names in sorted(os.walk(os.path.join(bundle_dir, "grafana", "dashboards"))):
        for n in sorted(names):
            if n.endswith(".json"):
                path = os.path.join(base, n)
                with open(path, encoding="utf-8") as fh:
                    problems += unknown_series(fh.read(), os.path.relpath(path, bundle_dir), produced)
                count += 1
    return count, problems
