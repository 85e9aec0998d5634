"""Golden bundles: the example shop and one SLO of every SLI kind and template.

Refresh after an intended change with `make golden` (pytest --update-golden), review the
diff, and commit it with the change. CI never refreshes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from slo.bundle import build
from slo.cli import json_schema
from slo.compile.rules import CompileOptions

GOLDEN = Path(__file__).parent / "golden"
CASES = {"shop": EXAMPLES} | {
    d.name: d / "input" for d in sorted((GOLDEN / "build").iterdir()) if (d / "input").is_dir()
}


def _compare(expected_dir: Path, files: dict[str, str], update: bool) -> None:
    if update:
        for old in expected_dir.rglob("*"):
            if old.is_file():
                old.unlink()
        for path, text in files.items():
            target = expected_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return
    on_disk = {
        str(p.relative_to(expected_dir)): p.read_text(encoding="utf-8") for p in expected_dir.rglob("*") if p.is_file()
    }
    assert sorted(on_disk) == sorted(files)
    for path, text in files.items():
        assert on_disk[path] == text, f"{path} differs from its golden file; run `make golden` if intended"


@pytest.mark.parametrize("case", sorted(CASES))
def test_bundle_matches_golden(case: str, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # source paths in headers are relative to the repository
    source = CASES[case].relative_to(ROOT)
    bundle = build([str(source)], CompileOptions())
    _compare(GOLDEN / "build" / case / "expected", bundle.files, update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_is_byte_identical(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    source = str(CASES[case].relative_to(ROOT))
    assert build([source], CompileOptions()).files == build([source], CompileOptions()).files


def test_schema_matches_published(update_golden: bool) -> None:
    published = ROOT / "docs" / "schema" / "slo-v1.json"
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if update_golden:
        published.parent.mkdir(parents=True, exist_ok=True)
        published.write_text(text)
    assert published.read_text() == text, "docs/schema/slo-v1.json is stale; run `make golden`"


def _shop_with_oncall() -> dict[str, str]:
    from alerts.bundle import build as build_with_oncall

    bundle = build_with_oncall([str(EXAMPLES.relative_to(ROOT))], "examples/oncall.yaml", CompileOptions())
    return dict(bundle.extra)


def test_alertmanager_files_match_golden(update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example shop's alertmanager.yml, routing tests, self-alert rules and runbook."""
    monkeypatch.chdir(ROOT)
    files = _shop_with_oncall()
    assert files == _shop_with_oncall()  # byte-identical rebuilds
    _compare(GOLDEN / "alerts" / "shop" / "expected", files, update_golden)


def test_oncall_schema_matches_published(update_golden: bool) -> None:
    from slo.cli import oncall_json_schema

    published = ROOT / "docs" / "schema" / "oncall-v1.json"
    text = json.dumps(oncall_json_schema(), indent=2, sort_keys=True) + "\n"
    if update_golden:
        published.write_text(text)
    assert published.read_text() == text, "docs/schema/oncall-v1.json is stale; run `make golden`"


def test_routing_docs_match_the_generator(update_golden: bool) -> None:
    """docs/alerts-routing.md embeds the example shop's route tree, the timing defaults and the
    inhibit rules, generated from the code."""
    from alerts.doc import fill, sections
    from alerts.load import load_oncall

    page = ROOT / "docs" / "alerts-routing.md"
    text = fill(page.read_text(), sections(load_oncall(str(ROOT / "examples" / "oncall.yaml")).spec))
    if update_golden:
        page.write_text(text)
    assert page.read_text() == text, "docs/alerts-routing.md is stale; run `make golden`"


def test_swarm_alert_docs_match_the_generator(update_golden: bool) -> None:
    """docs/alerts.md embeds the table and sections of the Swarm alerts, generated from alerts/swarm.py's RULES."""
    from alerts.doc import fill
    from alerts.swarm import alerts_doc

    page = ROOT / "docs" / "alerts.md"
    text = fill(page.read_text(), {"swarm-alerts": alerts_doc()})
    if update_golden:
        page.write_text(text)
    assert page.read_text() == text, "docs/alerts.md is stale; run `make golden`"
