"""A generated corpus of 1,000 SLOs covering every SLI kind and template passes promtool
(check rules and every generated unit test), with Prometheus 3.x and with 2.42."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bench.corpus import write as write_corpus
from slo.bundle import build, write
from slo.check import check_bundle
from slo.compile.rules import CompileOptions
from slo.sli import SLI

CORPUS_SLOS = 1000


@pytest.fixture(scope="module")
def corpus_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(CORPUS_SLOS, root / "slos")
    bundle = build([str(root / "slos")], CompileOptions())
    write(bundle, str(root / "build"))
    assert bundle.warnings == []
    kinds = {u.slo.sli.kind for u in bundle.units}
    every_kind = {m.tag() for m in typing.get_args(SLI)}
    assert kinds == every_kind
    assert {u.slo.budgeting for u in bundle.units} == {"occurrences", "timeslices"}
    assert {u.period for u in bundle.units} == {"30d", "28d", "7d"}
    return root / "build", len(bundle.units)


@pytest.mark.slow
def test_corpus_passes_promtool(corpus_bundle: tuple[Path, int], promtool: Path) -> None:
    bundle_dir, units = corpus_bundle
    result = check_bundle(str(bundle_dir), str(promtool))
    assert result.failures == []
    assert units >= CORPUS_SLOS
    assert result.rule_files == CORPUS_SLOS // 5 + 1  # five SLOs per generated service; the Swarm cluster rules
