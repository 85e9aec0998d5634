"""Files in, validated models out. Every problem in every file is collected and raised
together as `InputErrors`, each located at file:line:column with its field path."""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import InputError, InputErrors, Warning_
from .spec import ServiceSpec, SLOSpec
from .yamlpos import Document, Path, format_path, read_documents

__all__ = ["Converted", "LoadedService", "discover", "load_paths", "locate"]

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
        return _err(self.converted, path, message)


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
            errors.append(doc.error((), f"expected a mapping at the top of the document, got {_kind(data)}"))
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


_TYPE_NAMES = {
    "string_type": "a string",
    "dict_type": "a mapping",
    "list_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "model_type": "a mapping",
}


def _kind(value: object) -> str:
    names = {
        list: "a list",
        dict: "a mapping",
        str: "a string",
        bool: "true/false",
        type(None): "nothing",
    }
    if type(value) in names:
        return names[type(value)]
    return (
        f"the number {value}"
        if isinstance(value, int | float) or type(value).__name__ == "Decimal"
        else type(value).__name__
    )


def validate(conv: Converted) -> tuple[ServiceSpec | None, list[InputError]]:
    try:
        spec = ServiceSpec.model_validate(conv.data)
    except ValidationError as exc:
        return None, [_locate(conv, err) for err in exc.errors(include_url=False)]
    return spec, _semantic_checks(spec, conv)


def _locate(conv: Converted, err: Any, model: type[BaseModel] = ServiceSpec) -> InputError:
    """One pydantic error as a located error; `model` is the document's root model (for hints)."""
    path = _data_path(conv.data, err["loc"])
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        key = path[-1]
        allowed = _fields_at(model, err["loc"][:-1])
        hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        msg = f"unknown field {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
        if allowed:
            msg += f" (expected one of: {', '.join(allowed)})"
        return _err(conv, path, msg, key=True)
    if kind == "missing":
        # Located at the mapping that lacks the field; the field path names the field.
        return _err(conv, path[:-1], f"missing required field {err['loc'][-1]!r}", field_path=path)
    if kind in _TYPE_NAMES:
        msg = f"expected {_TYPE_NAMES[kind]}, got {_kind(err.get('input'))}"
    elif path and path[-1] == "target" and kind in ("less_than", "greater_than"):
        msg = f"an objective is a percent between 0 and 100, exclusive; got {err.get('input')}"
    elif kind == "union_tag_not_found":
        msg = "missing `kind`: say which SLI this is (" + ", ".join(_sli_kinds()) + ")"
    elif kind == "union_tag_invalid":
        msg = f"unknown SLI kind {err['input'].get('kind')!r}; expected one of: " + ", ".join(_sli_kinds())
        path = (*path, "kind")
    return _err(conv, path, msg)


locate = _locate  # shared with the on-call loader (alerts/load.py)


def _err(conv: Converted, path: Path, msg: str, *, key: bool = False, field_path: Path | None = None) -> InputError:
    src = conv.origin(path)
    line, col = conv.doc.position(src, key)
    return InputError(conv.doc.file, line, col, format_path(field_path if field_path is not None else src), msg)


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """Follow pydantic's loc through the data; skip the union tags and model names it adds.

    The last element is kept even when absent from the data: it is the missing or unknown field."""
    path: list[str | int] = []
    cur = data
    for i, seg in enumerate(loc):
        if (isinstance(cur, dict) and seg in cur) or (
            isinstance(cur, list) and isinstance(seg, int) and seg < len(cur)
        ):
            path.append(seg)
            cur = cur[seg]
        elif i == len(loc) - 1:
            path.append(seg)
    return tuple(path)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at `loc`, for "did you mean" hints."""
    tp: Any = model
    for seg in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(seg))
            if field is None:
                return []
            tp = field.annotation
        elif origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (typing.Union, types.UnionType):
            members = [_unwrap(a) for a in typing.get_args(tp)]
            chosen = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel) and _tag(m) == seg]
            if not chosen:
                models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
                if len(models) != 1:
                    return []
                chosen = models
                tp = chosen[0]
                field = tp.model_fields.get(str(seg))
                if field is None:
                    return []
                tp = field.annotation
                continue
            tp = chosen[0]
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        models = [m for m in map(_unwrap, typing.get_args(tp)) if isinstance(m, type) and issubclass(m, BaseModel)]
        tp = models[0] if len(models) == 1 else tp
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items() if not f.exclude]
    return []


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if args else None


def _sli_kinds() -> list[str]:
    slo_field = SLOSpec.model_fields["sli"]
    members = typing.get_args(_unwrap(slo_field.annotation))
    return [t for t in (_tag(_unwrap(m)) for m in members) if t]


def _semantic_checks(spec: ServiceSpec, conv: Converted) -> list[InputError]:
    errors = []
    seen: dict[str, int] = {}
    for i, slo in enumerate(spec.slos):
        if slo.name in seen:
            errors.append(
                _err(
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
                    _err(
                        conv,
                        ("slos", i, "objectives", j),
                        f"two objectives are both named {oname!r}; set `name` on one",
                    )
                )
            names.setdefault(oname, j)
            if obj.threshold is not None and slo.sli.kind not in _LATENCY_KINDS:
                errors.append(
                    _err(
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
                _err(
                    conv,
                    ("service",),
                    f"service {key[1]!r} of stack {key[0]!r} is also defined at {other.file}:{other.line}",
                )
            )
        else:
            first[key] = svc
    return errors
