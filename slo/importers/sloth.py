"""Sloth files translated into our format: `version: prometheus/v1` files and the
`sloth.slok.dev/v1` PrometheusServiceLevel CRD (the same spec under `spec`, camelCase keys).

What cannot be expressed in our model is a located error, never dropped: raw and plugin
SLIs, SLO plugins that change the rules. A translation that keeps the meaning but changes
a name (a label we reserve, like `severity`, becomes `sloth_severity`) or drops a plugin
without effect on our rules is a located warning. docs/importers.md has the whole mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .. import naming, promql
from ..errors import InputError, Warning_
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
    "warning",
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
_PLUGINS_KEYS = ("overridePrevious", "chain")
_PLUGIN_KEYS = ("id", "config", "priority")
RENAMED_PREFIX = "sloth_"
# Why a label name is ours; a user's label of that name is renamed with RENAMED_PREFIX.
_RESERVED_WHY = {
    naming.LABEL_SEVERITY: 'swarm-slo sets severity="page" or "ticket" on its alerts and Alertmanager routes on it',
    naming.LABEL_TIER: "swarm-slo sets tier on its alerts (page-fast, page-slow, ticket-fast, ticket-slow, "
    "no-data, budget)",
}
# SLO plugins without effect on the rules swarm-slo generates: dropped with a warning.
_PLUGINS_WITHOUT_EFFECT = {
    "sloth.dev/core/debug/v1": "it only logs while Sloth generates rules",
    "sloth.dev/core/noop/v1": "it does nothing",
    "sloth.dev/core/validate/v1": "it validates for Sloth; swarm-slo validates the SLO itself",
    "sloth.dev/core/sli_rules/v1": "it is Sloth's own rule generation; swarm-slo generates its own",
    "sloth.dev/core/metadata_rules/v1": "it is Sloth's own rule generation; swarm-slo generates its own",
    "sloth.dev/core/alert_rules/v1": "it is Sloth's own rule generation; swarm-slo generates its own",
    "sloth.dev/contrib/rule_intervals/v1": "swarm-slo's rule groups are evaluated at Prometheus' "
    "evaluation_interval (set `--rate-window` to it)",
    "sloth.dev/contrib/info_labels/v1": "its labels go on Sloth's sloth_slo_info series, which swarm-slo "
    "does not record",
}
# Sloth's default chain: its own rule generation, which `overridePrevious` drops unless listed.
_RULE_PLUGINS = (
    "sloth.dev/core/sli_rules/v1",
    "sloth.dev/core/metadata_rules/v1",
    "sloth.dev/core/alert_rules/v1",
)
# SLO plugins that change the SLO's meaning in ways our model cannot express.
_PLUGINS_UNSUPPORTED = {
    "sloth.dev/contrib/denominator_corrected_rules/v1": "it scales Sloth's error ratios by the window's "
    "share of the period's traffic, which swarm-slo does not compute (alerting.min_events guards "
    "low-traffic SLOs instead); remove it",
    "sloth.dev/contrib/validate_victoria_metrics/v1": "it is for VictoriaMetrics' MetricsQL; swarm-slo "
    "compiles PromQL for Prometheus",
}


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


def warning(error: InputError) -> Warning_:
    return Warning_(error.file, error.line, error.column, error.field, error.message)


def check_labels(
    doc: Document,
    labels: object,
    at: Path,
    errors: list[InputError],
    what: str = "label",
    warnings: list[Warning_] | None = None,
) -> dict[str, tuple[str, Path]]:
    """Labels (or annotations) with string values and valid names, each with its source path.

    A label named like one of ours is an error, or, when `warnings` is given, renamed
    with RENAMED_PREFIX and a warning."""
    out: dict[str, tuple[str, Path]] = {}
    if labels is None:
        return out
    if not isinstance(labels, dict):
        errors.append(doc.error(at, f"expected a mapping of {what}s"))
        return out
    for key, value in labels.items():
        path = (*at, key)
        text = label_value(value)
        if not isinstance(key, str) or not _LABEL.match(key) or key.startswith("__"):
            errors.append(doc.error(path, f"{key!r} is not a Prometheus {what} name", key=True))
        elif text is None:
            errors.append(doc.error(path, f"the value of {what} {key!r} must be a string"))
        elif what == "label" and key in naming.RESERVED_LABELS:
            new = RENAMED_PREFIX + key
            if warnings is None:
                errors.append(doc.error(path, f"label {key!r} is set by swarm-slo and cannot be overridden", key=True))
            elif new in labels:
                errors.append(
                    doc.error(path, f"label {key!r} is set by swarm-slo, and {new!r} is taken: rename it", key=True)
                )
            else:
                why = _RESERVED_WHY.get(key, f"swarm-slo sets {key!r} itself")
                warnings.append(warning(doc.error(path, f"label {key!r} renamed to {new!r}: {why}", key=True)))
                out[new] = (text, path)
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
    return [Converted(out, doc, conv.origins, fmt, tuple(conv.warnings))], errors


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
        self.warnings: list[Warning_] = []

    def err(self, path: Path, message: str, *, key: bool = False) -> None:
        self.errors.append(self.doc.error(path, message, key=key))

    def warn(self, path: Path, message: str, *, key: bool = False) -> None:
        self.warnings.append(warning(self.doc.error(path, message, key=key)))

    def labels(self, labels: object, at: Path, what: str = "label") -> dict[str, tuple[str, Path]]:
        return check_labels(self.doc, labels, at, self.errors, what, self.warnings)

    def plugins(self, plugins: object, at: Path) -> None:
        """Sloth's SLO plugins: dropped with a warning when they have no effect on our
        rules, else an error."""
        if not isinstance(plugins, dict):
            self.err(at, "expected a mapping with `chain`")
            return
        _unknown(self.doc, plugins, at, _PLUGINS_KEYS, self.errors)
        chain = plugins.get("chain")
        if not isinstance(chain, list):
            self.err((*at, "chain") if "chain" in plugins else at, "expected a list of plugins under `chain`")
            return
        if plugins.get("overridePrevious") is True:
            ids = {p.get("id") for p in chain if isinstance(p, dict)}
            missing = [p for p in _RULE_PLUGINS if p not in ids]
            if missing:
                self.err(
                    (*at, "overridePrevious"),
                    f"unsupported: overridePrevious without {missing[0]!r}: Sloth would not generate "
                    "those rules, and swarm-slo always generates its rules",
                )
        for i, plugin in enumerate(chain):
            p_at = (*at, "chain", i)
            if not isinstance(plugin, dict):
                self.err(p_at, "expected a mapping with `id`")
                continue
            _unknown(self.doc, plugin, p_at, _PLUGIN_KEYS, self.errors)
            pid = plugin.get("id")
            id_at = (*p_at, "id") if "id" in plugin else p_at
            if isinstance(pid, str) and pid in _PLUGINS_WITHOUT_EFFECT:
                self.warn(id_at, f"Sloth plugin {pid!r} not imported: {_PLUGINS_WITHOUT_EFFECT[pid]}")
            elif isinstance(pid, str) and pid in _PLUGINS_UNSUPPORTED:
                self.err(id_at, f"unsupported: Sloth plugin {pid!r}: {_PLUGINS_UNSUPPORTED[pid]}")
            else:
                self.err(
                    id_at,
                    f"unsupported: Sloth plugin {pid!r}: Sloth SLO plugins are Go code run by Sloth "
                    "and change its rules; they are not imported",
                )

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
        labels = self.labels(rest, labels_at)
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
            self.plugins(spec[k("slo_plugins")], (*root, k("slo_plugins")))
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
            self.plugins(slo["plugins"], (*at, "plugins"))
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
        labels = self.labels(slo.get("labels"), (*at, "labels"))
        labels.update(self.labels(alerting.get("labels"), (*a_at, "labels")))
        annotations = self.labels(alerting.get("annotations"), (*a_at, "annotations"), "annotation")
        name = alerting.get("name")
        if name is not None:
            text = label_value(name)
            if text is None:
                self.err((*a_at, "name"), "expected a string")
            else:
                labels[ALERT_NAME_LABEL] = (text, (*a_at, "name"))
        out: dict[str, Any] = {}
        tiers: dict[str, bool] = {}
        enabled = 0
        for tier, severity in _SEVERITIES.items():
            t_at = (*a_at, k(tier))
            spec = alerting.get(k(tier)) or {}
            if not isinstance(spec, dict):
                self.err(t_at, "expected a mapping")
                continue
            _unknown(self.doc, spec, t_at, _TIER_KEYS, self.errors)
            if spec.get("disable") is True:  # its labels and annotations are unused, in Sloth too
                tiers[f"{severity}-fast"] = tiers[f"{severity}-slow"] = False
                continue
            enabled += 1
            extra = self._severity_entries(spec, t_at, severity)
            if extra:
                out[severity] = {field: {key: v for key, (v, _) in e.items()} for field, e in extra.items()}
                for field, entries in extra.items():
                    for key, (_, path) in entries.items():
                        self.map((*here, "alerting", severity, field, key), path)
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

    def _severity_entries(
        self, spec: dict[str, Any], t_at: Path, severity: str
    ) -> dict[str, dict[str, tuple[str, Path]]]:
        """page_alert's (ticket_alert's) labels and annotations, for alerting.page (.ticket).

        A `severity` label equal to ours says what we say already and is dropped; another
        value is renamed (sloth_severity) like every label of ours."""
        raw = spec.get("labels")
        if isinstance(raw, dict) and label_value(raw.get(naming.LABEL_SEVERITY)) == severity:
            raw = {key: v for key, v in raw.items() if key != naming.LABEL_SEVERITY}
        out = {
            "labels": self.labels(raw, (*t_at, "labels")),
            "annotations": self.labels(spec.get("annotations"), (*t_at, "annotations"), "annotation"),
        }
        return {field: entries for field, entries in out.items() if entries}
