"""The pieces of an end-to-end stack: the SLO file, the bundle, a backfilled history and a
real Prometheus on loopback that scrapes the synthetic app and evaluates the bundle."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from slo import naming
from slo.cli import main as slo_main

__all__ = [
    "EVALUATION_INTERVAL_S",
    "JOB",
    "SCRAPE_INTERVAL_S",
    "Prometheus",
    "backfill",
    "build_bundle",
    "describe",
    "free_port",
    "identity",
    "poll",
    "running",
    "write_history",
    "write_slo_file",
]

JOB = "e2e-app"
SERVICE, STACK, TEAM = "app", "e2e", "sre"
SCRAPE_INTERVAL_S = 1
EVALUATION_INTERVAL_S = 2

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def identity(slo: str) -> dict[str, str]:
    """The labels the generated rules put on every recorded series of one SLO."""
    return {
        naming.LABEL_SERVICE: SERVICE,
        naming.LABEL_SLO: slo,
        naming.LABEL_STACK: STACK,
        naming.LABEL_TEAM: TEAM,
    }


def write_slo_file(directory: Path, latency_threshold: str = "300ms") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "app.yaml"
    path.write_text(
        f"""version: swarm-slo/v1
service: {SERVICE}
stack: {STACK}
team: {TEAM}
slos:
  - name: availability
    objectives: [99.9]
    sli:
      kind: prometheus-client-errors
      selector: job="{JOB}"
  - name: latency
    objectives: [99]
    sli:
      kind: prometheus-client-latency
      selector: job="{JOB}"
      threshold: {latency_threshold}
"""
    )
    return path


def build_bundle(slo_dir: Path, out: Path, rate_window: str) -> list[Path]:
    """`slo build --rate-window W`; returns the rule files of the bundle."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = slo_main(["build", str(slo_dir), "--out", str(out), "--rate-window", rate_window])
    assert code == 0, f"slo build exited {code}:\n{stdout.getvalue()}{stderr.getvalue()}"
    files = sorted((out / "prometheus" / "rules").rglob("*.yml"))
    assert files, f"no rule files in {out}"
    return files


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def write_history(path: Path, series: dict[tuple[str, str], float], *, end: float, minutes: int, step_s: int) -> int:
    """An OpenMetrics file of constant gauges, one sample per step, for `promtool tsdb
    create-blocks-from openmetrics`. Keys are (metric name, slo label). Recording-rule names
    with colons are valid OpenMetrics metric names (metricname-initial-char includes ':').
    Returns the number of samples per series."""
    stamps = [end - i * step_s for i in range(minutes * 60 // step_s, -1, -1)]
    lines: list[str] = []
    by_name: dict[str, list[tuple[str, float]]] = {}
    for (name, slo), value in series.items():
        by_name.setdefault(name, []).append((slo, value))
    for name, rows in sorted(by_name.items()):  # a metric family's samples must be contiguous
        lines.append(f"# TYPE {name} gauge")
        for slo, value in rows:
            s = _series(name, identity(slo))
            lines.extend(f"{s} {value} {t:.3f}" for t in stamps)
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")
    return len(stamps)


def backfill(promtool: Path, openmetrics: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [
            str(promtool),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            str(openmetrics),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"promtool backfill failed:\n{run.stdout}{run.stderr}"


def poll(what: str, check: Callable[[], T | None], *, timeout: float, every: float = 0.5) -> T:
    """Call `check` until it returns something other than None; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError) as e:  # not up yet, or mid-restart
            last_error, result = e, None
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error})")
        time.sleep(every)


@dataclass
class Prometheus:
    """A Prometheus server on a free loopback port, with its own data directory."""

    binary: Path
    workdir: Path
    scrape_target: str
    rule_files: list[Path]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    job: str = "e2e-app"  # the scrape job's name (the rules' SLI selectors name it)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log(self) -> Path:
        return self.workdir / "prometheus.log"

    def config(self) -> str:
        # JSON is YAML: no quoting surprises with paths.
        return json.dumps(
            {
                "global": {
                    "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                    "scrape_timeout": f"{SCRAPE_INTERVAL_S}s",
                    "evaluation_interval": f"{EVALUATION_INTERVAL_S}s",
                },
                "rule_files": [str(p) for p in self.rule_files],
                "scrape_configs": [{"job_name": self.job, "static_configs": [{"targets": [self.scrape_target]}]}],
            },
            indent=2,
        )

    def start(self, ready_timeout: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(self.config())
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(self.binary),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.data_dir}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
            )

        def ready() -> bool | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}")
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return True if resp.status == 200 else None

        try:
            poll("Prometheus to be ready", ready, timeout=ready_timeout, every=0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus answered {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The value of a query that returns at most one series."""
        rows = self.query(expr)
        assert len(rows) <= 1, f"{expr} returned {len(rows)} series"
        return float(rows[0]["value"][1]) if rows else None

    def alerts(self, slo: str | None = None) -> list[dict[str, Any]]:
        """Pending and firing alerts, optionally of one SLO."""
        found: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return [a for a in found if slo is None or a["labels"].get("slo") == slo]

    def alert(self, name: str, slo: str, state: str = "firing") -> dict[str, Any] | None:
        for a in self.alerts(slo):
            if a["labels"].get("alertname") == name and a["state"] == state:
                return a
        return None


@contextlib.contextmanager
def running(server: Prometheus) -> Iterator[Prometheus]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def describe(alerts: Iterable[dict[str, Any]]) -> str:
    return ", ".join(f"{a['labels'].get('alertname')}({a['labels'].get('slo')}):{a['state']}" for a in alerts) or "none"
