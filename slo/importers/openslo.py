"""OpenSLO v1 documents (to be completed)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..yamlpos import Document


def recognizes(data: dict[str, Any]) -> bool:
    return str(data.get("apiVersion", "")).startswith("openslo/")


def convert_all(docs: list[Document]) -> tuple[list[Any], list[InputError]]:
    return [], [d.error(("apiVersion",), "OpenSLO import is not implemented yet") for d in docs]
