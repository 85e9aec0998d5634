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
    assert result.rule_files == len(bundle.units) == 12
    assert result.test_files == sum(1 + len(u.tiers) for u in bundle.units)
