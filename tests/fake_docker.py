"""A fake Docker Engine API (v1.41) on a unix socket, for the exporter's unit tests.

It keeps services, tasks, nodes and containers as the engine's JSON, serves the GET endpoints
the exporter reads (with the filters it uses), streams /events to subscribers, and lets a test
cut the stream, take the daemon away and back, or answer garbage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["FakeDocker", "container", "node", "service", "task"]

TS = "2026-11-28T10:00:00.123456789Z"


def service(
    sid: str,
    name: str,
    replicas: int | None = 1,
    *,
    mode: str = "replicated",
    stack: str = "shop",
    update: str | None = None,
    started: str = TS,
    completed: str | None = None,
    constraints: tuple[str, ...] = (),
    limits: dict[str, int] | None = None,
    reservations: dict[str, int] | None = None,
    running: int = 0,
    desired: int = 0,
) -> dict[str, Any]:
    modes: dict[str, Any] = {"replicated": {"Replicated": {"Replicas": replicas}}, "global": {"Global": {}}}
    raw: dict[str, Any] = {
        "ID": sid,
        "Spec": {
            "Name": name,
            "Labels": {"com.docker.stack.namespace": stack} if stack else {},
            "Mode": modes[mode],
            "TaskTemplate": {
                "ContainerSpec": {"Image": "busybox:1@sha256:abc"},
                "Placement": {"Constraints": list(constraints)},
                "Resources": {"Limits": limits or {}, "Reservations": reservations or {}},
            },
        },
        "ServiceStatus": {"RunningTasks": running, "DesiredTasks": desired, "CompletedTasks": 0},
    }
    if update:
        raw["UpdateStatus"] = {"State": update, "StartedAt": started, "Message": ""}
        if completed:
            raw["UpdateStatus"]["CompletedAt"] = completed
    return raw


def task(
    tid: str,
    sid: str,
    slot: int | None,
    node_id: str = "n1",
    state: str = "running",
    desired: str = "running",
    *,
    exit_code: int | None = None,
    err: str = "",
    ts: str = TS,
) -> dict[str, Any]:
    status: dict[str, Any] = {"Timestamp": ts, "State": state, "Message": state}
    if err:
        status["Err"] = err
    if exit_code is not None:
        status["ContainerStatus"] = {"ContainerID": f"c-{tid}", "ExitCode": exit_code}
    raw: dict[str, Any] = {"ID": tid, "ServiceID": sid, "NodeID": node_id, "DesiredState": desired, "Status": status}
    if slot is not None:
        raw["Slot"] = slot
    return raw


def node(
    nid: str,
    hostname: str,
    *,
    state: str = "ready",
    availability: str = "active",
    role: str = "manager",
    leader: bool = False,
    reachability: str = "reachable",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "ID": nid,
        "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
        "Description": {
            "Hostname": hostname,
            "Platform": {"OS": "linux", "Architecture": "x86_64"},
            "Engine": {"EngineVersion": "20.10.24", "Labels": {}},
        },
        "Status": {"State": state},
    }
    if role == "manager":
        raw["ManagerStatus"] = {"Leader": leader, "Reachability": reachability, "Addr": "10.0.0.1:2377"}
    return raw


def container(
    cid: str, tid: str, service_name: str, slot: int, health: str | None, running: bool = True
) -> dict[str, Any]:
    labels = {
        "com.docker.swarm.task.id": tid,
        "com.docker.swarm.task.name": f"{service_name}.{slot}.{tid}",
        "com.docker.swarm.service.name": service_name,
        "com.docker.swarm.service.id": f"id-{service_name}",
        "com.docker.swarm.node.id": "n1",
        "com.docker.stack.namespace": "shop",
    }
    state: dict[str, Any] = {"Running": running, "Status": "running" if running else "exited"}
    if health:
        state["Health"] = {"Status": health}
    return {"Id": cid, "Config": {"Labels": labels}, "State": state}


class FakeDocker:
    def __init__(self, socket_path: Path) -> None:
        self.path = socket_path
        self.info: dict[str, Any] = {"Swarm": {"NodeID": "n1", "ControlAvailable": True, "LocalNodeState": "active"}}
        self.services: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {"n1": node("n1", "node-1", leader=True)}
        self.containers: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.queries: list[tuple[str, Any]] = []  # (path, filters) of every request
        self.garbage: dict[str, bytes] = {}  # path -> body served with status 200
        self.failing: dict[str, tuple[int, str]] = {}  # path -> (status, message), as the engine's errors
        self.hanging: set[str] = set()  # paths answered only after 60 s (an engine that hangs)
        self.hanging_filter: str | None = None  # ... or only the requests with this filter key
        self._subscribers: list[asyncio.Queue[bytes | None]] = []
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.path)).start()

    async def stop(self) -> None:
        """The daemon goes away: streams end, the socket disappears."""
        self.cut_stream()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    # --- what a test does ----------------------------------------------------------------

    def emit(self, etype: str, action: str, actor_id: str, **attributes: str) -> None:
        self.emit_raw(
            json.dumps({"Type": etype, "Action": action, "Actor": {"ID": actor_id, "Attributes": attributes}})
        )

    def emit_raw(self, line: str) -> None:
        for q in self._subscribers:
            q.put_nowait(line.encode() + b"\n")

    def cut_stream(self) -> None:
        for q in self._subscribers:
            q.put_nowait(None)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # --- the API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.methods[request.method] += 1
        path = request.path.removeprefix("/v1.41")
        self.requests[path] += 1
        if request.method != "GET":
            return web.json_response({"message": "read-only fake"}, status=403)
        if path in self.garbage:
            return web.Response(body=self.garbage[path], content_type="application/json")
        if path in self.hanging:
            await asyncio.sleep(60)
        if self.hanging_filter is not None and self.hanging_filter in json.loads(request.query.get("filters", "{}")):
            await asyncio.sleep(60)
        if path in self.failing:
            status, message = self.failing[path]
            return web.json_response({"message": message}, status=status)
        filters = json.loads(request.query.get("filters", "{}"))
        self.queries.append((path, filters))
        if path == "/events":
            return await self._events(request)
        if path == "/info":
            return web.json_response(self.info)
        if path == "/nodes":
            ids, roles = filters.get("id"), filters.get("role")
            return web.json_response(
                [
                    n
                    for n in self.nodes.values()
                    if (not ids or n["ID"] in ids) and (not roles or n["Spec"]["Role"] in roles)
                ]
            )
        if path == "/services":
            ids = filters.get("id")
            return web.json_response([s for s in self.services.values() if not ids or s["ID"] in ids])
        if path == "/tasks":
            wanted = filters.get("service")
            return web.json_response([t for t in self.tasks.values() if not wanted or t.get("ServiceID") in wanted])
        if path == "/containers/json":
            return web.json_response([_listed(c) for c in self.containers.values() if c["State"]["Running"]])
        if path.startswith("/containers/") and path.endswith("/json"):
            cid = path.split("/")[2]
            if cid in self.containers:
                return web.json_response(self.containers[cid])
            return web.json_response({"message": f"No such container: {cid}"}, status=404)
        return web.json_response({"message": "page not found"}, status=404)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        q: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._subscribers.append(q)
        try:
            while (line := await q.get()) is not None:
                await resp.write(line)
        except ConnectionResetError:  # the client went away (aiohttp's reset errors derive from it)
            pass
        finally:
            self._subscribers.remove(q)
        return resp


def _listed(c: dict[str, Any]) -> dict[str, Any]:
    health = c["State"].get("Health", {}).get("Status")
    suffix = {"healthy": " (healthy)", "unhealthy": " (unhealthy)", "starting": " (health: starting)"}.get(health, "")
    return {"Id": c["Id"], "Labels": c["Config"]["Labels"], "State": "running", "Status": "Up 2 minutes" + suffix}
