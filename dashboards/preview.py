"""PNG previews of generated dashboards from a live Prometheus. NOT Grafana (which cannot run
on our build machines): a sketch at the dashboard's grid positions, so a person can see what
each panel shows with real data. Stats show the last value coloured by the panel's
thresholds, time series their range query with threshold lines, tables their rows.

    python -m dashboards.preview BUNDLE_DIR --prometheus http://127.0.0.1:9090 --out DIR
"""

from __future__ import annotations

import argparse
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .queries import DEFAULT_VARIABLES, PanelQuery, panel_queries

_COLORS = {"green": "#56a64b", "red": "#e02f44", "orange": "#ff9830", "blue": "#3274d9", "yellow": "#f2cc0c"}
_CELL_W, _CELL_H = 0.55, 0.42  # inches per grid column / row
_LEGEND_MAX = 6


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, **params: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=30) as r:
            return json.load(r)["data"]["result"]

    def instant(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("query", query=expr)
        return result

    def series(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get(
            "query_range", query=expr, start=str(start), end=str(end), step=str(step)
        )
        return result


def render(dashboard: Mapping[str, Any], prom: Prometheus, out: Path, window_s: float = 900) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _flat(dashboard["panels"])
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(24 * _CELL_W, rows * _CELL_H + 0.8), facecolor="#111217")
    fig.suptitle(
        f"{dashboard['title']}  (preview from live Prometheus data, not Grafana)", color="white", fontsize=13, y=0.998
    )
    queries: dict[int, list[PanelQuery]] = {}
    for q in panel_queries(dashboard):
        queries.setdefault(q.panel_id, []).append(q)
    end = time.time()
    for p in panels:
        g = p["gridPos"]
        ax = fig.add_axes(_box(g, rows, p["type"]), facecolor="#181b1f")
        ax.tick_params(colors="#ccccdc", labelsize=7)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        kind = p["type"]
        if kind == "row":
            ax.axis("off")
            ax.text(0, 0.2, p["title"], color="white", fontsize=11, weight="bold", va="center")
            continue
        ax.set_title(p["title"], color="#ccccdc", fontsize=9, loc="left")
        qs = queries.get(p["id"], [])
        if kind == "stat":
            _stat(ax, p, qs, prom)
        elif kind == "timeseries":
            _timeseries(ax, p, qs, prom, end - window_s, end)
        elif kind == "table":
            _table(ax, qs, prom)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=fig.get_facecolor())
    plt.close(fig)
    return out


_TOP, _SPAN = 0.965, 0.955  # figure fractions: room for the title above the grid


def _box(g: Mapping[str, int], rows: int, kind: str) -> tuple[float, float, float, float]:
    """The panel's axes in figure fractions, inset for its title (and axis labels)."""
    unit_h = _SPAN / rows
    left, bottom = g["x"] / 24, _TOP - (g["y"] + g["h"]) * unit_h
    width, height = g["w"] / 24, g["h"] * unit_h
    inset_l, inset_b, inset_top = (
        (0.03, 0.9 * unit_h, 0.6 * unit_h) if kind == "timeseries" else (0.0, 0.0, 0.6 * unit_h)
    )
    if kind == "row":
        inset_top = 0.0
    return (left + inset_l + 0.002, bottom + inset_b, width - inset_l - 0.004, height - inset_b - inset_top)


def _flat(panels: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for p in panels:
        out.append(p)
        out.extend(_flat(p.get("panels", [])))
    return out


def _steps(panel: Mapping[str, Any]) -> list[tuple[float | None, str]]:
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    return [(s.get("value"), _COLORS.get(s["color"], s["color"])) for s in steps]


def _color(value: float, steps: list[tuple[float | None, str]]) -> str:
    chosen = steps[0][1] if steps else "#ccccdc"
    for threshold, color in steps[1:]:
        if threshold is not None and value >= threshold:
            chosen = color
    return chosen


def _fmt(value: float, unit: str) -> str:
    if unit == "percentunit":
        return f"{value * 100:.3g}%"
    if unit == "x":
        return f"{value:.3g}x"
    return f"{value:.4g}"


def _unit(panel: Mapping[str, Any]) -> str:
    return str(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""))


def _vars(q: PanelQuery) -> str:
    return q.substituted({**DEFAULT_VARIABLES, "$__range": "15m"})


def _stat(ax: Any, panel: Mapping[str, Any], qs: list[PanelQuery], prom: Prometheus) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    rows = prom.instant(_vars(qs[0])) if qs else []
    if not rows:
        ax.text(0.5, 0.45, "No data", color="#8e8e8e", ha="center", va="center", fontsize=14)
        return
    value = float(rows[0]["value"][1])
    ax.text(
        0.5, 0.45, _fmt(value, _unit(panel)), color=_color(value, _steps(panel)), ha="center", va="center", fontsize=20
    )


def _timeseries(
    ax: Any, panel: Mapping[str, Any], qs: list[PanelQuery], prom: Prometheus, start: float, end: float
) -> None:
    for q in qs:
        for s in prom.series(_vars(q), start, end, max((end - start) / 200, 1)):
            xs = [float(t) - end for t, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            ax.plot(xs, ys, linewidth=1.2, label=_legend(q, s["metric"]))
    if (
        panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("thresholdsStyle", {}).get("mode")
        == "line"
    ):
        for threshold, color in _steps(panel)[1:]:
            if threshold is not None:
                ax.axhline(threshold, color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("seconds before now", color="#8e8e8e", fontsize=7)
    if ax.lines:
        # A Swarm panel can have dozens of series (a line per service and state): list the
        # _LEGEND_MAX with the highest peaks and say how many are left out, as a legend that
        # stays inside its panel.
        lines = sorted(ax.lines, key=lambda line: -max((abs(y) for y in line.get_ydata()), default=0))
        shown = lines[:_LEGEND_MAX]
        more = len(lines) - len(shown)
        legend = ax.legend(
            handles=shown,
            title=f"top {len(shown)} of {len(lines)} series" if more else None,
            title_fontsize=6,
            fontsize=6,
            loc="lower left",
            facecolor="#181b1f",
            labelcolor="#ccccdc",
            edgecolor="#2c3235",
        )
        legend.get_title().set_color("#8e8e8e")


def _legend(q: PanelQuery, labels: Mapping[str, str] | None = None) -> str:
    """The legend as Grafana writes it: `{{label}}` replaced by the series' label value."""
    if not q.legend:
        return q.ref
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: (labels or {}).get(m.group(1), ""), q.legend)


def _table(ax: Any, qs: list[PanelQuery], prom: Prometheus) -> None:
    ax.axis("off")
    rows: dict[tuple[str, ...], list[str]] = {}
    keys = ("team", "stack", "service", "slo")
    for i, q in enumerate(qs):
        for r in prom.instant(_vars(q)):
            key = tuple(r["metric"].get(k, "") for k in keys)
            rows.setdefault(key, [""] * len(qs))[i] = f"{float(r['value'][1]):.5g}"
    cells = [list(k) + v for k, v in sorted(rows.items())][:20]
    if not cells:
        ax.text(0.5, 0.5, "No data", color="#8e8e8e", ha="center")
        return
    table = ax.table(cellText=cells, colLabels=[*keys, *(_legend(q) for q in qs)], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for cell in table.get_celld().values():
        cell.set_facecolor("#181b1f")
        cell.get_text().set_color("#ccccdc")
        cell.set_edgecolor("#2c3235")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    prom = Prometheus(args.prometheus)
    for path in sorted((args.bundle / "grafana" / "dashboards").rglob("*.json")):
        written = render(json.loads(path.read_text()), prom, args.out / f"{path.stem}.png")
        print(written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
