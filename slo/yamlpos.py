"""YAML to plain Python with the position of every node, and no silent surprises:
duplicate keys, non-string keys, tabs and bad bytes become located errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml

from .errors import InputError

__all__ = ["Document", "Path", "read_documents"]

Path = tuple[str | int, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass
class Document:
    file: str
    index: int  # 0-based position in a multi-document file
    data: object
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)  # node start (line, col)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)  # key start for mapping entries
    line: int = 1

    def position(self, path: Path, key: bool = False) -> tuple[int, int]:
        """The closest known position: the node itself, else its nearest ancestor."""
        table = self.keys if key else self.values
        while True:
            if path in table:
                return table[path]
            if path in self.values:
                return self.values[path]
            if not path:
                return (self.line, 1)
            path = path[:-1]

    def error(self, path: Path, message: str, *, key: bool = False) -> InputError:
        line, col = self.position(path, key)
        return InputError(self.file, line, col, format_path(path), message)


def format_path(path: Path) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def read_documents(file: str, raw: bytes) -> tuple[list[Document], list[InputError]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        return [], [
            InputError(
                file,
                line,
                col,
                "",
                f"invalid UTF-8 byte 0x{raw[e.start]:02x}; save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return [], [InputError(file, 1, 1, "", "the file is empty")]
    docs: list[Document] = []
    errors: list[InputError] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None:
                continue
            doc = Document(file, index, None, line=node.start_mark.line + 1)
            doc.data = _convert(node, (), doc, errors)
            docs.append(doc)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        lines = text.splitlines()
        at = lines[line - 1][col - 1 : col] if line <= len(lines) else ""
        message = "tab character: indent YAML with spaces" if at == "\t" else _yaml_message(e)
        errors.append(InputError(file, line, col, "", message))
    if not docs and not errors:
        errors.append(InputError(file, 1, 1, "", "the file holds no YAML document"))
    return docs, errors


def _yaml_message(e: yaml.MarkedYAMLError) -> str:
    return f"not valid YAML: {e.problem or e}"


def _convert(node: yaml.Node, path: Path, doc: Document, errors: list[InputError]) -> object:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            kpos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key_node.tag == "tag:yaml.org,2002:merge":
                errors.append(InputError(doc.file, *kpos, _fmt(path), "YAML merge keys (<<) are not supported"))
                continue
            if not isinstance(key, str) or key_node.tag != "tag:yaml.org,2002:str":
                errors.append(InputError(doc.file, *kpos, _fmt(path), "keys must be strings"))
                continue
            if key in out:
                first = doc.keys[(*path, key)]
                errors.append(
                    InputError(
                        doc.file,
                        *kpos,
                        _fmt((*path, key)),
                        f"duplicate key {key!r} (first at line {first[0]})",
                    )
                )
                continue
            doc.keys[(*path, key)] = kpos
            out[key] = _convert(value_node, (*path, key), doc, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, (*path, i), doc, errors) for i, child in enumerate(node.value)]
    return _scalar(node)


def _fmt(path: Path) -> str:
    return format_path(path)


def _scalar(node: yaml.Node) -> object:
    value: str = node.value
    tag = node.tag
    if tag == _NULL_TAG:
        return None
    if tag == _BOOL_TAG:
        return value.lower() in ("true", "yes", "on")
    if tag == _INT_TAG:
        try:
            return int(value.replace("_", ""), 0)
        except ValueError:
            return value
    if tag == _FLOAT_TAG:
        # Decimal, not float: 99.9 must stay exactly 99.9 through the whole compiler.
        try:
            return Decimal(value.replace("_", ""))
        except InvalidOperation:
            return value
    return value


def iter_paths(doc: Document) -> Iterator[Path]:
    yield from doc.values
