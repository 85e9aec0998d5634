"""Rule evaluation cost against Sloth: the same 100 SLOs, the same data, one real
Prometheus 3.16 at a time.

    python -m bench.eval_cost                     # about 15 minutes
    python -m bench.eval_cost --measure 120 --rounds 1

What it does:

1. 100 SLOs over raw counters: 20 services x 5 event SLIs on `http_requests_total`
   (bad/total and good/total, by method and code), 50 label sets per service (5
   instances x 5 codes x 2 methods): 1,000 raw series. In our format, and in Sloth's
   prometheus/v1 (error_query/total_query, Sloth's own idiom: no `or` for absent errors).
2. A day of history of the raw counters at 15 s resolution, written as OpenMetrics and
   backfilled with `promtool tsdb create-blocks-from openmetrics`.
3. Both tools' long windows read their own recordings (ours: every window from the
   1m-rate recordings; Sloth: its 30d period from its 5m ratio recordings), empty on a
   fresh Prometheus. So a Prometheus over the raw blocks (no rules) serves
   `promtool tsdb create-blocks-from rules`, which backfills those source recordings
   (ours: slo:sli_bad:rate1m and slo:sli_total:rate1m; Sloth: slo:sli_error:ratio_rate5m)
   over the same day at the evaluation interval, the history either tool would have
   after a day of running. Recordings built from recordings are not backfilled (promtool
   cannot); none of the measured windows needs their history.
4. For each tool, in turn and `--rounds` times: a fresh copy of the data (raw blocks plus
   that tool's recording blocks), one Prometheus on loopback with that tool's rules,
   scraping a small exporter in this process that continues the same counters. After
   `--warmup` seconds, every evaluation interval for `--measure` seconds, read
   /metrics: the sum of prometheus_rule_group_last_duration_seconds over every group
   (the time one round of every rule takes) and process CPU seconds.

Only a day of history exists, so the 3d windows and the 30d period read one day of
samples for both tools.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from slo.render import to_yaml

PROM_VERSION = os.environ.get("PROM_VERSION", "3.16.0")
CACHE = Path(os.environ.get("SWARM_SLO_CACHE", Path.home() / ".cache" / "swarm-slo"))
SERVICES = 20
INSTANCES = 5
CODES = {"200": 10.0, "201": 2.0, "404": 0.5, "500": 0.05, "503": 0.02}  # requests/s per series
METHODS = {"GET": 1.0, "POST": 0.4}
METRIC = "http_requests_total"
STEP_S = 15
HISTORY_S = 24 * 3600


# --- the SLOs --------------------------------------------------------------------


@dataclass(frozen=True)
class EventSLO:
    name: str
    objective: str
    bad: str | None  # selector matchers added to the service's
    good: str | None
    total: str


SLOS = (
    EventSLO("availability", "99.9", 'code=~"5.."', None, ""),
    EventSLO("get-availability", "99.5", 'method="GET",code=~"5.."', None, 'method="GET"'),
    EventSLO("post-availability", "99.5", 'method="POST",code=~"5.."', None, 'method="POST"'),
    EventSLO("success", "99", None, 'code=~"2.."', ""),
    EventSLO("no-errors", "95", 'code=~"4..|5.."', None, ""),
)


def _selector(job: str, extra: str) -> str:
    inner = f'job="{job}"' + (f",{extra}" if extra else "")
    return f"{METRIC}{{{inner}}}"


def service(s: int) -> str:
    return f"svc-{s:02d}"


def ours_doc(s: int) -> dict[str, Any]:
    job = service(s)
    slos = []
    for slo in SLOS:
        sli: dict[str, Any] = {"kind": "ratio", "total": _selector(job, slo.total)}
        if slo.bad is not None:
            sli["bad"] = _selector(job, slo.bad)
        else:
            assert slo.good is not None
            sli["good"] = _selector(job, slo.good)
        slos.append({"name": slo.name, "objectives": [Decimal(slo.objective)], "period": "30d", "sli": sli})
    return {
        "version": "swarm-slo/v1",
        "service": job,
        "stack": "shop",
        "team": f"team-{s % 4}",
        "slos": slos,
    }


def sloth_doc(s: int) -> dict[str, Any]:
    job = service(s)
    slos = []
    for slo in SLOS:
        total = f"sum(rate({_selector(job, slo.total)}[{{{{.window}}}}]))"
        if slo.bad is not None:
            error = f"sum(rate({_selector(job, slo.bad)}[{{{{.window}}}}]))"
        else:
            assert slo.good is not None
            error = f"{total} - sum(rate({_selector(job, slo.good)}[{{{{.window}}}}]))"
        slos.append(
            {
                "name": slo.name,
                "objective": Decimal(slo.objective),
                "sli": {"events": {"error_query": error, "total_query": total}},
                "alerting": {
                    "name": f"{job.replace('-', '_')}_{slo.name.replace('-', '_')}_burn_rate",
                    "labels": {"team": f"team-{s % 4}"},
                    "page_alert": {"labels": {"severity": "page"}},
                    "ticket_alert": {"labels": {"severity": "ticket"}},
                },
            }
        )
    return {"version": "prometheus/v1", "service": job, "labels": {"stack": "shop"}, "slos": slos}


# --- the raw counters ------------------------------------------------------------------


def series() -> list[tuple[str, float]]:
    """Every raw series (its OpenMetrics label text) and its rate per second."""
    out = []
    for s in range(SERVICES):
        for i in range(INSTANCES):
            for code, rate in CODES.items():
                for method, share in METHODS.items():
                    labels = f'job="{service(s)}",instance="10.0.{s}.{i}:8080",code="{code}",method="{method}"'
                    out.append((labels, rate * share * (1 + 0.1 * ((s + i) % 3))))
    return out


T0 = 1_600_000_000  # counters start here; a counter's value is a function of time alone


def value(rate: float, t: float) -> int:
    return int(rate * (t - T0))


def write_openmetrics(path: Path, start: int, end: int) -> int:
    """Samples every STEP_S from start to end (exclusive), series after series."""
    rows = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"# TYPE {METRIC.removesuffix('_total')} counter\n")
        for labels, rate in series():
            prefix = f"{METRIC}{{{labels}}} "
            fh.write("".join(f"{prefix}{value(rate, t)} {t}\n" for t in range(start, end, STEP_S)))
            rows += (end - start) // STEP_S
        fh.write("# EOF\n")
    return rows


class Exporter(http.server.ThreadingHTTPServer):
    """The same counters, now: what a scrape of the services would return."""

    def __init__(self) -> None:
        self.rows = series()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Exporter

    def do_GET(self) -> None:
        now = time.time()
        body = f"# TYPE {METRIC} counter\n" + "".join(
            f"{METRIC}{{{labels}}} {value(rate, now)}\n" for labels, rate in self.server.rows
        )
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- Prometheus ------------------------------------------------------------------------


def binaries() -> tuple[Path, Path]:
    d = CACHE / f"prometheus-{PROM_VERSION}"
    prom, tool = d / "prometheus", d / "promtool"
    if not (prom.is_file() and tool.is_file()):
        sys.exit(f"Prometheus {PROM_VERSION} is not at {d}: run `make setup` (or .ci/install-tools)")
    return prom, tool


def sloth_binary() -> Path:
    from bench.build_speed import sloth_binary as find

    return find()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    def __init__(self, binary: Path, data: Path, rules: list[Path], interval: int, target: str | None, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config: dict[str, Any] = {
            "global": {"scrape_interval": f"{STEP_S}s", "evaluation_interval": f"{interval}s"},
            "rule_files": [str(r) for r in rules],
        }
        if target:
            config["scrape_configs"] = [
                {"job_name": "services", "honor_labels": True, "static_configs": [{"targets": [target]}]}
            ]
        cfg = data.parent / f"{data.name}.prometheus.yml"
        cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(binary),
                f"--config.file={cfg}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=60d",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                sys.exit(f"Prometheus did not start; see {log}")
            time.sleep(0.5)

    def metrics(self) -> dict[str, list[tuple[str, float]]]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=30) as r:
            text = r.read().decode()
        out: dict[str, list[tuple[str, float]]] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            head, _, val = line.rpartition(" ")
            name, _, labels = head.partition("{")
            out.setdefault(name, []).append((labels, float(val)))
        return out

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=60) as r:
            return list(json.load(r)["data"]["result"])

    def rules(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/rules", timeout=60) as r:
            return list(json.load(r)["data"]["groups"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# --- the benchmark ---------------------------------------------------------------------


@dataclass
class Sample:
    group_seconds: float  # sum of prometheus_rule_group_last_duration_seconds
    samples: float  # sum of prometheus_rule_group_last_evaluation_samples


@dataclass
class Measurement:
    tool: str
    round: int
    rules: int
    groups: int
    samples: list[Sample] = field(default_factory=list)
    cpu_seconds_per_minute: float = 0.0
    failures: float = 0.0
    missed_iterations: float = 0.0
    rule_eval_quantiles: dict[str, float] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    by_rule: dict[str, float] = field(default_factory=dict)  # seconds, last evaluation, summed by name
    load: str = ""

    @property
    def median_group_seconds(self) -> float:
        return statistics.median(s.group_seconds for s in self.samples)


def _sum(metrics: dict[str, list[tuple[str, float]]], name: str) -> float:
    return sum(v for _, v in metrics.get(name, []))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(prom: Prometheus, tool: str, rnd: int, warmup: int, seconds: int, interval: int) -> Measurement:
    time.sleep(warmup)
    m = prom.metrics()
    start_cpu, start_t = _sum(m, "process_cpu_seconds_total"), time.time()
    result = Measurement(
        tool,
        rnd,
        rules=int(_sum(m, "prometheus_rule_group_rules")),
        groups=len(m.get("prometheus_rule_group_rules", [])),
        load=load(),
    )
    while time.time() - start_t < seconds:
        time.sleep(interval)
        m = prom.metrics()
        result.samples.append(
            Sample(
                _sum(m, "prometheus_rule_group_last_duration_seconds"),
                _sum(m, "prometheus_rule_group_last_evaluation_samples"),
            )
        )
        print(f"    {tool} round {rnd}: rule groups {result.samples[-1].group_seconds * 1000:.1f} ms", flush=True)
    result.cpu_seconds_per_minute = (_sum(m, "process_cpu_seconds_total") - start_cpu) / (time.time() - start_t) * 60
    result.failures = _sum(m, "prometheus_rule_evaluation_failures_total")
    result.missed_iterations = _sum(m, "prometheus_rule_group_iterations_missed_total")
    for labels, v in m.get("prometheus_rule_evaluation_duration_seconds", []):
        result.rule_eval_quantiles[labels.rstrip("}")] = v
    for group in prom.rules():
        for rule in group["rules"]:
            name = rule.get("name", "")
            result.by_rule[name] = result.by_rule.get(name, 0.0) + float(rule.get("evaluationTime", 0.0))
    result.by_rule = dict(sorted(result.by_rule.items(), key=lambda kv: -kv[1])[:12])
    # The long windows must see history, or the comparison measures empty queries.
    for name in ("slo:sli_error:ratio_rate3d", "slo:sli_error:ratio_period", "slo:sli_error:ratio_rate30d"):
        result.checks[name] = len(prom.query(name))
    return result


def _records(rule_files: list[Path], names: set[str]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for f in rule_files:
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for g in doc["groups"]:
            rules.extend(r for r in g["rules"] if r.get("record") in names)
    return {"groups": [{"name": "backfill", "rules": rules}]}


def prepare(
    args: argparse.Namespace, root: Path, prom_bin: Path, promtool: Path, sloth: Path, log: Path, interval: int
) -> dict[str, list[Path]]:
    """Steps 1-3: SLO files, both tools' rules, the raw history and each tool's recordings."""
    # 1. SLO files and rules of both tools.
    (root / "slos").mkdir()
    (root / "sloth").mkdir()
    for s in range(SERVICES):
        (root / "slos" / f"{service(s)}.yaml").write_text(to_yaml(ours_doc(s)), encoding="utf-8")
        (root / "sloth" / f"{service(s)}.yaml").write_text(to_yaml(sloth_doc(s)), encoding="utf-8")
    slo = Path(sys.executable).parent / "slo"
    subprocess.run(
        [str(slo), "build", str(root / "slos"), "--out", str(root / "bundle"), "--rate-window", args.rate_window],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (root / "sloth-out").mkdir()
    subprocess.run(
        [str(sloth), "generate", "-i", str(root / "sloth"), "-o", str(root / "sloth-out")],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rules = {
        "ours": sorted((root / "bundle" / "prometheus" / "rules").rglob("*.yml")),
        "sloth": sorted((root / "sloth-out").rglob("*.yaml")),
    }
    subprocess.run(
        [str(promtool), "check", "rules", "--lint=none", *map(str, rules["ours"] + rules["sloth"])],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    # 2. A day of raw history.
    now = int(time.time()) // STEP_S * STEP_S
    start = now - HISTORY_S
    print(f"eval cost: writing {SERVICES * INSTANCES * len(CODES) * len(METHODS)} raw series x 24h", flush=True)
    om = root / "raw.om"
    rows = write_openmetrics(om, start, now)
    raw = root / "raw-data"
    t = time.time()
    subprocess.run(
        [str(promtool), "tsdb", "create-blocks-from", "openmetrics", str(om), str(raw)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  backfilled {rows:,} samples in {time.time() - t:.0f} s", flush=True)
    om.unlink()

    # 3. A day of each tool's source recordings, from a Prometheus over the raw blocks.
    recorded = {
        "ours": {f"slo:sli_bad:rate{args.rate_window}", f"slo:sli_total:rate{args.rate_window}"},
        "sloth": {"slo:sli_error:ratio_rate5m"},
    }
    server = Prometheus(prom_bin, raw, [], interval, None, log)
    try:
        for tool, names in recorded.items():
            f = root / f"backfill-{tool}.yml"
            f.write_text(yaml.safe_dump(_records(rules[tool], names), sort_keys=False), encoding="utf-8")
            t = time.time()
            subprocess.run(
                [
                    str(promtool),
                    "tsdb",
                    "create-blocks-from",
                    "rules",
                    f"--url={server.url}",
                    f"--start={start}",
                    f"--end={now}",
                    f"--eval-interval={interval}s",
                    f"--output-dir={root / f'rec-{tool}'}",
                    "--quiet",
                    str(f),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            print(f"  backfilled {tool}'s {len(names)} source recordings in {time.time() - t:.0f} s", flush=True)
    finally:
        server.stop()

    return rules


def run(args: argparse.Namespace) -> dict[str, Any]:
    prom_bin, promtool = binaries()
    sloth = sloth_binary()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="slo-evalcost-"))
    if not args.reuse:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    log = root / "log.txt"
    interval = args.eval_interval

    rules = {
        "ours": sorted((root / "bundle" / "prometheus" / "rules").rglob("*.yml")),
        "sloth": sorted((root / "sloth-out").rglob("*.yaml")),
    }
    if not (args.reuse and rules["ours"] and (root / "rec-ours").is_dir() and (root / "rec-sloth").is_dir()):
        rules = prepare(args, root, prom_bin, promtool, sloth, log, interval)
    else:
        print(f"eval cost: reusing the data and rules in {root}", flush=True)

    # 4. Measure, alternating tools.
    exporter = Exporter()
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    target = f"127.0.0.1:{exporter.server_address[1]}"
    results: list[Measurement] = []
    try:
        for rnd in range(args.rounds):
            for tool in ("ours", "sloth"):
                data = root / f"data-{tool}-{rnd}"
                shutil.copytree(root / "raw-data", data)
                for block in (root / f"rec-{tool}").iterdir():
                    shutil.copytree(block, data / block.name)
                prom = Prometheus(prom_bin, data, rules[tool], interval, target, log)
                try:
                    print(f"  {tool} round {rnd}: Prometheus on {prom.url}, load {load()}", flush=True)
                    results.append(measure(prom, tool, rnd, args.warmup, args.measure, interval))
                finally:
                    prom.stop()
                    shutil.rmtree(data, ignore_errors=True)
    finally:
        exporter.shutdown()
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "prometheus": PROM_VERSION,
        "eval_interval_s": interval,
        "rate_window": args.rate_window,
        "slos": SERVICES * len(SLOS),
        "raw_series": SERVICES * INSTANCES * len(CODES) * len(METHODS),
        "measurements": [asdict(m) | {"median_group_seconds": m.median_group_seconds} for m in results],
    }


def table(report: dict[str, Any]) -> str:
    rows = [
        "| tool | round | rules | groups | rule groups, one round (median) | Prometheus CPU s/min "
        "| missed iterations | failures | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_tool: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for m in report["measurements"]:
        by_tool.setdefault(m["tool"], []).append(m["median_group_seconds"])
        cpu.setdefault(m["tool"], []).append(m["cpu_seconds_per_minute"])
        rows.append(
            f"| {m['tool']} | {m['round']} | {m['rules']} | {m['groups']} | {m['median_group_seconds'] * 1000:.1f} ms "
            f"| {m['cpu_seconds_per_minute']:.2f} | {m['missed_iterations']:.0f} | {m['failures']:.0f} | {m['load']} |"
        )
    if "ours" in by_tool and "sloth" in by_tool:
        o, s = statistics.median(by_tool["ours"]), statistics.median(by_tool["sloth"])
        oc, sc = statistics.median(cpu["ours"]), statistics.median(cpu["sloth"])
        rows.append("")
        rows.append(
            f"ours / Sloth: rule group time {o * 1000:.1f} / {s * 1000:.1f} ms = {o / s:.2f}; "
            f"Prometheus CPU {oc:.2f} / {sc:.2f} s per minute = {oc / sc:.2f}"
        )
    for m in report["measurements"]:
        if m["round"] == 0 and m.get("by_rule"):
            rows.append("")
            rows.append(f"{m['tool']}: slowest rules by name (last evaluation, summed over SLOs):")
            rows.extend(f"  {name}: {sec * 1000:.1f} ms" for name, sec in m["by_rule"].items())
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.eval_cost", description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-interval", type=int, default=15, help="seconds (default 15)")
    ap.add_argument("--rate-window", default="1m", help="our --rate-window (default 1m)")
    ap.add_argument("--warmup", type=int, default=60, help="seconds before measuring (default 60)")
    ap.add_argument("--measure", type=int, default=180, help="seconds of measurement per run (default 180)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per tool, alternating (default 2)")
    ap.add_argument("--workdir", help="scratch directory, kept (default: a temporary one, removed)")
    ap.add_argument("--json", help="also write the raw measurements here")
    ap.add_argument(
        "--reuse", action="store_true", help="with --workdir: reuse its rules and backfilled data (steps 1-3)"
    )
    args = ap.parse_args(argv)
    if args.reuse and not args.workdir:
        ap.error("--reuse needs --workdir")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {load()}", flush=True)
    report = run(args)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
