"""Business hours at named instants, judged by Alertmanager's own time interval code (amtime,
built from the targeted version's module): a ticket route is active, or holds its tickets,
exactly when the team's on-call file says, in the team's time zone, across DST changes.

`amtool config routes test` ignores time intervals, and a real Alertmanager only knows "now"
(tests/e2e covers that); this covers the calendar."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import EXAMPLES, ROOT, amtime_binary

from alerts.bundle import build as build_with_oncall
from alerts.config import alertmanager_config
from alerts.load import load_oncall
from slo.compile.rules import CompileOptions

# (team, local time in the team's zone, ticket sent?) for examples/oncall.yaml
INSTANTS = [
    ("checkout", "2026-11-30 10:00", True),  # Monday 10:00, Berlin
    ("checkout", "2026-11-28 03:00", False),  # Saturday 03:00
    ("checkout", "2026-12-04 16:59", True),  # Friday, a minute before closing
    ("checkout", "2026-12-04 17:00", False),  # Friday 17:00: end is exclusive
    ("checkout", "2026-11-30 08:59", False),  # Monday, a minute before opening
    ("checkout", "2026-03-30 09:30", True),  # the Monday after the switch to summer time
    ("checkout", "2026-10-26 08:30", False),  # the Monday after the switch back (07:30 UTC)
    ("storefront", "2026-11-30 10:00", True),  # Monday 10:00, New York
    ("storefront", "2026-12-03 17:59", True),  # Thursday until 18:00
    ("storefront", "2026-12-04 15:00", False),  # Friday closes at 14:00
    ("storefront", "2026-12-04 13:59", True),
    ("storefront", "2026-11-28 03:00", False),  # Saturday 03:00
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hours") / "alertmanager.yml"
    bundle = build_with_oncall([str(EXAMPLES)], str(ROOT / "examples" / "oncall.yaml"), CompileOptions())
    path.write_text(bundle.extra["alertmanager/alertmanager.yml"])
    return path


def test_named_instants(config: Path) -> None:
    oncall = load_oncall(str(ROOT / "examples" / "oncall.yaml")).spec
    queries, expected = [], []
    for team, local, sent in INSTANTS:
        hours = oncall.teams[team].business_hours
        assert hours is not None
        instant = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(hours.time_zone))
        queries.append(f"{team}-business-hours {instant.isoformat()}")
        expected.append(f"{team} {instant:%a %H:%M %Z}: {'sent' if sent else 'held'}")
    out = subprocess.run(
        [str(amtime_binary()), str(config)], input="\n".join(queries) + "\n", capture_output=True, text=True, check=True
    ).stdout.split()
    got = [e.rsplit(": ", 1)[0] + (": sent" if o == "true" else ": held") for e, o in zip(expected, out, strict=True)]
    assert got == expected


def test_ticket_and_info_routes_use_the_hours_pages_do_not() -> None:
    oncall = load_oncall(str(ROOT / "examples" / "oncall.yaml")).spec
    config = alertmanager_config(oncall)
    checkout = next(r for r in config["route"]["routes"] if r.get("matchers") == ['team="checkout"'])
    active = {r["receiver"]: r.get("active_time_intervals") for r in checkout["routes"]}
    assert active == {
        "checkout-page": None,
        "checkout-escalation": None,
        "checkout-ticket": ["checkout-business-hours"],
        "checkout-info": ["checkout-business-hours"],
    }
