"""The one error every bad scenario input becomes: file, key, value and what is allowed.

The CLI prints it as one line and exits with status 2, so its wording is part of the user
interface (and of the tests): change it only on purpose.
"""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """A bad scenario input: the file, the key, the value and what is allowed."""

    def __init__(self, file: str, key: str, problem: str, allowed: str = "", value: Any = None,
                 has_value: bool = False):
        self.file, self.key, self.problem, self.allowed = file, key, problem, allowed
        self.value, self.has_value = value, has_value
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else f"{self.file}"
        val = f" = {show(self.value)}" if self.has_value else ""
        allowed = f"; allowed: {self.allowed}" if self.allowed else ""
        return f"{where}{val}: {self.problem}{allowed}"

    def __reduce__(self):
        # pickles across process pools with all its parts (the default would pass str(self) only)
        return (ScenarioError, (self.file, self.key, self.problem, self.allowed, self.value, self.has_value))


def show(value: Any) -> str:
    """A value as the user wrote it in TOML (strings quoted, tables not spelt out)."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{table}"
    return str(value).replace("True", "true").replace("False", "false")
