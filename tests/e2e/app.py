"""A synthetic prometheus-client service for the end-to-end tests.

It serves /metrics on a free loopback port and "serves" requests in-process: a background
thread adds `batch` requests every `tick` seconds to `http_requests_total{code}` and
`http_request_duration_seconds`, with the error ratio and latency the test sets. No real
HTTP load: the metrics are what Prometheus sees, and they are exact.

Each tick is applied under a lock that /metrics also takes, so a scrape always sees whole
ticks: with `batch=1000` and an error ratio of 0.001 every scrape interval holds exactly
one error per thousand requests.
"""

from __future__ import annotations

import math
import threading
import time
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["BUCKETS", "SyntheticApp"]

# Classic histogram buckets; 0.3 is the latency SLO's threshold (300ms).
BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5)


class SyntheticApp:
    def __init__(self, batch: int = 100, tick: float = 0.1) -> None:
        self.batch = batch
        self.tick = tick
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "Requests served, by status code.", ["code"], registry=self.registry)
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Request latency.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Both codes exist from the first scrape, like a service that has served both.
        self.requests.labels(code="200")
        self.requests.labels(code="500")
        self._lock = threading.Lock()
        self._error_ratio = Fraction(0)
        self._latency = 0.05
        self._error_debt = Fraction(0)
        self._served = 0
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="e2e-app-http", daemon=True),
            threading.Thread(target=self._traffic, name="e2e-app-traffic", daemon=True),
        ]

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.batch / self.tick

    @property
    def served(self) -> int:
        with self._lock:
            return self._served

    def set(self, *, error_ratio: Fraction | str | float | None = None, latency: float | None = None) -> None:
        """Change the traffic from the next tick on: error ratio in [0, 1], latency in seconds."""
        with self._lock:
            if error_ratio is not None:
                ratio = Fraction(error_ratio)
                if not 0 <= ratio <= 1:
                    raise ValueError(f"error ratio {ratio} outside [0, 1]")
                self._error_ratio = ratio
                self._error_debt = Fraction(0)
            if latency is not None:
                self._latency = latency

    def start(self) -> SyntheticApp:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> SyntheticApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve_tick(self) -> None:
        with self._lock:
            self._error_debt += self._error_ratio * self.batch
            errors = min(self.batch, math.floor(self._error_debt))
            self._error_debt -= errors
            if errors:
                self.requests.labels(code="500").inc(errors)
            if self.batch - errors:
                self.requests.labels(code="200").inc(self.batch - errors)
            for _ in range(self.batch):
                self.duration.observe(self._latency)
            self._served += self.batch

    def _traffic(self) -> None:
        # Ticks are due on a fixed schedule; a late thread catches up, so the average rate
        # is exact even on a busy machine.
        start = time.monotonic()
        done = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - start) / self.tick)
            while done < due:
                self._serve_tick()
                done += 1
            self._stop.wait(max(0.0, start + (done + 1) * self.tick - time.monotonic()))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                with app._lock:
                    body = generate_latest(app.registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
