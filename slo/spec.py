"""The SLO file model (`swarm-slo/v1`): one file per service, validated by `slo.model`.

Positions are not part of the model: `load` maps each validation error back to the
YAML node it came from.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, ClassVar, Literal

from . import naming
from .duration import format_decimal, parse_duration_ms
from .model import F, Model
from .sli import SLI
from .windows import TIER_IDS

__all__ = ["SPEC_VERSION", "Alerting", "Objective", "SLOSpec", "ServiceSpec"]

SPEC_VERSION = "swarm-slo/v1"
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _name(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError(
            f"{v!r} is not a valid name: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit"
        )
    return v


def _check_labels(v: dict[str, str]) -> dict[str, str]:
    for key in v:
        if not _LABEL.match(key) or key.startswith("__"):
            raise ValueError(f"{key!r} is not a Prometheus label name")
        if key in naming.RESERVED_LABELS:
            raise ValueError(f"label {key!r} is set by swarm-slo and cannot be overridden")
    return v


def _duration(v: str) -> str:
    parse_duration_ms(v)
    return v


class Objective(Model):
    target: Decimal = F(
        gt=0,
        lt=100,
        description="percent of good events (or good time), like 99.9",
        bounds_message="an objective is a percent between 0 and 100, exclusive; got {value}",
    )
    name: str | None = F(
        None, check=_name, description="names the objective when an SLO has several; default p<target>, like p99"
    )
    threshold: str | None = F(None, check=_duration, description="latency SLIs: overrides the SLI's threshold, like 1s")

    schema_alternatives: ClassVar[tuple[dict[str, Any], ...]] = (
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100, "description": "shorthand for {target: N}"},
    )

    @classmethod
    def coerce(cls, data: Any) -> Any:
        # "objectives: [99.9]" is shorthand for "objectives: [{target: 99.9}]".
        if isinstance(data, int | float | Decimal) and not isinstance(data, bool):
            return {"target": data}
        if not isinstance(data, dict):
            raise ValueError(f"expected a percent like 99.9, or a mapping like {{target: 99.9}}; got {data!r}")
        return data

    def default_name(self) -> str:
        return "p" + format_decimal(self.target)


class SeverityOverrides(Model):
    labels: dict[str, str] = F(
        default_factory=dict, check=_check_labels, description="extra labels on alerts of this severity"
    )
    annotations: dict[str, str] = F(default_factory=dict, description="extra annotations on alerts of this severity")


class Alerting(Model):
    tiers: dict[Literal[TIER_IDS], bool] = F(  # type: ignore[valid-type]
        default_factory=dict, description="turn burn-rate tiers on (true) or off (false)"
    )
    labels: dict[str, str] = F(default_factory=dict, check=_check_labels, description="extra labels on every alert")
    annotations: dict[str, str] = F(default_factory=dict, description="extra annotations on every alert")
    page: SeverityOverrides = F(
        default_factory=SeverityOverrides, description="labels and annotations for page alerts only"
    )
    ticket: SeverityOverrides = F(
        default_factory=SeverityOverrides,
        description="labels and annotations for ticket alerts only (incl. SLI-missing and budget-exhausted)",
    )
    runbook_url: str | None = F(None, description="replaces the generated runbook link")
    min_events: int | None = F(
        None,
        ge=1,
        description="low-traffic guard: burn-rate alerts need this many events in the long window",
    )
    no_data: bool = F(True, description="alert when the SLI's series are absent")
    no_data_for: str = F("10m", check=_duration, description="how long the SLI must be absent before alerting")
    budget_exhausted: bool = F(True, description="alert when the period's error budget is spent")


def _period(v: str) -> str:
    ms = parse_duration_ms(v)
    if ms % 86_400_000 or not 1 <= ms // 86_400_000 <= 365:
        raise ValueError(f"{v!r}: the period must be a whole number of days between 1d and 365d, like 30d")
    return v


class SLOSpec(Model):
    name: str = F(check=_name, description="unique within the service")
    description: str = ""
    objectives: list[Objective] = F(min_length=1, description="one or more, like [99.9] or [{target: 99, name: p99}]")
    period: str = F("30d", check=_period, description="rolling window, whole days: 30d, 28d, 7d")
    budgeting: Literal["occurrences", "timeslices"] = "occurrences"
    sli: SLI
    alerting: Alerting = F(default_factory=Alerting)


class ServiceSpec(Model):
    version: Literal["swarm-slo/v1"] = F("swarm-slo/v1", description="file format version")
    service: str = F(check=_name, description="Swarm service name, without the stack prefix")
    stack: str = F(check=_name, description="Swarm stack (namespace) the service belongs to")
    team: str = F(check=_name, description="owning team; alerts route on it")
    labels: dict[str, str] = F(default_factory=dict, check=_check_labels, description="extra labels on every rule")
    slos: list[SLOSpec] = F(min_length=1)
