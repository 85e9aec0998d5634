"""slo.model on its own: conversions, every issue at once, records that behave as values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pytest

from slo.model import F, Issue, Model, validate


def _even(v: int) -> int:
    if v % 2:
        raise ValueError(f"{v} is odd")
    return v


class Inner(Model):
    kind: Literal["inner"]
    n: int = F(0, ge=0, check=_even)


class Other(Model):
    kind: Literal["other"]
    text: str


class Outer(Model):
    name: str
    ratio: Decimal = F(Decimal("0.5"), gt=0, lt=1, bounds_message="a ratio in (0, 1); got {value}")
    tags: dict[str, str] = F(default_factory=dict)
    items: list[Inner | Other] = F(min_length=1)
    note: str | None = None
    mode: Literal["a", "b"] = "a"


OK = {"name": "x", "items": [{"kind": "inner", "n": 2}]}


@pytest.mark.parametrize(
    ("data", "issues"),
    [
        ({**OK, "ratio": 0.25}, []),
        ({**OK, "ratio": "0.25"}, []),
        ({**OK, "ratio": 1}, [(("ratio",), "a ratio in (0, 1); got 1", "value")]),
        ({**OK, "ratio": True}, [(("ratio",), "expected a number, got true/false", "value")]),
        ({**OK, "name": 5}, [(("name",), "expected a string, got the number 5", "value")]),
        ({**OK, "mode": "c"}, [(("mode",), "expected one of: a, b; got 'c'", "value")]),
        ({**OK, "tags": {"a": 1}}, [(("tags", "a"), "expected a string, got the number 1", "value")]),
        ({**OK, "items": []}, [(("items",), "give at least 1", "value")]),
        ({**OK, "items": [{"kind": "inner", "n": 3}]}, [(("items", 0, "n"), "3 is odd", "value")]),
        ({**OK, "items": [{"kind": "inner", "n": -2}]}, [(("items", 0, "n"), "must be at least 0; got -2", "value")]),
        ({**OK, "items": [{"n": 2}]}, [(("items", 0), "missing `kind`: say which SLI this is (inner, other)", "tag")]),
        (
            {**OK, "items": [{"kind": "x"}]},
            [(("items", 0, "kind"), "unknown SLI kind 'x'; expected one of: inner, other", "tag")],
        ),
        # An unknown key is found even when the fields it stands beside all have defaults.
        ({"name": "x", "items": [{"kind": "inner", "m": 2}]}, [(("items", 0, "m"), "unknown field 'm'", "unknown")]),
        (
            {"items": [{"kind": "other"}], "nam": "x"},
            [
                (("name",), "missing required field 'name'", "missing"),
                (("items", 0, "text"), "missing required field 'text'", "missing"),
                (("nam",), "unknown field 'nam'", "unknown"),
            ],
        ),
        ([], [((), "expected a mapping, got a list", "value")]),
    ],
)
def test_validate(data: Any, issues: list[tuple[tuple[Any, ...], str, str]]) -> None:
    obj, found = validate(Outer, data)
    assert [(i.path, i.message, i.kind) for i in found] == issues
    assert (obj is None) == bool(issues)


def test_unknown_key_lists_the_fields() -> None:
    _, found = validate(Outer, {**OK, "nmae": "x"})
    assert found == [
        Issue(("nmae",), "unknown field 'nmae'", "unknown", ("name", "ratio", "tags", "items", "note", "mode"))
    ]


def test_records_are_frozen_values() -> None:
    a = Outer.parse(OK)
    b = Outer.parse(OK)
    assert a == b and hash(a) == hash(b)
    assert a.ratio == Decimal("0.5") and a.tags == {} and a.note is None
    with pytest.raises(AttributeError):
        a.name = "y"  # type: ignore[misc]
    c = a.replace(name="y")
    assert c.name == "y" and a.name == "x" and c != a
    assert a.dump() == {
        "name": "x",
        "ratio": Decimal("0.5"),
        "tags": {},
        "items": [{"kind": "inner", "n": 2}],
        "note": None,
        "mode": "a",
    }
    assert isinstance(a.items[0], Inner)


def test_parse_raises_with_every_issue() -> None:
    with pytest.raises(ValueError, match=r"name: missing required field 'name'; items: missing required field 'items'"):
        Outer.parse({})
