"""The on-call file in, a validated `OnCall` out; every problem located at file:line:column
with its field path, like SLO files (the same YAML reader and error mapping)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slo import model
from slo.errors import InputError, InputErrors
from slo.load import Converted, LoadedService, located
from slo.yamlpos import Document, read_documents

from . import versions
from .spec import WEEKDAYS, OnCall, Receiver, minutes

__all__ = ["LoadedOnCall", "load_oncall"]


@dataclass(frozen=True)
class LoadedOnCall:
    spec: OnCall
    file: str


def load_oncall(path: str, services: Sequence[LoadedService] = ()) -> LoadedOnCall:
    """Validate the on-call file, and the SLO files' teams against it."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        raise InputErrors([InputError(path, 1, 1, "", "no such file")]) from None
    docs, errors = read_documents(path, raw)
    if errors:
        raise InputErrors(errors)
    if len(docs) > 1:
        raise InputErrors([docs[1].error((), "the on-call file holds one YAML document")])
    doc = docs[0]
    if not isinstance(doc.data, dict):
        raise InputErrors([doc.error((), "expected a mapping at the top of the document")])
    conv = Converted(doc.data, doc)
    spec, issues = model.validate(OnCall, doc.data)
    if spec is None:
        raise InputErrors([located(conv, issue) for issue in issues])
    errors = _semantic_checks(spec, doc) + _team_checks(spec, path, services)
    if errors:
        raise InputErrors(errors)
    return LoadedOnCall(spec, path)


def _semantic_checks(spec: OnCall, doc: Document) -> list[InputError]:
    errors: list[InputError] = []
    if spec.default_team not in spec.teams:
        errors.append(
            doc.error(
                ("default_team",),
                f"team {spec.default_team!r} is not defined under teams (teams: {', '.join(sorted(spec.teams))})",
            )
        )
    receivers: list[tuple[tuple[str | int, ...], Receiver]] = [(("dead_mans_switch",), spec.dead_mans_switch)]
    for name, team in spec.teams.items():
        for sev in ("page", "ticket", "info", "escalation"):
            r = getattr(team, sev)
            if r is not None:
                receivers.append((("teams", name, sev), r))
        if team.business_hours is not None:
            errors.extend(_overlaps(doc, ("teams", name, "business_hours", "hours"), team.business_hours.hours))
    for path, r in receivers:
        if r.email is not None and spec.global_.smtp is None:
            errors.append(doc.error((*path, "email"), "email receivers need global.smtp (smarthost, from)", key=True))
        if r.webhook is not None and not versions.supports(spec.alertmanager, "webhook_url_file"):
            errors.append(_too_old(doc, spec, (*path, "webhook"), "webhook_url_file"))
        if r.msteams is not None and not versions.supports(spec.alertmanager, "msteams"):
            errors.append(_too_old(doc, spec, (*path, "msteams"), "msteams"))
    return errors


def _too_old(doc: Document, spec: OnCall, path: tuple[str | int, ...], feature: str) -> InputError:
    f = versions.FEATURES[feature]
    return doc.error(
        path,
        f"Alertmanager {spec.alertmanager} (the `alertmanager` version this file targets) does not accept "
        f"{f.what}; it needs {f.since} or later",
        key=True,
    )


def _overlaps(doc: Document, path: tuple[str | int, ...], hours: Sequence[object]) -> list[InputError]:
    from .spec import Hours

    errors = []
    spans = [h for h in hours if isinstance(h, Hours)]
    for j, b in enumerate(spans):
        for i, a in enumerate(spans[:j]):
            shared = sorted(a.days() & b.days())
            if shared and minutes(a.start) < minutes(b.end) and minutes(b.start) < minutes(a.end):
                errors.append(
                    doc.error(
                        (*path, j),
                        f"overlaps hours[{i}] on {WEEKDAYS[shared[0]]}: {a.start}-{a.end} and {b.start}-{b.end}",
                    )
                )
                break
    return errors


def _team_checks(spec: OnCall, path: str, services: Sequence[LoadedService]) -> list[InputError]:
    errors = []
    for svc in services:
        if svc.spec.team not in spec.teams:
            errors.append(
                svc.error(
                    ("team",),
                    f"team {svc.spec.team!r} is not in the on-call file {path} "
                    f"(teams: {', '.join(sorted(spec.teams))})",
                )
            )
    return errors
