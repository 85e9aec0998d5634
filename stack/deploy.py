"""Deploy a rendered stack on the local Docker engine's swarm and wait until it is healthy.

Everything goes through the docker CLI, as a user would type it: `docker stack deploy` does
the diffing (a service whose spec did not change keeps its tasks; a config whose content
changed has a new name, so only the services mounting it roll). What this module adds is what
`docker stack deploy` lacks: the external secrets the stack needs, a report of which services
changed, and a wait, with progress, until every service runs all its tasks (Swarm counts a task
with a health check as running only once it is healthy) and no update is in flight.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DeployError",
    "DeployResult",
    "ServiceState",
    "deploy",
    "down",
    "service_states",
]

STACK_LABEL = "com.docker.stack.namespace"
Progress = Callable[[str], None]


class DeployError(Exception):
    """The engine refused something, or the stack did not become healthy in time."""


@dataclass(frozen=True)
class ServiceState:
    name: str  # without the stack prefix
    running: int
    desired: int
    update: str  # UpdateStatus.State, "" when none
    error: str = ""  # the newest failed task's error, when not all are running

    @property
    def ready(self) -> bool:
        return self.running >= self.desired and self.update not in ("updating", "rollback_started")

    def describe(self) -> str:
        text = f"{self.name} {self.running}/{self.desired}"
        if self.update in ("updating", "rollback_started"):
            text += f" ({self.update})"
        if self.error and not self.ready:
            text += f" [{self.error}]"
        return text


@dataclass
class DeployResult:
    stack: str
    changed: list[str]  # services whose spec changed (created, updated or removed)
    services: list[ServiceState]
    seconds: float
    created_secrets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "changed": self.changed,
            "noop": not self.changed,
            "seconds": round(self.seconds, 1),
            "created_secrets": self.created_secrets,
            "services": [{"name": s.name, "running": s.running, "desired": s.desired} for s in self.services],
        }


def _docker(args: Sequence[str], *, stdin: str | None = None, cwd: Path | None = None, timeout: float = 120) -> str:
    try:
        proc = subprocess.run(
            ["docker", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise DeployError("the docker CLI is not installed") from None
    except subprocess.TimeoutExpired:
        raise DeployError(f"`docker {' '.join(args[:3])}` did not answer within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise DeployError(f"`docker {' '.join(args[:3])}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _service_ids(stack: str) -> list[str]:
    return _docker(["service", "ls", "-q", "--filter", f"label={STACK_LABEL}={stack}"]).split()


def _inspect(stack: str) -> list[dict[str, Any]]:
    ids = _service_ids(stack)
    if not ids:
        return []
    data: list[dict[str, Any]] = json.loads(_docker(["service", "inspect", *ids]))
    return data


def _specs(stack: str) -> dict[str, str]:
    """Each service's spec, canonical JSON: equal before and after means nothing changed."""
    return {s["Spec"]["Name"]: json.dumps(s["Spec"], sort_keys=True) for s in _inspect(stack)}


def _running_nodes() -> int:
    """Nodes a global service runs on: Ready and Active (placement constraints aside)."""
    nodes = json.loads(_docker(["node", "inspect", *_docker(["node", "ls", "-q"]).split()]))
    return sum(1 for n in nodes if n["Status"]["State"] == "ready" and n["Spec"].get("Availability") == "active")


def service_states(stack: str) -> list[ServiceState]:
    services = _inspect(stack)
    if not services:
        return []
    tasks: list[dict[str, Any]] = []
    ids = _docker(["service", "ps", "-q", "--no-trunc", *[s["ID"] for s in services]]).split()
    if ids:
        tasks = _inspect_tasks(sorted(set(ids)))
    global_nodes: int | None = None
    states = []
    prefix = f"{stack}_"
    for s in services:
        mine = [t for t in tasks if t["ServiceID"] == s["ID"]]
        running = sum(1 for t in mine if t["Status"]["State"] == "running" and t["DesiredState"] == "running")
        mode = s["Spec"]["Mode"]
        if "Replicated" in mode:
            desired = int(mode["Replicated"].get("Replicas", 1))
        else:
            # Global: one task per eligible node; placement constraints can narrow it, and
            # the scheduler says which by creating tasks: count the nodes that got one.
            global_nodes = global_nodes if global_nodes is not None else _running_nodes()
            wanted = {t["NodeID"] for t in mine if t["DesiredState"] == "running"}
            desired = len(wanted) if wanted else global_nodes
        failed = sorted(
            (t for t in mine if t["Status"].get("Err")),
            key=lambda t: str(t["Status"].get("Timestamp", "")),
        )
        error = failed[-1]["Status"]["Err"] if failed else ""
        update = (s.get("UpdateStatus") or {}).get("State", "")
        states.append(ServiceState(s["Spec"]["Name"].removeprefix(prefix), running, desired, update, error))
    return sorted(states, key=lambda st: st.name)


def _inspect_tasks(ids: list[str]) -> list[dict[str, Any]]:
    """Tasks come and go between listing and inspecting: a vanished one is skipped (docker
    inspect still prints the others, and exits 1)."""
    proc = subprocess.run(
        ["docker", "inspect", "--type", "task", *ids], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        found: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise DeployError(f"`docker inspect` of tasks failed: {proc.stderr.strip()}") from None
    return found


def _external_secrets(stack_file: Path) -> list[str]:
    doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    return sorted(
        str(spec.get("name", key))
        for key, spec in (doc.get("secrets") or {}).items()
        if isinstance(spec, dict) and spec.get("external")
    )


def _images(stack_file: Path) -> list[str]:
    doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    return sorted({str(svc["image"]) for svc in (doc.get("services") or {}).values() if "image" in svc})


def _ensure_secrets(
    stack_file: Path, secret_files: dict[str, Path], generated: frozenset[str], progress: Progress
) -> list[str]:
    """Create the external secrets that do not exist yet from the files the user gave; those in
    `generated` (Grafana's admin password) get a random value nobody has seen when no file is
    given. Any other missing secret stops the deploy before anything changes."""
    existing = set(_docker(["secret", "ls", "--format", "{{.Name}}"]).split())
    missing = [n for n in _external_secrets(stack_file) if n not in existing]
    unobtainable = [n for n in missing if n not in secret_files and n not in generated]
    if unobtainable:
        raise DeployError(
            "missing Docker secrets the on-call file reads: "
            + ", ".join(unobtainable)
            + "; create each with `docker secret create NAME -` (value on stdin), or deploy with --rehearse"
        )
    created = []
    for name in missing:
        source = secret_files.get(name)
        value = source.read_text(encoding="utf-8").strip() if source else secrets.token_urlsafe(24)
        _docker(["secret", "create", name, "-"], stdin=value)
        progress(f"created secret {name} " + (f"from {source}" if source else "with a random value"))
        created.append(name)
    return created


def deploy(
    stack_file: Path,
    stack: str,
    *,
    timeout: float = 600,
    poll: float = 2.0,
    secret_files: dict[str, Path] | None = None,
    generated_secrets: frozenset[str] = frozenset(),
    progress: Progress = lambda _: None,
) -> DeployResult:
    start = time.monotonic()
    missing = [i for i in _images(stack_file) if not _image_present(i)]
    for image in missing:
        progress(f"image {image} is not on this engine: Swarm will try to pull it")
    created = _ensure_secrets(stack_file, secret_files or {}, generated_secrets, progress)
    before = _specs(stack)
    # `never`: the local tag is the truth (stand-ins for official images carry their names,
    # and a registry lookup would only fail or pin a digest nobody asked for).
    resolve = "changed" if missing else "never"
    progress(f"docker stack deploy {stack} ({len(_images(stack_file))} images)")
    _docker(
        ["stack", "deploy", "--prune", "--resolve-image", resolve, "-c", stack_file.name, stack],
        cwd=stack_file.parent,
        timeout=300,
    )
    after = _specs(stack)
    prefix = f"{stack}_"
    changed = sorted(
        name.removeprefix(prefix) for name in set(before) | set(after) if before.get(name) != after.get(name)
    )
    progress("changed: " + (", ".join(changed) if changed else "nothing"))
    states = wait_ready(stack, timeout=timeout - (time.monotonic() - start), poll=poll, progress=progress)
    return DeployResult(stack, changed, states, time.monotonic() - start, created)


def _image_present(image: str) -> bool:
    try:
        _docker(["image", "inspect", "--format", "{{.Id}}", image])
    except DeployError:
        return False
    return True


def wait_ready(
    stack: str, *, timeout: float, poll: float = 2.0, progress: Progress = lambda _: None
) -> list[ServiceState]:
    """Until every service is ready in two polls in a row: Swarm starts an update a moment
    after `docker stack deploy` returns, so one ready look right after it may be the old tasks'."""
    deadline = time.monotonic() + max(timeout, 0)
    last = ""
    streak = 0
    while True:
        time.sleep(poll)
        states = service_states(stack)
        pending = [s for s in states if not s.ready]
        streak = streak + 1 if states and not pending else 0
        line = "ready: all services" if not pending else "waiting: " + ", ".join(s.describe() for s in pending)
        if line != last:
            progress(f"[{len(states) - len(pending)}/{len(states)}] {line}")
            last = line
        if streak >= 2:
            return states
        if time.monotonic() >= deadline:
            raise DeployError(
                f"stack {stack} not ready after {timeout:.0f} s: " + "; ".join(s.describe() for s in pending)
            )


def down(stack: str, *, timeout: float = 120, volumes: bool = False, progress: Progress = lambda _: None) -> int:
    """Remove the stack's services, networks, configs and (when asked) its volumes, and wait
    until they are gone. Returns how many services there were."""
    services = _service_ids(stack)
    _docker(["stack", "rm", stack])
    progress(f"removing stack {stack} ({len(services)} services)")
    deadline = time.monotonic() + timeout
    label = f"label={STACK_LABEL}={stack}"
    while _service_ids(stack) or _docker(["network", "ls", "-q", "--filter", label]).split():
        if time.monotonic() >= deadline:
            raise DeployError(f"stack {stack} still has services or networks after {timeout:.0f} s")
        time.sleep(1)
    if volumes:
        # A volume is in use until the task's container is gone, which trails the service.
        for vol in _docker(["volume", "ls", "-q", "--filter", label]).split():
            while True:
                try:
                    _docker(["volume", "rm", vol])
                    break
                except DeployError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(1)
            progress(f"removed volume {vol}")
    return len(services)
