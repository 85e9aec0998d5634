"""`slo check`, Alertmanager part: the amtool of the targeted version has the final word on
the generated configuration and on every routing case; a deploy-time preflight checks that
every secret file the configuration reads exists (amtool does not)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import naming
from .config import matcher

__all__ = ["AmtoolMissing", "AmtoolResult", "check_alertmanager", "find_amtool", "secret_files", "secrets_preflight"]

SECRETS_ROOT = "/run/secrets/"


class AmtoolMissing(Exception):
    pass


@dataclass
class AmtoolResult:
    amtool: str
    version: str
    target: str
    cases: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def cache_dir() -> str:
    return os.environ.get("SWARM_SLO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swarm-slo")


def amtool_version(amtool: str) -> str:
    out = subprocess.run([amtool, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"version (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def find_amtool(target: str, explicit: str | None = None) -> str:
    """The targeted version's amtool: --amtool, $AMTOOL, the tool cache, the venv, PATH."""
    cached = os.path.join(cache_dir(), f"alertmanager-{target}", "amtool")
    beside = os.path.join(os.path.dirname(sys.executable), "amtool")
    for candidate in (explicit, os.environ.get("AMTOOL"), cached, beside, shutil.which("amtool")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise AmtoolMissing(
        f"amtool {target} not found: run .ci/install-tools (it builds it into {os.path.dirname(cached)}), "
        "or pass --amtool / set AMTOOL"
    )


def _target(bundle_dir: str) -> str:
    with open(os.path.join(bundle_dir, naming.ROUTES_TEST_FILE), encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    return str(doc["alertmanager"])


def has_alertmanager(bundle_dir: str) -> bool:
    return os.path.isfile(os.path.join(bundle_dir, naming.CONFIG_FILE))


def target_version(bundle_dir: str) -> str:
    return _target(bundle_dir)


def check_alertmanager(bundle_dir: str, amtool: str, jobs: int | None = None) -> AmtoolResult:
    config = os.path.join(bundle_dir, naming.CONFIG_FILE)
    with open(os.path.join(bundle_dir, naming.ROUTES_TEST_FILE), encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    target = str(doc["alertmanager"])
    result = AmtoolResult(amtool, amtool_version(amtool), target)
    if result.version != target:
        result.failures.append(
            f"amtool {result.version} ({amtool}) is not the targeted Alertmanager {target}: "
            f"install it with .ci/install-tools or pass --amtool"
        )
        return result
    proc = subprocess.run([amtool, "check-config", config], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        result.failures.append(f"amtool check-config failed:\n{(proc.stdout + proc.stderr).strip()}")
        return result
    cases: list[dict[str, Any]] = doc.get("cases") or []
    result.cases = len(cases)

    def run(case: dict[str, Any]) -> str | None:
        expected = ",".join(case["receivers"])
        labels = [matcher(k, str(v)) for k, v in case["labels"].items()]
        cmd = [amtool, "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={expected}"]
        p = subprocess.run([*cmd, *labels], capture_output=True, text=True, check=False)
        if p.returncode == 0:
            return None
        got = p.stdout.strip().splitlines()[0] if p.stdout.strip() else p.stderr.strip()
        return f"routing test {case['name']!r}: expected receivers {expected}, got {got}"

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        result.failures.extend(f for f in pool.map(run, cases) if f)
    return result


def secret_files(config: Any) -> list[str]:
    """Every `*_file` path in an Alertmanager configuration."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.endswith("_file") and isinstance(v, str):
                    found.add(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return sorted(found)


def secrets_preflight(bundle_dir: str, secrets_dir: str) -> tuple[int, list[str]]:
    """Check, where the stack is deployed, that every secret file exists and is not empty.

    `/run/secrets/<name>` is looked up as `<secrets_dir>/<name>`; other paths as they are.
    Only sizes are read, never contents. Returns (files referenced, problems)."""
    with open(os.path.join(bundle_dir, naming.CONFIG_FILE), encoding="utf-8") as fh:
        paths = secret_files(yaml.safe_load(fh))
    problems = []
    for p in paths:
        local = os.path.join(secrets_dir, p[len(SECRETS_ROOT) :]) if p.startswith(SECRETS_ROOT) else p
        if not os.path.isfile(local):
            problems.append(f"secret file missing: {p} (looked for {local})")
        elif os.path.getsize(local) == 0:
            problems.append(f"secret file empty: {p} ({local})")
    return len(paths), problems
