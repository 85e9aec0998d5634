"""Bad input: every error names file:line:column and the field, exit status 2, nothing written.

The messages are the user interface, so they are asserted as exact strings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slo.cli import main

GOOD = """\
service: api
stack: shop
team: checkout
slos:
  - name: availability
    objectives: [99.9]
    sli:
      kind: ratio
      bad: x_total{code="500"}
      total: x_total
"""

CASES: list[tuple[str, dict[str, bytes | str], list[str]]] = [
    (
        "unknown key, with a suggestion",
        {"a.yaml": GOOD.replace("objectives:", "objectivs:")},
        [
            "a.yaml:5:5: slos[0].objectives: missing required field 'objectives'",
            "a.yaml:6:5: slos[0].objectivs: unknown field 'objectivs'; did you mean 'objectives'? "
            "(expected one of: name, description, objectives, period, budgeting, sli, alerting)",
        ],
    ),
    (
        "unknown key inside an SLI kind",
        {"a.yaml": GOOD.replace("      total:", "      totl:")},
        [
            "a.yaml:8:7: slos[0].sli.total: missing required field 'total'",
            "a.yaml:10:7: slos[0].sli.totl: unknown field 'totl'; did you mean 'total'? "
            "(expected one of: kind, bad, good, total)",
        ],
    ),
    (
        "wrong type",
        {"a.yaml": GOOD.replace("service: api", "service: [api]")},
        ["a.yaml:1:10: service: expected a string, got a list"],
    ),
    (
        "objective of 100",
        {"a.yaml": GOOD.replace("[99.9]", "[100]")},
        ["a.yaml:6:18: slos[0].objectives[0].target: an objective is a percent between 0 and 100, exclusive; got 100"],
    ),
    (
        "objective of 0",
        {"a.yaml": GOOD.replace("[99.9]", "[0]")},
        ["a.yaml:6:18: slos[0].objectives[0].target: an objective is a percent between 0 and 100, exclusive; got 0"],
    ),
    (
        "objective as a string",
        {"a.yaml": GOOD.replace("[99.9]", "['99.9']")},
        [
            "a.yaml:6:18: slos[0].objectives[0]: expected a percent like 99.9, "
            "or a mapping like {target: 99.9}; got '99.9'"
        ],
    ),
    (
        "bad period unit",
        {"a.yaml": GOOD.replace("    sli:", "    period: 30x\n    sli:")},
        [
            "a.yaml:7:13: slos[0].period: '30x' is not a duration: use a number and a unit "
            "(ms, s, m, h, d, w, y), largest unit first, like 300ms, 5m, 1h30m or 30d"
        ],
    ),
    (
        "period not in whole days",
        {"a.yaml": GOOD.replace("    sli:", "    period: 36h\n    sli:")},
        ["a.yaml:7:13: slos[0].period: '36h': the period must be a whole number of days between 1d and 365d, like 30d"],
    ),
    (
        "bad duration in a latency threshold",
        {
            "a.yaml": GOOD.replace(
                '      kind: ratio\n      bad: x_total{code="500"}\n      total: x_total',
                "      kind: latency\n      metric: d_seconds\n      threshold: 300 ms",
            )
        },
        [
            "a.yaml:10:18: slos[0].sli.threshold: '300 ms' is not a duration: use a number and a unit "
            "(ms, s, m, h, d, w, y), largest unit first, like 300ms, 5m, 1h30m or 30d"
        ],
    ),
    (
        "duplicate SLO names",
        {"a.yaml": GOOD + GOOD.split("slos:\n")[1]},
        ["a.yaml:11:11: slos[1].name: duplicate SLO name 'availability' (also slos[0])"],
    ),
    (
        "duplicate service across files",
        {"a.yaml": GOOD, "b.yaml": GOOD},
        ["b.yaml:1:10: service: service 'api' of stack 'shop' is also defined at slos/a.yaml:1"],
    ),
    (
        "PromQL syntax error",
        {"a.yaml": GOOD.replace("total: x_total", "total: sum(rate(x_total[{{window}}])")},
        ["a.yaml:10:14: slos[0].sli.total: not valid PromQL: unclosed left parenthesis"],
    ),
    (
        "duplicate key",
        {"a.yaml": GOOD.replace("team: checkout\n", "team: checkout\nteam: payments\n")},
        ["a.yaml:4:1: team: duplicate key 'team' (first at line 3)"],
    ),
    ("empty file", {"a.yaml": ""}, ["a.yaml:1:1: the file is empty"]),
    (
        "tabs",
        {"a.yaml": GOOD.replace("  - name", "\t- name")},
        ["a.yaml:5:1: tab character: indent YAML with spaces"],
    ),
    (
        "non-UTF-8 bytes",
        {"a.yaml": GOOD.replace("checkout", "caf\udce9").encode("utf-8", "surrogateescape")},
        ["a.yaml:3:10: invalid UTF-8 byte 0xe9; save the file as UTF-8"],
    ),
    (
        "multi-document file with one bad document",
        {"a.yaml": GOOD + "---\n" + GOOD.replace("service: api", "service: web").replace("kind: ratio", "kind: rato")},
        [
            "a.yaml:19:13: slos[0].sli.kind: unknown SLI kind 'rato'; expected one of: ratio, latency, threshold, "
            "traefik-errors, traefik-latency, prometheus-client-errors, prometheus-client-latency, "
            "otel-http-errors, otel-http-latency, cadvisor-cpu, cadvisor-memory, node-disk, swarm-replicas, swarm-task-health"
        ],
    ),
    (
        "reserved label",
        {"a.yaml": GOOD.replace("team: checkout\n", "team: checkout\nlabels: {severity: high}\n")},
        ["a.yaml:4:9: labels: label 'severity' is set by swarm-slo and cannot be overridden"],
    ),
    (
        "errors in two files are all reported",
        {
            "a.yaml": GOOD.replace("[99.9]", "[100]"),
            "b.yaml": GOOD.replace("service: api", "service: web").replace("stack: shop\n", ""),
        },
        [
            "a.yaml:6:18: slos[0].objectives[0].target: an objective is a percent between 0 and 100, exclusive; got 100",
            "b.yaml:1:1: stack: missing required field 'stack'",
        ],
    ),
]


@pytest.mark.parametrize(("files", "expected"), [(f, e) for _, f, e in CASES], ids=[c[0] for c in CASES])
def test_bad_input(
    files: dict[str, bytes | str],
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode()
        (tmp_path / "slos" / name).write_bytes(data)
    code = main(["build", "slos", "--out", "build"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [f"error: slos/{line}" for line in expected] + [f"{len(expected)} error(s); nothing written"]
    assert not (tmp_path / "build").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["slos"]  # no temporary directory left behind


def test_bad_input_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(GOOD.replace("[99.9]", "[100]"))
    assert main(["validate", "slos", "--output", "json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "ok": False,
        "errors": [
            {
                "file": "slos/a.yaml",
                "line": 6,
                "column": 18,
                "field": "slos[0].objectives[0].target",
                "message": "an objective is a percent between 0 and 100, exclusive; got 100",
            }
        ],
    }


def test_bad_build_keeps_previous_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(GOOD)
    assert main(["build", "slos", "--out", "build"]) == 0
    before = {p: p.read_bytes() for p in (tmp_path / "build").rglob("*") if p.is_file()}
    (tmp_path / "slos" / "a.yaml").write_text(GOOD.replace("[99.9]", "[100]"))
    assert main(["build", "slos", "--out", "build"]) == 2
    after = {p: p.read_bytes() for p in (tmp_path / "build").rglob("*") if p.is_file()}
    assert after == before
