"""The real amtool of the targeted Alertmanager version on generated configurations: the
example shop, an org of 50 teams and 500 SLOs, and the oldest supported version (Debian's
0.25). Also the deploy-time secrets preflight."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT, amtool_binary, oldest_amtool

from alerts.bundle import build as build_with_oncall
from alerts.check import check_alertmanager, secrets_preflight
from bench.corpus import service_doc
from slo.bundle import write
from slo.cli import main
from slo.compile.rules import CompileOptions
from slo.render import to_yaml

KINDS = (
    ("pagerduty", {"routing_key_file": "/run/secrets/{team}_pd"}),
    ("opsgenie", {"api_key_file": "/run/secrets/{team}_og"}),
    ("slack", {"api_url_file": "/run/secrets/{team}_slack", "channel": "#{team}"}),
    ("email", {"to": "{team}@example.com"}),
    ("msteams", {"webhook_url_file": "/run/secrets/{team}_teams"}),
    ("webhook", {"url_file": "/run/secrets/{team}_hook"}),
)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")


def _receiver(i: int, team: str) -> dict[str, object]:
    kind, fields = KINDS[i % len(KINDS)]
    return {kind: {k: v.format(team=team) for k, v in fields.items()}}


def org_oncall(teams: int) -> dict[str, object]:
    """An on-call file for `teams` teams (team-00 ...), cycling through every receiver kind."""
    out: dict[str, object] = {}
    for t in range(teams):
        name = f"team-{t:02d}"
        team: dict[str, object] = {"page": _receiver(t, name), "ticket": _receiver(t + 2, name)}
        if t % 2:
            team["info"] = _receiver(t + 3, name)
        if t % 3 == 0:
            team["escalation"] = {"after": f"{15 + t}m", **_receiver(t + 1, name)}
        if t % 4 != 3:
            team["business_hours"] = {
                "time_zone": ZONES[t % len(ZONES)],
                "hours": [{"weekdays": ["monday:friday"], "start": "08:00", "end": "18:00"}],
            }
        out[name] = team
    return {
        "version": "swarm-slo/oncall-v1",
        "alertmanager": "0.35.0",
        "global": {"smtp": {"smarthost": "smtp.example.com:587", "from": "alerts@example.com"}},
        "default_team": "team-00",
        "dead_mans_switch": {"webhook": {"url_file": "/run/secrets/dms"}},
        "teams": out,
    }


def write_org(root: Path, teams: int, slos: int) -> tuple[Path, Path]:
    """SLO files (5 SLOs a service, from the benchmark corpus) owned round-robin by `teams` teams."""
    slo_dir = root / "slos"
    slo_dir.mkdir()
    for s in range(slos // 5):
        doc = service_doc(s, s * 5, 5)
        doc["team"] = f"team-{s % teams:02d}"
        (slo_dir / f"svc-{s:04d}.yaml").write_text(to_yaml(doc))
    oncall = root / "oncall.yaml"
    oncall.write_text(to_yaml(org_oncall(teams)))
    return slo_dir, oncall


@pytest.fixture
def shop_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    bundle = build_with_oncall([str(EXAMPLES.relative_to(ROOT))], "examples/oncall.yaml", CompileOptions())
    write(bundle, str(tmp_path / "build"))
    return tmp_path / "build"


def _routing_part(bundle: Path, tmp_path: Path) -> Path:
    """The bundle's Alertmanager files and their rule file only: `slo check` without the SLOs'
    promtool tests (test_promtool.py runs those), so these tests stay fast."""
    part = tmp_path / "part"
    for rel in ("alertmanager", "prometheus/rules/alertmanager.yml", "prometheus/tests/alertmanager.test.yml"):
        src, dst = bundle / rel, part / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    return part


def test_slo_check_runs_amtool_on_the_shop(
    shop_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(_routing_part(shop_bundle, tmp_path)), "--amtool", str(amtool_binary())]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "promtool 3.16.0: 1 rule files checked, 1 test files run: passed",
        "amtool 0.35.0: config checked, 19 routing tests run: passed",
    ]


def test_a_wrong_routing_expectation_fails(shop_bundle: Path) -> None:
    tests = shop_bundle / "alertmanager" / "routes.test.yml"
    tests.write_text(tests.read_text().replace("  - checkout-escalation\n", "", 1))
    result = check_alertmanager(str(shop_bundle), str(amtool_binary()))
    assert result.failures == [
        "routing test 'checkout page': expected receivers checkout-page, got checkout-page,checkout-escalation"
    ]


def test_amtool_of_another_version_is_refused(shop_bundle: Path) -> None:
    debian = str(oldest_amtool())
    result = check_alertmanager(str(shop_bundle), debian)
    assert result.failures and result.failures[0].startswith("amtool 0.25.0 (/usr/bin/amtool) is not the targeted")


def test_oldest_version_gets_what_it_accepts(tmp_path: Path) -> None:
    """Targeting 0.25 (Debian's), the configuration passes Debian's amtool 0.25."""
    debian = str(oldest_amtool())
    slo_dir, oncall = write_org(tmp_path, 12, 60)
    doc = yaml.safe_load(oncall.read_text())
    doc["alertmanager"] = "0.25.0"
    doc["dead_mans_switch"] = {"pagerduty": {"routing_key_file": "/run/secrets/dms"}}
    for team in doc["teams"].values():  # 0.25 has no url_file on webhooks and no Microsoft Teams
        for sev in ("page", "ticket", "info", "escalation"):
            r = team.get(sev)
            if r and ("webhook" in r or "msteams" in r):
                r.pop("webhook", None)
                r.pop("msteams", None)
                r["opsgenie"] = {"api_key_file": "/run/secrets/og"}
    oncall.write_text(to_yaml(doc))
    bundle = build_with_oncall([str(slo_dir)], str(oncall), CompileOptions())
    write(bundle, str(tmp_path / "build"))
    assert check_alertmanager(str(tmp_path / "build"), debian).failures == []


def test_org_of_50_teams_and_500_slos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slo_dir, oncall = write_org(tmp_path, 50, 500)
    started = time.monotonic()
    bundle = build_with_oncall([str(slo_dir)], str(oncall), CompileOptions())
    assert len(bundle.units) >= 500
    assert len({u.service.team for u in bundle.units}) == 50
    write(bundle, str(tmp_path / "build"))
    built = time.monotonic()
    result = check_alertmanager(str(tmp_path / "build"), str(amtool_binary()))
    checked = time.monotonic()
    assert result.failures == []
    assert result.cases == 1 + 50 * 3 + 3 + 2 + 50 + 2  # ..., a Swarm replica page per team, 2 cluster-wide
    with capsys.disabled():
        print(
            f"\n50 teams, {len(bundle.units)} SLO objectives: build+write {built - started:.1f} s, "
            f"amtool check-config + {result.cases} routing tests {checked - built:.1f} s"
        )


def test_secrets_preflight(shop_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    config = yaml.safe_load((shop_bundle / "alertmanager" / "alertmanager.yml").read_text())
    from alerts.check import secret_files

    names = [p.removeprefix("/run/secrets/") for p in secret_files(config)]
    assert len(names) == 9
    for n in names:
        (secrets / n).write_text("TOP-SECRET-VALUE\n")
    assert secrets_preflight(str(shop_bundle), str(secrets)) == (9, [])
    (secrets / "checkout_pagerduty_key").unlink()
    (secrets / "smtp_password").write_text("")
    count, problems = secrets_preflight(str(shop_bundle), str(secrets))
    assert count == 9
    assert problems == [
        f"secret file missing: /run/secrets/checkout_pagerduty_key (looked for {secrets}/checkout_pagerduty_key)",
        f"secret file empty: /run/secrets/smtp_password ({secrets}/smtp_password)",
    ]
    # Through the CLI: exit 1, and no secret value is ever printed.
    part = str(_routing_part(shop_bundle, tmp_path))
    code = main(["check", part, "--secrets-dir", str(secrets), "--amtool", str(amtool_binary())])
    captured = capsys.readouterr()
    assert code == 1
    assert "secrets: 9 secret files referenced, 2 missing or empty: FAILED" in captured.out
    assert "TOP-SECRET-VALUE" not in captured.out + captured.err


def test_generated_files_hold_no_secret(shop_bundle: Path) -> None:
    """Every secret field of the configuration is a path under /run/secrets/."""
    config = yaml.safe_load((shop_bundle / "alertmanager" / "alertmanager.yml").read_text())
    from alerts.check import secret_files

    assert all(p.startswith("/run/secrets/") for p in secret_files(config))
    text = (shop_bundle / "alertmanager" / "alertmanager.yml").read_text()
    for inline in ("routing_key:", "api_key:", "api_url:", "webhook_url:", " url:", "auth_password:"):
        assert inline not in text


def test_stale_check_covers_the_oncall_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLES, tmp_path / "slos")
    shutil.copy(ROOT / "examples" / "oncall.yaml", tmp_path / "oncall.yaml")
    assert main(["build", "slos", "--oncall", "oncall.yaml"]) == 0
    assert main(["build", "slos", "--oncall", "oncall.yaml", "--check"]) == 0
    oncall = tmp_path / "oncall.yaml"
    oncall.write_text(oncall.read_text().replace("after: 30m", "after: 20m"))
    capsys.readouterr()
    assert main(["build", "slos", "--oncall", "oncall.yaml", "--check"]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == ["  alertmanager/alertmanager.yml", "  manifest.json"]
    # Without --oncall, the Alertmanager files on disk are extra: stale too.
    assert main(["build", "slos", "--check"]) == 1


def test_check_json_output(shop_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    part = str(_routing_part(shop_bundle, tmp_path))
    assert main(["check", part, "--amtool", str(amtool_binary()), "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("ok", "amtool_version", "routing_tests", "failures")} == {
        "ok": True,
        "amtool_version": "0.35.0",
        "routing_tests": 19,
        "failures": [],
    }
