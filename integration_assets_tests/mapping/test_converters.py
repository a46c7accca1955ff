"""Each column type converts what the vendors send and refuses, with a reason, what it can't."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from integration_assets.mapping.converters import (
    CONVERTERS,
    ConversionError,
    to_boolean,
    to_date,
    to_datetime,
    to_decimal,
    to_float,
    to_integer,
    to_json,
    to_string,
)


def reason(convert: Any, value: Any, sensitive: bool = False) -> str:
    with pytest.raises(ConversionError) as caught:
        convert(value)
    return caught.value.describe(sensitive)


def test_a_timestamp_with_an_offset_becomes_the_same_instant_in_utc() -> None:
    converted = to_datetime("2024-03-01T10:15:00-05:00")

    assert converted == datetime(2024, 3, 1, 15, 15, tzinfo=UTC)
    assert converted.tzinfo is UTC


def test_z_suffixed_and_epoch_second_timestamps_are_utc() -> None:
    assert to_datetime("2024-03-01T15:15:00Z") == datetime(2024, 3, 1, 15, 15, tzinfo=UTC)
    assert to_datetime(1709306100) == datetime(2024, 3, 1, 15, 15, tzinfo=UTC)


def test_a_timestamp_without_offset_is_refused_as_ambiguous() -> None:
    assert "ambiguous" in reason(to_datetime, "2024-03-01T10:15:00")


@pytest.mark.parametrize("value", ["yesterday", "", 1.5, True, {"at": 1}])
def test_non_timestamps_are_refused(value: Any) -> None:
    assert "to datetime" in reason(to_datetime, value)


def test_dates_come_from_iso_dates_only() -> None:
    assert to_date("2024-03-01") == date(2024, 3, 1)
    assert "YYYY-MM-DD" in reason(to_date, "2024-03-01T10:15:00Z")


def test_integers_come_from_ints_and_integer_strings() -> None:
    assert to_integer(42) == 42
    assert to_integer("42") == 42
    assert to_integer("-7") == -7
    assert to_integer(4.0) == 4


def test_a_fractional_number_is_never_truncated_into_an_integer() -> None:
    assert (
        reason(to_integer, 4.5) == "cannot convert 4.5 (float) to integer: it has a fractional part"
    )
    assert reason(to_integer, "4.5") == "cannot convert '4.5' (str) to integer"


@pytest.mark.parametrize("value", [True, "4_2", " 42", "", 2**63, "9223372036854775808"])
def test_integer_lookalikes_and_out_of_range_values_are_refused(value: Any) -> None:
    assert "to integer" in reason(to_integer, value)


def test_decimals_keep_the_exact_digits_of_strings_and_floats() -> None:
    assert to_decimal("19.99") == Decimal("19.99")
    assert to_decimal(19.99) == Decimal("19.99")
    assert to_decimal(3) == Decimal(3)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "1_000", " 1.00", "", float("inf")])
def test_decimal_lookalikes_and_non_finite_numbers_are_refused(value: Any) -> None:
    assert "to decimal" in reason(to_decimal, value)


def test_a_decimal_refusal_quotes_the_value_and_its_type() -> None:
    assert reason(to_decimal, "abc") == "cannot convert 'abc' (str) to decimal"


def test_floats_accept_numbers_and_numeric_strings_but_not_nan() -> None:
    assert to_float(1) == 1.0
    assert to_float("2.5e3") == 2500.0
    assert "finite" in reason(to_float, float("nan"))


def test_booleans_accept_true_and_false_but_not_yes() -> None:
    assert to_boolean(True) is True
    assert to_boolean("false") is False
    assert to_boolean("TRUE") is True
    assert "only true/false" in reason(to_boolean, "yes")
    assert "to boolean" in reason(to_boolean, 1)


def test_a_number_arriving_in_a_string_column_is_a_schema_conflict_not_a_string() -> None:
    assert to_string("40202") == "40202"
    assert reason(to_string, 40202).startswith("cannot convert 40202 (int) to string")


def test_json_columns_take_any_json_value_as_is() -> None:
    payload = {"Items": [{"SKU": "A-1"}], "Total": 12.5}
    assert to_json(payload) is payload
    assert to_json([1, 2]) == [1, 2]
    assert to_json("text") == "text"
    assert "not a JSON value" in reason(to_json, {1, 2})


def test_personal_data_never_appears_in_a_reason() -> None:
    email_reason = reason(to_integer, "bob.norman@mail.example.com")
    phone_reason = reason(to_integer, "+1 613-555-0123")
    flagged_reason = reason(to_string, 16135550123, sensitive=True)

    assert "bob.norman" not in email_reason and "masked" in email_reason
    assert "613-555" not in phone_reason and "masked" in phone_reason
    assert "16135550123" not in flagged_reason and "masked" in flagged_reason


ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**70),
    10**400,
    1e308,
    float("nan"),
    float("-inf"),
    Decimal("1e400"),
    Decimal("NaN"),
    Decimal("-sNaN"),
    "",
    " 1 ",
    "1e400",
    "١٢",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31",
    "yes",
    {"a": 1},
    [1, 2],
    (1,),
    b"bytes",
    object(),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    datetime(2024, 1, 1),
    date(2024, 1, 1),
    10**20,
    -(10**4000),
]


@pytest.mark.parametrize("column_type", list(CONVERTERS))
def test_every_converter_refuses_bad_values_only_with_conversion_error(column_type: Any) -> None:
    """Anything else escaping a converter would fail the run as a mapping bug."""
    convert = CONVERTERS[column_type]
    escaped: list[str] = []
    refused = 0
    for value in ODD_VALUES:
        try:
            convert(value)
        except ConversionError:
            refused += 1
        except Exception as exc:
            escaped.append(f"{type(exc).__name__} for {type(value).__name__}")
    assert escaped == []
    assert refused > len(ODD_VALUES) // 3
