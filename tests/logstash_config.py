"""A parser for Logstash's pipeline configuration language (the grammar of logstash-core's
treetop file `config/grammar.treetop`: plugin sections, plugins with `name => value`
attributes, values that are strings, numbers, barewords, arrays, hashes; if / else if / else
branches with comparison, regexp, `in` and boolean expressions; `#` comments). Logstash cannot
run here: this is the static check of the pipelines the project ships. A syntax error raises
ParseError with the line and column."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("input", "filter", "output")


class ParseError(ValueError):
    pass


@dataclass
class Plugin:
    name: str
    attributes: list[tuple[str, Any]]
    conditions: tuple[str, ...] = ()  # the enclosing branches' conditions, outermost first
    line: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        values = [v for k, v in self.attributes if k == key]
        return values[-1] if values else default


@dataclass
class Pipeline:
    sections: dict[str, list[Plugin]] = field(default_factory=lambda: {s: [] for s in SECTIONS})

    def plugins(self, section: str, name: str) -> list[Plugin]:
        return [p for p in self.sections[section] if p.name == name]


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<selector>(?:\[[^\],\[]+\])+)
  | (?P<regexp>/(?:\\.|[^/\\\n])*/)
  | (?P<op>=>|==|!=|<=|>=|=~|!~|<|>|\{|\}|\[|\]|\(|\)|,|!)
  | (?P<number>-?\d+(?:\.\d*)?)
  | (?P<word>[A-Za-z_@][A-Za-z0-9_@.-]*)
    """,
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[_Tok] = []
        pos = 0
        prev: _Tok | None = None
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                self.fail(pos, f"unexpected {text[pos]!r}")
            assert m is not None and m.lastgroup is not None
            kind = m.lastgroup
            # `/` starts a regexp only where a value may start (after an operator or `(`).
            if kind == "regexp" and (prev is None or prev.kind != "op"):
                self.fail(pos, "unexpected '/'")
            if kind != "ws":
                tok = _Tok(kind, m.group(), pos)
                self.toks.append(tok)
                prev = tok
            pos = m.end()
        self.i = 0

    def fail(self, pos: int, message: str) -> None:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        raise ParseError(f"line {line}, column {col}: {message}")

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "unexpected end of file")
        assert tok is not None
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.next()
        if tok.text != text:
            self.fail(tok.pos, f"expected {text!r}, found {tok.text!r}")
        return tok

    def line(self, tok: _Tok) -> int:
        return self.text.count("\n", 0, tok.pos) + 1

    # config: plugin_section+
    def config(self) -> Pipeline:
        pipeline = Pipeline()
        if self.peek() is None:
            self.fail(0, "empty pipeline")
        while self.peek() is not None:
            tok = self.next()
            if tok.text not in SECTIONS:
                self.fail(tok.pos, f"expected input, filter or output, found {tok.text!r}")
            self.expect("{")
            pipeline.sections[tok.text] += self.block(())
        return pipeline

    # (branch | plugin)* "}"
    def block(self, conditions: tuple[str, ...]) -> list[Plugin]:
        plugins: list[Plugin] = []
        while True:
            tok = self.peek()
            if tok is None:
                self.fail(len(self.text), "unclosed '{'")
            assert tok is not None
            if tok.text == "}":
                self.i += 1
                return plugins
            if tok.text == "if":
                plugins += self.branch(conditions)
            else:
                plugins.append(self.plugin(conditions))

    def branch(self, conditions: tuple[str, ...]) -> list[Plugin]:
        self.expect("if")
        plugins: list[Plugin] = []
        cond = self.condition()
        self.expect("{")
        plugins += self.block((*conditions, cond))
        while (t := self.peek()) is not None and t.text == "else":
            self.i += 1
            nxt = self.peek()
            if nxt is not None and nxt.text == "if":
                self.i += 1
                cond = self.condition()
                self.expect("{")
                plugins += self.block((*conditions, cond))
            else:
                self.expect("{")
                plugins += self.block((*conditions, "else"))
        return plugins

    def plugin(self, conditions: tuple[str, ...]) -> Plugin:
        tok = self.next()
        if tok.kind not in ("word", "string"):
            self.fail(tok.pos, f"expected a plugin name, found {tok.text!r}")
        self.expect("{")
        attributes: list[tuple[str, Any]] = []
        while (t := self.peek()) is not None and t.text != "}":
            key = self.next()
            if key.kind not in ("word", "string"):
                self.fail(key.pos, f"expected an attribute name, found {key.text!r}")
            self.expect("=>")
            attributes.append((_unquote(key), self.value()))
        self.expect("}")
        return Plugin(_unquote(tok), attributes, conditions, self.line(tok))

    def value(self) -> Any:
        tok = self.next()
        if tok.kind == "string":
            return _unquote(tok)
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "word":
            nxt = self.peek()
            if nxt is not None and nxt.text == "{":  # a plugin as a value (codec => json { ... })
                self.i -= 1
                p = self.plugin(())
                return {p.name: dict(p.attributes)}
            return {"true": True, "false": False}.get(tok.text, tok.text)
        if tok.kind == "selector" and tok.text.count("[") == 1:
            # `[` of an array tokenized as a one-element selector: re-read it as an array.
            return self._array_from(tok)
        if tok.text == "[":
            return self.array_rest()
        if tok.text == "{":
            entries: dict[str, Any] = {}
            while (t := self.peek()) is not None and t.text != "}":
                key = self.next()
                if key.kind not in ("word", "string", "number", "selector"):
                    self.fail(key.pos, f"expected a hash key, found {key.text!r}")
                self.expect("=>")
                entries[_unquote(key)] = self.value()
            self.expect("}")
            return entries
        self.fail(tok.pos, f"expected a value, found {tok.text!r}")
        return None

    def _array_from(self, tok: _Tok) -> list[Any]:
        inner = _Parser(tok.text[1:-1])
        items: list[Any] = []
        while inner.peek() is not None:
            items.append(inner.value())
            if inner.peek() is not None:
                inner.expect(",")
        return items

    def array_rest(self) -> list[Any]:
        items: list[Any] = []
        while (t := self.peek()) is not None and t.text != "]":
            items.append(self.value())
            if (t := self.peek()) is not None and t.text == ",":
                self.i += 1
        self.expect("]")
        return items

    # condition: expression (boolean_operator expression)*; returned as its source text
    def condition(self) -> str:
        start = self.peek()
        assert start is not None
        self.expression()
        while (t := self.peek()) is not None and t.text in ("and", "or", "xor", "nand"):
            self.i += 1
            self.expression()
        end = self.peek()
        return self.text[start.pos : end.pos if end else len(self.text)].strip()

    def expression(self) -> None:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "expected a condition")
        assert tok is not None
        if tok.text == "(":
            self.i += 1
            self.condition()
            self.expect(")")
            return
        if tok.text == "!":
            self.i += 1
            self.expression()
            return
        self.rvalue()
        op = self.peek()
        if op is None:
            return
        if op.text in ("==", "!=", "<=", ">=", "<", ">"):
            self.i += 1
            self.rvalue()
        elif op.text in ("=~", "!~"):
            self.i += 1
            rhs = self.next()
            if rhs.kind not in ("regexp", "string"):
                self.fail(rhs.pos, f"expected a regexp after {op.text}, found {rhs.text!r}")
        elif op.text == "in" or (op.text == "not" and (n := self.peek(1)) is not None and n.text == "in"):
            self.i += 1 if op.text == "in" else 2
            self.rvalue()

    def rvalue(self) -> None:
        tok = self.next()
        if tok.kind in ("string", "number", "selector", "regexp"):
            return
        if tok.text == "[":
            self.array_rest()
            return
        if tok.kind == "word" and (n := self.peek()) is not None and n.text == "(":  # method call
            self.i += 1
            while (t := self.peek()) is not None and t.text != ")":
                self.rvalue()
                if (t := self.peek()) is not None and t.text == ",":
                    self.i += 1
            self.expect(")")
            return
        self.fail(tok.pos, f"expected a value in the condition, found {tok.text!r}")


def _unquote(tok: _Tok) -> str:
    if tok.kind == "string":
        body = tok.text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    return tok.text


def parse(text: str) -> Pipeline:
    return _Parser(text).config()
