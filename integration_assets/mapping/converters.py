"""One converter per column type: raw JSON value in, warehouse value out, or a clear refusal.

Converters are strict on purpose. A vendor field that suddenly arrives with another JSON type
(a number where a string was, a float where an integer was) is a schema conflict (see
docs/architecture.md): the record is quarantined with a reason instead of being coerced into
something that merely looks right. Each converter is a plain function taking a non-None value; the
compiler handles None (default / required) before calling it and binds the function once.
The common case (the value already has the right JSON type) is checked first and costs one
`type()` comparison.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integration_assets.mapping.masking import describe_value
from integration_assets.schema import ColumnType
from integration_assets.timestamps import (
    TimestampError,
    aware_in_utc,
    instant_from_epoch,
    instant_from_iso,
)

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# ASCII digits only: int() and Decimal() also accept "4_2", " 42 " and non-ASCII digits.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JSON_TYPES = (dict, list, str, int, float, bool)


class ConversionError(ValueError):
    """A value that cannot become the column type. Formats itself with masking on demand."""

    def __init__(self, value: Any, type_name: str, detail: str = "") -> None:
        super().__init__(f"cannot convert a {type(value).__name__} to {type_name}")
        self.value = value
        self.type_name = type_name
        self.detail = detail

    def describe(self, sensitive: bool = False) -> str:
        """`cannot convert 'abc' (str) to decimal`, plus why when it is not obvious."""
        text = f"cannot convert {describe_value(self.value, sensitive)} to {self.type_name}"
        return f"{text}: {self.detail}" if self.detail else text


Converter = Callable[[Any], Any]


def to_string(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise ConversionError(value, "string", "only JSON strings become string columns")


def _check_int64(value: int, original: Any) -> int:
    if _INT64_MIN <= value <= _INT64_MAX:
        return value
    raise ConversionError(original, "integer", "outside the 64-bit integer range")


def to_integer(value: Any) -> int:
    if type(value) is int:
        return _check_int64(value, value)
    if isinstance(value, bool):
        raise ConversionError(value, "integer", "booleans are not integers")
    if isinstance(value, int):
        return _check_int64(int(value), value)
    if isinstance(value, str):
        if _INTEGER_TEXT.fullmatch(value):
            return _check_int64(int(value), value)
        raise ConversionError(value, "integer")
    if isinstance(value, float | Decimal):
        if not _is_finite(value):
            raise ConversionError(value, "integer", "not a finite number")
        if value == int(value):
            return _check_int64(int(value), value)
        raise ConversionError(value, "integer", "it has a fractional part")
    raise ConversionError(value, "integer")


def _is_finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def to_float(value: Any) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise ConversionError(value, "float", "not a finite number")
    if isinstance(value, bool):
        raise ConversionError(value, "float", "booleans are not numbers")
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise ConversionError(value, "float", "too large for a float") from None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        result = float(value)
        if math.isfinite(result):
            return result
        raise ConversionError(value, "float", "not a finite number")
    if isinstance(value, float | Decimal) and _is_finite(value):
        result = float(value)
        if math.isfinite(result):
            return result
        raise ConversionError(value, "float", "too large for a float")
    raise ConversionError(value, "float")


def _decimal_from_text(value: str) -> Decimal:
    # Decimal() alone would also take "NaN", "Infinity", " 1 ", "1_000" and non-ASCII digits;
    # these checks are several times cheaper than a regular expression.
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise ConversionError(value, "decimal") from None
    if not result.is_finite():
        raise ConversionError(value, "decimal", "not a finite number")
    if not value.isascii() or "_" in value or value.strip() != value:
        raise ConversionError(value, "decimal")
    return result


def to_decimal(value: Any) -> Decimal:
    if type(value) is str:
        return _decimal_from_text(value)
    if isinstance(value, bool):
        raise ConversionError(value, "decimal", "booleans are not numbers")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if math.isfinite(value):
            # str() gives the shortest repr, so 19.99 stays 19.99 rather than 19.989999…
            return Decimal(str(value))
        raise ConversionError(value, "decimal", "not a finite number")
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
        raise ConversionError(value, "decimal", "not a finite number")
    if isinstance(value, str):
        return _decimal_from_text(str(value))
    raise ConversionError(value, "decimal")


def to_boolean(value: Any) -> bool:
    if type(value) is bool:
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise ConversionError(value, "boolean", "only true/false are accepted")
    raise ConversionError(value, "boolean")


def to_datetime(value: Any) -> datetime:
    """The project's one timestamp rule (`integration_assets/timestamps.py`), strict: a
    timestamp without an offset is refused, because its instant is ambiguous."""
    try:
        if type(value) is str:
            return instant_from_iso(value)
        if isinstance(value, datetime):
            return aware_in_utc(value)
        if type(value) is int:
            return instant_from_epoch(value)
    except TimestampError as exc:
        raise ConversionError(value, "datetime", exc.reason) from None
    if isinstance(value, str):
        return to_datetime(str(value))
    raise ConversionError(value, "datetime", "expected an ISO 8601 string or epoch seconds")


def to_date(value: Any) -> date:
    if type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ConversionError(value, "date", "expected YYYY-MM-DD") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return to_date(str(value))
    raise ConversionError(value, "date", "expected YYYY-MM-DD")


def to_json(value: Any) -> Any:
    if isinstance(value, _JSON_TYPES):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConversionError(value, "json", "JSON has no NaN or infinity")
        return value
    raise ConversionError(value, "json", "not a JSON value")


CONVERTERS: dict[ColumnType, Converter] = {
    ColumnType.STRING: to_string,
    ColumnType.INTEGER: to_integer,
    ColumnType.FLOAT: to_float,
    ColumnType.DECIMAL: to_decimal,
    ColumnType.BOOLEAN: to_boolean,
    ColumnType.DATE: to_date,
    ColumnType.DATETIME: to_datetime,
    ColumnType.JSON: to_json,
}


def converter_for(column_type: ColumnType) -> Converter:
    """The converter of a column type (every ColumnType has one)."""
    return CONVERTERS[column_type]
