"""Put an export file's lines back together: each record with its children, one at a time.

An export file (Shopify's bulk JSONL) writes every object of a nested connection as a line
of its own that names its parent (`__parentId`). The paginated walk hands the same record
with its connections as plain lists (the contract's record shape), so the mapping reads
either the same way. With grouped output the vendor writes each object's descendants right
after it: a record is complete as soon as the next root line (one without a parent) arrives,
so only one family is ever in memory, however big the file.

A child whose parent is not in the family being built means the file is not grouped as
promised: that is an `ExportFormatError` naming the line, never a record put in the wrong
place or dropped. So is a child of a type the entity does not declare (its list field would
be unknown) and a line that is not a JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson


class ExportFormatError(ValueError):
    """The export file does not have the promised shape; `line` is its 1-based line number."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line} of the export file: {reason}")


@dataclass(frozen=True)
class Family:
    """One reassembled record; `end` is the byte offset just after its last line.

    A later download can start at `end` (the next line is a root line) and carry on with
    the following record, which is how a broken download or a retried extract resumes
    without reading, or landing, a record twice.
    """

    record: dict[str, Any]
    end: int
    objects: int = 0
    """Objects (non-blank lines) of the file up to `end`, this record's included."""


class FamilyAssembler:
    """Turns (line, end offset) pairs into complete records, one family in memory.

    `children` maps a child type to the list field of its parent; every root record gets
    each of those fields as an empty list first, so a record without children has `[]`
    there, as a paginated one does. A grandchild's list is created on its parent when the
    first one arrives.
    """

    def __init__(
        self,
        children: Mapping[str, str],
        *,
        parent_field: str,
        type_field: str | None,
        id_type_pattern: str,
        id_field: str = "id",
        first_line: int = 1,
        objects: int = 0,
    ) -> None:
        self._children = dict(children)
        self._parent_field = parent_field
        self._type_field = type_field
        self._id_type = re.compile(id_type_pattern)
        self._id_field = id_field
        self._line = first_line - 1
        self._root: dict[str, Any] | None = None
        self._members: dict[Any, dict[str, Any]] = {}
        self._end = 0
        self.lines = objects
        """Objects read so far (non-blank lines), to compare with the vendor's count."""

    def feed(self, line: bytes, end: int) -> Family | None:
        """Take one line; returns the previous record when this line starts a new one."""
        self._line += 1
        stripped = line.strip()
        if not stripped:
            self._end = end
            return None
        self.lines += 1
        try:
            item = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise ExportFormatError(self._line, f"not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise ExportFormatError(self._line, f"a {type(item).__name__}, not a JSON object")
        parent_id = item.pop(self._parent_field, None)
        if parent_id is None:
            finished = self._finish(self.lines - 1)
            self._start(item)
            self._end = end
            return finished
        self._attach(item, parent_id)
        self._end = end
        return None

    def close(self) -> Family | None:
        """The last record, once the file has ended."""
        return self._finish(self.lines)

    def _start(self, root: dict[str, Any]) -> None:
        for field in self._children.values():
            root.setdefault(field, [])
        self._root = root
        self._members = {root.get(self._id_field): root}

    def _attach(self, child: dict[str, Any], parent_id: Any) -> None:
        parent = self._members.get(parent_id)
        if parent is None:
            where = (
                "before any record"
                if self._root is None
                else f"while record {self._root.get(self._id_field)!r} was being read"
            )
            raise ExportFormatError(
                self._line,
                f"a child of {parent_id!r} arrived {where}: the file does not keep children "
                "right after their parent (was it exported without grouping?)",
            )
        kind = self._kind(child)
        field = self._children.get(kind) if kind is not None else None
        if field is None:
            known = ", ".join(sorted(self._children)) or "none"
            raise ExportFormatError(
                self._line,
                f"a child of type {kind!r} that the entity does not declare (known: {known}); "
                "add it to the entity's export_children",
            )
        parent.setdefault(field, []).append(child)
        self._members[child.get(self._id_field)] = child

    def _kind(self, child: dict[str, Any]) -> str | None:
        if self._type_field is not None:
            kind = child.get(self._type_field)
            if isinstance(kind, str):
                return kind
        identifier = child.get(self._id_field)
        if isinstance(identifier, str):
            match = self._id_type.match(identifier)
            if match:
                return match.group(1)
        return None

    def _finish(self, objects: int) -> Family | None:
        if self._root is None:
            return None
        family = Family(self._root, self._end, objects)
        self._root = None
        self._members = {}
        return family


def reassemble(lines: Iterable[tuple[bytes, int]], assembler: FamilyAssembler) -> Iterator[Family]:
    """Every record of `lines` ((line, end offset) pairs), children in place, in file order."""
    for line, end in lines:
        family = assembler.feed(line, end)
        if family is not None:
            yield family
    last = assembler.close()
    if last is not None:
        yield last
