"""Bad on-call input: every error names file:line:column and the field, exit status 2, nothing
written. The messages are the user interface, so they are asserted as exact strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from slo.cli import main

SLO = """\
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

ONCALL = """\
version: swarm-slo/oncall-v1
alertmanager: 0.35.0
default_team: checkout
dead_mans_switch:
  webhook:
    url_file: /run/secrets/dms
teams:
  checkout:
    page:
      pagerduty:
        routing_key_file: /run/secrets/pd
    ticket:
      slack:
        api_url_file: /run/secrets/slack
        channel: "#checkout"
    business_hours:
      time_zone: Europe/Berlin
      hours:
        - weekdays: [monday:friday]
          start: "09:00"
          end: "17:00"
"""

SECRET = "s3cr3t-r0uting-k3y"  # must never be echoed

CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "unknown team on an SLO",
        SLO.replace("team: checkout", "team: payments"),
        ONCALL,
        ["slos/a.yaml:3:7: team: team 'payments' is not in the on-call file oncall.yaml (teams: checkout)"],
    ),
    (
        "receiver without target",
        SLO,
        ONCALL.replace("    ticket:\n      slack:\n        api_url_file: /run/secrets/slack\n"
                       "        channel: \"#checkout\"\n", "    ticket: {}\n"),
        ["oncall.yaml:12:13: teams.checkout.ticket: this receiver has no target: set one of pagerduty, opsgenie, "
         "slack, email, msteams, webhook"],
    ),
    (
        "receiver missing its target field",
        SLO,
        ONCALL.replace("        channel: \"#checkout\"\n", ""),
        ["oncall.yaml:14:9: teams.checkout.ticket.slack.channel: missing required field 'channel'"],
    ),
    (
        "inline secret",
        SLO,
        ONCALL.replace("routing_key_file: /run/secrets/pd", f"routing_key_file: /run/secrets/pd\n        routing_key: {SECRET}"),
        ["oncall.yaml:12:22: teams.checkout.page.pagerduty.routing_key: inline secret: routing_key would be copied "
         "into the generated alertmanager.yml; put it in a Docker secret and set routing_key_file: "
         "/run/secrets/<name> instead"],
    ),
    (
        "inline webhook URL",
        SLO,
        ONCALL.replace("url_file: /run/secrets/dms", f"url: https://example.com/{SECRET}"),
        [
            "oncall.yaml:6:5: dead_mans_switch.webhook.url_file: missing required field 'url_file'",
            "oncall.yaml:6:10: dead_mans_switch.webhook.url: inline secret: url would be copied into the generated "
            "alertmanager.yml; put it in a Docker secret and set url_file: /run/secrets/<name> instead",
        ],
    ),
    (
        "secret file that is not a path",
        SLO,
        ONCALL.replace("api_url_file: /run/secrets/slack", "api_url_file: slack"),
        ["oncall.yaml:14:23: teams.checkout.ticket.slack.api_url_file: expected an absolute path to a secret file, "
         "like /run/secrets/name; got 'slack'"],
    ),
    (
        "bad time zone",
        SLO,
        ONCALL.replace("Europe/Berlin", "Europe/Berln"),
        ["oncall.yaml:17:18: teams.checkout.business_hours.time_zone: unknown time zone 'Europe/Berln': use an "
         "IANA name like Europe/Berlin or UTC"],
    ),
    (
        "overlapping intervals",
        SLO,
        ONCALL + '        - weekdays: [friday:saturday]\n          start: "16:00"\n          end: "20:00"\n',
        ["oncall.yaml:22:11: teams.checkout.business_hours.hours[1]: overlaps hours[0] on friday: 09:00-17:00 "
         "and 16:00-20:00"],
    ),
    (
        "end before start",
        SLO,
        ONCALL.replace('end: "17:00"', 'end: "08:00"'),
        ["oncall.yaml:19:11: teams.checkout.business_hours.hours[0]: end 08:00 is not after start 09:00"],
    ),
    (
        "bad weekday",
        SLO,
        ONCALL.replace("monday:friday", "monday:fryday"),
        ["oncall.yaml:19:22: teams.checkout.business_hours.hours[0].weekdays[0]: 'monday:fryday' is not a weekday "
         "or a range of weekdays like monday:friday"],
    ),
    (
        "unknown keys",
        SLO,
        ONCALL.replace("    page:\n", "    pages: {}\n    page:\n").replace("default_team:", "escalate: true\ndefault_team:"),
        [
            "oncall.yaml:3:1: escalate: unknown field 'escalate' (expected one of: version, alertmanager, "
            "alertmanager_job, global, default_team, dead_mans_switch, stack_outage, timing, teams)",
            "oncall.yaml:10:5: teams.checkout.pages: unknown field 'pages'; did you mean 'page'? (expected one of: "
            "page, ticket, info, escalation, business_hours)",
        ],
    ),
    (
        "unknown default team",
        SLO,
        ONCALL.replace("default_team: checkout", "default_team: platform"),
        ["oncall.yaml:3:15: default_team: team 'platform' is not defined under teams (teams: checkout)"],
    ),
    (
        "email without smtp",
        SLO,
        ONCALL.replace("      slack:\n        api_url_file: /run/secrets/slack\n        channel: \"#checkout\"\n",
                       "      email:\n        to: team@example.com\n"),
        ["oncall.yaml:13:7: teams.checkout.ticket.email: email receivers need global.smtp (smarthost, from)"],
    ),
    (
        "a receiver the targeted version does not accept",
        SLO,
        ONCALL.replace("alertmanager: 0.35.0", "alertmanager: 0.25.0"),
        ["oncall.yaml:5:3: dead_mans_switch.webhook: Alertmanager 0.25.0 (the `alertmanager` version this file "
         "targets) does not accept webhook receivers with url_file; it needs 0.26.0 or later"],
    ),
    (
        "Microsoft Teams before 0.28",
        SLO,
        ONCALL.replace("alertmanager: 0.35.0", "alertmanager: 0.27.0").replace(
            "      slack:\n        api_url_file: /run/secrets/slack\n        channel: \"#checkout\"\n",
            "      msteams:\n        webhook_url_file: /run/secrets/teams\n"),
        ["oncall.yaml:13:7: teams.checkout.ticket.msteams: Alertmanager 0.27.0 (the `alertmanager` version this "
         "file targets) does not accept Microsoft Teams receivers (msteamsv2_configs, Workflows webhooks); it "
         "needs 0.28.0 or later"],
    ),
    (
        "too old a version",
        SLO,
        ONCALL.replace("alertmanager: 0.35.0", "alertmanager: 0.24.0"),
        ["oncall.yaml:2:15: alertmanager: Alertmanager 0.24.0 is too old: the oldest supported version is 0.25.0"],
    ),
    (
        "bad duration",
        SLO,
        ONCALL + "timing:\n  page: {group_wait: soon}\n",
        ["oncall.yaml:23:22: timing.page.group_wait: 'soon' is not a duration: use a number and a unit "
         "(ms, s, m, h, d, w, y), largest unit first, like 300ms, 5m, 1h30m or 30d"],
    ),
    (
        "errors in the SLO file and the on-call file are reported together",
        SLO.replace("[99.9]", "[100]"),
        ONCALL.replace("Europe/Berlin", "Mars/Olympus"),
        [
            "oncall.yaml:17:18: teams.checkout.business_hours.time_zone: unknown time zone 'Mars/Olympus': use an "
            "IANA name like Europe/Berlin or UTC",
            "slos/a.yaml:6:18: slos[0].objectives[0].target: an objective is a percent between 0 and 100, "
            "exclusive; got 100",
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("slo", "oncall", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_oncall(
    slo: str,
    oncall: str,
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(slo)
    (tmp_path / "oncall.yaml").write_text(oncall)
    code = main(["build", "slos", "--oncall", "oncall.yaml", "--out", "build"])
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert code == 2
    assert err == [f"error: {line}" for line in expected] + [f"{len(expected)} error(s); nothing written"]
    assert SECRET not in captured.out + captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oncall.yaml", "slos"]  # nothing written


def test_good_oncall_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(SLO)
    (tmp_path / "oncall.yaml").write_text(ONCALL)
    assert main(["build", "slos", "--oncall", "oncall.yaml", "--out", "build"]) == 0
    assert (tmp_path / "build" / "alertmanager" / "alertmanager.yml").is_file()


def test_missing_oncall_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(SLO)
    assert main(["build", "slos", "--oncall", "nope.yaml", "--out", "build"]) == 2
    assert capsys.readouterr().err.splitlines() == ["error: nope.yaml:1:1: no such file", "1 error(s); nothing written"]


def test_validate_checks_the_oncall_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "a.yaml").write_text(SLO.replace("team: checkout", "team: payments"))
    (tmp_path / "oncall.yaml").write_text(ONCALL)
    assert main(["validate", "slos", "--oncall", "oncall.yaml"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "error: slos/a.yaml:3:7: team: team 'payments' is not in the on-call file oncall.yaml (teams: checkout)"
    )
    (tmp_path / "slos" / "a.yaml").write_text(SLO)
    assert main(["validate", "slos", "--oncall", "oncall.yaml"]) == 0
