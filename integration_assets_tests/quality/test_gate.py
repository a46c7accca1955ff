"""The gate over mapped batches of the shipped Shopify order mapping: every failure of every
record becomes a reason naming table, column, check and dimension (never personal data in
clear), a line item's failure fails its order, and the report counts it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integration_assets.mapping import compile_mapping, load_mapping
from integration_assets.quality.gate import Gate, ReportBuilder, split_batch
from integration_assets.quality.model import Dimension

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
ORDERS = compile_mapping(load_mapping("shopify", "orders", mappings_dir=MAPPINGS, api="rest"))


def order(number: int, **changes: Any) -> dict[str, Any]:
    """An order of one line (2 x 10.00) whose total balances: 20 + 1.65 tax + 6.95 shipping."""
    record: dict[str, Any] = {
        "id": number,
        "order_number": 1000 + number,
        "email": f"buyer{number}@example.com",
        "phone": "+14155550100",
        "currency": "USD",
        "subtotal_price": "20.00",
        "total_price": "28.60",
        "total_tax": "1.65",
        "total_discounts": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "6.95"}},
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T11:00:00Z",
        "line_items": [{"id": number * 10, "quantity": 2, "price": "10.00"}],
    }
    record.update(changes)
    return record


def test_valid_orders_pass_every_rule_and_every_evaluation_is_counted() -> None:
    batch = ORDERS.map_records([order(1), order(2)])
    verdict = Gate(ORDERS.quality_rules).validate(batch)

    assert verdict.reasons == {} and verdict.passed == 2
    assert verdict.evaluated[Dimension.CONSISTENCY] == 4  # two checks, two orders
    assert verdict.evaluated[Dimension.VALIDITY] > 0 and verdict.evaluated[Dimension.ACCURACY] > 0
    assert sum(verdict.failed.values()) == 0


def test_every_failure_of_a_record_is_a_reason_and_personal_data_stays_masked() -> None:
    bad = order(
        2,
        email="not-an-email",
        phone="415 555 0100",
        currency="usd",
        total_price="99.00",
        updated_at="2024-04-30T10:00:00Z",
    )
    batch = ORDERS.map_records([order(1), bad])
    verdict = Gate(ORDERS.quality_rules).validate(batch)

    assert list(verdict.reasons) == [1]
    reasons = verdict.reasons[1]
    assert len(reasons) == 5
    text = "\n".join(reasons)
    for expected in (
        "shopify_orders.email: email (validity)",
        "shopify_orders.phone: e164 (validity)",
        "shopify_orders.currency: iso_currency (validity) failed: not an ISO 4217 currency "
        "code (upper case, e.g. USD), got 'usd' (str)",
        "shopify_orders: updated_after_created (consistency)",
        "shopify_orders: order_total_balances (consistency)",
    ):
        assert expected in text
    assert "not-an-email" not in text and "415 555 0100" not in text


def test_a_failing_line_item_fails_its_order_and_the_order_leaves_with_its_lines() -> None:
    bad = order(2, line_items=[{"id": 20, "quantity": 2, "price": "-10.00"}], total_price="-11.40")
    batch = ORDERS.map_records([order(1), bad])
    verdict = Gate(ORDERS.quality_rules).validate(batch)

    assert list(verdict.reasons) == [1]
    assert any(
        "shopify_order_line_items.price (a child row): range (accuracy)" in reason
        and "-10.00" in reason
        for reason in verdict.reasons[1]
    )
    kept, dropped = split_batch(batch, "shopify_orders", verdict.reasons)
    assert [row["id"] for row in kept.rows["shopify_orders"]] == [1]
    assert [row["id"] for row in kept.rows["shopify_order_line_items"]] == [10]
    assert [row["id"] for row in dropped] == [2]


def test_unique_fails_two_records_sharing_a_value_but_not_two_versions_of_one_record() -> None:
    versions = [order(1), order(1, updated_at="2024-05-01T12:00:00Z")]
    clash = [order(2, order_number=5000), order(3, order_number=5000)]
    verdict = Gate(ORDERS.quality_rules).validate(ORDERS.map_records([*versions, *clash]))

    assert sorted(verdict.reasons) == [2, 3]
    assert all("order_number: unique (validity)" in r[0] for r in verdict.reasons.values())


def test_the_report_sums_batches_and_mapping_rejects_with_example_keys() -> None:
    gate = Gate(ORDERS.quality_rules)
    builder = ReportBuilder(gate.threshold)
    for records in ([order(1), order(2, currency="usd")], [order(3, id="x"), order(4)]):
        batch = ORDERS.map_records(records)
        rows = batch.rows["shopify_orders"]
        builder.add_rejected(batch.rejected)
        builder.add(gate.validate(batch), lambda position, rows=rows: str(rows[position]["id"]))
    report = builder.report()

    assert (report.records, report.passed, report.mapping_rejected) == (4, 2, 1)
    assert report.pass_rate == 0.5 and not report.gate_passed
    kinds = {(f.check, f.column, f.dimension): f for f in report.failures}
    assert kinds[("iso_currency", "currency", Dimension.VALIDITY)].example_ids == ("2",)
    assert kinds[("type", "id", Dimension.VALIDITY)].count == 1
