"""Multi-window, multi-burn-rate alert tiers as data.

Source: The Site Reliability Workbook, chapter 5 "Alerting on SLOs", table 5-8
(recommended parameters for a 99.9% SLO over 30 days): page at 2% of the budget
spent in 1h (14.4x) or 5% in 6h (6x); ticket at 10% in 1d (3x) or 10% in 3d (1x).
Each short window is 1/12 of its long window, as the Workbook advises.

For other periods the windows stay these round values and the factor is derived
from the budget share: factor = share x period / long window. A factor that is not
an exact decimal is rounded down to 4 places, so an alert never waits for more
than its share of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Literal

from .duration import format_duration

__all__ = ["TIERS", "Tier", "factor"]

_H = 3_600_000
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Tier:
    id: str
    alert: str
    severity: Literal["page", "ticket"]
    budget_share: Decimal  # fraction of the period's budget spent when it fires
    long_ms: int
    short_ms: int

    @property
    def long(self) -> str:
        return format_duration(self.long_ms)

    @property
    def short(self) -> str:
        return format_duration(self.short_ms)


TIERS: tuple[Tier, ...] = (
    Tier("page-fast", "SLOBurnRatePageFast", "page", Decimal("0.02"), 1 * _H, 5 * 60_000),
    Tier("page-slow", "SLOBurnRatePageSlow", "page", Decimal("0.05"), 6 * _H, 30 * 60_000),
    Tier("ticket-fast", "SLOBurnRateTicketFast", "ticket", Decimal("0.1"), 24 * _H, 2 * _H),
    Tier("ticket-slow", "SLOBurnRateTicketSlow", "ticket", Decimal("0.1"), 72 * _H, 6 * _H),
)
TIER_IDS = tuple(t.id for t in TIERS)


@lru_cache(maxsize=256)
def factor(tier: Tier, period_ms: int) -> Decimal:
    exact = tier.budget_share * Decimal(period_ms) / Decimal(tier.long_ms)
    rounded = exact.quantize(_PLACES, rounding=ROUND_DOWN)
    return rounded.normalize() if rounded == exact else rounded


def windows_ms(tiers: tuple[Tier, ...]) -> list[int]:
    """Every window the tiers need, shortest first."""
    return sorted({w for t in tiers for w in (t.long_ms, t.short_ms)})
