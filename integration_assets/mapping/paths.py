"""Source paths: where a value lives inside a raw vendor record, resolved at compile time.

A path is dotted (`default_address.city`, `attributes.location.zip`); a numeric segment is a
list index when it meets a list (`addresses.0.city`) and a plain key when it meets an object.
A missing key, a null on the way or an index past the end all mean "no value" (None), which
the field's required/default rules then judge. Meeting a scalar where an object or list
should be is different: the vendor changed the shape of its payload, which is a schema
conflict, so the getter raises `PathError` and the record is quarantined.

Paths are split once, when the mapping is compiled; the getter for a single-key path is the
fastest thing Python offers (`dict.get`), the compiler inlines it.
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
