"""End to end: the synthetic app, a real Prometheus 3.16 on loopback and the bundle `slo build`
writes for the app's SLO file. See docs/e2e.md for the timing arithmetic.

Prometheus scrapes every 1s and evaluates every 2s; the SLI source rules use a 2s rate
window (the evaluation interval, two scrape intervals). A clean history is backfilled
with promtool before Prometheus starts, so the 1h window behaves as in production.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from conftest import current_promtool, prometheus_binary
from e2e.app import SyntheticApp
from e2e.prom_stack import (
    EVALUATION_INTERVAL_S,
    SCRAPE_INTERVAL_S,
    Prometheus,
    backfill,
    build_bundle,
    describe,
    poll,
    running,
    write_history,
    write_slo_file,
)

from slo import naming
from slo.cli import main as slo_main

pytestmark = pytest.mark.e2e

FAST_PAGE = "SLOBurnRatePageFast"
# SRE Workbook: the 1h window must hold 2% of a 30d budget at 100% errors: 0.02 * 30d / 1000
# = 0.0144h = 51.84s of errors.
WORKBOOK_FAST_PAGE_S = 0.0144 * 3600
HISTORY_MINUTES = 65
CLEAN_LIVE_S = 20
POLL_S = 0.5
# Allowance on top of one scrape and one evaluation interval, for the 2s rate window:
#  1.0s  W/2: the rate sample taken just after the switch counts the errors only in part;
#  0.5s  the poll period of /api/v1/alerts;
#  0.1s  the app's tick (its traffic changes at the next tick);
#  1.4s  scheduling on a busy 2-core machine (Prometheus, the app and pytest share it).
ALLOWANCE_S = 3.0
FAST_PAGE_BOUND_S = WORKBOOK_FAST_PAGE_S + SCRAPE_INTERVAL_S + EVALUATION_INTERVAL_S + ALLOWANCE_S
NOT_BEFORE_S = 45.0  # without the backfilled history it would fire within seconds
DEFAULT_WINDOW_BOUND_S = 150.0
FIRE_TIMEOUT_S = 240.0


@dataclass
class Stack:
    app: SyntheticApp
    prometheus: Prometheus
    rate_window: str
    slo_dir: Path
    history_end: float | None  # wall clock, seconds
    live_since: float  # monotonic: the first live evaluation of the SLI source rules was seen

    def series(self, template: str, slo: str) -> str:
        return f'{naming.windowed(template, self.rate_window)}{{slo="{slo}"}}'


def _rfc3339(value: str) -> float:
    """Prometheus' activeAt (nanoseconds, Z) as epoch seconds."""
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?Z", value)
    assert m, value
    base = datetime.fromisoformat(m.group(1) + "+00:00").timestamp()
    return base + (float(m.group(2)) if m.group(2) else 0.0)


@contextmanager
def e2e_stack(
    tmp: Path, app: SyntheticApp, rate_window: str, history: dict[tuple[str, str], float] | None
) -> Iterator[Stack]:
    """The app, a bundle built with `--rate-window`, an optional backfilled history of the SLI
    source series ((recording-rule template, slo) -> value) and Prometheus; all stopped at exit."""
    slo_dir = tmp / "slos"
    write_slo_file(slo_dir)
    rules = build_bundle(slo_dir, tmp / "bundle", rate_window)
    with app:
        server = Prometheus(prometheus_binary(), tmp / "prometheus", app.target, rules)
        history_end = None
        if history:
            history_end = time.time() - 3
            om = tmp / "history.om"
            named = {(naming.windowed(t, rate_window), slo): v for (t, slo), v in history.items()}
            write_history(om, named, end=history_end, minutes=HISTORY_MINUTES, step_s=EVALUATION_INTERVAL_S)
            backfill(current_promtool(), om, server.data_dir)
        with running(server):
            total = f'{naming.windowed(naming.TOTAL_RATE, rate_window)}{{slo="availability"}}'
            after = history_end or 0.0

            def live() -> bool | None:
                # Prometheus discovers its scrape target after ~5s; then the rules record.
                stamp = server.value(f"timestamp({total})")
                return True if stamp is not None and stamp > after + 1 else None

            poll("the first live evaluation of the SLI source rules", live, timeout=90)
            yield Stack(app, server, rate_window, slo_dir, history_end, time.monotonic())


def _burn_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if a["labels"]["alertname"].startswith("SLOBurnRate")]


# --- 3. the fast page fires when the Workbook says ------------------------------------------


@pytest.mark.parametrize(("rate_window", "bound_s"), [("2s", FAST_PAGE_BOUND_S), ("1m", DEFAULT_WINDOW_BOUND_S)])
def test_fast_page_at_100_percent_errors(tmp_path: Path, rate_window: str, bound_s: float) -> None:
    app = SyntheticApp(batch=100, tick=0.1)  # 1000 requests/s
    history = {
        (naming.BAD_RATE, "availability"): 0.0,
        (naming.TOTAL_RATE, "availability"): app.rate,
    }
    with e2e_stack(tmp_path, app, rate_window, history) as stack:
        prom = stack.prometheus
        samples = prom.value(f"count_over_time({stack.series(naming.TOTAL_RATE, 'availability')}[1h])")
        assert samples is not None and samples >= 0.95 * 3600 / EVALUATION_INTERVAL_S, (
            f"the backfilled history is missing: {samples} samples in the last 1h"
        )

        # Clean live traffic continues the backfilled series; nothing may fire meanwhile.
        clean_until = stack.live_since + CLEAN_LIVE_S
        while time.monotonic() < clean_until:
            assert not _burn_alerts(prom.alerts("availability")), describe(prom.alerts())
            time.sleep(POLL_S)

        app.set(error_ratio=1)
        switched_wall, switched = time.time(), time.monotonic()
        fired: dict[str, Any] | None = None
        while fired is None and time.monotonic() - switched < FIRE_TIMEOUT_S:
            fired = prom.alert(FAST_PAGE, "availability")
            if fired is None:
                time.sleep(POLL_S)
        elapsed = time.monotonic() - switched
        assert fired is not None, f"{FAST_PAGE} did not fire within {FIRE_TIMEOUT_S:.0f}s"
        active_after = _rfc3339(fired["activeAt"]) - switched_wall
        print(
            f"\nE2E fast page, rate window {rate_window}: firing seen after {elapsed:.1f}s "
            f"(activeAt {active_after:.1f}s after the switch; "
            f"Workbook {WORKBOOK_FAST_PAGE_S:.1f}s, bound {bound_s:.1f}s)"
        )
        assert elapsed >= NOT_BEFORE_S, f"fired after {elapsed:.1f}s: the clean 1h history did not count"
        assert elapsed <= bound_s, f"fired after {elapsed:.1f}s, later than {bound_s:.1f}s"


# --- 4. and 5. at the objective, latency, validate against live buckets ---------------------


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """1000 requests/s in whole ticks of 1000 with exactly one error: the objective (99.9%).
    Latency 50ms. The availability history is backfilled at the objective too; the latency
    SLO gets none, so its fast page can fire within the suite's time (with a clean 1h history
    it would need 0.144h = 8m38s at 100% slow requests)."""
    app = SyntheticApp(batch=1000, tick=1.0)
    app.set(error_ratio=Fraction(1, 1000), latency=0.05)
    history = {
        (naming.BAD_RATE, "availability"): 1.0,
        (naming.TOTAL_RATE, "availability"): app.rate,
    }
    with e2e_stack(tmp_path_factory.mktemp("steady"), app, "2s", history) as stack:
        yield stack


def _wait_live(stack: Stack, seconds: float) -> None:
    left = stack.live_since + seconds - time.monotonic()
    if left > 0:
        time.sleep(left)


def _float_noise_at_1x(alert: dict[str, Any]) -> bool:
    """At exactly the objective every burn rate is 1, and the 1x tier (ticket-slow, `> 1`)
    is decided by float rounding of Prometheus' rate extrapolation: 1.0000000000000002 fires
    it. Such an alert (value = its long-window burn rate) is rounding, not an error budget
    at risk; anything else is a failure."""
    return abs(float(alert["value"]) - 1) < 1e-9


def test_at_the_objective_nothing_fires(steady: Stack) -> None:
    prom = steady.prometheus
    seen: dict[str, str] = {}
    deadline = steady.live_since + 60
    while time.monotonic() < deadline:  # ~60s of live evaluation, watching all along
        for a in _burn_alerts(prom.alerts("availability")):
            seen[describe([a])] = a["value"]
            assert _float_noise_at_1x(a), f"burn-rate alert at the objective: {describe([a])} {a}"
        time.sleep(1)
    burn = {
        w: prom.value(f'{naming.windowed(naming.BURN_RATE, w)}{{slo="availability"}}') for w in ("5m", "1h", "6h", "3d")
    }
    print(f"\nE2E at the objective: burn rates {burn}; burn alerts seen: {seen or 'none'}")
    assert burn["5m"] is not None and abs(burn["5m"] - 1) < 0.02, f"errors do not flow at the objective: {burn}"
    at_end = [a for a in _burn_alerts(prom.alerts("availability")) if not _float_noise_at_1x(a)]
    assert not at_end, f"burn-rate alerts at the objective: {describe(at_end)}"


def _validate(slo_dir: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = slo_main(["validate", str(slo_dir), "--prometheus", url])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_validate_threshold_is_a_live_bucket(steady: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _validate(steady.slo_dir, steady.prometheus.url, capsys)
    assert code == 0, output
    assert "ok: 1 services, 2 SLOs" in output


def test_validate_threshold_not_a_live_bucket(
    steady: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_slo_file(tmp_path / "slos", latency_threshold="250ms")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "threshold: 250ms" in text)
    code, output = _validate(path.parent, steady.prometheus.url, capsys)
    assert code == 2, output
    assert f"{path}:{line}:" in output, output
    assert "slos[1].sli.threshold" in output, output
    assert "0.25 is not a bucket boundary of http_request_duration_seconds" in output, output


def test_latency_fast_page(steady: Stack) -> None:
    prom = steady.prometheus
    _wait_live(steady, 30)
    assert not prom.alerts("latency"), f"latency under 300ms: {describe(prom.alerts('latency'))}"
    steady.app.set(latency=0.5)
    try:
        fired = poll(
            f"{FAST_PAGE} of the latency SLO",
            lambda: prom.alert(FAST_PAGE, "latency"),
            timeout=90,
            every=POLL_S,
        )
    finally:
        steady.app.set(latency=0.05)
    assert fired["labels"]["severity"] == "page"
    assert not prom.alert(FAST_PAGE, "availability"), describe(prom.alerts())


# --- dashboards: every panel query returns data from the live Prometheus --------------------


def test_every_dashboard_query_returns_live_data(steady: Stack) -> None:
    """Prometheus evaluates the bundle's rules over the live app; each query of each panel of
    each dashboard of that bundle (variables substituted as Grafana would with every choice
    selected) returns at least one series."""
    from dashboards.queries import DEFAULT_VARIABLES, panel_queries

    prom = steady.prometheus
    _wait_live(steady, 20)
    bundle = steady.slo_dir.parent / "bundle"
    # The Swarm dashboards read the exporter, which this stack does not run: their queries
    # are proven on synthetic series (tests/test_dashboards.py) and live in the stack's e2e.
    dashboards = sorted(p for p in (bundle / "grafana" / "dashboards").rglob("*.json") if p.parent.name != "Swarm")
    assert len(dashboards) == 2  # the app's own and the overview
    variables = {**DEFAULT_VARIABLES, "$__range": "5m"}
    empty, checked = [], 0
    for path in dashboards:
        for q in panel_queries(json.loads(path.read_text())):
            checked += 1
            if not prom.query(q.substituted(variables)):
                empty.append(f"{path.name}: {q.panel} {q.ref}: {q.expr}")
    print(f"\nE2E dashboards: {checked} panel queries run against the live Prometheus, {len(empty)} empty")
    assert empty == []
    assert checked >= 20


def test_dashboard_previews_render_live_data(steady: Stack, tmp_path: Path) -> None:
    """The PNG previews of docs/dashboards.md. Refresh them with
    `SWARM_SLO_PREVIEW_DIR=docs/images pytest tests/e2e -k previews`."""
    from dashboards.preview import Prometheus as PreviewSource
    from dashboards.preview import render

    _wait_live(steady, 30)
    out = Path(os.environ.get("SWARM_SLO_PREVIEW_DIR", tmp_path))
    bundle = steady.slo_dir.parent / "bundle"
    written = [
        render(json.loads(p.read_text()), PreviewSource(steady.prometheus.url), out / f"dashboard-{p.stem}.png")
        for p in sorted((bundle / "grafana" / "dashboards").rglob("*.json"))
        if p.parent.name != "Swarm"
    ]
    assert [p.name for p in written] == ["dashboard-overview.png", "dashboard-e2e-app.png"]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 20_000, f"{p} looks empty"
