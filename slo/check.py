"""`slo check`: the real promtool has the final word on the bundle."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["CheckResult", "check_bundle", "find_promtool", "promtool_version"]


@dataclass
class CheckResult:
    promtool: str
    version: str
    rule_files: int = 0
    test_files: int = 0
    dashboards: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class PromtoolMissing(Exception):
    pass


def find_promtool(explicit: str | None = None) -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "promtool")  # `make setup` links it into the venv
    if not os.path.exists(beside):
        beside = ""
    candidate = explicit or os.environ.get("PROMTOOL") or beside or shutil.which("promtool")
    if not candidate or not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise PromtoolMissing(
            "promtool not found: install Prometheus' promtool, put it on PATH, or pass --promtool / set PROMTOOL"
        )
    return candidate


def promtool_version(promtool: str) -> str:
    out = subprocess.run([promtool, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"version (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def _files(root: str, suffix: str) -> list[str]:
    found: list[str] = []
    for base, _, names in os.walk(root):
        found.extend(os.path.join(base, n) for n in names if n.endswith(suffix))
    return sorted(found)


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i::n] for i in range(n) if items[i::n]]


def check_bundle(bundle_dir: str, promtool: str, jobs: int | None = None) -> CheckResult:
    result = CheckResult(promtool, promtool_version(promtool))
    rules = _files(os.path.join(bundle_dir, "prometheus", "rules"), ".yml")
    tests = _files(os.path.join(bundle_dir, "prometheus", "tests"), ".test.yml")
    result.rule_files, result.test_files = len(rules), len(tests)
    if not rules:
        result.failures.append(f"{bundle_dir}: no rule files under prometheus/rules; run `slo build` first")
        return result
    jobs = jobs or os.cpu_count() or 1
    commands = [[promtool, "check", "rules", "--lint-fatal", *c] for c in _chunks(rules, jobs)]
    commands += [[promtool, "test", "rules", *c] for c in _chunks(tests, jobs)]

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for cmd, proc in zip(commands, pool.map(run, commands), strict=True):
            if proc.returncode != 0:
                what = " ".join(cmd[1:3])
                result.failures.append(f"promtool {what} failed:\n{(proc.stdout + proc.stderr).strip()}")
    if os.path.isdir(os.path.join(bundle_dir, "grafana", "dashboards")):
        from dashboards.check import check_dashboards

        result.dashboards, problems = check_dashboards(bundle_dir)
        result.failures += problems
    return result
