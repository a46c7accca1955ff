"""`MappingError`: a broken mapping file, explained well enough to fix it without a debugger.

Every problem names the file, the field path inside it (`mappings[3] (target 'email').type`)
and what is wrong; JSON syntax errors carry the line and column. All problems of a file are
reported together, so fixing a file is one round trip, not one per mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

# Pydantic puts the tag of the chosen union member into error locations; it is not a key.
_ENTRY_TAGS = frozenset({"field", "nested"})
_MAX_INPUT = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a mapping file: where (a field path, "" for the whole file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MappingError(ValueError):
    """A mapping file (or an override on top of it) that cannot be used."""

    def __init__(self, file: Path | str | None, problems: list[Problem], context: str = "") -> None:
        self.file = Path(file) if file is not None else None
        self.problems = tuple(problems)
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        head = str(self.file) if self.file is not None else "mapping"
        if self.context:
            head = f"{head} ({self.context})"
        if len(self.problems) == 1:
            return f"{head}: {self.problems[0]}"
        lines = [f"{head}: {len(self.problems)} problems"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class MappingBugError(RuntimeError):
    """Mapping code (a converter or transform) raised something other than "bad value".

    That is a bug in the code, not in the record: quarantining would bury every record of the
    run under a reason that is not theirs, so the run fails instead. The message names where
    (table, column, source path) and the exception type, never the value (it may be personal
    data); the original exception is chained as `__cause__`.
    """

    def __init__(self, table: str, column: str, source: str, error: BaseException) -> None:
        self.table = table
        self.column = column
        self.source = source
        super().__init__(
            f"bug in the mapping code for {table}.{column} (source {source}): "
            f"{type(error).__name__} raised while converting a value. This is not bad data, so "
            f"no record was quarantined; fix the converter or transform and run again."
        )


def _label(entry: Any) -> str:
    """` (target 'email')` for a mapping entry, so a path is readable without counting."""
    if isinstance(entry, dict):
        for key in ("target", "source"):
            if isinstance(entry.get(key), str):
                return f" ({key} {entry[key]!r})"
    return ""


def _child(node: Any, key: int | str) -> Any:
    try:
        return node[key]
    except (IndexError, KeyError, TypeError):
        return None


def format_location(loc: tuple[int | str, ...], data: Any) -> str:
    """`('mappings', 3, 'field', 'type')` → `mappings[3] (target 'email').type`."""
    parts: list[str] = []
    node = data
    for position, item in enumerate(loc):
        if position == 2 and loc[0] == "mappings" and item in _ENTRY_TAGS:
            continue
        node = _child(node, item)
        if isinstance(item, int):
            parts.append(f"[{item}]{_label(node)}")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def problems_from_validation(exc: ValidationError, data: Any) -> list[Problem]:
    """Pydantic errors rewritten as file-relative problems with readable paths."""
    problems = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("value_error", "missing") and "input" in error:
            shown = repr(error["input"])
            if len(shown) <= _MAX_INPUT:
                message = f"{message} (got {shown})"
        problems.append(Problem(format_location(tuple(error["loc"]), data), message))
    return problems
