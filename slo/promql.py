"""The only place PromQL text is assembled.

Every function returns an `Expr`, which knows whether it needs parentheses
when it becomes an operand, so generated rules carry no redundant brackets
and no missing ones. User-supplied PromQL is checked with promql-parser here
too; promtool has the final word in `slo check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import promql_parser

__all__ = [
    "WINDOW_PLACEHOLDER",
    "Expr",
    "aggregate",
    "binary",
    "call",
    "check",
    "label_selector",
    "number",
    "parse_matchers",
    "raw",
    "selector",
    "vector_selector",
]

WINDOW_PLACEHOLDER = "{{window}}"
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True)
class Expr:
    text: str
    atomic: bool  # selectors, calls, literals: safe as an operand without parentheses

    def operand(self) -> str:
        return self.text if self.atomic else f"({self.text})"

    def __str__(self) -> str:
        return self.text


def raw(text: str) -> Expr:
    """User PromQL, already checked; atomic only when the parser says so."""
    node = promql_parser.parse(text)
    atomic = not isinstance(node, promql_parser.BinaryExpr | promql_parser.UnaryExpr)
    return Expr(text.strip(), atomic)


def number(text: str) -> Expr:
    return Expr(text, not text.startswith("-"))


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def label_selector(labels: Mapping[str, str]) -> str:
    """`{a="1",b="2"}` with labels in sorted order, for stable output."""
    return "{" + ",".join(f"{k}={quote(v)}" for k, v in sorted(labels.items())) + "}"


def vector_selector(metric: str, matchers: Iterable[str] = ()) -> Expr:
    """`metric{m1,m2}` from matcher texts like `job="api"`; braces dropped when empty."""
    inner = ",".join(m for m in matchers if m)
    return Expr(f"{metric}{{{inner}}}" if inner else metric, True)


def selector(metric: str, labels: Mapping[str, str]) -> Expr:
    return Expr(metric + label_selector(labels), True)


def call(function: str, *args: Expr | str) -> Expr:
    return Expr(f"{function}({', '.join(str(a) for a in args)})", True)


def range_call(function: str, inner: Expr, window: str) -> Expr:
    """`rate(sel[5m])`; callers pass selectors only (a subquery is never emitted)."""
    return Expr(f"{function}({inner.text}[{window}])", True)


def aggregate(op: str, inner: Expr, by: Iterable[str] = ()) -> Expr:
    grouping = ", ".join(by)
    return Expr(f"{op} by ({grouping}) ({inner.text})" if grouping else f"{op}({inner.text})", True)


def binary(left: Expr, op: str, right: Expr, modifier: str = "") -> Expr:
    mod = f" {modifier}" if modifier else ""
    return Expr(f"{left.operand()} {op}{mod} {right.operand()}", False)


def check(text: str) -> None:
    """Raise ValueError with the parser's message when `text` is not valid PromQL."""
    try:
        promql_parser.parse(text)
    except ValueError as e:
        raise ValueError(f"not valid PromQL: {e}") from None


def parse_matchers(text: str) -> list[str]:
    """Validate a label-matcher list (`job="api", code=~"5.."`, braces optional).

    Returns the matchers as PromQL text, in the user's order. Raises ValueError.
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    if not body:
        return []
    node = promql_parser.parse("__probe__{" + body + "}")
    if not isinstance(node, promql_parser.VectorSelector):
        raise ValueError('expected label matchers like job="api"')
    out = []
    for m in node.matchers.matchers:
        if m.name == "__name__":
            raise ValueError("a metric name does not belong in a selector here; use `metric`")
        out.append(f"{m.name}{_MATCH_OPS[str(m.op)]}{quote(m.value)}")
    return out


_MATCH_OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


def is_metric_name(text: str) -> bool:
    return _METRIC_NAME.match(text) is not None


def vector_selector_text(text: str) -> Expr:
    """Validate `metric{...}` written by a user; raise ValueError if it is anything else."""
    node = promql_parser.parse(text)
    if not isinstance(node, promql_parser.VectorSelector):
        raise ValueError(
            'expected a series selector like http_requests_total{job="api"}, or PromQL '
            f"that contains {WINDOW_PLACEHOLDER}"
        )
    if node.offset is not None or node.at is not None:
        raise ValueError("offset and @ are not allowed in an SLI selector")
    return Expr(text.strip(), True)
