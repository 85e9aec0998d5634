"""The published JSON Schema (docs/schema/slo-v1.json) agrees with the loader: every file
the loader accepts, the schema accepts, and it refuses what editors should flag.

The schema is written by `slo.model` from the same field declarations the loader uses;
this checks it with an independent validator (jsonschema), as an editor would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bench.corpus import generate
from slo.load import load_paths

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schema" / "slo-v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "slos").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_pass_the_schema(path: Path) -> None:
    load_paths([str(path)])  # the loader accepts it
    for doc in _docs(path.read_text()):
        VALIDATOR.validate(doc)


def test_the_generated_corpus_passes_the_schema(tmp_path: Path) -> None:
    """300 SLOs: every SLI kind and template, objectives as numbers and as mappings."""
    files = generate(300)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    load_paths([str(tmp_path)])
    kinds = set()
    for text in files.values():
        for doc in _docs(text):
            VALIDATOR.validate(doc)
            kinds.update(slo["sli"]["kind"] for slo in doc["slos"])
    assert kinds == set(SCHEMA["$defs"]["SLOSpec"]["properties"]["sli"]["discriminator"]["mapping"])


GOOD: dict[str, Any] = {
    "service": "api",
    "stack": "shop",
    "team": "checkout",
    "slos": [{"name": "availability", "objectives": [99.9], "sli": {"kind": "ratio", "bad": "x", "total": "y"}}],
}


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(GOOD))
    cur = doc
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        (_with(("servise",), "api"), "unknown key"),
        (_with(("slos", 0, "objectives"), [100]), "objective of 100"),
        (_with(("slos", 0, "objectives"), []), "no objective"),
        (_with(("slos", 0, "sli", "kind"), "rato"), "unknown SLI kind"),
        (_with(("slos", 0, "sli", "totl"), "y"), "unknown key inside an SLI kind"),
        (_with(("slos", 0, "budgeting"), "events"), "unknown budgeting"),
        (_with(("slos", 0, "alerting"), {"tiers": {"page-2h": False}}), "unknown tier"),
        (_with(("team",), ["checkout"]), "wrong type"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_schema_refuses(doc: dict[str, Any], why: str) -> None:
    VALIDATOR.validate(GOOD)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(doc)
