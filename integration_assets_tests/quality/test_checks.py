"""Each registered check and format, one small frame each: what passes, what fails, and that a
missing value is not theirs to judge (that is `required`'s)."""

from __future__ import annotations

import pandas as pd
import pytest

from integration_assets.quality.checks import (
    ENTITY_CHECKS,
    FIELD_CHECKS,
    PARENT_POSITION,
    BatchFrames,
    EntityTables,
)
from integration_assets.quality.formats import FORMATS
from integration_assets.schema import ColumnSchema, ColumnType, TableSchema

NAN = float("nan")


def table(name: str, **columns: ColumnType) -> TableSchema:
    return TableSchema(
        name, tuple(ColumnSchema(column, kind) for column, kind in columns.items()), ()
    )


def passes(format_name: str, values: list[object]) -> list[bool]:
    series = pd.Series(values, dtype=object)
    return FORMATS[format_name].test(series).tolist()


def test_email_wants_one_at_and_a_dotted_domain() -> None:
    values = ["ann@example.com", "a.b+tag@mail.example.co.uk", "ann@localhost", "ann example.com"]
    assert passes("email", values) == [True, True, False, False]


def test_e164_wants_a_plus_country_code_and_at_most_fifteen_digits() -> None:
    values = ["+14155550100", "+447700900123", "415-555-0100", "+0123456789", "+1234567890123456"]
    assert passes("e164", values) == [True, True, False, False, False]


def test_iso_currency_and_country_are_upper_case_codes_of_their_lists() -> None:
    assert passes("iso_currency", ["USD", "EUR", "usd", "XXY"]) == [True, True, False, False]
    assert passes("iso_country", ["US", "DE", "UK", "us"]) == [True, True, False, False]


def test_url_wants_http_or_https_and_a_host() -> None:
    assert passes("url", ["https://shop.example/a?b=1", "ftp://x.example", "http://"]) == [
        True,
        False,
        False,
    ]


def test_gtin_checksum_checks_the_gs1_check_digit() -> None:
    values = pd.Series(["4006381333931", "4006381333932", "73513537", "abc"])
    assert FIELD_CHECKS["gtin_checksum"].test(values).tolist() == [True, False, True, False]


def test_not_blank_fails_whitespace_only_text() -> None:
    values = pd.Series(["x", "  ", ""])
    assert FIELD_CHECKS["not_blank"].test(values).tolist() == [True, False, False]


def test_updated_after_created_fails_a_record_updated_before_it_was_created() -> None:
    tables = EntityTables(
        table("t", created_at=ColumnType.DATETIME, updated_at=ColumnType.DATETIME), (), None
    )
    frame = pd.DataFrame({"created_at": [10.0, 10.0, NAN], "updated_at": [10.0, 9.0, 5.0]})
    result = ENTITY_CHECKS["updated_after_created"].test(BatchFrames(frame, {}), tables)
    assert result.tolist() == [True, False, True]


def test_updated_after_created_needs_both_columns_when_the_mapping_loads() -> None:
    tables = EntityTables(table("t", updated_at=ColumnType.DATETIME), (), "updated_at")
    problem = ENTITY_CHECKS["updated_after_created"].requires(tables)
    assert problem is not None and "created_at" in problem


ORDERS = table(
    "orders",
    total_price=ColumnType.DECIMAL,
    total_tax=ColumnType.DECIMAL,
    total_discounts=ColumnType.DECIMAL,
    total_shipping=ColumnType.DECIMAL,
)
LINES = table("lines", price=ColumnType.DECIMAL, quantity=ColumnType.INTEGER)


def test_an_order_total_balances_against_its_lines_tax_shipping_and_discounts() -> None:
    tables = EntityTables(ORDERS, (LINES,), None)
    orders = pd.DataFrame(
        {
            # 2 x 10 + 5 = 25 - 2.50 discount + 1.86 tax + 6.95 shipping = 31.31
            "total_price": [31.31, 31.33, 31.315, 7.0, NAN],
            "total_tax": [1.86, 1.86, 1.86, 0.0, 1.0],
            "total_discounts": [2.50, 2.50, 2.50, 0.0, 0.0],
            "total_shipping": [6.95, 6.95, 6.95, 0.0, 0.0],
        }
    )
    lines = pd.DataFrame(
        {
            "price": [10.0, 5.0] * 3 + [3.5],
            "quantity": [2, 1] * 3 + [2],
            PARENT_POSITION: [0, 0, 1, 1, 2, 2, 3],
        }
    )
    result = ENTITY_CHECKS["order_total_balances"].test(
        BatchFrames(orders, {"lines": lines}), tables
    )
    # off by two cents fails; within a cent passes; a missing total is not judged here
    assert result.tolist() == [True, False, True, True, True]


def test_a_tax_inclusive_shops_order_balances_without_adding_its_tax_again() -> None:
    """A shop in the EU, the UK or Australia shows prices with VAT in them (Shopify's
    `taxes_included`): the order's total is its lines plus shipping minus discounts, and
    `total_tax` is the part of it that is tax. Such an order is right, not unbalanced."""
    tables = EntityTables(ORDERS, (LINES,), None)
    orders = pd.DataFrame(
        {
            # one 119.00 item with 19% VAT inside (19.00), 4.90 shipping (0.78 VAT inside)
            "total_price": [123.90, 143.68],
            "total_tax": [19.78, 19.78],
            "total_discounts": [0.0, 0.0],
            "total_shipping": [4.90, 4.90],
        }
    )
    lines = pd.DataFrame({"price": [119.0, 119.0], "quantity": [1, 1], PARENT_POSITION: [0, 1]})
    result = ENTITY_CHECKS["order_total_balances"].test(
        BatchFrames(orders, {"lines": lines}), tables
    )
    # tax included in the prices, and tax added on top: both balance
    assert result.tolist() == [True, True]


def test_an_order_with_a_tip_balances_when_the_mapping_carries_the_tip() -> None:
    """Shopify's total_price includes the tip a buyer left at checkout; a mapping with
    `total_tip_received` has it counted, so a tipped order is not unbalanced."""
    orders_with_tips = table(
        "orders", **{c.name: c.type for c in ORDERS.columns}, total_tip_received=ColumnType.DECIMAL
    )
    tables = EntityTables(orders_with_tips, (LINES,), None)
    orders = pd.DataFrame(
        {
            "total_price": [23.0, 23.0, 20.0],
            "total_tax": [0.0, 0.0, 0.0],
            "total_discounts": [0.0, 0.0, 0.0],
            "total_shipping": [0.0, 0.0, 0.0],
            "total_tip_received": [3.0, 0.0, NAN],  # a 3.00 tip; none said; none known
        }
    )
    lines = pd.DataFrame({"price": [10.0] * 3, "quantity": [2] * 3, PARENT_POSITION: [0, 1, 2]})
    check = ENTITY_CHECKS["order_total_balances"]
    assert "total_tip_received" in check.columns(tables)["orders"]

    result = check.test(BatchFrames(orders, {"lines": lines}), tables)

    assert result.tolist() == [True, False, True]


@pytest.mark.parametrize("missing", ["total_shipping", "lines"])
def test_order_total_balances_names_what_the_mapping_lacks(missing: str) -> None:
    columns = {column.name: column.type for column in ORDERS.columns if column.name != missing}
    children = () if missing == "lines" else (LINES,)
    problem = ENTITY_CHECKS["order_total_balances"].requires(
        EntityTables(table("orders", **columns), children, None)
    )
    assert problem is not None and ("line items" if missing == "lines" else missing) in problem
