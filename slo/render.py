"""Deterministic YAML text for the bundle.

A small emitter of our own instead of yaml.dump: byte-identical output across
PyYAML versions and machines, quoting chosen for readability (PromQL in single
quotes, no escaped double quotes), and fast enough for 10,000 SLOs. Round-trip
with yaml.safe_load is property-tested.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from .duration import format_decimal

__all__ = ["to_yaml"]

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
# Words YAML 1.1 (PyYAML) or 1.2 would read as something other than a string.
_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
# Anything but printable characters (as YAML's reader defines them) goes double-quoted, escaped.
_NEEDS_DOUBLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def scalar(value: Any) -> str:
    if type(value) is str:
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        raise TypeError("floats are not emitted: use Decimal for exact text")
    if value is None:
        return "null"
    return _string(str(value))


@functools.lru_cache(maxsize=65536)  # label names and values repeat across thousands of rules
def _string(text: str) -> str:
    if _PLAIN.match(text) and text.lower() not in _SPECIAL:
        return text
    if _NEEDS_DOUBLE.search(text):
        return _double_quoted(text)
    return "'" + text.replace("'", "''") + "'"


def _double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif _NEEDS_DOUBLE.match(ch) is None:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            k = _string(key) if type(key) is str else scalar(key)
            if type(item) is str:
                out.append(f"{pad}{k}: {_string(item)}\n")
            elif isinstance(item, dict) and item:
                out.append(f"{pad}{k}:\n")
                _emit(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append(f"{pad}{k}:\n")
                _emit(item, indent, out)
            else:
                out.append(f"{pad}{k}: {_inline(item)}\n")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub: list[str] = []
                _emit(item, indent + 2, sub)
                first = sub[0]
                sub[0] = f"{pad}- {first[indent + 2 :]}"
                out.extend(sub)
            elif isinstance(item, list) and item:
                sub = []
                _emit(item, indent + 2, sub)
                sub[0] = f"{pad}- {sub[0][indent + 2 :]}"
                out.extend(sub)
            else:
                out.append(f"{pad}- {_inline(item)}\n")
    else:
        out.append(f"{pad}{_inline(value)}\n")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def to_yaml(document: Any) -> str:
    out: list[str] = []
    _emit(document, 0, out)
    return "".join(out)
