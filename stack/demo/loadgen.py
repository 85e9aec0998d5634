"""`python -m stack.demo.loadgen --url http://web:8080/ --rate 10 --duration 600`: GET the URL
at a fixed rate (open loop: a slow server does not slow the sender) for a bounded time and
count, then print one JSON line: sent, ok (2xx/3xx), errors (other statuses, timeouts, refused
connections), skipped (not sent: too many in flight), p50_ms and p99_ms of answered requests.
SIGTERM or SIGINT stops it early, with the summary. `--report-every` adds interim lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = ["Load", "Tally", "main", "percentile", "run"]


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (0 < p <= 100) of sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    skipped: int = 0
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))

    def summary(self, elapsed_s: float, final: bool = True) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "skipped": self.skipped,
            "p50_ms": None if p50 is None else round(p50, 1),
            "p99_ms": None if p99 is None else round(p99, 1),
            "elapsed_s": round(elapsed_s, 1),
            "final": final,
        }


@dataclass(frozen=True)
class Load:
    url: str
    rate: float  # requests per second
    duration_s: float
    max_requests: int | None = None
    concurrency: int = 100  # in flight at most; more are skipped, not queued
    timeout_s: float = 10.0
    report_every_s: float = 0.0

    @property
    def total(self) -> int:
        planned = math.floor(self.rate * self.duration_s)
        return planned if self.max_requests is None else min(planned, self.max_requests)


async def _one(session: aiohttp.ClientSession, url: str, tally: Tally) -> None:
    start = time.perf_counter()
    try:
        async with session.get(url) as resp:
            await resp.read()
            ok = resp.status < 400
    except (aiohttp.ClientError, TimeoutError):
        tally.errors += 1
        return
    tally.latencies_ms.append((time.perf_counter() - start) * 1000)
    if ok:
        tally.ok += 1
    else:
        tally.errors += 1


async def run(load: Load, stop: asyncio.Event | None = None, out: Any = None) -> dict[str, Any]:
    """Send the load; returns the final summary (also printed to `out` when given)."""
    stop = stop or asyncio.Event()
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_report = start + load.report_every_s if load.report_every_s > 0 else math.inf
    in_flight: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=load.timeout_s)
    connector = aiohttp.TCPConnector(limit=load.concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        for i in range(load.total):
            due = start + i / load.rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, due - loop.time()))
            if stop.is_set():
                break
            if loop.time() >= next_report and out is not None:
                print(json.dumps(tally.summary(loop.time() - start, final=False)), file=out, flush=True)
                next_report += load.report_every_s
            if len(in_flight) >= load.concurrency:
                tally.skipped += 1
                continue
            tally.sent += 1
            task = asyncio.create_task(_one(session, load.url, tally))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=load.timeout_s + 1)
    summary = tally.summary(loop.time() - start)
    if out is not None:
        print(json.dumps(summary), file=out, flush=True)
    return summary


def _positive(kind: type[float] | type[int]) -> Any:
    def parse(value: str) -> float | int:
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
        return number

    return parse


def parse_args(argv: Sequence[str] | None) -> Load:
    p = argparse.ArgumentParser(prog="python -m stack.demo.loadgen", description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--rate", type=_positive(float), default=10.0, help="requests per second (default 10)")
    p.add_argument("--duration", type=_positive(float), default=60.0, metavar="SECONDS", help="default 60")
    p.add_argument(
        "--max-requests", type=_positive(int), default=None, help="at most this many (default: rate x duration)"
    )
    p.add_argument("--concurrency", type=_positive(int), default=100, help="most requests in flight (default 100)")
    p.add_argument("--timeout", type=_positive(float), default=10.0, metavar="SECONDS", help="per request (default 10)")
    p.add_argument("--report-every", type=float, default=0.0, metavar="SECONDS", help="interim summaries (default off)")
    a = p.parse_args(argv)
    return Load(a.url, a.rate, a.duration, a.max_requests, a.concurrency, a.timeout, a.report_every)  # fmt: skip


async def _main(load: Load) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(load, stop, sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(_main(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
