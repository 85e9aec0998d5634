"""Markdown tables of the generated routing, for docs/alerts-routing.md. The page embeds
them between markers, and a test keeps it in step with the code (`make golden`)."""

from __future__ import annotations

from typing import Any

from .config import TIMING, alertmanager_config
from .spec import OnCall

__all__ = ["fill", "inhibit_table", "routes_table", "sections", "timing_table"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(items: list[str]) -> str:
    return ", ".join(f"`{_cell(i)}`" for i in items) if items else "(any)"


def routes_table(oncall: OnCall) -> str:
    config = alertmanager_config(oncall)
    kinds = {
        r["name"]: ", ".join(k.removesuffix("_configs") for k in sorted(r) if k.endswith("_configs"))
        for r in config["receivers"]
    }
    rows = [
        "| # | matches | receiver (integrations) | group_wait / group_interval / repeat_interval | sent |",
        "|---|---|---|---|---|",
    ]
    n = 0

    def walk(route: dict[str, Any], parents: list[str], inherited: dict[str, str]) -> None:
        nonlocal n
        timing = {k: route.get(k, inherited.get(k, "")) for k in ("group_wait", "group_interval", "repeat_interval")}
        matchers = parents + list(route.get("matchers", []))
        children = route.get("routes", [])
        if not children:
            n += 1
            when = (
                "within " + ", ".join(route["active_time_intervals"]) if "active_time_intervals" in route else "always"
            )
            if route.get("continue"):
                when += "; continues to the next route"
            receiver = route["receiver"]
            rows.append(
                f"| {n} | {_code(matchers)} | `{receiver}` ({kinds[receiver]}) | "
                f"{timing['group_wait']} / {timing['group_interval']} / {timing['repeat_interval']} | {when} |"
            )
        for child in children:
            walk(child, matchers, timing)

    root = config["route"]
    for child in root["routes"]:
        walk(child, [], {k: root[k] for k in ("group_wait", "group_interval", "repeat_interval")})
    rows.append(
        f"| - | a known team, no or another severity | the team's ticket receiver | {root['group_wait']} / "
        f"{root['group_interval']} / {root['repeat_interval']} | always |"
    )
    return "\n".join(rows) + "\n"


def timing_table() -> str:
    rows = ["| severity | group_wait | group_interval | repeat_interval | why |", "|---|---|---|---|---|"]
    for kind, d in TIMING.items():
        rows.append(f"| {kind} | {d.group_wait} | {d.group_interval} | {d.repeat_interval} | {_cell(d.why)} |")
    return "\n".join(rows) + "\n"


def inhibit_table(oncall: OnCall) -> str:
    rows = ["| source (firing) | mutes target | when equal |", "|---|---|---|"]
    for r in alertmanager_config(oncall)["inhibit_rules"]:
        rows.append(f"| {_code(r['source_matchers'])} | {_code(r['target_matchers'])} | {_code(r['equal'])} |")
    return "\n".join(rows) + "\n"


def sections(oncall: OnCall) -> dict[str, str]:
    """Marker name -> generated Markdown, for the docs page."""
    return {"routes": routes_table(oncall), "timing": timing_table(), "inhibit": inhibit_table(oncall)}


def fill(page: str, generated: dict[str, str]) -> str:
    """The page with each `<!-- generated:NAME -->` ... `<!-- /generated -->` block replaced."""
    for name, text in generated.items():
        start, end = f"<!-- generated:{name} -->\n", "<!-- /generated -->"
        head, found, rest = page.partition(start)
        if not found:
            raise ValueError(f"marker {start.strip()} missing")
        _, found, tail = rest.partition(end)
        if not found:
            raise ValueError(f"no end marker after {start.strip()}")
        page = head + start + text + end + tail
    return page
