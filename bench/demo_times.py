"""The README's main job, timed: `make demo` in a fresh clone, cold then warm, and the idle
memory of the whole deployed stack (the monitoring stack and the demo shop).

    .venv/bin/python -m bench.demo_times [--cold] [--idle 180] [--out docs/reports/DATE-demo.json]

--cold runs the first `make demo` with empty caches, as on a fresh machine: the Go module and
build caches, Maven's repository, pip's cache and swarm-slo's build cache point into a new
temporary directory, and the stack's images (stand-ins, exporter, demo, their Debian bases)
are removed from the engine first. The Docker engine itself stays installed (it is not part
of `make demo`'s work on this machine). Without --cold only the warm run is timed.

Idle memory: after the warm run and `--idle` seconds without faults (the demo's load
generator keeps running: idle means no test traffic), three `docker stats` samples; the
per-container median, summed per stack. The stacks are removed at the end (`make down`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("monitoring", "shop")
UNITS = {
    "B": 1 / 2**20,
    "KiB": 1 / 1024,
    "MiB": 1.0,
    "GiB": 1024.0,
    "kB": 1e3 / 2**20,
    "MB": 1e6 / 2**20,
    "GB": 1e9 / 2**20,
}  # docker stats writes binary units, older engines decimal ones


def _mib(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip())
    if not m or m.group(2) not in UNITS:
        raise ValueError(f"docker stats memory {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def _stack_images() -> list[str]:
    """The images `make demo` builds or tags: the stack file's and the local bases."""
    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    from stack.render import Images

    official = set(vars(Images()).values())
    return [i for i in out if i in official or i.startswith(("swarm-slo/", "otel/", "jaegertracing/"))]


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    start = time.monotonic()
    with log.open("w") as f:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}); its output: {log}")
    return took


def _idle_memory(samples: int = 3) -> dict[str, dict[str, float]]:
    per: dict[str, list[float]] = {}
    for _ in range(samples):
        out = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            name, usage = line.split("\t")
            per.setdefault(name, []).append(_mib(usage.split("/")[0]))
        time.sleep(10)
    stacks: dict[str, dict[str, float]] = {s: {} for s in STACKS}
    for name, values in per.items():
        stack, _, rest = name.partition("_")
        if stack in stacks:
            service = rest.split(".")[0]
            stacks[stack][service] = round(stacks[stack].get(service, 0.0) + statistics.median(values), 1)
    return stacks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cold", action="store_true", help="empty caches and no stack images for the first run")
    ap.add_argument("--idle", type=int, default=180, help="seconds to wait before sampling memory")
    ap.add_argument("--out", type=Path, help="write the report (JSON) here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="slo-demo-times-"))
    clone = work / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    env.pop("VENV", None)
    report: dict[str, object] = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
        ).stdout.strip(),
        "cores": os.cpu_count(),
    }
    if args.cold:
        caches = work / "caches"
        env.update(
            SWARM_SLO_CACHE=str(caches / "swarm-slo"),
            GOMODCACHE=str(caches / "gomod"),
            GOCACHE=str(caches / "gobuild"),
            MAVEN_OPTS=f"-Dmaven.repo.local={caches / 'm2'}",
            PIP_NO_CACHE_DIR="1",
        )
        subprocess.run(["make", "down"], cwd=ROOT, capture_output=True)
        images = _stack_images()
        if images:
            subprocess.run(["docker", "rmi", "-f", *images], capture_output=True, check=True)
        report["removed_images"] = len(images)
        report["cold_s"] = round(_timed(["make", "demo"], clone, env, work / "cold.log"), 1)
        print(f"cold make demo: {report['cold_s']} s (log {work / 'cold.log'})", flush=True)
        subprocess.run(["make", "down"], cwd=clone, env=env, capture_output=True)
        time.sleep(20)  # the networks go after the tasks
    report["warm_s"] = round(_timed(["make", "demo"], clone, env, work / "warm.log"), 1)
    print(f"warm make demo: {report['warm_s']} s", flush=True)
    time.sleep(args.idle)
    memory = _idle_memory()
    report["idle_memory_mib"] = memory
    report["idle_memory_total_mib"] = {s: round(sum(v.values()), 1) for s, v in memory.items()}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    subprocess.run(["make", "down"], cwd=clone, env=env, capture_output=True)
    subprocess.run(["chmod", "-R", "u+w", str(work)], capture_output=True)  # Go's module cache is read-only
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
