"""Files in, validated models out. Every problem in every file is collected and raised
together as `InputErrors`, each located at file:line:column with its field path."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import model
from .errors import InputError, InputErrors, Warning_
from .spec import ServiceSpec
from .yamlpos import Document, Path, format_path, read_documents

__all__ = ["Converted", "LoadedService", "discover", "error_at", "load_paths", "located"]

SUFFIXES = (".yaml", ".yml")
_LATENCY_KINDS = ("latency", "traefik-latency", "prometheus-client-latency", "otel-http-latency")


@dataclass(frozen=True)
class Converted:
    """A document in our format, possibly translated from Sloth or OpenSLO.

    `origin` maps a path in `data` back to the source document's path, so an error
    found after translation still points at the line the user wrote.
    """

    data: Any
    doc: Document
    origin: Callable[[Path], Path] = lambda p: p
    source_format: str = "swarm-slo/v1"
    # Translations that keep the meaning but change a name (an importer's notes to the user).
    warnings: tuple[Warning_, ...] = ()


@dataclass(frozen=True)
class LoadedService:
    spec: ServiceSpec
    file: str
    line: int
    source_format: str
    converted: Converted | None = None

    def error(self, path: Path, message: str) -> InputError:
        """A located error about this service, found after loading (live checks)."""
        if self.converted is None:
            return InputError(self.file, self.line, 1, format_path(path), message)
        return error_at(self.converted, path, message)


def discover(paths: Sequence[str]) -> tuple[list[str], list[InputError]]:
    files: list[str] = []
    errors: list[InputError] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(
                os.path.join(root, f) for root, _, names in os.walk(p) for f in names if f.endswith(SUFFIXES)
            )
            if not found:
                errors.append(InputError(p, 1, 1, "", "no .yaml or .yml files in this directory"))
            files.extend(found)
        elif os.path.isfile(p):
            files.append(p)
        else:
            errors.append(InputError(p, 1, 1, "", "no such file or directory"))
    return sorted(dict.fromkeys(files)), errors


def load_paths(paths: Sequence[str]) -> list[LoadedService]:
    files, errors = discover(paths)
    docs: list[Document] = []
    for f in files:
        with open(f, "rb") as fh:
            found, errs = read_documents(f, fh.read())
        docs.extend(found)
        errors.extend(errs)
    converted, conv_errors = _convert(docs)
    errors.extend(conv_errors)
    loaded: list[tuple[LoadedService, Converted]] = []
    for conv in converted:
        spec, errs = validate(conv)
        errors.extend(errs)
        if spec is not None:
            loaded.append((LoadedService(spec, conv.doc.file, conv.doc.line, conv.source_format, conv), conv))
    errors.extend(_cross_checks(loaded))
    if errors:
        raise InputErrors(errors)
    return sorted((s for s, _ in loaded), key=lambda s: (s.spec.stack, s.spec.service))


def _convert(docs: list[Document]) -> tuple[list[Converted], list[InputError]]:
    from .importers import openslo, sloth  # imported late: they import this module's types

    out: list[Converted] = []
    errors: list[InputError] = []
    openslo_docs = []
    for doc in docs:
        data = doc.data
        if not isinstance(data, dict):
            errors.append(doc.error((), f"expected a mapping at the top of the document, got {model.describe(data)}"))
        elif sloth.recognizes(data):
            conv, errs = sloth.convert(doc)
            out.extend(conv)
            errors.extend(errs)
        elif openslo.recognizes(data):
            openslo_docs.append(doc)
        else:
            out.append(Converted(data, doc))
    conv, errs = openslo.convert_all(openslo_docs)
    return out + conv, errors + errs


def validate(conv: Converted) -> tuple[ServiceSpec | None, list[InputError]]:
    spec, issues = model.validate(ServiceSpec, conv.data)
    if spec is None:
        return None, [located(conv, issue) for issue in issues]
    return spec, _semantic_checks(spec, conv)


def located(conv: Converted, issue: model.Issue) -> InputError:
    """An issue of `slo.model` at the line the user wrote."""
    path, msg = issue.path, issue.message
    if issue.kind == "unknown":
        hint = difflib.get_close_matches(str(path[-1]), issue.expected, n=1, cutoff=0.6)
        msg += (f"; did you mean {hint[0]!r}?" if hint else "") + f" (expected one of: {', '.join(issue.expected)})"
        return error_at(conv, path, msg, key=True)
    if issue.kind == "missing":
        # Located at the mapping that lacks the field; the field path names the field.
        return error_at(conv, path[:-1], msg, field_path=path)
    return error_at(conv, path, msg)


def error_at(conv: Converted, path: Path, msg: str, *, key: bool = False, field_path: Path | None = None) -> InputError:
    src = conv.origin(path)
    line, col = conv.doc.position(src, key)
    return InputError(conv.doc.file, line, col, format_path(field_path if field_path is not None else src), msg)


def _semantic_checks(spec: ServiceSpec, conv: Converted) -> list[InputError]:
    errors = []
    seen: dict[str, int] = {}
    for i, slo in enumerate(spec.slos):
        if slo.name in seen:
            errors.append(
                error_at(
                    conv,
                    ("slos", i, "name"),
                    f"duplicate SLO name {slo.name!r} (also slos[{seen[slo.name]}])",
                )
            )
        seen.setdefault(slo.name, i)
        names: dict[str, int] = {}
        for j, obj in enumerate(slo.objectives):
            oname = obj.name or obj.default_name()
            if oname in names:
                errors.append(
                    error_at(
                        conv,
                        ("slos", i, "objectives", j),
                        f"two objectives are both named {oname!r}; set `name` on one",
                    )
                )
            names.setdefault(oname, j)
            if obj.threshold is not None and slo.sli.kind not in _LATENCY_KINDS:
                errors.append(
                    error_at(
                        conv,
                        ("slos", i, "objectives", j, "threshold"),
                        f"only latency SLIs take a threshold, not {slo.sli.kind!r}",
                    )
                )
    return errors


def _cross_checks(loaded: list[tuple[LoadedService, Converted]]) -> list[InputError]:
    errors = []
    first: dict[tuple[str, str], LoadedService] = {}
    for svc, conv in loaded:
        key = (svc.spec.stack, svc.spec.service)
        if key in first:
            other = first[key]
            errors.append(
                error_at(
                    conv,
                    ("service",),
                    f"service {key[1]!r} of stack {key[0]!r} is also defined at {other.file}:{other.line}",
                )
            )
        else:
            first[key] = svc
    return errors
