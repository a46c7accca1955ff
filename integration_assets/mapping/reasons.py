"""Rejection reasons: one line per problem, naming the column and where the raw value was.

A reason reads `shopify_orders.total_price: cannot convert 'abc' (str) to decimal`. When the
raw value lives elsewhere than the column name suggests (a flattened path, an item of a
nested list) the source is added: `shopify_order_line_items.price (source line_items[1].price)`.
Reasons are built only when something fails, so they cost nothing on the happy path.
"""

from __future__ import annotations

from typing import Any

from integration_assets.mapping.converters import ConversionError
from integration_assets.mapping.masking import describe_value
from integration_assets.paths import PathError


def location(
    table: str, target: str, source: str, list_source: str | None, index: int | None
) -> str:
    """`table.column`, plus the raw path when it is not simply the column name."""
    raw = f"{list_source}[{index}].{source}" if list_source is not None else source
    if raw == target:
        return f"{table}.{target}"
    return f"{table}.{target} (source {raw})"


def problem(exc: BaseException, type_name: str, sensitive: bool) -> str:
    """What went wrong converting a value, masked when the field holds contact data."""
    if isinstance(exc, ConversionError):
        return exc.describe(sensitive)
    if isinstance(exc, PathError):
        return str(exc)
    return f"unexpected {type(exc).__name__} while converting to {type_name}"


def missing() -> str:
    return "required field missing"


def not_an_object(value: Any) -> str:
    return f"expected a JSON object, got {describe_value(value)}"


def not_a_list(value: Any) -> str:
    return f"expected a list, got {describe_value(value)}"
