"""The `slo` command: exit codes, stale-bundle check, JSON output, explain, schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES

from slo.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "slos")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_defaults_and_summary(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "wrote build/: 3 services, 12 SLOs, 37 files"
    assert out[1:] == [
        "  build/grafana/  8 file(s)",
        "  build/manifest.json  1 file(s)",
        "  build/prometheus/rules/  4 file(s)",  # a file per service, swarm.yml
        "  build/prometheus/tests/  19 file(s)",  # per service: basic, 4 tiers, swarm; swarm.test.yml
        "  build/runbooks/  5 file(s)",  # a page per service, README.md, swarm.md
    ]
    manifest = json.loads((project / "build" / "manifest.json").read_text())
    assert manifest["slos"] == 12
    assert len(manifest["files"]) == 36  # every file but the manifest itself


def test_build_without_swarm_alerts(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--no-swarm-alerts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "wrote build/: 3 services, 12 SLOs, 31 files"
    assert "  build/prometheus/rules/  3 file(s)" in out
    assert "name: swarm:" not in (project / "build" / "prometheus" / "rules" / "shop" / "api.yml").read_text()
    assert not (project / "build" / "runbooks" / "swarm.md").exists()
    assert main(["build", "--check"]) == 1  # the default bundle has them


def test_swarm_exporter_job(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--swarm-exporter-job", "swarm_exporter"]) == 0
    rules = (project / "build" / "prometheus" / "rules" / "swarm.yml").read_text()
    assert 'up{job="swarm_exporter"}' in rules and 'swarm-exporter"' not in rules
    assert main(["build", "--swarm-exporter-job", " "]) == 2


def test_check_flag_detects_stale_bundle(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 0
    assert main(["build", "--check"]) == 0
    assert capsys.readouterr().out.endswith("build is up to date (37 files)\n")
    api = project / "slos" / "api.yaml"
    api.write_text(api.read_text().replace("objectives: [99.9]", "objectives: [99.95]"))
    (project / "build" / "extra.txt").write_text("left over")
    assert main(["build", "--check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "build is stale: 11 file(s) differ; run `slo build` and commit:"
    assert "  extra.txt" in err
    assert "  prometheus/rules/shop/api.yml" in err
    assert (
        "0.0005" not in (project / "build" / "prometheus" / "rules" / "shop" / "api.yml").read_text()
    )  # wrote nothing


def test_check_flag_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--check", "--output", "json"]) == 1  # nothing built yet: everything is missing
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and len(out["stale"]) == 37 and out["files"] == 37


def test_build_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["slos"] == 12 and out["warnings"] == []
    assert "prometheus/rules/shop/web.yml" in out["written"]


def test_explain_numbers_follow_the_workbook(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--explain", "--output", "json"]) == 0
    rows = {(r["service"], r["slo"]): r for r in json.loads(capsys.readouterr().out)["explain"]}
    tiers = {t["tier"]: t for t in rows[("api", "availability")]["tiers"]}
    assert tiers["page-fast"] == {
        "tier": "page-fast",
        "alert": "SLOBurnRatePageFast",
        "severity": "page",
        "factor": "14.4",
        "long_window": "1h",
        "short_window": "5m",
        "budget_spent_at_firing_percent": "2",
        "time_to_fire_at_100_percent_errors": "51.8s",
        "time_to_fire_at_10x_budget": "never",
        "time_to_clear_after_recovery": "4m56s",
    }
    assert tiers["page-slow"]["time_to_fire_at_10x_budget"] == "3h36m"
    assert tiers["ticket-slow"]["time_to_fire_at_10x_budget"] == "7h12m"
    edge = {t["tier"]: t for t in rows[("api", "edge-availability")]["tiers"]}
    assert edge["page-fast"]["factor"] == "13.44"  # 28d period: 2% x 28d / 1h


def test_warning_for_tier_below_1x(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = project / "slos" / "api.yaml"
    api.write_text(
        api.read_text().replace(
            "        ticket-slow: false  # 0.93x over 28d: would fire at the objective\n", "        page-fast: true\n"
        )
    )
    assert main(["build"]) == 0
    assert capsys.readouterr().err == (
        "warning: slos/api.yaml:32:13: slos[2].period: edge-availability: tier ticket-slow burns at 0.9333x, below 1x, "
        "for a 28d period: it fires even when errors are exactly at the objective; turn it off under alerting.tiers\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["build", "--rate-window", "10m"], 2, "must be at most 5m, the shortest alert window"),
        (["build", "--rate-window", "soon"], 2, "'soon' is not a duration"),
        (["build", "missing-dir"], 2, "missing-dir:1:1: no such file or directory"),
        (["check", "nowhere", "--promtool", "/nonexistent/promtool"], 2, "promtool not found"),
    ],
)
def test_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert main(args) == code
    assert message in capsys.readouterr().err


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"service", "stack", "team", "slos"}
    assert schema["$defs"]["SLOSpec"]["properties"]["sli"]["discriminator"]["propertyName"] == "kind"


def test_check_reports_promtool_failure(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import current_promtool

    assert main(["build"]) == 0
    rule = project / "build" / "prometheus" / "rules" / "shop" / "api.yml"
    rule.write_text(rule.read_text().replace("expr: '", "expr: 'sum(", 1))  # unbalanced
    assert main(["check", "build", "--promtool", str(current_promtool())]) == 1
    captured = capsys.readouterr()
    assert "promtool check rules failed" in captured.err
    assert captured.out.strip().endswith("FAILED")
