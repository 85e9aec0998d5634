"""The on-call file model (`swarm-slo/oncall-v1`): teams, their receivers by severity,
escalation, business hours and global settings. Validated by `slo.model`, like SLO files;
positions come from `load`.

Secrets are only ever paths (`*_file`, Docker secrets under /run/secrets): every inline
secret field is declared here only to be refused with a located error, so a key never
reaches the generated configuration.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from typing import Annotated, Any

from slo.duration import parse_duration_ms
from slo.model import Check, F, Model

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


def _secret_path(v: str) -> str:
    if not v.startswith("/"):
        raise ValueError(f"expected an absolute path to a secret file, like /run/secrets/name; got {v!r}")
    return v


def _inline(name: str) -> Any:
    """A field that exists only to reject an inline secret, pointing at its *_file twin.

    The message never repeats the value; the schema does not offer the field."""

    def refuse(v: object) -> None:
        raise ValueError(
            f"inline secret: {name} would be copied into the generated alertmanager.yml; "
            f"put it in a Docker secret and set {name}_file: /run/secrets/<name> instead"
        )

    return F(None, check=refuse, hidden=True)


def _secret_file(description: str) -> Any:
    """An absolute path to a file holding a secret; never the secret itself."""
    return F(check=_secret_path, description=description)


class PagerDuty(Model):
    routing_key_file: str = _secret_file("file holding the Events API v2 routing key")
    severity: str | None = F(None, description="PagerDuty severity (default: Alertmanager's)")
    routing_key: Any = _inline("routing_key")
    service_key: Any = _inline("service_key")


class Opsgenie(Model):
    api_key_file: str = _secret_file("file holding the Opsgenie API key")
    api_url: str | None = F(None, description="Opsgenie API base URL (EU accounts: https://api.eu.opsgenie.com/)")
    priority: str | None = F(None, description="P1..P5")
    api_key: Any = _inline("api_key")


class Slack(Model):
    api_url_file: str = _secret_file("file holding the Slack incoming-webhook URL")
    channel: str = F(description="channel, like '#checkout-alerts'")
    api_url: Any = _inline("api_url")


class Email(Model):
    to: str = F(description="address(es), comma-separated")
    auth_password: Any = _inline("auth_password")


class MSTeams(Model):
    webhook_url_file: str = _secret_file("file holding the Teams (Workflows) webhook URL")
    webhook_url: Any = _inline("webhook_url")


class Webhook(Model):
    url_file: str = _secret_file("file holding the webhook URL (it may carry a token)")
    max_alerts: int = F(0, ge=0, description="alerts per message; 0 is all")
    url: Any = _inline("url")


class Receiver(Model):
    """Where one severity goes: one or more integrations, all notified."""

    pagerduty: PagerDuty | None = None
    opsgenie: Opsgenie | None = None
    slack: Slack | None = None
    email: Email | None = None
    msteams: MSTeams | None = None
    webhook: Webhook | None = None

    def check_model(self) -> None:
        if not self.kinds():
            raise ValueError("this receiver has no target: set one of " + ", ".join(KINDS))

    def kinds(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k) is not None]


def _duration(v: str) -> str:
    parse_duration_ms(v)
    return v


class Escalation(Receiver):
    after: str = F(
        check=_duration, description="notify this receiver too when a page still fires after this long, like 30m"
    )


def _weekday(v: str) -> str:
    parts = v.split(":")
    if len(parts) > 2 or any(p not in WEEKDAYS for p in parts):
        raise ValueError(f"{v!r} is not a weekday or a range of weekdays like monday:friday")
    return v


def _clock(v: str) -> str:
    if not _CLOCK.match(v):
        raise ValueError(f"{v!r} is not a time of day: use HH:MM, like 09:00")
    return v


class Hours(Model):
    weekdays: list[Annotated[str, Check(_weekday)]] = F(
        min_length=1, description="days or ranges, like [monday:friday]"
    )
    start: str = F(check=_clock, description="HH:MM, inclusive")
    end: str = F(check=_clock, description="HH:MM, exclusive; 24:00 is midnight at the end of the day")

    def check_model(self) -> None:
        if minutes(self.end) <= minutes(self.start):
            raise ValueError(f"end {self.end} is not after start {self.start}")

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


def _zone(v: str) -> str:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r}: use an IANA name like Europe/Berlin or UTC") from None
    return v


class BusinessHours(Model):
    time_zone: str = F(check=_zone, description="IANA time zone, like Europe/Berlin")
    hours: list[Hours] = F(min_length=1)


class Team(Model):
    page: Receiver = F(description="urgent: wakes someone up")
    ticket: Receiver = F(description="needs attention within business hours")
    info: Receiver | None = F(None, description="for the record; default: the ticket receiver")
    escalation: Escalation | None = F(None, description="second receiver for pages that stay unresolved")
    business_hours: BusinessHours | None = F(None, description="tickets (and info) are sent only within these")


def _timing(v: str) -> str:
    return v if v == "0s" else _duration(v)


class Timing(Model):
    group_wait: str | None = F(None, check=_timing)
    group_interval: str | None = F(None, check=_timing)
    repeat_interval: str | None = F(None, check=_timing)


class Smtp(Model):
    smarthost: str = F(description="host:port")
    sender: str = F(alias="from", description="From address")
    auth_username: str | None = None
    auth_password_file: str | None = F(None, check=_secret_path)
    require_tls: bool = True
    auth_password: Any = _inline("auth_password")


class Global(Model):
    resolve_timeout: str = F("5m", check=_duration, description="Alertmanager's resolve_timeout")
    smtp: Smtp | None = F(None, description="required when a receiver sends email")


class StackOutage(Model):
    services: int = F(3, ge=2, description="pages of this many services of one stack are one outage")


def _version(v: object) -> object:
    if isinstance(v, Decimal | int | float) and not isinstance(v, bool):
        v = str(v)
    return v


def _oncall_version(v: str) -> str:
    if v != ONCALL_VERSION:
        raise ValueError(f"unknown version {v!r}; expected {ONCALL_VERSION!r}")
    return v


def _timing_keys(v: dict[str, Timing]) -> dict[str, Timing]:
    for key in v:
        if key not in (*SEVERITIES, "watchdog"):
            raise ValueError(f"unknown timing {key!r}; expected one of: page, ticket, info, watchdog")
    return v


def _team_names(v: dict[str, Team]) -> dict[str, Team]:
    for key in v:
        if not _NAME.match(key):
            raise ValueError(f"{key!r} is not a team name: use lower-case letters, digits, '-' and '_'")
    return v


class OnCall(Model):
    version: str = F(ONCALL_VERSION, check=_oncall_version, description="file format version")
    alertmanager: str = F(
        versions.DEFAULT,
        before=_version,
        check=versions.check,
        description="Alertmanager version the configuration targets, like 0.35.0",
    )
    alertmanager_job: str = F("alertmanager", description="scrape job of the Alertmanager replicas")
    global_: Global = F(default_factory=Global, alias="global")
    default_team: str = F(description="receives alerts whose team label matches no team")
    dead_mans_switch: Receiver = F(description="receives the always-firing Watchdog alert")
    stack_outage: StackOutage = F(default_factory=StackOutage)
    timing: dict[str, Timing] = F(
        default_factory=dict, check=_timing_keys, description="overrides per severity (and watchdog)"
    )
    teams: dict[str, Team] = F(min_length=1, check=_team_names)
