"""Prometheus durations: parsing to milliseconds and printing in the largest exact units."""

from __future__ import annotations

import functools
import re
from decimal import Decimal

__all__ = ["format_decimal", "format_duration", "format_seconds", "parse_duration_ms"]

_UNITS_MS = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
# Prometheus' own grammar: units in decreasing order, each at most once ("1h30m").
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_PRINT_UNITS = ("d", "h", "m", "s", "ms")  # y and w are avoided: "4w" reads worse than "28d"


def parse_duration_ms(text: str) -> int:
    """Return the duration in milliseconds; raise ValueError with a user-facing message."""
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit (ms, s, m, h, d, w, y), "
            "largest unit first, like 300ms, 5m, 1h30m or 30d"
        )
    total = 0
    for unit, group in zip(("y", "w", "d", "h", "m", "s", "ms"), range(2, 15, 2), strict=True):
        value = match.group(group)
        if value is not None:
            total += int(value) * _UNITS_MS[unit]
    if total == 0:
        raise ValueError(f"{text!r} is zero; a duration must be positive")
    return total


@functools.lru_cache(maxsize=1024)
def format_duration(ms: int) -> str:
    """Print milliseconds as a Prometheus duration, largest units first: 5400000 -> 1h30m."""
    if ms <= 0:
        raise ValueError("duration must be positive")
    parts = []
    for unit in _PRINT_UNITS:
        size = _UNITS_MS[unit]
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


def format_seconds(ms: int) -> str:
    """Milliseconds as a plain decimal number of seconds: 300 -> "0.3", 1000 -> "1"."""
    return format_decimal(Decimal(ms) / 1000)


def format_decimal(value: Decimal) -> str:
    """Exact, shortest decimal text: never exponent notation, never trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
