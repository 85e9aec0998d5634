"""The exporter benchmark, side by side in one run: ours (exporter/) against a poll-per-scrape
design (bench/poll_exporter.py), and leinardi/swarm-scheduler-exporter when the Go module
proxy serves it (it is asked; the report says what it answered).

    .venv/bin/python -m bench.exporter_compare [--sizes 100 1000 10000] [--running 100]
        [--window 120] [--scrapes 200] [--out docs/reports/DATE-exporter-compare] [--no-engine]

Two parts, each at every size (tasks = entries of `GET /tasks`):

* engine: the local Docker engine in swarm mode (root). `--running` real busybox tasks
  (services slo-bench-run-0..9, a tenth each) plus pending tasks up to the size (service slo-bench-pending,
  placement constraint no node meets): real entries in the engine's store, answered by the
  real dockerd, without a container each. Measured: the size and dockerd CPU of one
  `GET /tasks`; dockerd's CPU over a window idle, with ours running and with the poll design,
  each scraped every 15 s as Prometheus would (the exporter's share = window minus idle);
  each exporter's own CPU over the window; scrape latency (p50, p99), resident memory (now
  and peak); for ours the delay from `docker service update --replicas` returning to the
  metric showing it.
* replay: the engine's answers recorded at the first size (services, tasks, nodes, info;
  bench/data/docker-api-recording.json.gz, refreshed by each engine run) tiled to the size
  (services and tasks copied with new IDs, spread over 20 copies of the node) and served by
  the fake Docker API (tests/fake_docker.py), which counts requests: Docker calls per scrape,
  scrape latency, memory, and the delay from an event to the metric.

Writes OUT.json and OUT.md (figures, machine, load average).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import gzip
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.swarm import busybox_image
from tests.fake_docker import FakeDocker

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "bench" / "data" / "docker-api-recording.json.gz"
PEER_MODULE = "github.com/leinardi/swarm-scheduler-exporter"
SCRAPE_INTERVAL = 15.0
RUN, PENDING = "slo-bench-run", "slo-bench-pending"
RUN_SERVICES = 10
DESIGNS = {"ours": "exporter.cli", "poll": "bench.poll_exporter"}
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB: resident now and at peak."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(rest.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def _dockerd_pid() -> int:
    return int(subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=True).stdout.split()[0])


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


@dataclass
class Running:
    design: str
    proc: asyncio.subprocess.Process
    url: str


async def _start(design: str, docker_host: str, ready: bytes, http: aiohttp.ClientSession) -> Running:
    port = _free_port()
    extra = ["--log-level", "warning"] if design == "ours" else []
    env = os.environ | {"DOCKER_HOST": docker_host, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", DESIGNS[design], "--listen", f"127.0.0.1:{port}", *extra,
        env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    run = Running(design, proc, f"http://127.0.0.1:{port}/metrics")
    deadline = time.monotonic() + 300
    while True:
        try:
            if ready in await _scrape(http, run.url):
                return run
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline or proc.returncode is not None:
            await _stop(run)
            raise RuntimeError(f"{design} did not become ready")
        await asyncio.sleep(0.1)


async def _stop(run: Running) -> None:
    if run.proc.returncode is None:
        run.proc.terminate()
        await run.proc.wait()


async def _scrape(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=120)) as resp:
        resp.raise_for_status()
        return await resp.read()


async def _latencies(http: aiohttp.ClientSession, url: str, n: int) -> tuple[list[float], int]:
    out, size = [], 0
    for _ in range(n):
        start = time.perf_counter()
        size = len(await _scrape(http, url))
        out.append(time.perf_counter() - start)
    return out, size


def _scrape_figures(latencies: list[float], page: int) -> dict[str, float]:
    return {
        "scrapes": len(latencies),
        "scrape_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "scrape_p99_ms": round(_p99(latencies) * 1000, 2),
        "page_mb": round(page / 1e6, 3),
    }


def _want_desired(service: str, replicas: int) -> bytes:
    return f'swarm_service_replicas_desired{{service="{service}",stack=""}} {replicas}\n'.encode()


# --- engine ----------------------------------------------------------------------------------


class Engine:
    def __init__(self, docker: aiohttp.ClientSession, http: aiohttp.ClientSession) -> None:
        self.docker, self.http = docker, http  # the engine's unix socket; scrapes over TCP
        self.dockerd = _dockerd_pid()

    async def get(self, path: str) -> bytes:
        async with self.docker.get(f"http://docker/v1.41{path}", timeout=aiohttp.ClientTimeout(total=300)) as resp:
            resp.raise_for_status()
            return await resp.read()

    async def ensure(self, size: int, running: int, image: str) -> None:
        existing = set(_docker("service", "ls", "--format", "{{.Name}}").split())
        if others := {name for name in existing if name != PENDING and not name.startswith(f"{RUN}-")}:
            raise RuntimeError(f"the swarm runs other services ({', '.join(sorted(others))}): remove them first")
        for name in self.run_services(running):
            if name not in existing:
                _docker("service", "create", "--detach", "--name", name, "--replicas", str(running // RUN_SERVICES),
                        "--stop-grace-period", "1s", image, "sleep", "86400")  # fmt: skip
        pending = max(size - running, 0)
        if PENDING not in existing:
            _docker("service", "create", "--detach", "--name", PENDING, "--replicas", str(pending),
                    "--constraint", "node.labels.slo-bench==never", image, "sleep", "86400")  # fmt: skip
        else:
            _docker("service", "update", "--detach", "--replicas", str(pending), PENDING)
        deadline = time.monotonic() + 1800
        while True:
            tasks = [t for t in json.loads(await self.get("/tasks")) if t.get("DesiredState") == "running"]
            up = sum(1 for t in tasks if t["Status"]["State"] == "running")
            if len(tasks) == size and up >= running:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"engine holds {len(tasks)} tasks ({up} running), wanted {size}")
            print(f"  engine: {len(tasks)} tasks, {up} running; waiting for {size}", file=sys.stderr)
            await asyncio.sleep(5)

    @staticmethod
    def run_services(running: int) -> list[str]:
        if running % RUN_SERVICES:
            raise ValueError(f"--running must be a multiple of {RUN_SERVICES}")
        return [f"{RUN}-{i}" for i in range(RUN_SERVICES)]

    def cpu(self) -> float:
        return _cpu_seconds(self.dockerd)

    async def record(self) -> None:
        parts = {p: json.loads(await self.get(f"/{p}")) for p in ("services", "tasks", "nodes", "info")}
        keep = {s["ID"] for s in parts["services"] if s["Spec"]["Name"].startswith(f"{RUN}-")}
        parts["services"] = [s for s in parts["services"] if s["ID"] in keep]
        parts["tasks"] = [t for t in parts["tasks"] if t.get("ServiceID") in keep]
        RECORDING.parent.mkdir(exist_ok=True)
        RECORDING.write_bytes(gzip.compress(json.dumps(parts, sort_keys=True).encode(), mtime=0))

    def remove(self, running: int) -> None:
        subprocess.run(
            ["docker", "service", "rm", *self.run_services(running), PENDING], capture_output=True, check=False
        )


async def _engine_size(engine: Engine, size: int, window: float, scrapes: int) -> dict[str, Any]:
    row: dict[str, Any] = {"tasks": size}
    for key, path in (("get_tasks", "/tasks"), ("get_services_status", "/services?status=true")):
        before, start = engine.cpu(), time.perf_counter()
        bodies = [await engine.get(path) for _ in range(5)]
        row[f"{key}_mb"] = round(len(bodies[0]) / 1e6, 3)
        row[f"{key}_s"] = round((time.perf_counter() - start) / 5, 3)
        row[f"{key}_dockerd_cpu_s"] = round((engine.cpu() - before) / 5, 3)

    print(f"  idle window {window:.0f} s", file=sys.stderr)
    before = engine.cpu()
    await asyncio.sleep(window)
    idle_rate = (engine.cpu() - before) / window
    row["dockerd_idle_pct"] = round(idle_rate * 100, 2)
    for design in DESIGNS:
        listed = _want_desired(f"{RUN}-0", 0)[: -len(b" 0\n")]  # the service is listed, whatever its value
        run = await _start(design, "unix:///var/run/docker.sock", listed, engine.http)
        try:
            print(f"  {design}: window {window:.0f} s, scraped every {SCRAPE_INTERVAL:.0f} s", file=sys.stderr)
            d0, e0, t0 = engine.cpu(), _cpu_seconds(run.proc.pid), time.perf_counter()
            while (elapsed := time.perf_counter() - t0) < window:
                await _scrape(engine.http, run.url)
                await asyncio.sleep(min(SCRAPE_INTERVAL, max(window - (time.perf_counter() - t0), 0)))
            elapsed = time.perf_counter() - t0
            dockerd = (engine.cpu() - d0) / elapsed - idle_rate
            own = (_cpu_seconds(run.proc.pid) - e0) / elapsed
            lat, page = await _latencies(engine.http, run.url, scrapes if design == "ours" else min(scrapes, 30))
            rss, peak = _memory_mb(run.proc.pid)
            fig = _scrape_figures(lat, page) | {
                "dockerd_cpu_pct": round(dockerd * 100, 2),
                "own_cpu_pct": round(own * 100, 2),
                "rss_mb": round(rss, 1),
                "peak_rss_mb": round(peak, 1),
            }
            if design == "ours":
                fig["change_to_metric_ms"] = await _engine_delays(engine, run)
            row[design] = fig
        finally:
            await _stop(run)
    return row


async def _engine_delays(engine: Engine, run: Running) -> list[float]:
    """`docker service update --replicas` returned -> the scrape that shows it (ms)."""
    tasks = json.loads(await engine.get("/tasks?filters=" + json.dumps({"service": [PENDING]})))
    base = len([t for t in tasks if t.get("DesiredState") == "running"])
    delays = []
    for i, replicas in enumerate([base + 1, base, base + 1, base, base + 1]):
        await asyncio.to_thread(_docker, "service", "update", "--detach", "--replicas", str(replicas), PENDING)
        start = time.perf_counter()
        want = _want_desired(PENDING, replicas)
        while want not in await _scrape(engine.http, run.url):
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"change {i} not seen in 60 s")
            await asyncio.sleep(0.01)
        delays.append(round((time.perf_counter() - start) * 1000, 1))
    await asyncio.to_thread(_docker, "service", "update", "--detach", "--replicas", str(base), PENDING)
    return delays


# --- replay ----------------------------------------------------------------------------------


def _tile(recording: dict[str, Any], size: int, nodes: int = 20) -> dict[str, Any]:
    """The recorded services and tasks copied with new IDs until `size` tasks, on `nodes`
    copies of the recorded node (the first one the leader and this instance's node)."""
    base_node = recording["nodes"][0]
    out_nodes = []
    for j in range(nodes):
        n = copy.deepcopy(base_node)
        n["ID"] = f"{base_node['ID'][:20]}{j:05d}"
        n["Description"]["Hostname"] = f"{base_node['Description']['Hostname']}-{j}"
        if "ManagerStatus" in n:
            n["ManagerStatus"]["Leader"] = j == 0
        out_nodes.append(n)
    services, tasks = [], []
    per_copy = len(recording["tasks"])
    for k in range(-(-size // per_copy)):
        for s in recording["services"]:
            s2 = copy.deepcopy(s)
            s2["ID"] = f"{s['ID'][:20]}{k:05d}"
            s2["Spec"]["Name"] = f"{s['Spec']['Name']}-{k}"
            services.append(s2)
        for t in recording["tasks"]:
            if len(tasks) == size:
                break
            t2 = copy.deepcopy(t)
            t2["ID"] = f"{t['ID'][:20]}{k:05d}"
            t2["ServiceID"] = f"{t['ServiceID'][:20]}{k:05d}"
            t2["NodeID"] = out_nodes[k % nodes]["ID"]
            tasks.append(t2)
    info = copy.deepcopy(recording["info"])
    info["Swarm"]["NodeID"] = out_nodes[0]["ID"]
    return {"services": services, "tasks": tasks, "nodes": out_nodes, "info": info}


async def _replay_size(size: int, scrapes: int, tmp: Path, http: aiohttp.ClientSession) -> dict[str, Any]:
    recording = json.loads(gzip.decompress(RECORDING.read_bytes()))
    tiled = _tile(recording, size)
    fake = FakeDocker(tmp / f"docker-{size}.sock")
    fake.info = tiled["info"]
    fake.nodes = {n["ID"]: n for n in tiled["nodes"]}
    fake.services = {s["ID"]: s for s in tiled["services"]}
    fake.tasks = {t["ID"]: t for t in tiled["tasks"]}
    first = tiled["services"][0]
    first_name = first["Spec"]["Name"]
    replicas = int(first["Spec"]["Mode"]["Replicated"]["Replicas"])
    await fake.start()
    row: dict[str, Any] = {"tasks": len(fake.tasks), "services": len(fake.services)}
    try:
        for design in DESIGNS:
            run = await _start(design, f"unix://{fake.path}", _want_desired(first_name, replicas), http)
            try:
                await asyncio.sleep(1.0)
                calls = sum(fake.requests.values())
                lat, page = await _latencies(http, run.url, scrapes if design == "ours" else min(scrapes, 50))
                per_scrape = (sum(fake.requests.values()) - calls) / len(lat)
                rss, peak = _memory_mb(run.proc.pid)
                delays = []
                for i in range(5):
                    replicas += 1
                    first["Spec"]["Mode"]["Replicated"]["Replicas"] = replicas
                    want = _want_desired(first_name, replicas)
                    start = time.perf_counter()
                    fake.emit("service", "update", first["ID"], name=first_name)
                    while want not in await _scrape(http, run.url):
                        if time.perf_counter() - start > 60:
                            raise RuntimeError(f"{design}: change {i} not seen in 60 s")
                        await asyncio.sleep(0.005)
                    delays.append(round((time.perf_counter() - start) * 1000, 1))
                row[design] = _scrape_figures(lat, page) | {
                    "docker_calls_per_scrape": round(per_scrape, 3),
                    "rss_mb": round(rss, 1),
                    "peak_rss_mb": round(peak, 1),
                    "change_to_metric_ms": delays,
                }
            finally:
                await _stop(run)
    finally:
        await fake.stop()
    return row


# --- peer, machine, report -------------------------------------------------------------------


def _peer() -> dict[str, str]:
    try:
        proc = subprocess.run(
            ["go", "list", "-m", "-versions", PEER_MODULE], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"module": PEER_MODULE, "status": "unavailable", "detail": str(exc)}
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        return {"module": PEER_MODULE, "status": "unavailable", "detail": " / ".join(lines[-2:])}
    return {"module": PEER_MODULE, "status": "served, not built by this script", "detail": proc.stdout.strip()}


def _machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    engine = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "docker": engine.stdout.strip() or "none",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# Exporter benchmark, {report['date']}",
        "",
        f"Machine: {m['cores']} x {m['cpu']}, {m['memory_gib']} GiB, Docker {m['docker']}, Python {m['python']}; "
        f"load average before {m['load_average_before']}. Command: `{report['command']}`.",
        "",
        f"Peer {report['peer']['module']}: {report['peer']['status']} ({report['peer']['detail']}).",
        "",
    ]
    if report["engine"]:
        lines += [
            "## Real engine",
            "",
            f"{report['running']} running busybox tasks, the rest pending (real store entries, no container). "
            f"Windows of {report['window_s']:.0f} s, each exporter scraped every {SCRAPE_INTERVAL:.0f} s; "
            "dockerd's share = its CPU over the window minus its idle CPU.",
            "",
            "| tasks | GET /tasks: size, time, dockerd CPU | GET /services?status=true: dockerd CPU | design | "
            "dockerd CPU | own CPU | scrape p50 | scrape p99 | RSS (peak) | change to metric, median (worst) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in report["engine"]:
            for d in DESIGNS:
                f = r[d]
                delay = f.get("change_to_metric_ms")
                lines.append(
                    f"| {r['tasks']:,} | {r['get_tasks_mb']} MB, {r['get_tasks_s']} s, "
                    f"{r['get_tasks_dockerd_cpu_s']} s | {r['get_services_status_dockerd_cpu_s']} s | "
                    f"{d} | {f['dockerd_cpu_pct']}% | {f['own_cpu_pct']}% | {f['scrape_p50_ms']} ms | "
                    f"{f['scrape_p99_ms']} ms | {f['rss_mb']} ({f['peak_rss_mb']}) MiB | "
                    + (f"{statistics.median(delay):.0f} ms ({max(delay):.0f})" if delay else "next scrape")
                    + " |"
                )
        lines.append("")
    lines += [
        "## Replay (recorded engine answers, tiled)",
        "",
        "| tasks | services | design | Docker calls per scrape | scrape p50 | scrape p99 | page | RSS (peak) | "
        "change to metric, median (worst) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["replay"]:
        for d in DESIGNS:
            f = r[d]
            delay = f["change_to_metric_ms"]
            lines.append(
                f"| {r['tasks']:,} | {r['services']:,} | {d} | {f['docker_calls_per_scrape']:g} | "
                f"{f['scrape_p50_ms']} ms | "
                f"{f['scrape_p99_ms']} ms | {f['page_mb']} MB | {f['rss_mb']} ({f['peak_rss_mb']}) MiB | "
                f"{statistics.median(delay):.0f} ms ({max(delay):.0f}) |"
            )
    return "\n".join(lines) + "\n"


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "command": "python -m bench.exporter_compare " + " ".join(sys.argv[1:]),
        "machine": _machine(),
        "peer": _peer(),
        "running": args.running,
        "window_s": args.window,
        "engine": [],
        "replay": [],
    }
    if not args.no_engine:
        image = busybox_image()
        connector = aiohttp.UnixConnector(path="/var/run/docker.sock")
        async with aiohttp.ClientSession(connector=connector) as docker, aiohttp.ClientSession() as http:
            engine = Engine(docker, http)
            try:
                for i, size in enumerate(args.sizes):
                    print(f"engine: {size} tasks", file=sys.stderr)
                    await engine.ensure(size, min(args.running, size), image)
                    if i == 0:
                        await engine.record()
                    report["engine"].append(await _engine_size(engine, size, args.window, args.scrapes))
            finally:
                if not args.keep:
                    engine.remove(args.running)
    async with aiohttp.ClientSession() as http:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                print(f"replay: {size} tasks", file=sys.stderr)
                report["replay"].append(await _replay_size(size, args.scrapes, Path(tmp), http))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--running", type=int, default=100, help="real running tasks (the rest pending)")
    parser.add_argument("--window", type=float, default=120.0, help="seconds per CPU window")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--no-engine", action="store_true", help="replay only (needs a recording)")
    parser.add_argument("--keep", action="store_true", help="leave the bench services for the next run")
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    report = asyncio.run(_main(args))
    text = _markdown(report)
    print(text)
    if args.out:
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
