"""The exporter's own counters: events, resyncs, Docker API errors and latency, connection.

Plain data, updated by the Docker client and the sync loop, rendered by exporter.render."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["LATENCY_BUCKETS", "ExporterStats", "Histogram"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass
class ExporterStats:
    events: Counter[str] = field(default_factory=Counter)
    resyncs: Counter[str] = field(default_factory=Counter)
    api_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    api_latency: dict[str, Histogram] = field(default_factory=dict)
    connected: bool = False
    last_sync: float | None = None
    # Monotonic-free wall time at which the state stopped being followed (None while following).
    lost_since: float | None = None
    started: float = 0.0

    def observe(self, endpoint: str, seconds: float) -> None:
        self.api_latency.setdefault(endpoint, Histogram()).observe(seconds)

    def error(self, endpoint: str, kind: str) -> None:
        self.api_errors[(endpoint, kind)] += 1

    def staleness(self, now: float) -> float:
        if self.connected:
            return 0.0
        since = self.lost_since if self.lost_since is not None else self.started
        return max(0.0, now - since)
