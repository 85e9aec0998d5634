"""End to end: the generated alertmanager.yml in a real Alertmanager 0.35 pair, clustered on
loopback, fed alerts the way Prometheus sends them (to every replica); a webhook receiver
started here records the notifications.

- every case of the generated routing table arrives at its receivers, exactly once across
  the pair, grouped one notification per SLO incident; inhibited alerts never arrive;
- a ticket outside business hours waits for them (the test's business hours start at the
  next minute, so the wait is real and short) while a page of the same team does not;
- with one replica killed mid-storm nothing is lost; duplicates are counted and reported
  (`-s` prints them; docs/alerts-routing.md has the figures: none when the killed replica is
  the one that waits, else the burst it was sending at the kill).

Timing is shortened by the on-call file's own `timing` overrides (test-only)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import alertmanager_binary
from e2e.alertmanager import Notification, Recorder, Replica, alert, groups, pair, post, recorder

from alerts import naming
from alerts.bundle import build as build_with_oncall
from slo.bundle import write
from slo.compile.rules import CompileOptions
from slo.render import to_yaml

pytestmark = pytest.mark.e2e

FAST = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}
ESCALATE_AFTER = "6s"
SLO_FILE = """\
service: api
stack: e2e
team: alpha
slos:
  - name: availability
    objectives: [99.9]
    sli: {kind: prometheus-client-errors, selector: 'job="api"'}
"""


def _webhook(secrets: Path, rec: Recorder, receiver: str) -> dict[str, Any]:
    secret = secrets / receiver
    secret.write_text(rec.url(receiver) + "\n")
    return {"webhook": {"url_file": str(secret)}}


def oncall_doc(secrets: Path, rec: Recorder, beta_hours: dict[str, Any] | None) -> dict[str, Any]:
    def team(name: str, info: bool, escalation: bool) -> dict[str, Any]:
        t: dict[str, Any] = {
            "page": _webhook(secrets, rec, f"{name}-page"),
            "ticket": _webhook(secrets, rec, f"{name}-ticket"),
        }
        if info:
            t["info"] = _webhook(secrets, rec, f"{name}-info")
        if escalation:
            t["escalation"] = {"after": ESCALATE_AFTER, **_webhook(secrets, rec, f"{name}-escalation")}
        return t

    beta = team("beta", False, False)
    if beta_hours is not None:
        beta["business_hours"] = beta_hours
    alpha = team("alpha", True, True)
    # Business hours around the clock: the active-interval machinery is in the path, never muting.
    alpha["business_hours"] = {
        "time_zone": "Asia/Kolkata",
        "hours": [{"weekdays": ["monday:sunday"], "start": "00:00", "end": "24:00"}],
    }
    return {
        "version": "swarm-slo/oncall-v1",
        "alertmanager": "0.35.0",
        "default_team": "platform",
        "dead_mans_switch": _webhook(secrets, rec, naming.DEAD_MANS_SWITCH),
        "timing": {k: FAST for k in ("page", "ticket", "info", "watchdog")},
        "teams": {"alpha": alpha, "beta": beta, "platform": team("platform", True, False)},
    }


@dataclass
class Setup:
    rec: Recorder
    replicas: list[Replica]
    bundle: Path


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[dict[str, Any] | None], Setup]]:
    """start(beta_hours) -> a recorder and a clustered pair running the generated config."""
    with contextlib.ExitStack() as stack:

        def go(beta_hours: dict[str, Any] | None) -> Setup:
            rec = stack.enter_context(recorder())
            secrets = tmp_path / "secrets"
            secrets.mkdir()
            (tmp_path / "slos").mkdir()
            (tmp_path / "slos" / "api.yaml").write_text(SLO_FILE)
            (tmp_path / "oncall.yaml").write_text(to_yaml(oncall_doc(secrets, rec, beta_hours)))
            bundle = build_with_oncall([str(tmp_path / "slos")], str(tmp_path / "oncall.yaml"), CompileOptions())
            write(bundle, str(tmp_path / "build"))
            config = tmp_path / "build" / naming.CONFIG_FILE
            replicas = stack.enter_context(pair(alertmanager_binary(), config, tmp_path))
            return Setup(rec, replicas, tmp_path / "build")

        yield go


def _wait_for(rec: Recorder, expected: dict[tuple[str, str], int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = rec.deliveries()
        if all(got.get(k, 0) >= n for k, n in expected.items()):
            return
        time.sleep(0.25)


def _a(case: str, **labels: str) -> dict[str, Any]:
    return alert({"case": case, **labels})


def test_routing_table_inhibition_and_grouping(start: Callable[[dict[str, Any] | None], Setup]) -> None:
    s = start(None)
    cases = yaml.safe_load((s.bundle / naming.ROUTES_TEST_FILE).read_text())["cases"]
    alerts: list[dict[str, Any]] = []
    expected: dict[tuple[str, str], int] = {}
    for i, case in enumerate(cases):
        # A distinct slo per case: the routing table's labels share one SLO, and a page would
        # (rightly) inhibit the ticket of the same SLO.
        alerts.append(_a(f"route-{i}", **{**case["labels"], "slo": f"case-{i}"}))
        for r in case["receivers"]:
            expected[(r, f"route-{i}")] = 1

    team = {"team": "alpha", "stack": "inh", "service": "svc"}
    scenarios = [
        # (case, labels, receivers it must reach; [] = inhibited, never notified)
        ("page-inhibits-ticket/page", {"alertname": "SLOBurnRatePageFast", "severity": "page", "slo": "s1"},
         ["alpha-page", "alpha-escalation"]),
        ("page-inhibits-ticket/ticket", {"alertname": "SLOBurnRateTicketFast", "severity": "ticket", "slo": "s1"},
         []),
        ("fast-inhibits-slow/fast", {"alertname": "SLOBurnRatePageFast", "severity": "page", "slo": "s2"},
         ["alpha-page", "alpha-escalation"]),
        ("fast-inhibits-slow/slow", {"alertname": "SLOBurnRatePageSlow", "severity": "page", "slo": "s2"}, []),
        ("budget-inhibits-ticket/budget", {"alertname": "SLOErrorBudgetExhausted", "severity": "ticket",
                                           "slo": "s3"}, ["alpha-ticket"]),
        ("budget-inhibits-ticket/ticket", {"alertname": "SLOBurnRateTicketSlow", "severity": "ticket", "slo": "s3"},
         []),
        ("group/missing", {"alertname": "SLOSLIMissing", "severity": "ticket", "slo": "g1"}, ["alpha-ticket"]),
        ("group/budget", {"alertname": "SLOErrorBudgetExhausted", "severity": "ticket", "slo": "g1"},
         ["alpha-ticket"]),
        ("group/other-slo-a", {"alertname": "SLOBurnRatePageFast", "severity": "page", "slo": "g2a"},
         ["alpha-page", "alpha-escalation"]),
        ("group/other-slo-b", {"alertname": "SLOBurnRatePageFast", "severity": "page", "slo": "g2b"},
         ["alpha-page", "alpha-escalation"]),
    ]  # fmt: skip
    node = [
        ("node/down", {"alertname": "SwarmNodeDown", "node": "n1", "team": "platform", "severity": "page"},
         ["platform-page"]),
        ("node/task-on-it", {"alertname": "SwarmTaskFailed", "node": "n1", "team": "alpha", "severity": "ticket",
                             "stack": "inh", "service": "web"}, []),
        ("node/replicas-on-it", {"alertname": "SwarmServiceReplicasMismatch", "node": "n1", "team": "alpha",
                                 "severity": "ticket", "stack": "inh", "service": "db"}, []),
        ("node/task-elsewhere", {"alertname": "SwarmTaskFailed", "node": "n2", "team": "alpha",
                                 "severity": "ticket", "stack": "inh", "service": "web"}, ["alpha-ticket"]),
        ("outage/stack", {"alertname": "SLOStackOutage", "stack": "down", "team": "platform", "severity": "page"},
         ["platform-page"]),
    ]  # fmt: skip
    for svc in ("a", "b", "c"):
        node.append(
            (f"outage/{svc}", {"alertname": "SLOBurnRatePageFast", "stack": "down", "service": svc, "slo": "x",
                               "team": "alpha", "severity": "page"}, [])
        )  # fmt: skip
    inhibited = []
    for case, labels, receivers in scenarios:
        alerts.append(_a(case, **{**team, **labels}))
        inhibited += [case] if not receivers else []
        expected.update({(r, case): 1 for r in receivers})
    for case, labels, receivers in node:
        alerts.append(_a(case, **labels))
        inhibited += [case] if not receivers else []
        expected.update({(r, case): 1 for r in receivers})

    posted_at = time.monotonic()
    assert post(s.replicas, alerts) == 2
    _wait_for(s.rec, expected, timeout=60)
    time.sleep(8)  # a quiet period: duplicates from the second replica would arrive by now
    got = s.rec.deliveries()
    missing = {k: n for k, n in expected.items() if got.get(k, 0) == 0}
    extra = {k: n for k, n in got.items() if k not in expected or n > expected[k]}
    assert missing == {}
    assert extra == {}, "duplicates or unexpected deliveries"
    delivered_cases = {case for _, case in got}
    assert not delivered_cases & set(inhibited)

    # One notification per SLO incident: g1's two ticket alerts share one; g2a and g2b do not.
    notes = s.rec.snapshot()

    def carrying(receiver: str, case: str) -> list[Notification]:
        return [n for n in notes if n.receiver == receiver and any(a.get("case") == case for a in n.firing)]

    (g1,) = carrying("alpha-ticket", "group/missing")
    assert sorted(a["case"] for a in g1.firing) == ["group/budget", "group/missing"]
    assert g1.body["groupLabels"] == {"service": "svc", "slo": "g1", "stack": "inh", "team": "alpha"}
    (g2a,) = carrying("alpha-page", "group/other-slo-a")
    (g2b,) = carrying("alpha-page", "group/other-slo-b")
    assert g2a is not g2b and len(g2a.firing) == len(g2b.firing) == 1
    # The escalation receiver gets a page only after `after` (its route's group_wait), the
    # page receiver at once.
    (page,) = carrying("alpha-page", "group/other-slo-a")
    (esc,) = carrying("alpha-escalation", "group/other-slo-a")
    assert page.at - posted_at < 6 <= esc.at - posted_at


def test_page_resolved_in_time_does_not_escalate(start: Callable[[dict[str, Any] | None], Setup]) -> None:
    s = start(None)
    labels = {"alertname": "SLOBurnRatePageFast", "severity": "page", "team": "alpha", "stack": "e",
              "service": "svc", "slo": "brief", "case": "brief"}  # fmt: skip
    assert post(s.replicas, [alert(labels)]) == 2
    _wait_for(s.rec, {("alpha-page", "brief"): 1}, timeout=30)
    resolved = alert(labels)
    resolved["endsAt"] = datetime.now(UTC).isoformat()
    post(s.replicas, [resolved])
    time.sleep(10)  # well past the 6s escalation delay
    assert s.rec.deliveries() == {("alpha-page", "brief"): 1}


def test_ticket_outside_business_hours_waits(start: Callable[[dict[str, Any] | None], Setup]) -> None:
    """Beta's business hours start at the next whole minute (UTC): a ticket posted now waits
    until then; a page of the same team goes at once."""
    now = datetime.now(UTC)
    # The next whole minute at least 45 s away: time to start the pair and see the ticket held.
    opens = (now + timedelta(seconds=45)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    closes = min(opens + timedelta(minutes=10), opens.replace(hour=0, minute=0) + timedelta(days=1))
    end = "24:00" if closes.day != opens.day else closes.strftime("%H:%M")
    weekday = opens.strftime("%A").lower()
    s = start({"time_zone": "UTC", "hours": [{"weekdays": [weekday], "start": opens.strftime("%H:%M"), "end": end}]})
    base = {"team": "beta", "stack": "e", "service": "svc"}
    ticket = alert({**base, "alertname": "SLOBurnRateTicketFast", "severity": "ticket", "slo": "t", "case": "ticket"})
    page = alert({**base, "alertname": "SLOBurnRatePageFast", "severity": "page", "slo": "p", "case": "page"})
    assert post(s.replicas, [ticket, page]) == 2
    _wait_for(s.rec, {("beta-page", "page"): 1}, timeout=30)
    time.sleep(3)
    assert datetime.now(UTC) < opens
    assert s.rec.deliveries() == {("beta-page", "page"): 1}
    muted = [g for g in groups(s.replicas[0]) if g["receiver"]["name"] == "beta-ticket"]
    assert [g["alerts"][0]["status"]["mutedBy"] for g in muted] == [["beta-business-hours"]]
    _wait_for(s.rec, {("beta-ticket", "ticket"): 1}, timeout=(opens - datetime.now(UTC)).total_seconds() + 30)
    arrived = [n for n in s.rec.snapshot() if n.receiver == "beta-ticket"]
    assert len(arrived) == 1
    waited_until = datetime.now(UTC) - timedelta(seconds=time.monotonic() - arrived[0].at)
    assert waited_until >= opens - timedelta(seconds=1)
    time.sleep(4)
    assert s.rec.deliveries() == {("beta-page", "page"): 1, ("beta-ticket", "ticket"): 1}


def test_replica_killed_mid_storm(start: Callable[[dict[str, Any] | None], Setup]) -> None:
    """Batches of alerts to both replicas; one replica is killed half way, Prometheus keeps
    posting to the survivor. Every alert must be notified; duplicates are counted."""
    s = start(None)
    batches, per_batch = 8, 25
    expected: dict[tuple[str, str], int] = {}
    for b in range(batches):
        alerts = []
        for i in range(per_batch):
            case = f"storm-{b}-{i}"
            team, sev = (("platform", "page"), ("platform", "ticket"), ("beta", "page"), ("beta", "ticket"))[i % 4]
            alerts.append(_a(case, alertname="SLOBurnRatePageFast" if sev == "page" else "SLOBurnRateTicketFast",
                             team=team, severity=sev, stack="storm", service=f"svc-{i}", slo=case))  # fmt: skip
            expected[(f"{team}-{sev}", case)] = 1
        post(s.replicas, alerts)
        if b == batches // 2:
            killed_at = time.monotonic()
            s.replicas[0].kill()
        time.sleep(0.5)
    _wait_for(s.rec, expected, timeout=90)
    time.sleep(8)
    got = s.rec.deliveries()
    lost = sorted(k for k in expected if got.get(k, 0) == 0)
    duplicates = sum(n - 1 for k, n in got.items() if k in expected and n > 1)
    for k, n in sorted(got.items()):
        if n > 1:  # when each copy arrived, in seconds after the kill
            ats = [f"{x.at - killed_at:+.2f}" for x in s.rec.snapshot() if any(a.get("case") == k[1] for a in x.firing)]
            print(f"duplicate: {k[0]} {k[1]} at {', '.join(ats)} s")
    print(f"\nstorm: {len(expected)} alerts, replica am0 killed after batch {batches // 2 + 1} of {batches}: "
          f"{len(lost)} lost, {duplicates} duplicate notifications")  # fmt: skip
    assert lost == []
    assert set(got) <= set(expected)
