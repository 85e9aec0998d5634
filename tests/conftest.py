"""Shared fixtures: the real promtool and Prometheus binaries that `make setup` installs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "slos"
PROM_VERSION = os.environ.get("PROM_VERSION", "3.16.0")
CACHE = Path(os.environ.get("SWARM_SLO_CACHE", Path.home() / ".cache" / "swarm-slo"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files instead of comparing")


def _require(path: Path | None, what: str) -> Path:
    if path is None or not path.exists():
        # Missing tools are a broken setup, not a reason to skip: CI must run these tests.
        pytest.fail(f"{what} not found; run `make setup` (it installs and caches it)")
    return path


def current_promtool() -> Path:
    return _require(CACHE / f"prometheus-{PROM_VERSION}" / "promtool", f"promtool {PROM_VERSION}")


def oldest_promtool() -> Path:
    found = shutil.which("promtool", path="/usr/bin")
    return _require(Path(found) if found else None, "Debian's promtool 2.42 (/usr/bin/promtool)")


def prometheus_binary() -> Path:
    return _require(CACHE / f"prometheus-{PROM_VERSION}" / "prometheus", f"prometheus {PROM_VERSION}")


PROMTOOLS = {"current": current_promtool, "oldest": oldest_promtool}


@pytest.fixture(params=sorted(PROMTOOLS))
def promtool(request: pytest.FixtureRequest) -> Path:
    """Each test that takes this runs with Prometheus 3.x's promtool and with Debian's 2.42."""
    return PROMTOOLS[request.param]()


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def grafana_schema() -> Path:
    """The dashboard schema checker `make setup` builds (.ci/install-grafana-schema)."""
    return _require(Path(sys.executable).parent / "grafana-schema", "grafana-schema (the dashboard schema checker)")


AM_VERSION = os.environ.get("AM_VERSION", "0.35.0")


def amtool_binary() -> Path:
    return _require(CACHE / f"alertmanager-{AM_VERSION}" / "amtool", f"amtool {AM_VERSION}")


def alertmanager_binary() -> Path:
    return _require(CACHE / f"alertmanager-{AM_VERSION}" / "alertmanager", f"alertmanager {AM_VERSION}")


def amtime_binary() -> Path:
    """tests/amtime built against the targeted Alertmanager's own time interval code."""
    return _require(CACHE / f"alertmanager-{AM_VERSION}" / "amtime", f"amtime (Alertmanager {AM_VERSION})")


def oldest_amtool() -> Path:
    found = shutil.which("amtool", path="/usr/bin")
    return _require(Path(found) if found else None, "Debian's amtool 0.25 (/usr/bin/amtool)")
