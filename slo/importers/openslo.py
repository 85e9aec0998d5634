"""OpenSLO v1 documents translated into our format.

All OpenSLO documents of a build are read together: an SLO names its SLI (`indicatorRef`),
a metric source names its DataSource (`metricSourceRef`), possibly in another file. The
SLOs of one service in one file become one service file of ours. Anything our model
cannot express is a located error, never dropped; docs/importers.md has the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import promql_parser

from .. import naming, promql
from ..duration import format_decimal
from ..errors import InputError, Warning_
from ..load import Converted
from ..spec import SPEC_VERSION
from ..yamlpos import Document, Path
from .sloth import DEFAULT_STACK, DEFAULT_TEAM, Origins, check_labels, label_value, warning

__all__ = ["API_VERSION", "convert_all", "recognizes"]

API_VERSION = "openslo/v1"
SOURCE_FORMAT = "openslo/v1"
_OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_BUDGETING = {"Occurrences": "occurrences", "Timeslices": "timeslices"}
_DURATION = re.compile(r"^(\d+)([smhdwMQY])$")
_DAYS = {"d": 1, "w": 7}
_SLICE_WINDOW = naming.DEFAULT_RATE_WINDOW
_SLO_WINDOW = re.compile(r"\{\{\s*\.?window\s*\}\}")
_NOT_IMPORTED = ("AlertPolicy", "AlertCondition", "AlertNotificationTarget")
_METADATA_KEYS = ("name", "displayName", "labels", "annotations")
_SLO_KEYS = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
)
_OBJECTIVE_KEYS = (
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
    "indicator",
    "indicatorRef",
    "compositeWeight",
)


def recognizes(data: dict[str, Any]) -> bool:
    return str(data.get("apiVersion", "")).startswith("openslo/")


class _DocKey(str):
    """Prefixes one source document's paths in a merged position table. It prints as
    nothing, so `format_path` shows the user's own path (spec.objectives[0].target)."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""


@dataclass
class _SLI:
    """A translated SLI: our `sli` mapping and, per field, where it came from."""

    data: dict[str, Any]
    doc: Document
    at: Path
    sources: dict[str, Path] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)


@dataclass
class _Group:
    file: str
    first: Document
    docs: list[Document] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    origins: Origins = field(default_factory=Origins)
    warnings: list[Warning_] = field(default_factory=list)


def convert_all(docs: list[Document]) -> tuple[list[Converted], list[InputError]]:
    return _Importer(docs).run()


class _Importer:
    def __init__(self, docs: list[Document]) -> None:
        self.docs = docs
        self.errors: list[InputError] = []
        self.named: dict[str, dict[str, Document]] = {"SLI": {}, "DataSource": {}, "Service": {}}
        self.slos: list[Document] = []
        self.slis: dict[str, _SLI | None] = {}

    def err(self, doc: Document, path: Path, message: str, *, key: bool = False) -> None:
        self.errors.append(doc.error(path, message, key=key))

    def run(self) -> tuple[list[Converted], list[InputError]]:
        for doc in self.docs:
            self.index(doc)
        for name, doc in self.named["SLI"].items():
            self.slis[name] = self.sli(doc, ("spec",), _mapping(doc.data).get("spec"))
        groups: dict[tuple[str, str, str], _Group] = {}
        for doc in self.slos:
            self.slo(doc, groups)
        out = []
        for group in groups.values():
            out.append(Converted(group.data, _merged(group), group.origins, SOURCE_FORMAT, tuple(group.warnings)))
        return out, self.errors

    # --- documents -------------------------------------------------------------

    def index(self, doc: Document) -> None:
        data = _mapping(doc.data)
        if data.get("apiVersion") != API_VERSION:
            self.err(
                doc,
                ("apiVersion",),
                f"unsupported OpenSLO version {data.get('apiVersion')!r}; only {API_VERSION} is imported",
            )
            return
        kind = data.get("kind")
        for k in data:
            if k not in ("apiVersion", "kind", "metadata", "spec"):
                self.err(doc, (k,), f"unknown OpenSLO field {k!r}", key=True)
        if kind in _NOT_IMPORTED:
            self.err(
                doc,
                ("kind",),
                f"unsupported: {kind} is not imported; swarm-slo generates its own multi-window burn-rate alerts",
            )
            return
        if kind not in ("SLO", *self.named):
            self.err(
                doc,
                ("kind",),
                f"unknown OpenSLO kind {kind!r}; expected SLO, SLI, Service or DataSource",
            )
            return
        meta = data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not name:
            self.err(doc, ("metadata",), "missing required field 'metadata.name'")
            return
        assert isinstance(meta, dict)
        for k in meta:
            if k not in _METADATA_KEYS:
                self.err(doc, ("metadata", k), f"unknown OpenSLO field {k!r}", key=True)
        if kind == "SLO":
            self.slos.append(doc)
            return
        seen = self.named[str(kind)]
        if name in seen:
            other = seen[name]
            self.err(
                doc,
                ("metadata", "name"),
                f"{kind} {name!r} is also defined at {other.file}:{other.position(('metadata', 'name'))[0]}",
            )
            return
        seen[name] = doc

    # --- SLIs ------------------------------------------------------------------

    def sli(self, doc: Document, at: Path, spec: object) -> _SLI | None:
        if not isinstance(spec, dict):
            self.err(doc, at, "unsupported: an SLI without `spec` (ratioMetric or thresholdMetric)")
            return None
        for k in spec:
            if k not in ("description", "ratioMetric", "thresholdMetric"):
                self.err(doc, (*at, k), f"unknown OpenSLO SLI field {k!r}", key=True)
        if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
            self.err(doc, at, "give exactly one of `ratioMetric` and `thresholdMetric`")
            return None
        if "thresholdMetric" in spec:
            t_at = (*at, "thresholdMetric")
            threshold = _mapping(spec["thresholdMetric"])
            for k in threshold:
                if k != "metricSource":
                    self.err(doc, (*t_at, k), f"unknown OpenSLO field {k!r}", key=True)
            src = self.query(doc, (*t_at, "metricSource"), threshold.get("metricSource"))
            if src is None:
                return None
            query, q_at = src
            if _SLO_WINDOW.search(query):
                self.err(doc, q_at, "unsupported: a window placeholder in a threshold query")
                return None
            if not _promql_ok(self, doc, q_at, query):
                return None
            return _SLI({"kind": "threshold", "expr": query.strip()}, doc, at, {"expr": q_at})
        return self.ratio(doc, (*at, "ratioMetric"), _mapping(spec["ratioMetric"]))

    def ratio(self, doc: Document, at: Path, ratio: dict[str, Any]) -> _SLI | None:
        for k in ratio:
            if k in ("raw", "rawType"):
                self.err(
                    doc,
                    (*at, k),
                    "unsupported: raw ratio metrics give a ratio, not events; "
                    "swarm-slo needs good or bad and total events",
                    key=True,
                )
            elif k not in ("counter", "good", "bad", "total"):
                self.err(doc, (*at, k), f"unknown OpenSLO field {k!r}", key=True)
        if ("good" in ratio) == ("bad" in ratio):
            self.err(doc, at, "unsupported: give exactly one of `good` and `bad`")
            return None
        counter = ratio.get("counter") is True
        out = _SLI({"kind": "ratio"}, doc, at)
        for part in ("good", "bad", "total"):
            if part not in ratio:
                if part == "total":
                    self.err(doc, at, "missing required field 'total'")
                    return None
                continue
            p_at = (*at, part)
            src = self.query(doc, (*p_at, "metricSource"), _mapping(ratio[part]).get("metricSource"))
            if src is None:
                return None
            query, q_at = src
            if _SLO_WINDOW.search(query):
                query = _SLO_WINDOW.sub(promql.WINDOW_PLACEHOLDER, query)
                if not _promql_ok(self, doc, q_at, query.replace(promql.WINDOW_PLACEHOLDER, "5m")):
                    return None
            elif not counter:
                self.err(
                    doc,
                    (*at, "counter") if "counter" in ratio else at,
                    "unsupported: ratio metrics that are not counters (counter: true); or write "
                    "each query as PromQL with {{window}}, like sum(rate(x[{{window}}]))",
                )
                return None
            else:
                try:
                    query, grouping = _counter_selector(query)
                except ValueError as e:
                    self.err(
                        doc,
                        q_at,
                        "unsupported: a counter query must be a series selector like "
                        'http_requests_total{code=~"5.."}, or its sum, like sum(http_requests_total) '
                        "(swarm-slo applies sum(rate(...)) itself), or PromQL with {{window}}" + _reason(e),
                    )
                    return None
                if grouping:
                    out.warnings.append(
                        warning(
                            doc.error(
                                q_at,
                                f"`{grouping}` dropped: an SLI is one series of events, and swarm-slo "
                                f"counts them as sum(rate({query}[window]))",
                            )
                        )
                    )
            out.data[part] = query.strip()
            out.sources[part] = q_at
        return out

    def query(self, doc: Document, at: Path, source: object) -> tuple[str, Path] | None:
        if not isinstance(source, dict):
            self.err(doc, at if source is not None else at[:-1], "missing required field 'metricSource'")
            return None
        for k in source:
            if k not in ("metricSourceRef", "type", "spec"):
                self.err(doc, (*at, k), f"unknown OpenSLO field {k!r}", key=True)
        kind, kind_at = source.get("type"), (*at, "type")
        ref = source.get("metricSourceRef")
        if kind is None and ref is not None:
            ds = self.named["DataSource"].get(str(ref))
            if ds is None:
                self.err(doc, (*at, "metricSourceRef"), f"DataSource {ref!r} not found, and no `type`")
                return None
            kind, kind_at = (
                _mapping(_mapping(ds.data).get("spec")).get("type"),
                (*at, "metricSourceRef"),
            )
        if str(kind).lower() != "prometheus":
            self.err(
                doc,
                kind_at if kind is not None else at,
                f"unsupported metric source type {kind!r}: only Prometheus is imported",
            )
            return None
        spec = source.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("query"), str):
            self.err(doc, (*at, "spec"), "missing required field 'query' (a PromQL query)")
            return None
        for k in spec:
            if k != "query":
                self.err(doc, (*at, "spec", k), f"unknown Prometheus metric source field {k!r}", key=True)
        return spec["query"], (*at, "spec", "query")

    # --- SLOs ------------------------------------------------------------------

    def slo(self, doc: Document, groups: dict[tuple[str, str, str], _Group]) -> None:
        data = _mapping(doc.data)
        meta, spec = _mapping(data.get("metadata")), data.get("spec")
        if not isinstance(spec, dict):
            self.err(doc, ("spec",) if "spec" in data else (), "missing required field 'spec'")
            return
        for k in spec:
            if k not in _SLO_KEYS:
                self.err(doc, ("spec", k), f"unknown OpenSLO SLO field {k!r}", key=True)
        before = len(self.errors)
        sli = self.indicator(doc, spec)
        period = self.period(doc, spec.get("timeWindow"))
        budgeting = self.budgeting(doc, spec.get("budgetingMethod"))
        if spec.get("alertPolicies"):
            self.err(
                doc,
                ("spec", "alertPolicies"),
                "unsupported: alertPolicies; swarm-slo generates its own multi-window burn-rate alerts",
            )
        service = spec.get("service")
        if not isinstance(service, str):
            self.err(
                doc,
                ("spec", "service") if "service" in spec else ("spec",),
                "missing required field 'service'",
            )
        objectives = self.objectives(doc, spec.get("objectives"), sli, budgeting)
        if len(self.errors) > before or sli is None or not isinstance(service, str):
            return
        assert period is not None and budgeting is not None and objectives is not None
        service_doc = self.named["Service"].get(service)
        stack = self.identity(doc, meta, service_doc, ("stack",), DEFAULT_STACK)
        team = self.identity(doc, meta, service_doc, ("team", "owner"), DEFAULT_TEAM)
        labels = self.labels(doc, meta.get("labels"))
        key = (doc.file, stack[0], service)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(doc.file, doc)
            group.data = {
                "version": SPEC_VERSION,
                "service": service,
                "stack": stack[0],
                "team": team[0],
                "slos": [],
            }
            group.origins.add(("service",), (_key(doc), "spec", "service"))
            group.origins.add(("stack",), stack[1])
            group.origins.add(("team",), team[1])
        self.add(group, doc)
        self.add(group, sli.doc)
        group.warnings.extend(w for w in sli.warnings if w not in group.warnings)
        j = len(group.data["slos"])
        here, pre = ("slos", j), _key(doc)
        slo: dict[str, Any] = {
            "name": meta["name"],
            "description": str(spec.get("description") or meta.get("displayName") or ""),
            "objectives": [o for o, _ in objectives],
            "period": period,
            "budgeting": budgeting,
            "sli": dict(sli.data),
            "alerting": {"labels": {k: v for k, (v, _) in labels.items()}} if labels else {},
        }
        group.data["slos"].append(slo)
        origins = group.origins
        origins.add(here, (pre, "spec"))
        origins.add((*here, "name"), (pre, "metadata", "name"))
        origins.add((*here, "period"), (pre, "spec", "timeWindow"))
        origins.add((*here, "objectives"), (pre, "spec", "objectives"))
        for i, (_, o_at) in enumerate(objectives):
            origins.add((*here, "objectives", i), (pre, *o_at))
            used = "target" if "target" in spec["objectives"][o_at[-1]] else "targetPercent"
            field_at = (*o_at, used)
            origins.add((*here, "objectives", i, "target"), (pre, *field_at))
        sli_here = (*here, "sli")
        sli_pre = _key(sli.doc) if sli.doc.file == doc.file else None
        origins.add(sli_here, (sli_pre, *sli.at) if sli_pre else (pre, "spec", "indicatorRef"))
        for part, path in sli.sources.items():
            origins.add((*sli_here, part), (sli_pre, *path) if sli_pre else (pre, "spec", "indicatorRef"))
        for k, (_, path) in labels.items():
            origins.add((*here, "alerting", "labels", k), (pre, *path))
        if slo["sli"]["kind"] == "threshold":
            first = objectives[0][1]
            obj = spec["objectives"][first[-1]]
            slo["sli"]["op"] = _OPS[obj["op"]]
            slo["sli"]["value"] = obj["value"]
            origins.add((*sli_here, "op"), (pre, *first, "op"))
            origins.add((*sli_here, "value"), (pre, *first, "value"))

    def add(self, group: _Group, doc: Document) -> None:
        if doc.file == group.file and all(d is not doc for d in group.docs):
            group.docs.append(doc)

    def indicator(self, doc: Document, spec: dict[str, Any]) -> _SLI | None:
        if "indicator" in spec and "indicatorRef" in spec:
            self.err(
                doc,
                ("spec", "indicatorRef"),
                "give one of `indicator` and `indicatorRef`, not both",
            )
            return None
        if "indicatorRef" in spec:
            ref = spec["indicatorRef"]
            if str(ref) not in self.named["SLI"]:
                self.err(
                    doc,
                    ("spec", "indicatorRef"),
                    f"SLI {ref!r} not found: no OpenSLO SLI document of that name in the files given",
                )
                return None
            return self.slis.get(str(ref))  # its own errors are reported at its document
        inline = spec.get("indicator")
        if not isinstance(inline, dict):
            self.err(doc, ("spec",), "missing required field 'indicator' or 'indicatorRef'")
            return None
        return (
            self.sli(doc, ("spec", "indicator", "spec"), inline.get("spec"))
            if "spec" in inline
            else self.sli(doc, ("spec", "indicator"), None)
        )

    def period(self, doc: Document, windows: object) -> str | None:
        at = ("spec", "timeWindow")
        if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
            self.err(
                doc,
                at if windows is not None else ("spec",),
                "expected `timeWindow` with exactly one rolling window, like [{duration: 30d, isRolling: true}]",
            )
            return None
        window, w_at = windows[0], (*at, 0)
        for k in window:
            if k not in ("duration", "isRolling", "calendar"):
                self.err(doc, (*w_at, k), f"unknown OpenSLO field {k!r}", key=True)
        if "calendar" in window or window.get("isRolling") is not True:
            self.err(
                doc,
                (*w_at, "calendar") if "calendar" in window else (*w_at, "isRolling"),
                "unsupported: calendar time windows; swarm-slo's periods are rolling (isRolling: true)",
            )
            return None
        duration = str(window.get("duration", ""))
        match = _DURATION.match(duration)
        d_at = (*w_at, "duration")
        if match is None:
            self.err(doc, d_at, f"expected a duration like 28d, got {duration!r}")
            return None
        n, unit = int(match.group(1)), match.group(2)
        if unit in _DAYS:
            return f"{n * _DAYS[unit]}d"
        per_day = {"h": 24, "m": 1440, "s": 86400}.get(unit)
        if per_day and n % per_day == 0:
            return f"{n // per_day}d"
        self.err(
            doc,
            d_at,
            f"unsupported: duration {duration!r}; the period must be whole days, "
            "like 28d (months, quarters and years are calendar units)",
        )
        return None

    def budgeting(self, doc: Document, method: object) -> str | None:
        at = ("spec", "budgetingMethod")
        if method in _BUDGETING:
            return _BUDGETING[str(method)]
        if method == "RatioTimeslices":
            self.err(
                doc,
                at,
                "unsupported: RatioTimeslices (the mean of per-slice ratios); use Occurrences or Timeslices",
            )
        elif method is None:
            self.err(doc, ("spec",), "missing required field 'budgetingMethod'")
        else:
            self.err(doc, at, f"unknown budgetingMethod {method!r}; expected Occurrences or Timeslices")
        return None

    def objectives(
        self, doc: Document, objectives: object, sli: _SLI | None, budgeting: str | None
    ) -> list[tuple[dict[str, Any], Path]] | None:
        at = ("spec", "objectives")
        if not isinstance(objectives, list) or not objectives:
            self.err(doc, at if objectives is not None else ("spec",), "expected a list of `objectives`")
            return None
        threshold = sli is not None and sli.data["kind"] == "threshold"
        out: list[tuple[dict[str, Any], Path]] = []
        first_cmp: tuple[object, object] | None = None
        for i, obj in enumerate(objectives):
            o_at = (*at, i)
            if not isinstance(obj, dict):
                self.err(doc, o_at, "expected a mapping")
                continue
            for k in obj:
                if k in ("indicator", "indicatorRef", "compositeWeight"):
                    self.err(
                        doc,
                        (*o_at, k),
                        "unsupported: composite SLOs (an indicator per objective)",
                        key=True,
                    )
                elif k not in _OBJECTIVE_KEYS:
                    self.err(doc, (*o_at, k), f"unknown OpenSLO objective field {k!r}", key=True)
            target = self.target(doc, obj, o_at)
            self.timeslice(doc, obj, o_at, budgeting, target)
            cmp = (obj.get("op"), obj.get("value"))
            if threshold:
                if cmp[0] not in _OPS or not isinstance(cmp[1], int | Decimal) or isinstance(cmp[1], bool):
                    self.err(
                        doc,
                        o_at,
                        "a thresholdMetric objective needs `op` (lt, lte, gt, gte) and a "
                        "numeric `value`: good when the query's value <op> value",
                    )
                elif first_cmp is None:
                    first_cmp = cmp
                elif cmp != first_cmp:
                    self.err(
                        doc,
                        o_at,
                        "unsupported: objectives with different op or value; write one SLO per threshold",
                    )
            elif sli is not None and ("op" in obj or "value" in obj):
                self.err(
                    doc,
                    (*o_at, "op") if "op" in obj else (*o_at, "value"),
                    "unsupported: `op` and `value` apply to thresholdMetric SLIs only",
                    key=True,
                )
            if target is None:
                continue
            entry: dict[str, Any] = {"target": target}
            name = _slug(obj.get("displayName"))
            if name and len(objectives) > 1:
                entry["name"] = name
            out.append((entry, o_at))
        return out

    def target(self, doc: Document, obj: dict[str, Any], at: Path) -> Decimal | None:
        if "target" in obj:
            value = obj["target"]
            if isinstance(value, int | Decimal) and not isinstance(value, bool) and 0 < value < 1:
                return _percent(Decimal(value) * 100)
            self.err(
                doc,
                (*at, "target"),
                "expected a fraction of good events between 0 and 1, like 0.999",
            )
            return None
        if "targetPercent" in obj:
            value = obj["targetPercent"]
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return _percent(Decimal(value))
            self.err(doc, (*at, "targetPercent"), "expected a number, like 99.9")
            return None
        self.err(doc, at, "missing required field 'target' (or 'targetPercent')")
        return None

    def timeslice(
        self,
        doc: Document,
        obj: dict[str, Any],
        at: Path,
        budgeting: str | None,
        target: Decimal | None,
    ) -> None:
        for k in ("timeSliceTarget", "timeSliceWindow"):
            if k in obj and budgeting != "timeslices":
                self.err(
                    doc,
                    (*at, k),
                    f"`{k}` applies to the Timeslices budgeting method only",
                    key=True,
                )
                return
        slice_target = obj.get("timeSliceTarget")
        if slice_target is not None and (
            not isinstance(slice_target, int | Decimal)
            or target is None
            or _percent(Decimal(slice_target) * 100) != target
        ):
            self.err(
                doc,
                (*at, "timeSliceTarget"),
                "unsupported: a timeSliceTarget other than the "
                "objective's target; swarm-slo counts a slice good when it meets the objective",
            )
        window = obj.get("timeSliceWindow")
        if window is not None and str(window) != _SLICE_WINDOW:
            self.err(
                doc,
                (*at, "timeSliceWindow"),
                f"unsupported: timeSliceWindow {window!r}; swarm-slo's "
                f"slices are its rule evaluation window ({_SLICE_WINDOW} by default)",
            )

    def identity(
        self,
        doc: Document,
        meta: dict[str, Any],
        service: Document | None,
        keys: tuple[str, ...],
        default: str,
    ) -> tuple[str, Path]:
        """stack or team: the SLO's metadata labels or annotations, else its Service's, else
        the default."""
        for owner in (doc, service):
            if owner is None:
                continue
            m = meta if owner is doc else _mapping(_mapping(owner.data).get("metadata"))
            for where in ("labels", "annotations"):
                entries = _mapping(m.get(where))
                for k in keys:
                    if k in entries:
                        value = _one_value(entries[k])
                        path = ("metadata", where, k)
                        if value is None:
                            self.err(owner, path, f"expected one value for {k!r}")
                            continue
                        src = (_key(owner), *path) if owner.file == doc.file else (_key(doc), "spec", "service")
                        return value, src
        return default, (_key(doc), "spec", "service")

    def labels(self, doc: Document, labels: object) -> dict[str, tuple[str, Path]]:
        """The SLO's metadata labels, less stack and team, become labels on its alerts."""
        if not isinstance(labels, dict):
            return check_labels(doc, labels, ("metadata", "labels"), self.errors)
        flat: dict[str, object] = {}
        for k, v in labels.items():
            if k in ("stack", "team"):
                continue
            if isinstance(v, list) and all(label_value(x) is not None for x in v):
                flat[k] = ",".join(str(label_value(x)) for x in v)
            else:
                flat[k] = v
        return check_labels(doc, flat, ("metadata", "labels"), self.errors)


# --- helpers ---------------------------------------------------------------------


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key(doc: Document) -> _DocKey:
    return _DocKey(f"\0{doc.file}\0{doc.index}")


def _merged(group: _Group) -> Document:
    """One position table for the SLO and SLI documents of a group, each under its key."""
    merged = Document(group.file, group.first.index, None, line=group.first.line)
    for doc in group.docs:
        pre = _key(doc)
        merged.values[(pre,)] = (doc.line, 1)
        merged.values.update({(pre, *p): pos for p, pos in doc.values.items()})
        merged.keys.update({(pre, *p): pos for p, pos in doc.keys.items()})
    merged.values[()] = (group.first.line, 1)
    return merged


def _percent(value: Decimal) -> Decimal:
    return Decimal(format_decimal(value))


def _slug(name: object) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", str(name or "").lower()).strip("-._")


def _one_value(value: object) -> str | None:
    if isinstance(value, list):
        return label_value(value[0]) if len(value) == 1 else None
    return label_value(value)


def _counter_selector(text: str) -> tuple[str, str]:
    """The series selector of a counter query that is a selector or `sum [by|without
    (...)] (selector)` (in parentheses or not), and the grouping it drops ("" if none).

    The counter's events are those of every series the selector picks, so the grouping does
    not change the SLI: swarm-slo sums the rates of them all. Raise ValueError otherwise."""
    top = promql_parser.parse(text)
    node = _unparen(top)
    grouping = ""
    if isinstance(node, promql_parser.AggregateExpr) and str(node.op) == "sum" and node.param is None:
        grouping = str(node.modifier) if node.modifier is not None else ""
        node = _unparen(node.expr)
    if not isinstance(node, promql_parser.VectorSelector):
        raise ValueError("expected a series selector")
    selector = str(node).removesuffix("{}") if node is not top else text.strip()
    return str(promql.vector_selector_text(selector)), grouping


def _unparen(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def _reason(e: ValueError) -> str:
    text = str(e)
    return "" if text.startswith("expected a series selector") else f" ({text})"


def _promql_ok(imp: _Importer, doc: Document, at: Path, query: str) -> bool:
    try:
        promql.check(query)
    except ValueError as e:
        imp.err(doc, at, f"not valid PromQL: {e}")
        return False
    return True
