"""Synthetic traffic for the accuracy test: raw request counters whose rate changes 10x
between day and night, with errors in one half only, and the figures they should give.

Everything here is exact arithmetic on the generated increments (`Fraction`), so the
expected values do not depend on floating point or on any PromQL semantics:
- `true_ratio`: bad events / all events over the whole run, what an SLO means;
- `average_of_ratios`: the time-weighted mean of the error ratio, what an average of
  short-window ratios (Sloth's `avg_over_time` of its 5m ratio) converges to when the
  windows are short against the day and night halves.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Half", "Scenario", "counter_values"]

HALF_DAY_S = 12 * 3600


@dataclass(frozen=True)
class Half:
    """Twelve hours of constant traffic: requests per second and the share that fail."""

    rate: int  # requests/s
    errors: Fraction  # failing share of those requests


@dataclass(frozen=True)
class Scenario:
    name: str
    night: Half  # first 12 hours of every day
    day: Half  # last 12 hours
    days: int
    step_s: int  # interval between two samples of the raw counters

    @property
    def halves(self) -> list[Half]:
        return [self.night, self.day] * self.days

    @property
    def steps_per_half(self) -> int:
        assert HALF_DAY_S % self.step_s == 0
        return HALF_DAY_S // self.step_s

    @property
    def duration_s(self) -> int:
        return self.days * 2 * HALF_DAY_S

    def increments(self, bad: bool) -> list[tuple[int, int]]:
        """(increase per sample, number of samples) per half, for the bad or the good counter."""
        out = []
        for h in self.halves:
            per_step = h.rate * self.step_s * (h.errors if bad else 1 - h.errors)
            if per_step.denominator != 1:
                raise ValueError(f"{self.name}: {per_step} events per sample is not a whole number")
            out.append((int(per_step), self.steps_per_half))
        return out

    def true_ratio(self) -> Fraction:
        bad = sum(h.rate * h.errors for h in self.halves)
        total = sum(h.rate for h in self.halves)
        return Fraction(bad) / total  # every half lasts the same, so durations cancel

    def average_of_ratios(self) -> Fraction:
        return sum((h.errors for h in self.halves), Fraction(0)) / len(self.halves)


def counter_values(runs: list[tuple[int, int]]) -> str:
    """promtool's expanding notation for a counter starting at 0 that grows by `inc` per
    sample for `n` samples, run after run. `a+bxN` expands to the N+1 values a, a+b, ..
    a+N*b, so a run starts at the previous value plus its own increment and the counter
    continues exactly: no repeated value at the seams, no jump."""
    parts = ["0"]
    value = 0
    for inc, n in runs:
        parts.append(f"{value + inc}+{inc}x{n - 1}")
        value += inc * n
    return " ".join(parts)
