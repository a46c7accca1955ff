"""Dotted paths into vendor JSON: the one resolver of the project.

A path is dotted (`default_address.city`, `attributes.location.zip`, `links.next`); a numeric
segment is a list index when it meets a list (`addresses.0.city`) and a plain key when it
meets an object. Connector specs (records, next links, cursor fields, person references),
mapping sources and redaction all resolve paths here, so a path means the same everywhere.

Two ways to resolve, for two kinds of caller:

- `build_getter` (mapping, cursor tracking, redaction): a missing key, a null on the way or
  an index past the end all mean "no value" (None), which the field's required/default rules
  then judge. Meeting a scalar where an object or list should be is different: the vendor
  changed the shape of its payload, which is a schema conflict, so the getter raises
  `PathError` (the mapping quarantines the record). Paths are split once, by `parse_path`;
  the getter for a single-key path is the fastest thing Python offers (`dict.get`), the
  mapping compiler inlines it.
- `lookup` (extract: the records and next-link paths of a page): "not found" is not the same
  as null, so any segment that cannot be followed (missing, null or scalar on the way, index
  past the end) raises `PathNotFound` naming it; `lookup_optional` turns that into None (a
  last page has no next link).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Inner spaces are allowed: Klaviyo custom properties are named like `Loyalty Tier`. Leading
# or trailing whitespace, tabs and newlines are typos.
_SEGMENT = re.compile(r"[^.\s*](?:[^.*\t\n\r\f\v]*[^.\s*])?")
_INDEX = re.compile(r"[0-9]+")

Getter = Callable[[dict[str, Any]], Any]


class PathNotFound(LookupError):
    """The path does not exist in the document; `missing` is the first segment not found."""

    def __init__(self, path: str, missing: str) -> None:
        self.path = path
        self.missing = missing
        super().__init__(f"path {path!r} not found (no {missing!r})")


class PathError(ValueError):
    """A path runs into a value of the wrong shape (a scalar where an object was expected)."""


def parse_path(path: str) -> tuple[str, ...]:
    """Split a dotted path into segments; ValueError says what is wrong with it."""
    if not path:
        raise ValueError("a source path must not be empty")
    segments = tuple(path.split("."))
    for segment in segments:
        if segment == "":
            raise ValueError(f"source path {path!r} has an empty segment (stray '.')")
        if "*" in segment:
            raise ValueError(f"source path {path!r}: wildcards are not supported yet")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"source path {path!r}: segment {segment!r} has leading, trailing or non-space whitespace"
            )
    return segments


def _step(value: Any, segment: str, index: int | None, walked: str) -> Any:
    if isinstance(value, dict):
        return value.get(segment)
    if isinstance(value, list):
        if index is None:
            raise PathError(f"{walked} is a list, expected an object with key {segment!r}")
        return value[index] if index < len(value) else None
    raise PathError(f"{walked} is a {type(value).__name__}, expected an object or list")


def build_getter(segments: tuple[str, ...]) -> Getter:
    """A function returning the value at `segments` in a record, None when absent."""
    first = segments[0]
    if len(segments) == 1:
        return lambda record: record.get(first)
    steps = tuple(
        (
            segment,
            int(segment) if _INDEX.fullmatch(segment) else None,
            ".".join(segments[:position]),
        )
        for position, segment in enumerate(segments[1:], start=1)
    )
    if len(steps) == 1 and steps[0][1] is None:
        second, _, walked = steps[0]

        def get_two(record: dict[str, Any]) -> Any:
            value = record.get(first)
            if value is None:
                return None
            if type(value) is dict:
                return value.get(second)
            return _step(value, second, None, walked)

        return get_two

    def get_deep(record: dict[str, Any]) -> Any:
        value = record.get(first)
        for segment, index, walked in steps:
            if value is None:
                return None
            value = _step(value, segment, index, walked)
        return value

    return get_deep


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
