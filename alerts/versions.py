"""Alertmanager versions we target, and what each accepts. One row per feature that a
version lacks, so the generator emits only what the targeted version loads.

Source: Alertmanager's CHANGELOG.md (v0.35.0 module)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT", "FEATURES", "MINIMUM", "Feature", "check", "supports"]

DEFAULT = "0.35.0"  # the current release, built from its Go module by .ci/install-tools
MINIMUM = "0.25.0"  # Debian bookworm's prometheus-alertmanager; time_intervals need 0.24
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Feature:
    id: str
    since: str
    what: str


FEATURES = {
    f.id: f
    for f in (
        Feature("webhook_url_file", "0.26.0", "webhook receivers with url_file"),
        # 0.26 has Teams without webhook_url_file; 0.27's webhook_url_file was broken (fixed in
        # 0.28, #3728), and 0.28 added the Workflows integration that replaces the retired
        # Office 365 connectors: so Teams means msteamsv2_configs, from 0.28 on.
        Feature("msteams", "0.28.0", "Microsoft Teams receivers (msteamsv2_configs, Workflows webhooks)"),
    )
}


def parse(version: str) -> tuple[int, int, int]:
    m = _VERSION.match(version)
    if m is None:
        raise ValueError(f"{version!r} is not an Alertmanager version: use major.minor.patch, like {DEFAULT}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def check(version: str) -> str:
    if parse(version) < parse(MINIMUM):
        raise ValueError(f"Alertmanager {version} is too old: the oldest supported version is {MINIMUM}")
    return version


def supports(version: str, feature: str) -> bool:
    return parse(version) >= parse(FEATURES[feature].since)
