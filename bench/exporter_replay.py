"""Exporter at scale against the fake Docker API (tests/fake_docker.py): scrape latency
(p50, p99), resident memory, Docker calls per scrape, and the delay from a service event to
the metric, for swarms of 100, 1,000 and 10,000 running tasks (10 per service, 20 nodes,
plus one failed task per slot in history).

    .venv/bin/python -m bench.exporter_replay [--sizes 100 1000 10000] [--scrapes 200]

A first, partial benchmark: the fake answers instantly, so it measures the exporter alone
(not dockerd's CPU), and there is no side-by-side with other exporters yet.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.fake_docker import FakeDocker, node, service, task

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _populate(fake: FakeDocker, tasks: int) -> None:
    fake.nodes = {f"n{i}": node(f"n{i}", f"node-{i}", leader=i == 1) for i in range(1, 21)}
    for s in range(tasks // 10):
        fake.services[f"s{s}"] = service(f"s{s}", f"svc{s}", 10, running=10, desired=10)
        for slot in range(1, 11):
            nid = f"n{(s + slot) % 20 + 1}"
            fake.tasks[f"t{s}-{slot}"] = task(f"t{s}-{slot}", f"s{s}", slot, nid)
            fake.tasks[f"f{s}-{slot}"] = task(
                f"f{s}-{slot}", f"s{s}", slot, nid, state="failed", desired="shutdown", exit_code=1
            )


async def _one(size: int, scrapes: int, tmp: Path) -> dict[str, float]:
    fake = FakeDocker(tmp / f"docker-{size}.sock")
    _populate(fake, size)
    await fake.start()
    port = _free_port()
    env = os.environ | {"DOCKER_HOST": f"unix://{fake.path}", "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exporter.cli", "--listen", f"127.0.0.1:{port}", "--log-level", "warning",
        env=env, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 120
            while True:
                try:
                    async with http.get(url) as resp:
                        body = await resp.read()
                    if b"swarm_exporter_docker_connected 1" in body:
                        break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "exporter did not load"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            calls = sum(fake.requests.values())
            latencies = []
            for _ in range(scrapes):
                start = time.perf_counter()
                async with http.get(url) as resp:
                    body = await resp.read()
                latencies.append(time.perf_counter() - start)
            calls_during = sum(fake.requests.values()) - calls
            delays = []
            for i in range(5):
                fake.services["s0"] = service("s0", "svc0", 11 + i, running=10, desired=11 + i)
                want = f'swarm_service_replicas_desired{{service="svc0",stack="shop"}} {11 + i}\n'.encode()
                start = time.perf_counter()
                fake.emit("service", "update", "s0")
                while True:
                    async with http.get(url) as resp:
                        if want in await resp.read():
                            break
                    await asyncio.sleep(0.005)
                delays.append(time.perf_counter() - start)
            latencies.sort()
            return {
                "tasks": size,
                "page_mb": len(body) / 1e6,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
                "rss_mb": _rss_mb(proc.pid),
                "calls_per_scrape": calls_during / scrapes,
                "delay_ms": statistics.median(delays) * 1000,
            }
    finally:
        proc.terminate()
        await proc.wait()
        await fake.stop()


async def _main(sizes: list[int], scrapes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [await _one(size, scrapes, Path(tmp)) for size in sizes]
    print(
        "| running tasks (+ as many in history) | page | scrape p50 | scrape p99 | RSS "
        "| Docker calls per scrape | event to metric (median of 5) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['tasks']:,} | {r['page_mb']:.2f} MB | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
            f"{r['rss_mb']:.0f} MB | {r['calls_per_scrape']:g} | {r['delay_ms']:.0f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(_main(args.sizes, args.scrapes))


if __name__ == "__main__":
    main()
