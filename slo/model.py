"""Declarative models for our file formats: typed fields in, every error at once out, and
the JSON Schema editors read.

Why not pydantic: importing it and building our models cost about 70 ms of every `slo`
run (start-up was most of a small build: docs/reports/*-build-speed.md). These models
validate the plain data PyYAML gives (str, int, Decimal, bool, None, dict, list) with a few
dozen lines per construct, and keep pydantic's behaviour where users see it: unknown keys
are refused, all errors of a document are reported, the `kind` tag picks the SLI model.

    class Objective(Model):
        target: Decimal = F(gt=0, lt=100, description="percent of good events")
        name: str | None = F(None, check=_name)

Field types: str, bool, int, Decimal, Literal[...], X | None, list[X], dict[K, V],
a Model, and a union of Models told apart by their `kind` literal.
"""

from __future__ import annotations

import functools
import operator
import sys
import types
import typing
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

__all__ = ["F", "Issue", "Model", "json_schema", "validate"]

PathT = tuple[str | int, ...]
M = TypeVar("M", bound="Model")
_MISSING: Any = object()


class Issue(typing.NamedTuple):
    """One problem in the data: `path` leads to the value (or to the unknown key)."""

    path: PathT
    message: str
    kind: Literal["value", "unknown", "missing", "tag"] = "value"
    expected: tuple[str, ...] = ()  # unknown keys: the field names allowed there


class _Spec:
    """What `F` declares about a field."""

    __slots__ = ("alias", "before", "bounds_message", "check", "default", "description", "factory", "ge", "gt",
                 "hidden", "lt", "min_length")  # fmt: skip

    def __init__(self, default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
                 description: str = "", check: Callable[[Any], Any] | None = None,
                 before: Callable[[Any], Any] | None = None, gt: Any = None, ge: Any = None, lt: Any = None,
                 min_length: int | None = None, bounds_message: str = "", alias: str | None = None,
                 hidden: bool = False) -> None:  # fmt: skip
        self.default, self.factory, self.description = default, default_factory, description
        self.check, self.before, self.gt, self.ge, self.lt = check, before, gt, ge, lt
        self.min_length, self.bounds_message, self.alias, self.hidden = min_length, bounds_message, alias, hidden


def F(  # reads like a type annotation's companion, as pydantic's Field
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str = "",
    check: Callable[[Any], Any] | None = None,
    before: Callable[[Any], Any] | None = None,
    gt: Any = None,
    ge: Any = None,
    lt: Any = None,
    min_length: int | None = None,
    bounds_message: str = "",
    alias: str | None = None,
    hidden: bool = False,
) -> Any:
    """A field: its default (none: required), bounds, and a check that raises ValueError.

    `before` rewrites the raw value before its type is checked (shorthands); `bounds_message`
    replaces the message of a broken gt/ge/lt bound ({value} is the value); `alias` is the
    key in files when the name cannot be (`global`, `from`); a `hidden` field is left out of
    the schema and of the keys an unknown-key error suggests (fields that exist only to
    refuse a value with a better message)."""
    return _Spec(
        default, default_factory=default_factory, description=description, check=check, before=before, gt=gt,
        ge=ge, lt=lt, min_length=min_length, bounds_message=bounds_message, alias=alias, hidden=hidden,
    )  # fmt: skip


class Check(typing.NamedTuple):
    """`Annotated[str, Check(fn)]`: a check on every value of that type, like list items."""

    fn: Callable[[Any], Any]


class _Field(typing.NamedTuple):
    name: str
    type: Any
    spec: _Spec

    @property
    def key(self) -> str:
        """The key in files."""
        return self.spec.alias or self.name

    @property
    def required(self) -> bool:
        return self.spec.default is _MISSING and self.spec.factory is None

    def default(self) -> Any:
        return self.spec.factory() if self.spec.factory is not None else self.spec.default


class Model:
    """A frozen record whose fields are declared with annotations and `F`."""

    __fields: ClassVar[dict[str, _Field] | None] = None

    def __init__(self, **values: Any) -> None:
        for f in self.fields().values():
            object.__setattr__(self, f.name, values.pop(f.name) if f.name in values else f.default())
        if values:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(values)}")

    @classmethod
    def fields(cls) -> dict[str, _Field]:
        """Declared fields in declaration order, a parent's first (resolved on first use)."""
        found = cls.__dict__.get("_Model__fields")
        if found is None:
            found = {}
            for klass in reversed(cls.__mro__[:-2]):  # without Model and object
                module = vars(sys.modules[klass.__module__])
                # Its own annotations only (inspect.get_annotations would import inspect: 8 ms).
                for name, hint in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
                    if name.startswith("_") or "ClassVar" in str(hint):
                        continue
                    tp = eval(hint, module) if isinstance(hint, str) else hint  # postponed annotations
                    spec = getattr(cls, name, _MISSING)
                    if not isinstance(spec, _Spec):
                        spec = _Spec(spec)
                    found[name] = _Field(name, tp, spec)
            cls.__fields = found
        return found

    @classmethod
    def parse(cls, data: Any) -> Self:
        """`data` as this model; ValueError listing the issues when it is not one."""
        obj, issues = validate(cls, data)
        if obj is None:
            raise ValueError("; ".join(f"{'.'.join(map(str, i.path)) or '(top)'}: {i.message}" for i in issues))
        return obj

    @classmethod
    def tag(cls) -> str | None:
        """The `kind` literal of a union member."""
        f = cls.fields().get("kind")
        return str(typing.get_args(f.type)[0]) if f and typing.get_origin(f.type) is Literal else None

    @classmethod
    def coerce(cls, data: Any) -> Any:
        """Shorthand forms: turn `data` into a mapping, or raise ValueError."""
        return data

    def check_model(self) -> None:
        """Cross-field rules; raise ValueError. Runs when every field is valid."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def replace(self, **update: Any) -> Self:
        values = {name: getattr(self, name) for name in self.fields()}
        return type(self)(**(values | update))

    def dump(self) -> dict[str, Any]:
        return {name: _dump(getattr(self, name)) for name in self.fields()}

    def _key(self) -> tuple[Any, ...]:
        return (type(self), *(_frozen(getattr(self, n)) for n in self.fields()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.fields())})"


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return value.dump()
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


# --- validation ----------------------------------------------------------------


def describe(value: object) -> str:
    """How an error names the value it got."""
    names = {list: "a list", dict: "a mapping", str: "a string", bool: "true/false", type(None): "nothing"}
    if type(value) in names:
        return names[type(value)]
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    return type(value).__name__


class _Invalid(Exception):
    pass


# A converter checks one value and returns it converted, or records issues and raises
# _Invalid. One is built per field type on first use: dispatching on typing constructs for
# every value cost a third more than pydantic's validation at 1,000 SLOs.
_Converter = Callable[[Any, PathT, list[Issue]], Any]


def validate(model: type[M], data: Any) -> tuple[M | None, list[Issue]]:
    """`data` as an instance of `model`, or None and every issue found."""
    issues: list[Issue] = []
    try:
        return _converter(typing.cast(Any, model))(data, (), issues), issues
    except _Invalid:
        return None, issues


def _union(members: list[Any]) -> Any:
    return functools.reduce(operator.or_, members)


def _fail(issues: list[Issue], path: PathT, message: str, kind: Any = "value", expected: tuple[str, ...] = ()) -> Any:
    issues.append(Issue(path, message, kind, expected))
    raise _Invalid


@functools.cache
def _converter(tp: Any) -> _Converter:
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda data, path, issues: data
    if origin is Annotated:
        base, *meta = typing.get_args(tp)
        return _checked(_converter(base), [m.fn for m in meta if isinstance(m, Check)])
    if isinstance(tp, type) and issubclass(tp, Model):
        return _model_converter(tp)
    if origin in (types.UnionType, typing.Union):
        members = typing.get_args(tp)
        if type(None) in members:
            inner = _converter(_union([m for m in members if m is not type(None)]))
            return lambda data, path, issues: None if data is None else inner(data, path, issues)
        return _tagged_converter(members)
    if origin is Literal:
        return _literal_converter(typing.get_args(tp))
    if origin is list:
        return _list_converter(_converter(typing.get_args(tp)[0]))
    if origin is dict:
        key_tp, item_tp = typing.get_args(tp)
        return _dict_converter(_converter(key_tp), _converter(item_tp))
    if tp in _SCALARS:
        return _SCALARS[tp]
    raise TypeError(f"unsupported field type {tp!r}")


def _checked(conv: _Converter, checks: list[Callable[[Any], Any]]) -> _Converter:
    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        value = conv(data, path, issues)
        for check in checks:
            try:
                value = check(value)
            except ValueError as exc:
                return _fail(issues, path, str(exc))
        return value

    return convert


def _literal_converter(choices: tuple[Any, ...]) -> _Converter:
    allowed = set(choices)
    expected = ", ".join(map(str, choices))

    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if type(data) is type(choices[0]) and data in allowed:
            return data
        return _fail(issues, path, f"expected one of: {expected}; got {data!r}")

    return convert


def _list_converter(item: _Converter) -> _Converter:
    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if type(data) is not list:
            return _fail(issues, path, f"expected a list, got {describe(data)}")
        out, failed = [], False
        for i, value in enumerate(data):
            try:
                out.append(item(value, (*path, i), issues))
            except _Invalid:
                failed = True
        if failed:
            raise _Invalid
        return out

    return convert


def _dict_converter(key: _Converter, item: _Converter) -> _Converter:
    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if type(data) is not dict:
            return _fail(issues, path, f"expected a mapping, got {describe(data)}")
        out, failed = {}, False
        for k, value in data.items():
            try:
                key(k, (*path, k), issues)
                out[k] = item(value, (*path, k), issues)
            except _Invalid:
                failed = True
        if failed:
            raise _Invalid
        return out

    return convert


def _str(data: Any, path: PathT, issues: list[Issue]) -> Any:
    if type(data) is str:
        return data
    return _fail(issues, path, f"expected a string, got {describe(data)}")


def _bool(data: Any, path: PathT, issues: list[Issue]) -> Any:
    if type(data) is bool:
        return data
    return _fail(issues, path, f"expected true or false, got {describe(data)}")


def _int(data: Any, path: PathT, issues: list[Issue]) -> Any:
    if isinstance(data, int | Decimal) and not isinstance(data, bool) and data == int(data):
        return int(data)
    return _fail(issues, path, f"expected a whole number, got {describe(data)}")


def _decimal(data: Any, path: PathT, issues: list[Issue]) -> Any:
    if isinstance(data, int | Decimal) and not isinstance(data, bool):
        return Decimal(data)
    if isinstance(data, float | str):  # as written: 99.9 is 99.9, not its binary neighbour
        try:
            return Decimal(str(data).strip())
        except InvalidOperation:
            pass
    return _fail(issues, path, f"expected a number, got {describe(data)}")


_SCALARS: dict[Any, _Converter] = {str: _str, bool: _bool, int: _int, Decimal: _decimal}


def _tagged_converter(members: tuple[Any, ...]) -> _Converter:
    by_tag = {m.tag(): m for m in members}
    kinds = ", ".join(by_tag)

    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if type(data) is not dict:
            return _fail(issues, path, f"expected a mapping, got {describe(data)}")
        if "kind" not in data:
            return _fail(issues, path, f"missing `kind`: say which SLI this is ({kinds})", "tag")
        tag = data["kind"]
        model = by_tag.get(tag) if isinstance(tag, str) else None
        if model is None:
            return _fail(issues, (*path, "kind"), f"unknown SLI kind {tag!r}; expected one of: {kinds}", "tag")
        return _converter(model)(data, path, issues)

    return convert


def _model_converter(model: type[Model]) -> _Converter:
    fields = [(f, f.name, f.key, _field_converter(f)) for f in model.fields().values()]
    known = {f.key for f in model.fields().values()}
    shown = tuple(f.key for f in model.fields().values() if not f.spec.hidden)
    coerce = model.coerce if "coerce" in _overrides(model) else None

    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if coerce is not None:
            try:
                data = coerce(data)
            except ValueError as exc:
                return _fail(issues, path, str(exc))
        if type(data) is not dict:
            return _fail(issues, path, f"expected a mapping, got {describe(data)}")
        values: dict[str, Any] = {}
        failed = False
        found = 0
        for f, name, key, conv in fields:
            if key not in data:
                if f.required:
                    issues.append(Issue((*path, key), f"missing required field {key!r}", "missing"))
                    failed = True
                else:
                    values[name] = f.default()
                continue
            found += 1
            try:
                values[name] = conv(data[key], (*path, key), issues)
            except _Invalid:
                failed = True
        if found < len(data):
            for key in data:
                if key not in known:
                    issues.append(Issue((*path, key), f"unknown field {key!r}", "unknown", shown))
                    failed = True
        if failed:
            raise _Invalid
        obj = model.__new__(model)
        obj.__dict__.update(values)
        try:
            obj.check_model()
        except ValueError as exc:
            return _fail(issues, path, str(exc))
        return obj

    return convert


def _overrides(model: type[Model]) -> set[str]:
    return {name for klass in model.__mro__ if klass is not Model for name in vars(klass)}


def _field_converter(f: _Field) -> _Converter:
    conv = _converter(f.type)
    spec = f.spec
    bounded = any(b is not None for b in (spec.gt, spec.ge, spec.lt, spec.min_length))
    if not bounded and spec.check is None and spec.before is None:
        return conv

    def convert(data: Any, path: PathT, issues: list[Issue]) -> Any:
        if spec.before is not None:
            data = spec.before(data)
        value = conv(data, path, issues)
        if value is None:
            return None
        broken = ""
        if spec.gt is not None and not value > spec.gt:
            broken = f"must be greater than {spec.gt}; got {value}"
        elif spec.ge is not None and not value >= spec.ge:
            broken = f"must be at least {spec.ge}; got {value}"
        elif spec.lt is not None and not value < spec.lt:
            broken = f"must be less than {spec.lt}; got {value}"
        if broken:
            return _fail(issues, path, spec.bounds_message.format(value=value) if spec.bounds_message else broken)
        if spec.min_length is not None and len(value) < spec.min_length:
            return _fail(issues, path, f"give at least {spec.min_length}")
        if spec.check is not None:
            try:
                value = spec.check(value)
            except ValueError as exc:
                return _fail(issues, path, str(exc))
        return value

    return convert


# --- JSON Schema ---------------------------------------------------------------


def json_schema(model: type[Model], *, title: str = "", id: str = "") -> dict[str, Any]:
    """A draft 2020-12 schema: the root model inline, every other model under $defs."""
    defs: dict[str, Any] = {}
    root = _model_schema(model, defs)
    root.pop("title", None)
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title or model.__name__, **root}
    if id:
        out["$id"] = id
    if defs:
        out["$defs"] = dict(sorted(defs.items()))
    return out


def _model_schema(model: type[Model], defs: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in model.fields().values():
        if f.spec.hidden:
            continue
        s = _type_schema(f.type, defs)
        if f.spec.description:
            s["description"] = f.spec.description
        for key, bound in (("exclusiveMinimum", f.spec.gt), ("minimum", f.spec.ge), ("exclusiveMaximum", f.spec.lt)):
            if bound is not None:
                s[key] = _json_value(bound)
        if f.spec.min_length is not None:
            s["minItems"] = f.spec.min_length
        if not f.required:
            default = f.default()
            if not isinstance(default, Model):
                s["default"] = _json_value(default)
        props[f.key] = s
    out: dict[str, Any] = {"title": model.__name__, "type": "object", "additionalProperties": False}
    if model.__doc__ and model.__doc__ is not Model.__doc__:
        out["description"] = " ".join(model.__doc__.split())
    out["properties"] = props
    required = [f.key for f in model.fields().values() if f.required and not f.spec.hidden]
    if required:
        out["required"] = required
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):  # JSON has numbers, not decimals
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _ref(model: type[Model], defs: dict[str, Any]) -> dict[str, Any]:
    if model.__name__ not in defs:
        defs[model.__name__] = {}  # placeholder against recursion
        defs[model.__name__] = _model_schema(model, defs)
    return {"$ref": f"#/$defs/{model.__name__}"}


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is Any:
        return {}
    if origin is Annotated:
        return _type_schema(typing.get_args(tp)[0], defs)
    if isinstance(tp, type) and issubclass(tp, Model):
        ref = _ref(tp, defs)
        alternatives = getattr(tp, "schema_alternatives", ())
        return {"anyOf": [*alternatives, ref]} if alternatives else ref
    if origin in (types.UnionType, typing.Union):
        members = typing.get_args(tp)
        rest = [m for m in members if m is not type(None)]
        if len(rest) < len(members):
            return {"anyOf": [_type_schema(_union(rest), defs), {"type": "null"}]}
        mapping = {m.tag(): f"#/$defs/{m.__name__}" for m in members}
        return {
            "oneOf": [_ref(m, defs) for m in members],
            "discriminator": {"propertyName": "kind", "mapping": mapping},
        }
    if origin is Literal:
        choices = list(typing.get_args(tp))
        return {"const": choices[0]} if len(choices) == 1 else {"enum": choices}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if origin is dict:
        key_tp, item = typing.get_args(tp)
        out: dict[str, Any] = {"type": "object", "additionalProperties": _type_schema(item, defs)}
        if key_tp is not str:
            out["propertyNames"] = _type_schema(key_tp, defs)
        return out
    simple = {str: "string", bool: "boolean", int: "integer", Decimal: "number"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"unsupported field type {tp!r}")
