"""The real promtool proves the example shop's bundle, with Prometheus 3.x and 2.42."""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLES

from slo.bundle import build, write
from slo.check import check_bundle
from slo.compile.rules import CompileOptions


def test_examples_pass_promtool(promtool: Path, tmp_path: Path) -> None:
    bundle = build([str(EXAMPLES)], CompileOptions())
    write(bundle, str(tmp_path / "build"))
    result = check_bundle(str(tmp_path / "build"), str(promtool))
    assert result.failures == []
    assert len(bundle.by_service) == 3
    assert result.rule_files == 3 + 1  # a file per service, and the cluster-wide Swarm alerts
    assert len(bundle.units) == 12
    tiers = {(u.service.service, a.tier.id) for u in bundle.units for a in u.tiers}
    # A file per service and tier, a basic file and a Swarm alerts file per service, the cluster's.
    assert result.test_files == len(tiers) + 3 + 3 + 1
