"""`swarm-exporter`: serve Swarm state as Prometheus metrics."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from .app import Config, create_app
from .families import metrics_doc
from .logs import setup_logging
from .sync import SyncConfig

__all__ = ["main"]

log = logging.getLogger("swarm_exporter")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="swarm-exporter",
        description="Docker Swarm state as Prometheus metrics. The Docker endpoint comes from DOCKER_HOST "
        "(unix:///var/run/docker.sock by default, or tcp://host:port, e.g. a read-only socket proxy).",
    )
    p.add_argument(
        "--listen",
        type=_listen,
        default=("0.0.0.0", 9338),
        metavar="HOST:PORT",
        help="address of /metrics (default 0.0.0.0:9338)",
    )
    p.add_argument(
        "--resync-interval",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="full reload from the Docker API (default 300)",
    )
    p.add_argument(
        "--tasks-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="full task re-list, for tasks on other nodes (default 30)",
    )
    p.add_argument(
        "--status-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="cluster reporter: read the services' task counts and re-list the tasks of those that moved "
        "(default 5; 0 turns it off; each read costs the manager's dockerd 50-85 ms of CPU at 10,000 tasks)",
    )
    p.add_argument(
        "--leader-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="managers: how often to ask the engine whether this node is the leader (default 5)",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="on SIGTERM, wait this long for open requests (keep under the stop grace period)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--print-metrics-doc",
        action="store_true",
        help="print the metrics docs page (docs/exporter-metrics.md) and exit",
    )
    return p.parse_args(argv)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.print_metrics_doc:
        sys.stdout.write(metrics_doc())
        return 0
    setup_logging(args.log_level)
    config = Config(
        sync=SyncConfig(
            resync_s=args.resync_interval,
            tasks_s=args.tasks_interval,
            status_s=args.status_interval,
            leader_s=args.leader_interval,
        )
    )
    host, port = args.listen
    log.info("listening", extra={"address": f"{host}:{port}", "docker_host": config.docker_host or "default"})
    # run_app turns SIGTERM and SIGINT into a graceful exit: stop accepting, finish requests,
    # cancel the sync loop, close the Docker session.
    web.run_app(
        create_app(config), host=host, port=port, shutdown_timeout=args.shutdown_timeout, print=None,
        access_log=None,
    )  # fmt: skip
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
