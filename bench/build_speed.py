"""Build speed against Sloth: `slo build` and `sloth generate` on the same SLOs.

    python -m bench.build_speed                       # sizes 1, 100, 1000, 10000
    python -m bench.build_speed --sizes 1000 --reps 3 --json /tmp/bs.json

For each size, bench/corpus.py writes the corpus in our format and the same SLOs in
Sloth's prometheus/v1 format (every objective of ours is one Sloth SLO; see
corpus.sloth_service_docs). Then, interleaved, repeated, each a fresh subprocess:

- ours: `slo build <dir> --out <new dir>`, the whole bundle (rules, promtool tests,
  runbooks, manifest);
- sloth: `sloth generate -i <dir> -o <new dir>`, once per period (30d, 28d, 7d), since
  Sloth's period is per run, not per SLO: the times add up, the peak RSS is the largest;
- sloth-1run: one `sloth generate` over every file at Sloth's default 30d: the same
  rules save for period windows, without the cost of three process starts.

Wall time and peak RSS (ru_maxrss of the child and the descendants it waited for, from
wait4) are reported as medians. Needs Sloth: bench/install-sloth.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import corpus

SLOTH_VERSION = os.environ.get("SLOTH_VERSION", "0.16.0")
CACHE = Path(os.environ.get("SWARM_SLO_CACHE", Path.home() / ".cache" / "swarm-slo"))
SIZES = (1, 100, 1000, 10000)
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    wall_s: float
    max_rss_kb: int
    cpu_s: float = 0.0  # user + system, of the child and its waited-for children


@dataclass
class Result:
    size: int
    slo_objectives: int
    runs: dict[str, list[Run]] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    files_out: dict[str, int] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""

    def median(self, tool: str) -> tuple[float, int, float]:
        rs = self.runs[tool]
        return (
            statistics.median(r.wall_s for r in rs),
            int(statistics.median(r.max_rss_kb for r in rs)),
            statistics.median(r.cpu_s for r in rs),
        )


def sloth_binary() -> Path:
    path = CACHE / f"sloth-{SLOTH_VERSION}" / "sloth"
    if not path.is_file():
        sys.exit(f"Sloth {SLOTH_VERSION} is not installed at {path}: run bench/install-sloth (needs Go)")
    return path


def slo_binary(root: Path, install: str) -> Path:
    """`slo` as users get it from `pip install` (a wheel in a venv of its own, with the
    development venv's versions), or the development venv's editable install, whose import
    hook costs every start a few milliseconds more (docs/bench.md)."""
    dev = Path(sys.executable).parent / "slo"
    if not dev.is_file():
        sys.exit(f"`slo` not found beside {sys.executable}: run with the project's venv python")
    if install == "editable":
        return dev
    venv = root / "wheel-venv"
    print(f"installing swarm-slo from {REPO} into {venv} (pip install, not editable)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
    ).stdout
    constraints = root / "constraints.txt"
    constraints.write_text(freeze, encoding="utf-8")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-c", str(constraints), str(REPO)], check=True)
    return venv / "bin" / "slo"


def child_env(root: Path) -> dict[str, str]:
    """An installed package has its bytecode compiled; an editable one under
    PYTHONDONTWRITEBYTECODE would compile every module at every start (about 50 ms CPU).
    Bytecode goes to a cache in the scratch directory, filled by the warm-up run."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


_ENV: dict[str, str] | None = None


def measure(cmd: list[str], log: Path) -> Run:
    """Run one child; wall time and the peak RSS wait4 reports for it (and its waited-for children)."""
    with open(log, "ab") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with {proc.returncode}; see {log}")
    return Run(wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def prepare(size: int, root: Path) -> tuple[Path, Path, Path, int]:
    ours = root / "ours"
    corpus.write(size, ours)
    sloth = root / "sloth"
    objectives = 0
    for rel, text in corpus.generate_sloth(size).items():
        p = sloth / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        objectives += text.count("\n- name: ")
    # The same files in one directory, for the single-run variant.
    flat = root / "sloth-flat"
    for p in sloth.glob("*/*.yaml"):
        dest = flat / f"{p.parent.name}-{p.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    windows = root / "sloth-windows"
    windows.mkdir(exist_ok=True)
    (windows / "7d.yaml").write_text(corpus.SLOTH_7D_WINDOWS, encoding="utf-8")
    return ours, sloth, flat, objectives


def run_ours(slo: Path, src: Path, out: Path, log: Path) -> Run:
    # Sloth writes rules only: compare without our dashboards (docs/bench.md).
    return measure([str(slo), "build", str(src), "--out", str(out), "--no-dashboards"], log)


def run_sloth(sloth: Path, src: Path, out: Path, windows: Path, log: Path) -> Run:
    """One run per period directory: times add up, the peak RSS is the largest."""
    wall, rss, cpu = 0.0, 0, 0.0
    for period_dir in sorted(p for p in src.iterdir() if p.is_dir()):
        period = period_dir.name
        dest = out / period
        dest.mkdir(parents=True)
        cmd = [str(sloth), "generate", "-i", str(period_dir), "-o", str(dest), "--default-slo-period", period]
        if period not in ("30d", "28d"):  # Sloth's built-in catalog
            cmd += ["--slo-period-windows-path", str(windows)]
        r = measure(cmd, log)
        wall += r.wall_s
        cpu += r.cpu_s
        rss = max(rss, r.max_rss_kb)
    return Run(wall, rss, cpu)


def run_sloth_single(sloth: Path, src: Path, out: Path, log: Path) -> Run:
    out.mkdir(parents=True)
    return measure([str(sloth), "generate", "-i", str(src), "-o", str(out)], log)


def count_rules(out: Path) -> tuple[int, int]:
    """Rules (records + alerts) in the rule files under out, and how many files there are."""
    rules = files = 0
    for p in out.rglob("*.y*ml"):
        if ".test." in p.name:
            continue
        files += 1
        text = p.read_text(encoding="utf-8")
        rules += text.count("- record: ") + text.count("- alert: ")
    return rules, files


def bench_size(size: int, reps: int, root: Path, slo: Path, sloth: Path, warmup: bool) -> Result:
    work = root / f"n{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ours_src, sloth_src, flat_src, objectives = prepare(size, work)
    windows = work / "sloth-windows"
    log = work / "stderr.log"
    result = Result(size, objectives, {"ours": [], "sloth": [], "sloth-1run": []}, load_before=load())
    tools: dict[str, Callable[[Path], Run]] = {
        "ours": lambda out: run_ours(slo, ours_src, out, log),
        "sloth": lambda out: run_sloth(sloth, sloth_src, out, windows, log),
        "sloth-1run": lambda out: run_sloth_single(sloth, flat_src, out, log),
    }
    for rep in range(-1 if warmup else 0, reps):
        for name, fn in tools.items():
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            r = fn(out)
            if rep >= 0:
                result.runs[name].append(r)
                print(
                    f"  n={size} rep={rep} {name}: {r.wall_s:.3f} s wall, {r.cpu_s:.3f} s cpu, "
                    f"{r.max_rss_kb / 1024:.0f} MiB",
                    flush=True,
                )
            if rep == reps - 1:
                if name == "ours":
                    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
                    result.rules[name] = manifest["rules"]
                    result.files_out[name] = len(manifest["files"]) + 1
                else:
                    result.rules[name], result.files_out[name] = count_rules(out)
    result.load_after = load()
    shutil.rmtree(work, ignore_errors=True)
    return result


def table(results: list[Result]) -> str:
    lines = [
        "| SLOs (objectives) | tool | wall | CPU | peak RSS | rules | files | wall vs ours | load before / after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"ours": "swarm-slo", "sloth": "Sloth (1 run per period)", "sloth-1run": "Sloth (1 run, all 30d)"}
    for r in results:
        ours_wall = r.median("ours")[0]
        for tool, label in names.items():
            wall, rss, cpu = r.median(tool)
            lines.append(
                f"| {r.size:,} ({r.slo_objectives:,}) | {label} | {wall:.2f} s | {cpu:.2f} s | {rss / 1024:.0f} MiB "
                f"| {r.rules.get(tool, 0):,} | {r.files_out.get(tool, 0):,} | {wall / ours_wall:.2f}x "
                f"| {r.load_before} / {r.load_after} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.build_speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated SLO counts")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per size (default: 5, 3 from 10,000)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed first run of each tool")
    ap.add_argument(
        "--workdir",
        help="scratch directory (default: a new one under the cache directory; not /tmp, where creating a "
        "file costs these VMs about 4 times what it costs anywhere else on the same disk: docs/bench.md)",
    )
    ap.add_argument("--json", help="also write the raw runs here")
    ap.add_argument(
        "--install",
        choices=("wheel", "editable"),
        default="wheel",
        help="time a `pip install` of this checkout (default) or the development venv's editable install",
    )
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.workdir:
        CACHE.mkdir(parents=True, exist_ok=True)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench-build-speed-", dir=CACHE))
    slo, sloth = slo_binary(root, args.install), sloth_binary()
    global _ENV
    _ENV = child_env(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; load {load()}")
    results = []
    for size in sizes:
        reps = args.reps or (3 if size >= 10000 else 5)
        results.append(bench_size(size, reps, root, slo, sloth, not args.no_warmup))
    print(table(results))
    if args.json:
        payload = {
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
            "sloth_version": SLOTH_VERSION,
            "install": args.install,
            "results": [asdict(r) for r in results],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
