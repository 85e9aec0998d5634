"""Sloth files translated into our format: `version: prometheus/v1` files and the
`sloth.slok.dev/v1` PrometheusServiceLevel CRD (the same spec under `spec`, camelCase keys).

What cannot be expressed in our model is a located error, never dropped: raw and plugin
SLIs, SLO plugins, labels for one alert severity only, a severity other than ours.
docs/importers.md has the whole mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .. import naming, promql
from ..errors import InputError
from ..load import Converted
from ..spec import SPEC_VERSION
from ..yamlpos import Document, Path

__all__ = [
    "DEFAULT_PERIOD",
    "DEFAULT_STACK",
    "DEFAULT_TEAM",
    "Origins",
    "check_labels",
    "convert",
    "label_value",
    "recognizes",
]

SOURCE_FORMAT = "sloth/prometheus/v1"
K8S_SOURCE_FORMAT = "sloth/k8s/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
DEFAULT_STACK = "default"
DEFAULT_TEAM = "default"
DEFAULT_PERIOD = "30d"  # Sloth's own default (its --default-slo-period flag)
ALERT_NAME_LABEL = "sloth_alert_name"

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
# `... OR on() vector(0)`: Sloth's idiom for "no error series means no errors". Our ratio
# kind already counts an absent bad series as 0 while total exists, and a constant 0 would
# be a sample from nothing, which the generated promtool tests cannot feed around.
_OR_ZERO = re.compile(r"\s+or\s+on\s*\(\s*\)\s*vector\s*\(\s*0(\.0*)?\s*\)\s*$", re.I)
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_CAMEL = {
    "error_query": "errorQuery",
    "total_query": "totalQuery",
    "error_ratio_query": "errorRatioQuery",
    "page_alert": "pageAlert",
    "ticket_alert": "ticketAlert",
    "slo_plugins": "sloPlugins",
}
_SERVICE_KEYS = ("service", "labels", "slos", "slo_plugins")
_SLO_KEYS = ("name", "objective", "description", "labels", "sli", "alerting", "plugins")
_ALERTING_KEYS = ("name", "labels", "annotations", "page_alert", "ticket_alert")
_TIER_KEYS = ("disable", "labels", "annotations")
_SEVERITIES = {"page_alert": "page", "ticket_alert": "ticket"}


class Origins:
    """Maps a path in translated data to the source path; unknown paths fall back to the
    nearest mapped ancestor with the rest appended."""

    def __init__(self) -> None:
        self.table: dict[Path, Path] = {(): ()}

    def add(self, data_path: Path, source_path: Path) -> None:
        self.table[data_path] = source_path

    def __call__(self, path: Path) -> Path:
        for i in range(len(path), -1, -1):
            if path[:i] in self.table:
                return self.table[path[:i]] + path[i:]
        return path  # pragma: no cover - () is always mapped


def label_value(value: object) -> str | None:
    """A scalar as Go's YAML decoder would put it in a string; None for mappings and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


def check_labels(
    doc: Document, labels: object, at: Path, errors: list[InputError], what: str = "label"
) -> dict[str, tuple[str, Path]]:
    """Labels (or annotations) with string values and valid names, each with its source path."""
    out: dict[str, tuple[str, Path]] = {}
    if labels is None:
        return out
    if not isinstance(labels, dict):
        errors.append(doc.error(at, f"expected a mapping of {what}s"))
        return out
    for key, value in labels.items():
        path = (*at, key)
        text = label_value(value)
        if not _LABEL.match(key) or key.startswith("__"):
            errors.append(doc.error(path, f"{key!r} is not a Prometheus {what} name", key=True))
        elif what == "label" and key in naming.RESERVED_LABELS:
            errors.append(doc.error(path, f"label {key!r} is set by swarm-slo and cannot be overridden", key=True))
        elif text is None:
            errors.append(doc.error(path, f"the value of {what} {key!r} must be a string"))
        else:
            out[key] = (text, path)
    return out


def recognizes(data: dict[str, Any]) -> bool:
    return data.get("version") == "prometheus/v1" or str(data.get("apiVersion", "")).startswith("sloth.slok.dev/")


def convert(doc: Document) -> tuple[list[Converted], list[InputError]]:
    data = doc.data
    assert isinstance(data, dict)
    errors: list[InputError] = []
    if "apiVersion" in data:
        root, spec, fmt = _k8s(doc, data, errors)
        if spec is None:
            return [], errors
        key: Callable[[str], str] = lambda k: _CAMEL.get(k, k)  # noqa: E731
    else:
        root, spec, fmt, key = (), data, SOURCE_FORMAT, lambda k: k
        _unknown(doc, spec, (), ("version", *_SERVICE_KEYS), errors)
    conv = _Converter(doc, root, key, errors)
    out = conv.service(spec)
    if out is None:
        return [], errors
    return [Converted(out, doc, conv.origins, fmt)], errors


def _k8s(doc: Document, data: dict[str, Any], errors: list[InputError]) -> tuple[Path, dict[str, Any] | None, str]:
    if data.get("apiVersion") != K8S_API_VERSION:
        errors.append(
            doc.error(
                ("apiVersion",),
                f"unsupported Sloth apiVersion {data.get('apiVersion')!r}; expected {K8S_API_VERSION!r}",
            )
        )
        return (), None, K8S_SOURCE_FORMAT
    kind = data.get("kind")
    if kind == "AlertWindows":
        errors.append(
            doc.error(
                ("kind",),
                "unsupported: Sloth AlertWindows; swarm-slo's alert windows are "
                "the SRE Workbook's, scaled to each SLO's period",
            )
        )
        return (), None, K8S_SOURCE_FORMAT
    if kind != "PrometheusServiceLevel":
        errors.append(doc.error(("kind",), f"unsupported Sloth kind {kind!r}; expected PrometheusServiceLevel"))
        return (), None, K8S_SOURCE_FORMAT
    _unknown(doc, data, (), ("apiVersion", "kind", "metadata", "spec"), errors)
    spec = data.get("spec")
    if not isinstance(spec, dict):
        errors.append(doc.error(("spec",), "expected a mapping"))
        return (), None, K8S_SOURCE_FORMAT
    _unknown(doc, spec, ("spec",), tuple(_CAMEL.get(k, k) for k in _SERVICE_KEYS), errors)
    return ("spec",), spec, K8S_SOURCE_FORMAT


def _unknown(
    doc: Document,
    data: dict[str, Any],
    at: Path,
    allowed: tuple[str, ...],
    errors: list[InputError],
) -> None:
    for k in data:
        if k not in allowed:
            errors.append(
                doc.error(
                    (*at, k),
                    f"unknown Sloth field {k!r} (expected one of: {', '.join(allowed)})",
                    key=True,
                )
            )


class _Converter:
    def __init__(self, doc: Document, root: Path, key: Callable[[str], str], errors: list[InputError]) -> None:
        self.doc, self.root, self.key, self.errors = doc, root, key, errors
        self.origins = Origins()

    def err(self, path: Path, message: str, *, key: bool = False) -> None:
        self.errors.append(self.doc.error(path, message, key=key))

    def map(self, data_path: Path, source_path: Path) -> None:
        self.origins.add(data_path, source_path)

    def service(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        root, k = self.root, self.key
        self.map(("version",), ("apiVersion",) if root else ("version",))
        labels_at = (*root, "labels")
        raw = spec.get("labels")
        stack, stack_at = self._pop_label(raw, "stack", labels_at)
        team, team_at = self._pop_label(raw, "team", labels_at)
        if team is None:
            owner = label_value(raw.get("owner")) if isinstance(raw, dict) else None
            team, team_at = owner, (*labels_at, "owner")
        rest = {key: v for key, v in raw.items() if key not in ("stack", "team")} if isinstance(raw, dict) else raw
        labels = check_labels(self.doc, rest, labels_at, self.errors)
        out: dict[str, Any] = {
            "version": SPEC_VERSION,
            "service": spec.get("service"),
            "stack": stack or DEFAULT_STACK,
            "team": team or DEFAULT_TEAM,
            "labels": {key: v for key, (v, _) in labels.items()},
            "slos": [],
        }
        if spec.get("service") is None:
            del out["service"]
        self.map(("service",), (*root, "service"))
        self.map(("stack",), stack_at if stack else labels_at)
        self.map(("team",), team_at if team else labels_at)
        for key, (_, path) in labels.items():
            self.map(("labels", key), path)
        if k("slo_plugins") in spec:
            self.err(
                (*root, k("slo_plugins")),
                "unsupported: Sloth SLO plugins run Go code inside Sloth; they are not imported",
            )
        slos = spec.get("slos")
        if not isinstance(slos, list) or not slos:
            self.err((*root, "slos") if "slos" in spec else root, "expected a list of SLOs under `slos`")
            return None
        for i, slo in enumerate(slos):
            converted = self.slo(slo, (*root, "slos", i), len(out["slos"]))
            if converted is not None:
                out["slos"].append(converted)
        return out if out["slos"] else None

    def _pop_label(self, labels: object, name: str, at: Path) -> tuple[str | None, Path]:
        if not isinstance(labels, dict) or name not in labels:
            return None, at
        value = label_value(labels[name])
        if value is None:
            self.err((*at, name), f"the value of label {name!r} must be a string")
        return value, (*at, name)

    def slo(self, slo: object, at: Path, j: int) -> dict[str, Any] | None:
        if not isinstance(slo, dict):
            self.err(at, "expected a mapping")
            return None
        k = self.key
        _unknown(self.doc, slo, at, _SLO_KEYS, self.errors)
        here = ("slos", j)
        self.map(here, at)
        sli = self.sli(slo.get("sli"), (*at, "sli"), slo)
        if "plugins" in slo:
            self.err(
                (*at, "plugins"),
                "unsupported: Sloth SLO plugins run Go code inside Sloth; they are not imported",
            )
        if "objective" not in slo:
            self.err(at, "missing required field 'objective'")
        if sli is None or "objective" not in slo:
            return None
        out: dict[str, Any] = {
            "name": slo.get("name"),
            "description": slo.get("description", ""),
            "objectives": [{"target": slo["objective"]}],
            "period": DEFAULT_PERIOD,
            "sli": sli,
            "alerting": {},
        }
        if out["name"] is None:
            del out["name"]
        for field in ("name", "description"):
            self.map((*here, field), (*at, field))
        self.map((*here, "objectives"), (*at, "objective"))
        self.map((*here, "objectives", 0), (*at, "objective"))
        self.map((*here, "objectives", 0, "target"), (*at, "objective"))
        self.map((*here, "period"), at)
        self.map((*here, "sli", "bad"), (*at, "sli", "events", k("error_query")))
        self.map((*here, "sli", "total"), (*at, "sli", "events", k("total_query")))
        self.map((*here, "alerting"), (*at, "alerting"))
        out["alerting"] = self.alerting(slo, at, here)
        return out

    def sli(self, sli: object, at: Path, slo: dict[str, Any]) -> dict[str, Any] | None:
        k = self.key
        if not isinstance(sli, dict):
            self.err(
                at if sli is not None else at[:-1],
                "expected `sli` with `events`" if sli is None else "expected a mapping",
            )
            return None
        _unknown(self.doc, sli, at, ("events", "raw", "plugin"), self.errors)
        if "raw" in sli:
            self.err(
                (*at, "raw"),
                f"unsupported: raw SLI ({k('error_ratio_query')}): a ratio cannot be "
                "weighted by traffic across windows; write it as events "
                f"({k('error_query')} and {k('total_query')})",
            )
            return None
        if "plugin" in sli:
            plugin = sli["plugin"]
            pid = plugin.get("id") if isinstance(plugin, dict) else None
            self.err(
                (*at, "plugin"),
                f"unsupported: SLI plugin {pid!r}: Sloth plugins are Go code; "
                f"write the SLI as events ({k('error_query')} and {k('total_query')})",
            )
            return None
        events = sli.get("events")
        if not isinstance(events, dict):
            self.err(
                (*at, "events") if "events" in sli else at,
                f"expected `events` with {k('error_query')} and {k('total_query')}",
            )
            return None
        _unknown(self.doc, events, (*at, "events"), (k("error_query"), k("total_query")), self.errors)
        bad = self.query(events, k("error_query"), (*at, "events"))
        total = self.query(events, k("total_query"), (*at, "events"))
        if bad is None or total is None:
            return None
        return {"kind": "ratio", "bad": bad, "total": total}

    def query(self, events: dict[str, Any], name: str, at: Path) -> str | None:
        path = (*at, name)
        query = events.get(name)
        if not isinstance(query, str) or not query.strip():
            self.err(
                path if name in events else at,
                f"missing required field {name!r}" if name not in events else "expected a PromQL query",
            )
            return None
        if not _WINDOW.search(query):
            self.err(
                path,
                "unsupported: a query without {{.window}}; swarm-slo evaluates it at its own "
                "windows, so it must contain the {{.window}} placeholder",
            )
            return None
        translated = _WINDOW.sub(promql.WINDOW_PLACEHOLDER, query)
        other = _TEMPLATE.findall(translated.replace(promql.WINDOW_PLACEHOLDER, ""))
        if other:
            self.err(path, f"unsupported: template {other[0]!r}; only {{{{.window}}}} is understood")
            return None
        if name == self.key("error_query"):
            translated = _OR_ZERO.sub("", translated)
        return translated.strip()

    def alerting(self, slo: dict[str, Any], at: Path, here: Path) -> dict[str, Any]:
        k = self.key
        alerting = slo.get("alerting")
        a_at = (*at, "alerting")
        if alerting is not None and not isinstance(alerting, dict):
            self.err(a_at, "expected a mapping")
            alerting = None
        alerting = alerting or {}
        _unknown(self.doc, alerting, a_at, tuple(k(x) for x in _ALERTING_KEYS), self.errors)
        labels = check_labels(self.doc, slo.get("labels"), (*at, "labels"), self.errors)
        labels.update(check_labels(self.doc, alerting.get("labels"), (*a_at, "labels"), self.errors))
        annotations = check_labels(
            self.doc, alerting.get("annotations"), (*a_at, "annotations"), self.errors, "annotation"
        )
        name = alerting.get("name")
        if name is not None:
            text = label_value(name)
            if text is None:
                self.err((*a_at, "name"), "expected a string")
            else:
                labels[ALERT_NAME_LABEL] = (text, (*a_at, "name"))
        tiers: dict[str, bool] = {}
        enabled: list[tuple[str, dict[str, Any]]] = []
        for tier in ("page_alert", "ticket_alert"):
            t_at = (*a_at, k(tier))
            spec = alerting.get(k(tier)) or {}
            if not isinstance(spec, dict):
                self.err(t_at, "expected a mapping")
                continue
            _unknown(self.doc, spec, t_at, _TIER_KEYS, self.errors)
            if spec.get("disable") is True:
                severity = _SEVERITIES[tier]
                tiers[f"{severity}-fast"] = tiers[f"{severity}-slow"] = False
            else:
                enabled.append((tier, spec))
        labels.update(self._tier_entries(enabled, "labels", a_at))
        annotations.update(self._tier_entries(enabled, "annotations", a_at))
        out: dict[str, Any] = {}
        if tiers:
            out["tiers"] = tiers
            self.map((*here, "alerting", "tiers"), a_at)
        if not enabled:  # Sloth makes no alert at all for this SLO: neither do we
            out["no_data"] = out["budget_exhausted"] = False
        for field, entries in (("labels", labels), ("annotations", annotations)):
            if entries:
                out[field] = {key: v for key, (v, _) in entries.items()}
                for key, (_, path) in entries.items():
                    self.map((*here, "alerting", field, key), path)
        return out

    def _tier_entries(
        self, enabled: list[tuple[str, dict[str, Any]]], field: str, a_at: Path
    ) -> dict[str, tuple[str, Path]]:
        """Per-severity labels or annotations: kept when every enabled severity agrees."""
        what = "label" if field == "labels" else "annotation"
        per_tier: list[tuple[str, dict[str, tuple[str, Path]]]] = []
        for tier, spec in enabled:
            t_at = (*a_at, self.key(tier), field)
            raw = spec.get(field)
            if what == "label" and isinstance(raw, dict) and "severity" in raw:
                value = label_value(raw["severity"])
                if value != _SEVERITIES[tier]:
                    self.err(
                        (*t_at, "severity"),
                        f"unsupported: severity {value!r}: swarm-slo labels page "
                        'alerts severity="page" and ticket alerts severity="ticket"; route on '
                        "those and remove this label",
                    )
                raw = {key: v for key, v in raw.items() if key != "severity"}
            per_tier.append((tier, check_labels(self.doc, raw, t_at, self.errors, what)))
        out: dict[str, tuple[str, Path]] = {}
        keys = sorted({key for _, entries in per_tier for key in entries})
        for key in keys:
            values = {entries[key][0] if key in entries else None for _, entries in per_tier}
            if len(values) == 1:
                out[key] = per_tier[0][1][key]
                continue
            for _, entries in per_tier:
                if key in entries:
                    self.err(
                        entries[key][1],
                        f"unsupported: {what} {key!r} is not the same on "
                        f"{self.key('page_alert')} and {self.key('ticket_alert')}: swarm-slo puts "
                        f"the same {what}s on all of an SLO's alerts (route on severity instead, "
                        f"or move it to alerting.{field})",
                        key=True,
                    )
        return out
