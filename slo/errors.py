"""Located errors in user files: every message names file, line, column and field."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["InputError", "InputErrors", "Warning_"]


@dataclass(frozen=True, order=True)
class InputError:
    """One problem in one input file. Sorted by position so output is stable."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, order=True)
class Warning_(InputError):
    """Same shape as an error, but the build goes on (a tier below 1x, for example)."""


class InputErrors(Exception):
    """Raised with every error of every file, so users fix them all in one round."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))
