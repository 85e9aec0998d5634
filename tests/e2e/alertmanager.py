"""A real Alertmanager pair clustered on loopback, a webhook receiver that records every
notification, and alerts posted the way Prometheus posts them (POST /api/v2/alerts to
every replica)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from e2e.prom_stack import free_port

__all__ = ["Notification", "Recorder", "Replica", "alert", "pair", "post", "recorder"]


@dataclass(frozen=True)
class Notification:
    receiver: str  # the URL path: one path per receiver
    at: float
    body: dict[str, Any]

    @property
    def firing(self) -> list[dict[str, str]]:
        return [a["labels"] for a in self.body["alerts"] if a["status"] == "firing"]


@dataclass
class Recorder:
    port: int
    notifications: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, receiver: str) -> str:
        return f"http://127.0.0.1:{self.port}/{receiver}"

    def snapshot(self) -> list[Notification]:
        with self.lock:
            return list(self.notifications)

    def deliveries(self, key: str = "case") -> dict[tuple[str, str], int]:
        """(receiver, alert's `key` label) -> firing notifications that carried it."""
        out: dict[tuple[str, str], int] = {}
        for n in self.snapshot():
            for labels in n.firing:
                k = (n.receiver, labels.get(key, ""))
                out[k] = out.get(k, 0) + 1
        return out


@contextlib.contextmanager
def recorder() -> Iterator[Recorder]:
    rec = Recorder(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with rec.lock:
                rec.notifications.append(Notification(self.path.strip("/"), time.monotonic(), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", rec.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Replica:
    name: str
    web: int
    cluster: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


@contextlib.contextmanager
def pair(binary: Path, config: Path, workdir: Path, peer_timeout: str = "2s") -> Iterator[list[Replica]]:
    """Two replicas clustered over loopback (distinct web, cluster and storage), both ready."""
    ports = [(free_port(), free_port()) for _ in range(2)]
    replicas: list[Replica] = []
    try:
        for i, (web, cluster) in enumerate(ports):
            other = ports[1 - i][1]
            storage = workdir / f"am{i}"
            storage.mkdir(parents=True, exist_ok=True)
            log = workdir / f"am{i}.log"
            cmd = [
                str(binary),
                f"--config.file={config}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{web}",
                f"--cluster.listen-address=127.0.0.1:{cluster}",
                f"--cluster.peer=127.0.0.1:{other}",
                f"--cluster.peer-timeout={peer_timeout}",
                "--cluster.settle-timeout=5s",
                "--log.level=info",
            ]
            with open(log, "wb") as fh:
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
            replicas.append(Replica(f"am{i}", web, cluster, proc, log))
        deadline = time.monotonic() + 60
        for r in replicas:
            while True:
                try:
                    status = _get(r.url + "/api/v2/status")
                    if status["cluster"]["status"] == "ready" and len(status["cluster"]["peers"]) == 2:
                        break
                except OSError:
                    pass
                if r.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{r.name} did not join the cluster:\n{r.log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield replicas
    finally:
        for r in replicas:
            if r.process.poll() is None:
                r.process.terminate()
                try:
                    r.process.wait(10)
                except subprocess.TimeoutExpired:
                    r.process.kill()
                    r.process.wait(10)


def alert(labels: dict[str, str], minutes: int = 10) -> dict[str, Any]:
    """An alert as Prometheus sends it: starts now, ends unless resent."""
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": {"summary": "e2e"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
        "generatorURL": "http://prometheus.e2e/graph",
    }


def post(replicas: list[Replica], alerts: list[dict[str, Any]]) -> int:
    """POST to every live replica, as Prometheus does; returns how many accepted."""
    accepted = 0
    data = json.dumps(alerts).encode()
    for r in replicas:
        if r.process.poll() is not None:
            continue
        req = urllib.request.Request(
            r.url + "/api/v2/alerts", data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                accepted += resp.status == 200
        except OSError:
            pass
    return accepted


def groups(replica: Replica) -> Any:
    return _get(replica.url + "/api/v2/alerts/groups")
