"""Flatten services into units: one SLO objective each, with everything the compilers need."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from .. import naming, promql
from ..duration import format_decimal, format_duration, parse_duration_ms
from ..errors import Warning_
from ..load import LoadedService
from ..sli import SLIContext, SLIExpressions
from ..spec import Objective, ServiceSpec, SLOSpec
from ..windows import TIERS, Tier, factor

__all__ = ["Unit", "timeslices", "units_of"]


@dataclass(frozen=True)
class ActiveTier:
    tier: Tier
    factor: Decimal


@dataclass(frozen=True)
class Unit:
    service: ServiceSpec
    slo: SLOSpec
    objective: Objective
    slo_label: str
    target: Decimal  # percent
    budget: Decimal  # allowed error ratio, exact: 1 - target/100
    period_ms: int
    tiers: tuple[ActiveTier, ...]
    sli: SLIExpressions
    file: str
    rate_window: str

    @cached_property
    def labels(self) -> dict[str, str]:
        """Labels on every recorded series of this unit: identity, owner and the user's."""
        out = dict(self.service.labels)
        out.update(
            {
                naming.LABEL_SLO: self.slo_label,
                naming.LABEL_SERVICE: self.service.service,
                naming.LABEL_STACK: self.service.stack,
                naming.LABEL_TEAM: self.service.team,
            }
        )
        return dict(sorted(out.items()))

    @cached_property
    def label_selector(self) -> str:
        """`{...}` with every label of `labels`: the series the promtool tests feed."""
        return promql.label_selector(self.labels)

    @cached_property
    def identity(self) -> dict[str, str]:
        return {k: self.labels[k] for k in naming.IDENTITY_LABELS}

    @cached_property
    def identity_selector(self) -> str:
        return promql.label_selector(self.identity)

    def series(self, template: str, window: str | None = None) -> promql.Expr:
        name = naming.windowed(template, window) if window else template
        return promql.Expr(name + self.identity_selector, True)

    @property
    def period(self) -> str:
        return format_duration(self.period_ms)

    @property
    def budget_text(self) -> str:
        return format_decimal(self.budget)

    @property
    def target_text(self) -> str:
        return format_decimal(self.target)


def units_of(
    services: list[LoadedService], rate_window: str = naming.DEFAULT_RATE_WINDOW
) -> tuple[list[Unit], list[Warning_]]:
    units: list[Unit] = []
    warnings: list[Warning_] = []
    for loaded in services:
        svc = loaded.spec
        for index, slo in enumerate(svc.slos):
            many = len(slo.objectives) > 1
            for obj in slo.objectives:
                unit = _unit(loaded, slo, obj, many, rate_window)
                units.append(unit)
                warnings.extend(_below_1x(loaded, index, unit, active) for active in unit.tiers if active.factor < 1)
    return units, warnings


def _below_1x(loaded: LoadedService, index: int, unit: Unit, active: ActiveTier) -> Warning_:
    where = loaded.error(("slos", index, "period"), "")
    message = (
        f"{unit.slo_label}: tier {active.tier.id} burns at {format_decimal(active.factor)}x, below 1x, "
        f"for a {unit.period} period: it fires even when errors are exactly at the objective; "
        "turn it off under alerting.tiers"
    )
    return Warning_(where.file, where.line, where.column, where.field, message)


def _unit(loaded: LoadedService, slo: SLOSpec, obj: Objective, many: bool, rate_window: str) -> Unit:
    svc = loaded.spec
    sli = slo.sli
    if obj.threshold is not None:
        sli = sli.replace(threshold=obj.threshold)
    period_ms = parse_duration_ms(slo.period)
    enabled = [t for t in TIERS if slo.alerting.tiers.get(t.id, True)]
    budget = (Decimal(100) - obj.target) / Decimal(100)
    exprs = sli.expressions(SLIContext(svc.service, svc.stack, rate_window))
    if slo.budgeting == "timeslices" and not exprs.time_based:
        exprs = timeslices(exprs, budget)
    return Unit(
        service=svc,
        slo=slo,
        objective=obj,
        slo_label=naming.slo_id(slo.name, (obj.name or obj.default_name()) if many else None),
        target=obj.target,
        budget=budget,
        period_ms=period_ms,
        tiers=tuple(ActiveTier(t, factor(t, period_ms)) for t in enabled),
        sli=exprs,
        file=loaded.file,
        rate_window=rate_window,
    )


def timeslices(exprs: SLIExpressions, budget: Decimal) -> SLIExpressions:
    """Each evaluation is a slice: bad when its 5m error ratio breaks the objective."""
    ratio = promql.binary(exprs.bad, "/", exprs.total)
    bad = promql.binary(ratio, ">", promql.number(format_decimal(budget)), "bool")
    total = promql.binary(promql.binary(exprs.total, "*", promql.number("0")), "+", promql.number("1"))
    return SLIExpressions(bad=bad, total=total, time_based=True)
