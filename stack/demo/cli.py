"""`python -m stack.demo`: run one role of the demo shop."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from .app import ROLES, Config, create_app
from .faults import FaultInjector
from .telemetry import Telemetry, env_span_exporter, setup_logging

__all__ = ["main"]

log = logging.getLogger("stack.demo")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m stack.demo",
        description="One role of the demo shop (web -> api -> worker). Traces go over OTLP/HTTP to "
        "OTEL_EXPORTER_OTLP_ENDPOINT when it is set; the service name is OTEL_SERVICE_NAME or the role.",
    )
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument(
        "--listen",
        type=_listen,
        default=("0.0.0.0", 8080),
        metavar="HOST:PORT",
        help="address of the role's HTTP server (default 0.0.0.0:8080)",
    )
    p.add_argument(
        "--api-url",
        default=os.environ.get("API_URL", "http://api:8080"),
        help="the api, for web (default $API_URL or http://api:8080)",
    )
    p.add_argument(
        "--worker-url",
        default=os.environ.get("WORKER_URL", "http://worker:8080"),
        help="the worker, for api (default $WORKER_URL or http://worker:8080)",
    )
    p.add_argument(
        "--upstream-timeout",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="time given to the next role before degrading the answer (default 0.25)",
    )
    p.add_argument("--workers", type=int, default=2, help="worker: concurrent job consumers (default 2)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    service = os.environ.get("OTEL_SERVICE_NAME") or args.role
    setup_logging(args.log_level, service)
    config = Config(
        role=args.role,
        api_url=args.api_url,
        worker_url=args.worker_url,
        upstream_timeout_s=args.upstream_timeout,
        workers=args.workers,
    )
    exporter = env_span_exporter()
    telemetry = Telemetry(service, exporter)
    host, port = args.listen
    log.info("listening", extra={"role": args.role, "address": f"{host}:{port}", "traces": exporter is not None})
    # SIGTERM: stop accepting, finish open requests, flush spans (the app's cleanup).
    app = create_app(config, telemetry, FaultInjector())
    web.run_app(app, host=host, port=port, shutdown_timeout=3.0, print=None, access_log=None)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
