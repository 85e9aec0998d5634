"""A local multi-node swarm of Docker-in-Docker nodes on the host engine, without a registry.

- `node_image()`: a Debian bookworm minbase rootfs (debootstrap) with docker.io, iptables and
  ca-certificates, imported as `swarm-slo-e2e/dind-node:<version>` and cached on the host
  engine; the version is a hand-bumped number plus a hash of the recipe, so a changed
  recipe builds a new image and an unchanged one is never rebuilt.
- `DindSwarm`: N node containers on the user-defined bridge network `slo-dind-net`, each
  running its own dockerd (started with the flags ENVIRONMENT.md lists: no --privileged,
  which fails here), joined as a swarm of managers; images are copied into every node with
  `docker save | docker exec -i node docker load`; a stack is deployed by copying its
  directory into the first node and running the node's own `docker stack deploy`.

Everything created on the host engine is named `slo-dind-*` (containers, their volumes,
the network) and removed by `DindSwarm.remove()`; nothing else on the host is touched.
The inner dockerd puts its containers' cgroups under the node container's own cgroup, so
removing a node removes them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.model import parse_time

__all__ = ["NETWORK", "PREFIX", "DindNode", "DindSwarm", "dind_swarm", "node_image"]

PREFIX = "slo-dind-"
NETWORK = f"{PREFIX}net"
IMAGE_REPO = "swarm-slo-e2e/dind-node"
IMAGE_VERSION = "1"  # bump by hand for changes the recipe hash does not see (e.g. a Debian point release)
PACKAGES = ("docker.io", "iptables", "ca-certificates", "fuse-overlayfs", "procps")
MIRROR = "http://deb.debian.org/debian"
_ELECTED = re.compile(r'time="([^"]+)"[^\n]*elected leader')

# The node container's entry point (under tini, which docker.io pulls in): remove what a
# killed dockerd left behind, then run dockerd with its containers' cgroups nested in the
# node's own cgroup (cgroup v1: the bind-mounted /sys/fs/cgroup is the host's hierarchy; a
# nested parent keeps inner containers out of the host's /docker tree and goes with the node).
# dockerd picks the storage driver: overlay2 where the volume's file system allows it (ext4
# here), fuse-overlayfs otherwise; DIND_STORAGE_DRIVER overrides.
ENTRYPOINT = r"""#!/bin/sh
set -e
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid /run/docker.pid
set -- --host unix:///var/run/docker.sock "$@"
parent="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)"
case "$parent" in
/?*) set -- --cgroup-parent "$parent/dind" "$@" ;;
esac
if [ -n "${DIND_STORAGE_DRIVER:-}" ]; then
	set -- --storage-driver "$DIND_STORAGE_DRIVER" "$@"
fi
exec dockerd "$@"
"""
ENTRYPOINT_PATH = "/usr/local/sbin/slo-dind-node"

# The flags that let dockerd run in a container on these machines (--privileged fails with
# "unable to apply caps").
NODE_FLAGS = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
)  # fmt: skip


def _run(*args: str, input: bytes | None = None, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(list(args), input=input, capture_output=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{shlex.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode(errors="replace").strip()


def host_docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    return _run("docker", *args, check=check, timeout=timeout)


def _recipe_hash() -> str:
    recipe = json.dumps([PACKAGES, ENTRYPOINT, NODE_FLAGS, "bookworm", "minbase"]).encode()
    return hashlib.sha256(recipe).hexdigest()[:10]


def node_image_name() -> str:
    return f"{IMAGE_REPO}:{IMAGE_VERSION}-{_recipe_hash()}"


def node_image() -> str:
    """The node image, built once per recipe (about 35 s: debootstrap, then 3 s to import)."""
    image = node_image_name()
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0:
        return image
    if shutil.which("debootstrap") is None:
        _run("apt-get", "install", "-y", "-q", "debootstrap", timeout=300)
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run(
            "nice", "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            "bookworm", str(rootfs), MIRROR, timeout=900,
        )  # fmt: skip
        for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"):
            for path in rootfs.glob(pattern):
                if path.is_file():
                    path.unlink()
        entry = rootfs / ENTRYPOINT_PATH.lstrip("/")
        entry.write_text(ENTRYPOINT)
        entry.chmod(0o755)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-c", f'ENTRYPOINT ["tini", "--", "{ENTRYPOINT_PATH}"]', "-", image],
            stdin=tar.stdout, capture_output=True, check=False,
        )  # fmt: skip
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise AssertionError(f"docker import of {image} failed: {imported.stderr.decode(errors='replace')}")
    return image


@dataclass
class DindNode:
    name: str
    ip: str = ""
    node_id: str = ""

    def docker(self, *args: str, check: bool = True, timeout: float = 120, input: bytes | None = None) -> str:
        """The node's own docker CLI against the node's own dockerd."""
        flags = ["-i"] if input is not None else []
        return _run("docker", "exec", *flags, self.name, "docker", *args, input=input, check=check, timeout=timeout)

    def docker_json(self, *args: str) -> Any:
        return json.loads(self.docker(*args))

    def running(self) -> bool:
        return host_docker("inspect", "-f", "{{.State.Running}}", self.name, check=False) == "true"


@dataclass
class DindSwarm:
    """N Docker-in-Docker nodes; `start()` starts them, `form_swarm()` joins them (all managers)."""

    size: int = 3
    nodes: list[DindNode] = field(default_factory=list)
    storage_driver: str = ""

    def __post_init__(self) -> None:
        self.nodes = [DindNode(f"{PREFIX}node{i}") for i in range(1, self.size + 1)]

    # --- life cycle ----------------------------------------------------------------------

    def start(self, image: str, timeout: float = 60) -> None:
        self.remove()  # what a killed earlier run left behind (only slo-dind-* objects)
        host_docker("network", "create", "--driver", "bridge", NETWORK)
        for node in self.nodes:
            host_docker(
                "run", "-d", "--name", node.name, "--hostname", node.name, "--network", NETWORK,
                *NODE_FLAGS, "-v", f"{node.name}:/var/lib/docker", image,
            )  # fmt: skip
        for node in self.nodes:
            node.ip = host_docker(
                "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}', node.name
            )
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while node.docker("version", "--format", "{{.Server.Version}}", check=False) == "":
                if time.monotonic() > deadline or not node.running():
                    raise AssertionError(f"dockerd in {node.name} did not start:\n{self.logs(node)}")
                time.sleep(0.3)
        self.storage_driver = self.nodes[0].docker("info", "--format", "{{.Driver}}")

    def form_swarm(self) -> None:
        first, *others = self.nodes
        first.docker("swarm", "init", "--advertise-addr", first.ip)
        token = first.docker("swarm", "join-token", "-q", "manager")
        for node in others:
            node.docker("swarm", "join", "--advertise-addr", node.ip, "--token", token, f"{first.ip}:2377")
        for node in self.nodes:
            node.node_id = node.docker("info", "--format", "{{.Swarm.NodeID}}")

    def load_image(self, image: str) -> None:
        """The host engine's image into every node (no registry): one save, N loads."""
        with tempfile.NamedTemporaryFile(prefix=PREFIX, suffix=".tar") as tar:
            host_docker("save", "-o", tar.name, image, timeout=300)
            for node in self.nodes:
                with open(tar.name, "rb") as f:
                    result = subprocess.run(
                        ["docker", "exec", "-i", node.name, "docker", "load", "-q"],
                        stdin=f, capture_output=True, check=False, timeout=300,
                    )  # fmt: skip
                if result.returncode != 0:
                    raise AssertionError(f"docker load into {node.name}: {result.stderr.decode(errors='replace')}")

    def deploy(
        self, stack_dir: Path, compose: str, name: str, env: dict[str, str], node: DindNode | None = None
    ) -> None:
        """`docker stack deploy` by a node's own CLI, from a copy of `stack_dir` in the node."""
        node = node or self.nodes[0]
        target = f"/tmp/{name}"
        host_docker("exec", node.name, "rm", "-rf", target)
        host_docker("cp", str(stack_dir), f"{node.name}:{target}")
        env_flags = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        _run(
            "docker", "exec", *env_flags, "-w", target, node.name,
            "docker", "stack", "deploy", "-c", compose, name,
        )  # fmt: skip

    def partition(self, node: DindNode, heal: bool = False) -> None:
        """Cuts `node` off from the other nodes (DROP rules in its own network namespace), or
        with `heal` removes the rules; the host still reaches every node."""
        op = "-D" if heal else "-I"
        for peer in self.nodes:
            if peer is not node:
                host_docker("exec", node.name, "iptables", op, "INPUT", "-s", peer.ip, "-j", "DROP")
                host_docker("exec", node.name, "iptables", op, "OUTPUT", "-d", peer.ip, "-j", "DROP")

    def leader(self, via: DindNode | None = None) -> DindNode:
        """The raft leader, as a running manager sees it."""
        asking = via or next(n for n in self.nodes if n.running())
        for line in asking.docker("node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}").splitlines():
            node_id, _, status = line.partition(" ")
            if status == "Leader":
                return next(n for n in self.nodes if n.node_id == node_id)
        raise AssertionError(f"no leader seen by {asking.name}")

    def elected_at(self, since: float) -> float | None:
        """When (Unix time) a running node's raft log first says a leader was elected after
        `since`: the engine's own failover time, to tell it apart from the exporter's."""
        times: list[float] = []
        for node in self.nodes:
            if not node.running():
                continue
            result = subprocess.run(
                ["docker", "logs", "--since", f"{since:.3f}", node.name], capture_output=True, text=True, check=False
            )
            for match in _ELECTED.finditer(result.stdout + result.stderr):
                at = parse_time(match.group(1))
                if at is not None and at >= since:
                    times.append(at)
        return min(times, default=None)

    def logs(self, node: DindNode, lines: int = 30) -> str:
        result = subprocess.run(
            ["docker", "logs", "--tail", str(lines), node.name], capture_output=True, text=True, check=False
        )
        return result.stdout + result.stderr

    def remove(self, timeout: float = 60) -> None:
        """Removes the nodes, their volumes and the network: only the slo-dind-* objects this
        class creates. Bounded; never raises (it runs in `finally`)."""
        names = [n.name for n in self.nodes]
        with contextlib.suppress(Exception):
            host_docker("rm", "-f", "-v", *names, check=False, timeout=timeout)
        for name in names:
            with contextlib.suppress(Exception):
                host_docker("volume", "rm", "-f", name, check=False, timeout=timeout)
        with contextlib.suppress(Exception):
            host_docker("network", "rm", NETWORK, check=False, timeout=timeout)


@contextlib.contextmanager
def dind_swarm(size: int = 3) -> Iterator[DindSwarm]:
    """A formed swarm of `size` DinD managers, removed at the end whatever happens."""
    swarm = DindSwarm(size)
    try:
        swarm.start(node_image())
        swarm.form_swarm()
        yield swarm
    finally:
        swarm.remove()
