"""The poll-per-scrape design, for the exporter benchmark's side-by-side: every scrape lists
services, tasks and nodes from Docker and renders from those answers, as the small Swarm
exporters people find do (no state kept between scrapes, no event stream).

    DOCKER_HOST=unix:///var/run/docker.sock python -m bench.poll_exporter --listen 127.0.0.1:9339

It renders the core families ours has (desired and running replicas, tasks by state, node
state) so both pages carry comparable content; it is a yardstick, not a product.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from exporter.docker import API_VERSION, parse_host


def _labels(service: dict[str, Any]) -> str:
    spec = service["Spec"]
    stack = spec.get("Labels", {}).get("com.docker.stack.namespace", "")
    return f'service="{spec["Name"]}",stack="{stack}"'


def _render(services: list[dict[str, Any]], tasks: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> str:
    names = {s["ID"]: _labels(s) for s in services}
    ready = {n["ID"] for n in nodes if n.get("Status", {}).get("State") == "ready"}
    running: Counter[str] = Counter()
    by_state: Counter[tuple[str, str]] = Counter()
    for t in tasks:
        name = names.get(t.get("ServiceID", ""))
        if name is None:
            continue
        state = t.get("Status", {}).get("State", "unknown")
        by_state[(name, state)] += 1
        if state == "running" and t.get("NodeID") in ready:
            running[name] += 1
    out = [
        "# HELP swarm_service_replicas_desired Desired replicas.",
        "# TYPE swarm_service_replicas_desired gauge",
    ]
    for s in services:
        replicated = s["Spec"].get("Mode", {}).get("Replicated")
        desired = replicated.get("Replicas", 0) if replicated else len(ready)
        out.append(f"swarm_service_replicas_desired{{{_labels(s)}}} {desired}")
    out += ["# HELP swarm_service_replicas_running Running replicas.", "# TYPE swarm_service_replicas_running gauge"]
    out += [f"swarm_service_replicas_running{{{n}}} {running[n]}" for n in sorted(set(names.values()))]
    out += ["# HELP swarm_service_tasks Tasks by state.", "# TYPE swarm_service_tasks gauge"]
    out += [f'swarm_service_tasks{{{n},state="{st}"}} {c}' for (n, st), c in sorted(by_state.items())]
    out += ["# HELP swarm_node_ready Node is ready.", "# TYPE swarm_node_ready gauge"]
    out += [f'swarm_node_ready{{node_id="{n["ID"]}"}} {int(n["ID"] in ready)}' for n in nodes]
    return "\n".join(out) + "\n"


async def _serve(listen: str) -> None:
    base, sock = parse_host(os.environ.get("DOCKER_HOST"))
    connector: aiohttp.BaseConnector = aiohttp.UnixConnector(path=sock) if sock else aiohttp.TCPConnector()
    docker = aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=120))

    async def get(path: str) -> Any:
        async with docker.get(f"/v{API_VERSION}{path}") as resp:
            resp.raise_for_status()
            return json.loads(await resp.read())

    async def metrics(_: web.Request) -> web.Response:
        services, tasks, nodes = await asyncio.gather(get("/services"), get("/tasks"), get("/nodes"))
        return web.Response(text=_render(services, tasks, nodes), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    host, port = listen.rsplit(":", 1)
    await web.TCPSite(runner, host, int(port)).start()
    try:
        await asyncio.Event().wait()
    finally:
        await docker.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:9339")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.listen))


if __name__ == "__main__":
    main()
