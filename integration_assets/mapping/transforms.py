"""Named value transforms and enum maps: what a field does to its raw value before conversion.

A vendor that offers two APIs says the same thing in two spellings: REST's `"id": 207119551`
is GraphQL's `"id": "gid://shopify/Customer/207119551"`, REST's `"state": "enabled"` is
GraphQL's `"ENABLED"`, REST's `"tags": "a, b"` is GraphQL's `["a", "b"]`. A mapping file
bridges them with `transform` (names from `TRANSFORMS`, applied in order) and `enum` (a
table of vendor values to column values, with a policy for values it does not list), so both
APIs fill the same column with the same value.

Transforms are strict like converters: a value they cannot handle (a GID that is not one, a
list holding a number) raises `TransformError`, a `ConversionError`, so the record is
quarantined with a reason that names the transform. A transform never raises anything else
for bad data: anything else would be a bug and fail the run (`MappingBugError`).

Only names are accepted in files, never code: the registry is the whole language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from integration_assets.mapping.converters import ConversionError
from integration_assets.mapping.masking import describe_value
from integration_assets.schema import ColumnType

# gid://<app>/<Type>/<id>, optionally with parameters (`?model_name=CustomerAddress`,
# `?inventory_item_id=456`): https://shopify.dev/docs/api/usage/gids
_NUMERIC_GID = re.compile(r"gid://[A-Za-z0-9_-]+/[A-Za-z0-9_]+/([0-9]+)(?:\?[^#\s]*)?")
# What Shopify's REST API puts between tags ("Léon, Noël").
TAG_SEPARATOR = ", "
_INT64_MAX = 2**63 - 1


class TransformError(ConversionError):
    """A value a transform or enum map cannot handle; the record is quarantined."""

    def __init__(self, value: Any, transform: str, expected: str) -> None:
        super().__init__(value, transform, expected)
        self.transform = transform
        self.expected = expected

    def describe(self, sensitive: bool = False) -> str:
        return f"{self.transform}: {self.expected}, got {describe_value(self.value, sensitive)}"


def gid_numeric_id(value: Any) -> int:
    """`gid://shopify/Customer/123` → 123: the REST id inside a GraphQL global id."""
    if type(value) is str:
        match = _NUMERIC_GID.fullmatch(value)
        if match is not None:
            number = int(match.group(1))
            if number <= _INT64_MAX:
                return number
    raise TransformError(
        value, "gid_numeric_id", "expected a global id ending in a number (gid://app/Type/123)"
    )


def lowercase(value: Any) -> str:
    """`ENABLED` → `enabled`: REST spells a GraphQL enum value in lower case."""
    if isinstance(value, str):
        return value.lower()
    raise TransformError(value, "lowercase", "expected a string")


def join(value: Any) -> str:
    """`["a", "b"]` → `"a, b"`: a list of strings as one text, the way REST writes tags."""
    if type(value) is list and all(type(item) is str for item in value):
        return TAG_SEPARATOR.join(value)
    raise TransformError(value, "join", "expected a list of strings")


@dataclass(frozen=True)
class Transform:
    """A registered transform and the column types its result can fill."""

    function: Callable[[Any], Any]
    produces: frozenset[ColumnType]
    description: str


_TEXT = frozenset({ColumnType.STRING})
TRANSFORMS: dict[str, Transform] = {
    "gid_numeric_id": Transform(
        gid_numeric_id,
        frozenset({ColumnType.INTEGER}),
        "A global id (gid://shopify/Customer/123) to the number at its end (123).",
    ),
    "lowercase": Transform(lowercase, _TEXT, "A string in lower case (ENABLED to enabled)."),
    "join": Transform(
        join, _TEXT, f"A list of strings joined with {TAG_SEPARATOR!r} (REST's tags)."
    ),
}


class UnknownPolicy(StrEnum):
    """What an enum map does with a value it does not list."""

    ERROR = "error"  # quarantine the record, naming the value and the known ones
    KEEP = "keep"  # pass the value on unchanged (it is still converted)
    NULL = "null"  # the column gets no value (its default, or a missing-field error)


Steps = Callable[[Any], Any]


def enum_function(values: Mapping[str, Any], unknown: UnknownPolicy) -> Steps:
    """`values[raw]`, with `unknown` deciding what a value outside the map becomes."""
    table = dict(values)
    known = ", ".join(sorted(table))
    missing = object()

    if unknown is UnknownPolicy.KEEP:

        def keep(raw: Any) -> Any:
            result = table.get(raw, missing) if type(raw) is str else missing
            return raw if result is missing else result

        return keep
    if unknown is UnknownPolicy.NULL:

        def to_null(raw: Any) -> Any:
            return table.get(raw) if type(raw) is str else None

        return to_null

    def strict(raw: Any) -> Any:
        result = table.get(raw, missing) if type(raw) is str else missing
        if result is missing:
            raise TransformError(raw, "enum", f"expected one of {known}")
        return result

    return strict


def chain(functions: list[Steps]) -> Steps | None:
    """One callable applying `functions` in order; None when there are none."""
    if not functions:
        return None
    if len(functions) == 1:
        return functions[0]
    steps = tuple(functions)

    def apply_all(value: Any) -> Any:
        for step in steps:
            if value is None:
                return None
            value = step(value)
        return value

    return apply_all
