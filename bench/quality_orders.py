"""Mapped-like Shopify orders for the quality benches: REST-shaped raw orders whose totals
balance (as the sandbox's do), mapped with the shipped mapping in batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from integration_assets.mapping import CompiledMapping, compile_mapping, load_mapping
from integration_assets.schema import MappedBatch

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


def orders_mapping() -> CompiledMapping:
    return compile_mapping(load_mapping("shopify", "orders", mappings_dir=MAPPINGS_DIR, api="rest"))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def make_order(number: int) -> dict[str, Any]:
    """One order with 1-4 line items; total = lines - discount + tax + shipping."""
    lines = []
    subtotal = 0
    for line in range(1 + number % 4):
        price = 500 + (number * 7 + line * 13) % 9000
        quantity = 1 + (number + line) % 3
        subtotal += price * quantity
        lines.append(
            {
                "id": number * 10 + line,
                "product_id": 7_000_000 + (number + line) % 5000,
                "variant_id": 8_000_000 + (number + line) % 20000,
                "title": f"Product {(number + line) % 5000}",
                "variant_title": "Default",
                "sku": f"SKU-{(number + line) % 20000:05d}",
                "vendor": "Acme",
                "quantity": quantity,
                "price": _money(price),
                "total_discount": "0.00",
            }
        )
    discount = subtotal // 10 if number % 5 == 0 else 0
    tax = ((subtotal - discount) * 825 + 5000) // 10000
    shipping = 0 if subtotal >= 7500 else 695
    minute = number % 60
    return {
        "id": 5_000_000_000 + number,
        "name": f"#{1001 + number}",
        "order_number": 1001 + number,
        "email": f"buyer.{number}@example.com",
        "phone": f"+1415555{number % 10000:04d}" if number % 3 else None,
        "customer": {"id": 6_000_000 + number % 50000},
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "USD",
        "subtotal_price": _money(subtotal - discount),
        "total_price": _money(subtotal - discount + tax + shipping),
        "total_tax": _money(tax),
        "total_discounts": _money(discount),
        "total_shipping_price_set": {"shop_money": {"amount": _money(shipping)}},
        "tags": "",
        "note": None,
        "cancel_reason": None,
        "created_at": f"2024-03-01T10:{minute:02d}:00Z",
        "updated_at": f"2024-03-02T10:{minute:02d}:00Z",
        "processed_at": f"2024-03-01T10:{minute:02d}:00Z",
        "closed_at": None,
        "cancelled_at": None,
        "line_items": lines,
    }


def mapped_batches(
    mapping: CompiledMapping, records: int, batch: int = 10_000, start: int = 0
) -> Iterator[MappedBatch]:
    for first in range(start, start + records, batch):
        raw = [make_order(n) for n in range(first, min(first + batch, start + records))]
        yield mapping.map_records(raw)
