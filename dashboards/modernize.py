"""The correction layer: grafanalib (0.7) writes schemaVersion 12 era JSON. This turns its
output into a current dashboard that passes the foundation SDK's strict schema:

- `schemaVersion` of the schema we validate against (grafana-foundation-sdk v0.0.22: 42);
- threshold steps as `{color, value}` with the base step's value JSON null, not the string
  "null" grafanalib writes (Grafana then reads "null" as 0);
- fields Grafana dropped years ago (`rows`, `style`, `span`, `height`, `minSpan`, `error`,
  `editable` on panels, `__inputs`, `sharedCrosshair`, `hideControls`, template tag
  queries, the timepicker's `time_options`) removed; options current panels require
  (`legend.showLegend`, the stat panel's `wideLayout` and percent-change fields) added;
- rows keep only what a row has (grafanalib gives them a panel's targets and field config);
  panel links get every field the schema requires; table panels lose their Angular-era
  `columns`/`styles`/`fontSize` and gain `frameIndex`;
- every `null` removed, so the output holds only what we set.

Each rule is one small function over plain dicts, applied in order; tests pin each one.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 42

_DASHBOARD_DROP = ("__inputs", "rows", "style", "sharedCrosshair", "hideControls", "gnetId")
_PANEL_DROP = ("editable", "error", "height", "minSpan", "span", "maxPerRow", "repeatDirection", "cacheTimeout")
_TEMPLATE_DROP = ("useTags", "tagsQuery", "tagValuesQuery", "tags", "auto", "auto_count", "auto_min")
_TARGET_DROP = ("intervalFactor", "step", "target", "metric", "query")
_TABLE_DROP = ("fontSize", "columns", "mappings", "color", "styles", "sort")
_ROW_KEEP = ("type", "id", "title", "gridPos", "collapsed", "panels", "repeat")
# The schema types panel links as dashboard links: every field is required.
_LINK_DEFAULTS = {
    "type": "link",
    "icon": "external link",
    "tooltip": "",
    "tags": [],
    "asDropdown": False,
    "targetBlank": True,
    "includeVars": False,
    "keepTime": False,
}

Json = dict[str, Any]


def modernize(dashboard: Json) -> Json:
    out: Json = _without_nulls(dashboard)
    for key in _DASHBOARD_DROP:
        out.pop(key, None)
    out["schemaVersion"] = SCHEMA_VERSION
    out.get("timepicker", {}).pop("time_options", None)
    out["panels"] = [_panel(p) for p in out.get("panels", [])]
    for var in out.get("templating", {}).get("list", []):
        _template(var)
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _panel(panel: Json) -> Json:
    if panel.get("type") == "row":
        return _row(panel)
    for key in _PANEL_DROP + (_TABLE_DROP if panel.get("type") == "table" else ()):
        panel.pop(key, None)
    if not panel.get("repeat"):
        panel.pop("repeat", None)
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    if "thresholds" in defaults:
        defaults["thresholds"] = _thresholds(defaults["thresholds"])
    if not defaults.get("custom", True):
        defaults.pop("custom")
    if panel.get("type") == "table":
        defaults.setdefault("custom", {}).setdefault("inspect", False)
    _options(panel["type"], panel.setdefault("options", {}))
    for target in panel.get("targets", []):
        for key in _TARGET_DROP:
            target.pop(key, None)
        if not target.get("interval"):
            target.pop("interval", None)
    panel["links"] = [{**_LINK_DEFAULTS, **link} for link in panel.get("links", [])]
    return panel


def _row(panel: Json) -> Json:
    out = {k: v for k, v in panel.items() if k in _ROW_KEEP}
    out["panels"] = [_panel(p) for p in out.get("panels", [])]
    return out


def _thresholds(thresholds: Json) -> Json:
    steps = thresholds.get("steps") or []
    return {
        "mode": thresholds.get("mode", "absolute"),
        "steps": [
            {"color": s["color"], "value": None if i == 0 or s.get("value") == "null" else s["value"]}
            for i, s in enumerate(steps)
        ],
    }


def _options(kind: str, options: Json) -> None:
    if "legend" in options:
        options["legend"].setdefault("showLegend", True)
    if kind == "stat":
        options.setdefault("wideLayout", True)
        options.setdefault("showPercentChange", False)
        options.setdefault("percentChangeColorMode", "standard")
        options["reduceOptions"]["fields"] = options["reduceOptions"].get("fields") or ""
    if kind == "table":
        options.setdefault("frameIndex", 0)


def _template(var: Json) -> None:
    for key in _TEMPLATE_DROP:
        var.pop(key, None)
    current = var.get("current", {})
    current.pop("tags", None)
    current.setdefault("text", "")
    current.setdefault("value", "")
