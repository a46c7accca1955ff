"""Equal values written differently are the same row: re-sending a record whose amounts have
another scale (`10.50` / `10.5`) or whose timestamps have another offset rewrites nothing.

Shopify's REST and GraphQL APIs spell the same record this way, so this is what lets a
connection switch API without rewriting its tables.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

from integration_assets.load import TableCounts, Warehouse
from integration_assets.load.encoding import canonical_decimal, row_hash
from integration_assets_tests.load.samples import CUSTOMERS, T0, customer
from integration_assets_tests.load.test_upsert import load_customers, stored

MINUS_FIVE = timezone(timedelta(hours=-5))


def test_decimals_of_equal_value_have_one_text_and_one_hash() -> None:
    texts = {canonical_decimal(Decimal(text)) for text in ("12.30", "12.3", "1.23E+1", "12.300")}

    assert texts == {"12.3"}
    assert canonical_decimal(Decimal("-0.00")) == "0" == canonical_decimal(Decimal("0E-8"))
    assert canonical_decimal(Decimal("1E+2")) == "100"
    assert row_hash([Decimal("597.00")]) == row_hash([Decimal("597.0")])
    assert row_hash([Decimal("597.01")]) != row_hash([Decimal("597.1")])


def test_a_record_resent_with_other_decimal_scales_and_offsets_is_unchanged(
    customers_wh: Warehouse,
) -> None:
    load_customers(customers_wh, [customer(1, total_spent=Decimal("10.50"))])
    before = stored(customers_wh, CUSTOMERS)

    same = customer(1, total_spent=Decimal("10.5"), at=T0.astimezone(MINUS_FIVE))
    result = load_customers(customers_wh, [same], run_id="r2")

    assert result["customers"] == TableCounts(unchanged=1)
    assert stored(customers_wh, CUSTOMERS) == before


def test_a_real_change_of_amount_is_still_written(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1, total_spent=Decimal("10.50"))])

    result = load_customers(customers_wh, [customer(1, total_spent=Decimal("10.51"))], "r2")

    assert result["customers"] == TableCounts(updated=1)
    assert stored(customers_wh, CUSTOMERS)[(1,)]["total_spent"] == Decimal("10.51")
