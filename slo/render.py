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
_NON_PRINTABLE = "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
# Compiling that class takes 3.4 ms, a tenth of a small build: ASCII text (nearly all of
# it) is checked by a small class instead, and the large one is compiled when first needed.
_ASCII_NON_PRINTABLE = re.compile("[^\x20-\x7e]")


@functools.cache
def _non_printable() -> re.Pattern[str]:
    return re.compile(_NON_PRINTABLE)


def _needs_double(text: str) -> bool:
    pattern = _ASCII_NON_PRINTABLE if text.isascii() else _non_printable()
    return pattern.search(text) is not None


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
    if _needs_double(text):
        return _double_quoted(text)
    return "'" + text.replace("'", "''") + "'"


def _double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif not _needs_double(ch):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


# Where each list item mapping was written: (id, pad, first prefix) -> (start, end) in `out`.
# The same mapping object often appears many times in one document (an expected alert at
# every instant of a promtool test); its lines are then copied, not rendered again.
_Seen = dict[tuple[int, str, str], tuple[int, int]]


def _emit_dict(value: dict[Any, Any], pad: str, first: str, out: list[str], seen: _Seen) -> None:
    """`first` is the prefix of the first line (a list item's "- "), `pad` of the others."""
    prefix = first
    for key, item in value.items():
        k = _string(key) if type(key) is str else scalar(key)
        if type(item) is str:
            out.append(f"{prefix}{k}: {_string(item)}\n")
        elif isinstance(item, dict) and item:
            out.append(f"{prefix}{k}:\n")
            inner = pad + "  "
            _emit_dict(item, inner, inner, out, seen)
        elif isinstance(item, list) and item:
            out.append(f"{prefix}{k}:\n")
            _emit_list(item, pad, pad, out, seen)
        else:
            out.append(f"{prefix}{k}: {_inline(item)}\n")
        prefix = pad


def _emit_list(value: list[Any], pad: str, first: str, out: list[str], seen: _Seen) -> None:
    prefix = first
    for item in value:
        if isinstance(item, dict) and item:
            # The document holds every object while it is written, so an id is not reused.
            key = (id(item), pad, prefix)
            span = seen.get(key)
            if span is None:
                start = len(out)
                _emit_dict(item, pad + "  ", prefix + "- ", out, seen)
                seen[key] = (start, len(out))
            else:
                out.extend(out[span[0] : span[1]])
        elif isinstance(item, list) and item:
            _emit_list(item, pad + "  ", prefix + "- ", out, seen)
        else:
            out.append(f"{prefix}- {_inline(item)}\n")
        prefix = pad


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def to_yaml(document: Any) -> str:
    out: list[str] = []
    if isinstance(document, dict):
        _emit_dict(document, "", "", out, {})
    elif isinstance(document, list):
        _emit_list(document, "", "", out, {})
    else:
        out.append(f"{_inline(document)}\n")
    return "".join(out)
