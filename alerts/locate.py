"""pydantic's validation errors at the line the user wrote: the on-call file's model is
still pydantic (the SLO files moved to `slo.model`, whose start-up is cheaper)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel

from slo.errors import InputError
from slo.load import Converted, error_at
from slo.model import describe
from slo.yamlpos import Path

__all__ = ["locate"]

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


def locate(conv: Converted, err: Any, model: type[BaseModel]) -> InputError:
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
        return error_at(conv, path, msg, key=True)
    if kind == "missing":
        # Located at the mapping that lacks the field; the field path names the field.
        return error_at(conv, path[:-1], f"missing required field {err['loc'][-1]!r}", field_path=path)
    if kind in _TYPE_NAMES:
        msg = f"expected {_TYPE_NAMES[kind]}, got {describe(err.get('input'))}"
    return error_at(conv, path, msg)


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
