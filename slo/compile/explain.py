"""`slo build --explain`: what each tier means, from the Workbook's arithmetic.

With an error ratio e held constant, a tier with factor f, long window L and budget b
fires after f*b*L/e (when e > f*b; never otherwise), having spent f*L/period of the
budget. After errors stop, its short window S drops below the threshold after
S*(1 - f*b/e), which is when it clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..duration import format_decimal
from .units import ActiveTier, Unit

__all__ = ["TierFacts", "explain", "tier_facts"]


@dataclass(frozen=True)
class TierFacts:
    budget_spent_percent: str
    fire_100: str
    fire_10x: str
    clear: str
    exhaustion: str


def human(seconds: Decimal | None) -> str:
    if seconds is None:
        return "never"
    s = int(seconds.to_integral_value())
    if s < 60:
        return f"{format_decimal(seconds.quantize(Decimal('0.1')))}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts[:2])


def _fire(f: Decimal, b: Decimal, long_s: Decimal, e: Decimal) -> Decimal | None:
    return f * b * long_s / e if e > f * b else None


def tier_facts(u: Unit, active: ActiveTier) -> TierFacts:
    t = active.tier
    f, b = active.factor, u.budget
    long_s, short_s = Decimal(t.long_ms) / 1000, Decimal(t.short_ms) / 1000
    period_s = Decimal(u.period_ms) / 1000
    spent = f * long_s / period_s * 100
    ten_x = min(10 * b, Decimal(1))
    return TierFacts(
        budget_spent_percent=format_decimal(spent.quantize(Decimal("0.01"))),
        fire_100=human(_fire(f, b, long_s, Decimal(1))),
        fire_10x=human(_fire(f, b, long_s, ten_x)),
        clear=human(short_s * (1 - f * b)),
        exhaustion=human(period_s / f),
    )


def explain(units: list[Unit]) -> list[dict[str, Any]]:
    out = []
    for u in units:
        tiers = []
        for a in u.tiers:
            facts = tier_facts(u, a)
            tiers.append(
                {
                    "tier": a.tier.id,
                    "alert": a.tier.alert,
                    "severity": a.tier.severity,
                    "factor": format_decimal(a.factor),
                    "long_window": a.tier.long,
                    "short_window": a.tier.short,
                    "budget_spent_at_firing_percent": facts.budget_spent_percent,
                    "time_to_fire_at_100_percent_errors": facts.fire_100,
                    "time_to_fire_at_10x_budget": facts.fire_10x,
                    "time_to_clear_after_recovery": facts.clear,
                }
            )
        out.append(
            {
                "stack": u.service.stack,
                "service": u.service.service,
                "slo": u.slo_label,
                "objective_percent": u.target_text,
                "period": u.period,
                "error_budget": u.budget_text,
                "tiers": tiers,
            }
        )
    return out
