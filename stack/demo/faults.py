"""Fault injection, set per process on /admin/faults: GET shows the state, POST a JSON object
replaces it (absent fields are off, so POST {} resets everything).

    error_ratio        0..1     share of requests (web, api) or jobs (worker) that fail
    latency_ms         0..30000 added to every request (web, api) or job (worker)
    crash              bool     exit with status 1 shortly after answering
    memory_mb_per_min  0..120   hold on to this much more memory every minute, up to 512 MB
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MAX_LATENCY_MS", "MAX_MEMORY_MB", "MAX_MEMORY_MB_PER_MIN", "FaultError", "FaultInjector", "Faults"]

MAX_LATENCY_MS = 30_000
MAX_MEMORY_MB_PER_MIN = 120.0
MAX_MEMORY_MB = 512  # total held by the memory fault, whatever the rate and time
MB = 1 << 20

log = logging.getLogger("stack.demo.faults")


class FaultError(ValueError):
    """A POSTed fault state that is not valid; the message says which field and why."""


def _number(body: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"{key}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise FaultError(f"{key}: expected {low:g}..{high:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Faults:
    error_ratio: float = 0.0
    latency_ms: float = 0.0
    crash: bool = False
    memory_mb_per_min: float = 0.0

    @classmethod
    def parse(cls, body: object) -> Faults:
        if not isinstance(body, dict):
            raise FaultError('expected a JSON object, e.g. {} or {"error_ratio": 0.5}')
        unknown = sorted(set(body) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise FaultError(f"unknown fields {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        crash = body.get("crash", False)
        if not isinstance(crash, bool):
            raise FaultError(f"crash: expected true or false, got {crash!r}")
        return cls(
            error_ratio=_number(body, "error_ratio", 0, 1),
            latency_ms=_number(body, "latency_ms", 0, MAX_LATENCY_MS),
            crash=crash,
            memory_mb_per_min=_number(body, "memory_mb_per_min", 0, MAX_MEMORY_MB_PER_MIN),
        )


class FaultInjector:
    """The process's faults and what they hold: the memory ballast and a pending crash."""

    def __init__(
        self,
        rng: random.Random | None = None,
        exit: Callable[[int], object] = os._exit,
        crash_delay_s: float = 0.5,
        tick_s: float = 1.0,
    ) -> None:
        self.faults = Faults()
        self._rng = rng or random.Random()
        self._exit = exit
        self._crash_delay_s = crash_delay_s
        self._tick_s = tick_s
        self._ballast: list[bytes] = []
        self._crash: asyncio.TimerHandle | None = None

    def set(self, faults: Faults) -> None:
        if faults != self.faults:
            log.warning("faults set", extra={"faults": asdict(faults)})
        self.faults = faults
        if faults.memory_mb_per_min == 0:
            self._ballast.clear()
        if self._crash is not None:
            self._crash.cancel()
            self._crash = None
        if faults.crash:
            self._crash = asyncio.get_running_loop().call_later(self._crash_delay_s, self._do_crash)

    def _do_crash(self) -> None:
        log.error("crash fault: exiting with status 1")
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        self._exit(1)  # like a real crash: no graceful shutdown, unsent spans are lost

    def state(self) -> dict[str, Any]:
        return {
            **asdict(self.faults),
            "memory_held_mb": round(self.memory_held_bytes / MB, 3),
            "crash_pending": self._crash is not None,
        }

    @property
    def memory_held_bytes(self) -> int:
        return sum(len(b) for b in self._ballast)

    def fails(self) -> bool:
        ratio = self.faults.error_ratio
        return ratio >= 1 or (ratio > 0 and self._rng.random() < ratio)

    async def delay(self) -> None:
        if self.faults.latency_ms > 0:
            await asyncio.sleep(self.faults.latency_ms / 1000)

    def grow(self, seconds: float) -> None:
        """Hold `seconds` worth of the memory fault's rate more, within MAX_MEMORY_MB."""
        want = int(self.faults.memory_mb_per_min * MB * seconds / 60)
        room = MAX_MEMORY_MB * MB - self.memory_held_bytes
        size = min(want, room)
        if size > 0:
            self._ballast.append(b"\x01" * size)  # written, so resident, unlike zeroed pages

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            self.grow(self._tick_s)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The memory fault's ticker, and no crash left pending after it."""
        task = asyncio.create_task(self.run(), name="memory-fault")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._crash is not None:
            self._crash.cancel()
