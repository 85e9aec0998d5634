"""Every query of a dashboard, ready to run: panels walked, template variables substituted."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import promql_parser

# What Grafana puts in for the variables our queries use, when every choice is selected.
DEFAULT_VARIABLES = {
    "$__range": "1h",
    "$__rate_interval": "1m",
    "$team": ".*",
    "$stack": ".*",
    "$service": ".*",
}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str  # title
    ref: str  # refId
    expr: str  # as written in the dashboard
    instant: bool
    legend: str = ""
    panel_id: int = 0

    def substituted(self, variables: Mapping[str, str] = DEFAULT_VARIABLES) -> str:
        out = self.expr
        for name in sorted(variables, key=len, reverse=True):  # $__range before a shorter $__r...
            out = out.replace(name, variables[name])
        return out


def panel_queries(dashboard: Mapping[str, Any]) -> Iterator[PanelQuery]:
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            yield PanelQuery(
                dashboard["uid"],
                panel["title"],
                target["refId"],
                target["expr"],
                bool(target.get("instant")),
                target.get("legendFormat", ""),
                panel.get("id", 0),
            )


def _panels(panels: list[Any]) -> Iterator[Mapping[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression reads."""
    names: set[str] = set()
    promql_parser.walk(
        promql_parser.parse(expr),
        lambda node: names.add(node.name) if isinstance(node, promql_parser.VectorSelector) and node.name else None,
    )
    return names
