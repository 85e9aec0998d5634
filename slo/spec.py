"""The SLO file model (`swarm-slo/v1`): one file per service, validated by pydantic.

Positions are not part of the model: `load` maps each validation error back to the
YAML node it came from.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from . import naming
from .duration import format_decimal, parse_duration_ms
from .sli import SLI
from .windows import TIER_IDS

__all__ = ["SPEC_VERSION", "Alerting", "Objective", "SLOSpec", "ServiceSpec"]

SPEC_VERSION = "swarm-slo/v1"
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


def _objective(v: object) -> object:
    # "objectives: [99.9]" is shorthand for "objectives: [{target: 99.9}]".
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return {"target": v}
    if not isinstance(v, dict):
        raise ValueError(f"expected a percent like 99.9, or a mapping like {{target: 99.9}}; got {v!r}")
    return v


class Objective(_Model):
    target: Decimal = Field(gt=0, lt=100, description="percent of good events (or good time), like 99.9")
    name: str | None = Field(
        None, description="names the objective when an SLO has several; default p<target>, like p99"
    )
    threshold: str | None = Field(None, description="latency SLIs: overrides the SLI's threshold, like 1s")

    _n = field_validator("name")(lambda v: None if v is None else _name(v))
    _t = field_validator("threshold")(lambda v: None if v is None else _duration(v))

    def default_name(self) -> str:
        return "p" + format_decimal(self.target)


class SeverityOverrides(_Model):
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels on alerts of this severity")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="extra annotations on alerts of this severity"
    )

    _l = field_validator("labels")(_check_labels)


class Alerting(_Model):
    tiers: dict[Literal[TIER_IDS], bool] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="turn burn-rate tiers on (true) or off (false)"
    )
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels on every alert")
    annotations: dict[str, str] = Field(default_factory=dict, description="extra annotations on every alert")
    page: SeverityOverrides = Field(
        default_factory=SeverityOverrides, description="labels and annotations for page alerts only"
    )
    ticket: SeverityOverrides = Field(
        default_factory=SeverityOverrides,
        description="labels and annotations for ticket alerts only (incl. SLI-missing and budget-exhausted)",
    )
    runbook_url: str | None = Field(None, description="replaces the generated runbook link")
    min_events: int | None = Field(
        None,
        ge=1,
        description="low-traffic guard: burn-rate alerts need this many events in the long window",
    )
    no_data: bool = Field(True, description="alert when the SLI's series are absent")
    no_data_for: str = Field("10m", description="how long the SLI must be absent before alerting")
    budget_exhausted: bool = Field(True, description="alert when the period's error budget is spent")

    _l = field_validator("labels")(_check_labels)
    _d = field_validator("no_data_for")(_duration)


def _period(v: str) -> str:
    ms = parse_duration_ms(v)
    if ms % 86_400_000 or not 1 <= ms // 86_400_000 <= 365:
        raise ValueError(f"{v!r}: the period must be a whole number of days between 1d and 365d, like 30d")
    return v


class SLOSpec(_Model):
    name: str = Field(description="unique within the service")
    description: str = ""
    objectives: list[Annotated[Objective, BeforeValidator(_objective)]] = Field(min_length=1)
    period: str = Field("30d", description="rolling window, whole days: 30d, 28d, 7d")
    budgeting: Literal["occurrences", "timeslices"] = "occurrences"
    sli: SLI
    alerting: Alerting = Alerting()

    _n = field_validator("name")(_name)
    _p = field_validator("period")(_period)


class ServiceSpec(_Model):
    version: Literal["swarm-slo/v1"] = Field("swarm-slo/v1", description="file format version")
    service: str = Field(description="Swarm service name, without the stack prefix")
    stack: str = Field(description="Swarm stack (namespace) the service belongs to")
    team: str = Field(description="owning team; alerts route on it")
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels on every rule")
    slos: list[SLOSpec] = Field(min_length=1)

    _n = field_validator("service", "stack", "team")(_name)
    _l = field_validator("labels")(_check_labels)
