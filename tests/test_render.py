"""The bundle's YAML emitter: whatever we emit, YAML reads back as the same data."""

from __future__ import annotations

from decimal import Decimal

import yaml
from hypothesis import given
from hypothesis import strategies as st

from slo.render import scalar, to_yaml

keys = st.text(min_size=1, max_size=12)
leaves = st.one_of(st.text(max_size=40), st.integers(), st.booleans(), st.none())
documents = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)


@given(documents)
def test_round_trip(doc: object) -> None:
    assert yaml.safe_load(to_yaml({"doc": doc})) == {"doc": doc}


def test_promql_is_single_quoted_and_readable() -> None:
    assert scalar('sum(rate(x{job="api"}[5m]))') == "'sum(rate(x{job=\"api\"}[5m]))'"
    assert scalar("slo:sli_bad:rate1m") == "slo:sli_bad:rate1m"


def test_strings_that_look_like_other_types_are_quoted() -> None:
    for text in ("99.9", "yes", "No", "null", "~", "1e3", "0x10", "", " x", "a: b", "#c"):
        assert yaml.safe_load(f"v: {scalar(text)}") == {"v": text}


def test_decimals_are_exact() -> None:
    assert scalar(Decimal("1") - Decimal("99.9") / 100) == "0.001"
    assert scalar(Decimal("2.5E+3")) == "2500"
