"""Sloth `prometheus/v1` files (to be completed)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..yamlpos import Document


def recognizes(data: dict[str, Any]) -> bool:
    return data.get("version") == "prometheus/v1"


def convert(doc: Document) -> tuple[list[Any], list[InputError]]:
    return [], [doc.error(("version",), "Sloth import is not implemented yet")]
