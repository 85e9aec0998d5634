"""Stable identifiers: a rebuild, or a new SLO beside the old ones, keeps every dashboard UID
and panel id, so links (`/d/<uid>?viewPanel=<id>`) and Grafana's history survive."""

from __future__ import annotations

import hashlib
import re

_UID_MAX = 40  # Grafana's limit
_NOT_UID = re.compile(r"[^a-zA-Z0-9_-]")


def dashboard_uid(*parts: str) -> str:
    """Readable when it fits (`slo-shop-api`), else a readable prefix and a hash."""
    readable = _NOT_UID.sub("-", "-".join(parts))
    if len(readable) <= _UID_MAX:
        return readable
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:10]
    return f"{readable[: _UID_MAX - 11]}-{digest}"


class PanelIds:
    """Panel ids from a hash of what the panel shows, not its position; collisions probe on."""

    def __init__(self) -> None:
        self._used: set[int] = set()

    def __call__(self, *key: str) -> int:
        n = int.from_bytes(hashlib.sha256("/".join(key).encode()).digest()[:4], "big") % 1_000_000 + 1
        while n in self._used:
            n = n % 1_000_000 + 1
        self._used.add(n)
        return n
