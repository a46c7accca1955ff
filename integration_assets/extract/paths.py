"""Dotted paths into parsed JSON bodies (`links.next`, `data`, `meta.cursor.after`).

Connector specs point at records and next-page links with dotted paths; one tiny resolver keeps
the paginators and the record parser agreeing on what a path means. A segment made of digits
indexes a list.
"""

from __future__ import annotations

from typing import Any


class PathNotFound(LookupError):
    """The path does not exist in the document; `missing` is the first segment not found."""

    def __init__(self, path: str, missing: str) -> None:
        self.path = path
        self.missing = missing
        super().__init__(f"path {path!r} not found (no {missing!r})")


def lookup(document: Any, path: str) -> Any:
    """The value at dotted `path` in `document`, or PathNotFound."""
    current = document
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            raise PathNotFound(path, segment)
    return current


def lookup_optional(document: Any, path: str) -> Any:
    """The value at `path`, or None when any segment is missing (a last page has no next link)."""
    try:
        return lookup(document, path)
    except PathNotFound:
        return None
