"""The on-call file model (`swarm-slo/oncall-v1`): teams, their receivers by severity,
escalation, business hours and global settings. Validated by pydantic; positions come
from `load`.

Secrets are only ever paths (`*_file`, Docker secrets under /run/secrets): every inline
secret field is declared here only to be refused with a located error, so a key never
reaches the generated configuration.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from slo.duration import parse_duration_ms

from . import versions

__all__ = [
    "ONCALL_VERSION",
    "SEVERITIES",
    "BusinessHours",
    "Email",
    "Escalation",
    "Hours",
    "MSTeams",
    "OnCall",
    "Opsgenie",
    "PagerDuty",
    "Receiver",
    "Slack",
    "Team",
    "Timing",
    "Webhook",
]

ONCALL_VERSION = "swarm-slo/oncall-v1"
SEVERITIES = ("page", "ticket", "info")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS = ("pagerduty", "opsgenie", "slack", "email", "msteams", "webhook")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _secret_path(v: str) -> str:
    if not v.startswith("/"):
        raise ValueError(f"expected an absolute path to a secret file, like /run/secrets/name; got {v!r}")
    return v


def _refuse_inline(name: str) -> Any:
    """A field that exists only to reject an inline secret, pointing at its *_file twin.

    The message never repeats the value."""

    def check(v: object) -> None:
        if v is not None:
            raise ValueError(
                f"inline secret: {name} would be copied into the generated alertmanager.yml; "
                f"put it in a Docker secret and set {name}_file: /run/secrets/<name> instead"
            )
        return None

    return field_validator(name)(check)


_Inline = SkipJsonSchema[object | None]


def _inline() -> Any:
    return Field(None, exclude=True)


SecretFile = str  # an absolute path, checked by _secret_path; never the secret itself


class PagerDuty(_Model):
    routing_key_file: SecretFile = Field(description="file holding the Events API v2 routing key")
    severity: str | None = Field(None, description="PagerDuty severity (default: Alertmanager's)")
    routing_key: _Inline = _inline()
    service_key: _Inline = _inline()

    _p = field_validator("routing_key_file")(_secret_path)
    _r1 = _refuse_inline("routing_key")
    _r2 = _refuse_inline("service_key")


class Opsgenie(_Model):
    api_key_file: SecretFile = Field(description="file holding the Opsgenie API key")
    api_url: str | None = Field(None, description="Opsgenie API base URL (EU accounts: https://api.eu.opsgenie.com/)")
    priority: str | None = Field(None, description="P1..P5")
    api_key: _Inline = _inline()

    _p = field_validator("api_key_file")(_secret_path)
    _r = _refuse_inline("api_key")


class Slack(_Model):
    api_url_file: SecretFile = Field(description="file holding the Slack incoming-webhook URL")
    channel: str = Field(description="channel, like '#checkout-alerts'")
    api_url: _Inline = _inline()

    _p = field_validator("api_url_file")(_secret_path)
    _r = _refuse_inline("api_url")


class Email(_Model):
    to: str = Field(description="address(es), comma-separated")
    auth_password: _Inline = _inline()

    _r = _refuse_inline("auth_password")


class MSTeams(_Model):
    webhook_url_file: SecretFile = Field(description="file holding the Teams (Workflows) webhook URL")
    webhook_url: _Inline = _inline()

    _p = field_validator("webhook_url_file")(_secret_path)
    _r = _refuse_inline("webhook_url")


class Webhook(_Model):
    url_file: SecretFile = Field(description="file holding the webhook URL (it may carry a token)")
    max_alerts: int = Field(0, ge=0, description="alerts per message; 0 is all")
    url: _Inline = _inline()

    _p = field_validator("url_file")(_secret_path)
    _r = _refuse_inline("url")


class Receiver(_Model):
    """Where one severity goes: one or more integrations, all notified."""

    pagerduty: PagerDuty | None = None
    opsgenie: Opsgenie | None = None
    slack: Slack | None = None
    email: Email | None = None
    msteams: MSTeams | None = None
    webhook: Webhook | None = None

    @model_validator(mode="after")
    def _has_target(self) -> Receiver:
        if not self.kinds():
            raise ValueError("this receiver has no target: set one of " + ", ".join(KINDS))
        return self

    def kinds(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k) is not None]


def _duration(v: str) -> str:
    parse_duration_ms(v)
    return v


class Escalation(Receiver):
    after: str = Field(description="notify this receiver too when a page still fires after this long, like 30m")

    _a = field_validator("after")(_duration)


def _weekday(v: str) -> str:
    parts = v.split(":")
    if len(parts) > 2 or any(p not in WEEKDAYS for p in parts):
        raise ValueError(f"{v!r} is not a weekday or a range of weekdays like monday:friday")
    return v


class Hours(_Model):
    weekdays: list[Annotated[str, BeforeValidator(_weekday)]] = Field(
        min_length=1, description="days or ranges, like [monday:friday]"
    )
    start: str = Field(description="HH:MM, inclusive")
    end: str = Field(description="HH:MM, exclusive; 24:00 is midnight at the end of the day")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not _CLOCK.match(v):
            raise ValueError(f"{v!r} is not a time of day: use HH:MM, like 09:00")
        return v

    @model_validator(mode="after")
    def _order(self) -> Hours:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self

    def days(self) -> set[int]:
        out: set[int] = set()
        for spec in self.weekdays:
            first, _, last = spec.partition(":")
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
        return out


def minutes(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 60 + int(m)


class BusinessHours(_Model):
    time_zone: str = Field(description="IANA time zone, like Europe/Berlin")
    hours: list[Hours] = Field(min_length=1)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: use an IANA name like Europe/Berlin or UTC") from None
        return v


class Team(_Model):
    page: Receiver = Field(description="urgent: wakes someone up")
    ticket: Receiver = Field(description="needs attention within business hours")
    info: Receiver | None = Field(None, description="for the record; default: the ticket receiver")
    escalation: Escalation | None = Field(None, description="second receiver for pages that stay unresolved")
    business_hours: BusinessHours | None = Field(None, description="tickets (and info) are sent only within these")


class Timing(_Model):
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None

    _d = field_validator("group_wait", "group_interval", "repeat_interval")(
        lambda v: None if v is None or v == "0s" else _duration(v)
    )


class Smtp(_Model):
    smarthost: str = Field(description="host:port")
    sender: str = Field(alias="from", description="From address")
    auth_username: str | None = None
    auth_password_file: SecretFile | None = None
    require_tls: bool = True
    auth_password: _Inline = _inline()

    _p = field_validator("auth_password_file")(lambda v: None if v is None else _secret_path(v))
    _r = _refuse_inline("auth_password")


class Global(_Model):
    resolve_timeout: str = Field("5m", description="Alertmanager's resolve_timeout")
    smtp: Smtp | None = Field(None, description="required when a receiver sends email")

    _d = field_validator("resolve_timeout")(_duration)


class StackOutage(_Model):
    services: int = Field(3, ge=2, description="pages of this many services of one stack are one outage")


def _version(v: object) -> object:
    if isinstance(v, Decimal | int | float) and not isinstance(v, bool):
        v = str(v)
    return v


class OnCall(_Model):
    version: str = Field(ONCALL_VERSION, description="file format version")
    alertmanager: Annotated[str, BeforeValidator(_version)] = Field(
        versions.DEFAULT, description="Alertmanager version the configuration targets, like 0.35.0"
    )
    alertmanager_job: str = Field("alertmanager", description="scrape job of the Alertmanager replicas")
    global_: Global = Field(default_factory=Global, alias="global")
    default_team: str = Field(description="receives alerts whose team label matches no team")
    dead_mans_switch: Receiver = Field(description="receives the always-firing Watchdog alert")
    stack_outage: StackOutage = Field(default_factory=StackOutage)
    timing: dict[str, Timing] = Field(default_factory=dict, description="overrides per severity (and watchdog)")
    teams: dict[str, Team] = Field(min_length=1)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("version")
    @classmethod
    def _v(cls, v: str) -> str:
        if v != ONCALL_VERSION:
            raise ValueError(f"unknown version {v!r}; expected {ONCALL_VERSION!r}")
        return v

    @field_validator("alertmanager")
    @classmethod
    def _am(cls, v: str) -> str:
        return versions.check(v)

    @field_validator("timing")
    @classmethod
    def _t(cls, v: dict[str, Timing]) -> dict[str, Timing]:
        for key in v:
            if key not in (*SEVERITIES, "watchdog"):
                raise ValueError(f"unknown timing {key!r}; expected one of: page, ticket, info, watchdog")
        return v

    @field_validator("teams")
    @classmethod
    def _names(cls, v: dict[str, Team]) -> dict[str, Team]:
        for key in v:
            if not _NAME.match(key):
                raise ValueError(f"{key!r} is not a team name: use lower-case letters, digits, '-' and '_'")
        return v
