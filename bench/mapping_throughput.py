"""Throughput of `map_records` against a hand-written loop doing the same conversions.

The compiled mapping must stay within 2x of code written by hand for one entity (ceiling:
ratio >= 0.50), so that generic, file-driven mapping is never the reason to hand-code a sync.
Both sides map the same generated Shopify customers (the shipped `mappings/shopify/customers.json`,
30 columns: integers, strings, booleans, decimals, offset datetimes, flattened nested objects).

    .venv/bin/python bench/mapping_throughput.py [records]   # default 200000
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from integration_assets.mapping import compile_mapping, load_mapping

CEILING = 0.50
MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


def make_customer(number: int) -> dict[str, Any]:
    """A customer as Shopify's Admin REST 2024-10 returns it."""
    stamp = f"2024-03-{1 + number % 28:02d}T10:{number % 60:02d}:00-05:00"
    return {
        "id": 207119551 + number,
        "email": f"customer{number}@example.com",
        "accepts_marketing": False,
        "created_at": stamp,
        "updated_at": stamp,
        "first_name": "Bob",
        "last_name": f"Norman{number}",
        "orders_count": number % 7,
        "state": "enabled",
        "total_spent": f"{number % 1000}.{number % 100:02d}",
        "last_order_id": 450789469 + number,
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "Léon, Noël",
        "last_order_name": "#1001",
        "currency": "USD",
        "phone": f"+1613555{number % 10000:04d}",
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": None,
            "consent_updated_at": "2004-06-13T11:57:11-04:00",
        },
        "sms_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
            "consent_collected_from": "OTHER",
        },
        "admin_graphql_api_id": f"gid://shopify/Customer/{207119551 + number}",
        "default_address": {
            "id": 207119551 + number,
            "customer_id": 207119551 + number,
            "first_name": None,
            "last_name": None,
            "company": None,
            "address1": "Chestnut Street 92",
            "address2": "",
            "city": "Louisville",
            "province": "Kentucky",
            "country": "United States",
            "zip": "40202",
            "phone": "555-625-1199",
            "name": "",
            "province_code": "KY",
            "country_code": "US",
            "country_name": "United States",
            "default": True,
        },
    }


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def hand_written(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a person would write for this one entity, with the same conversions."""
    rows = []
    for r in records:
        address = r.get("default_address") or {}
        consent = r.get("email_marketing_consent") or {}
        sms = r.get("sms_marketing_consent") or {}
        rows.append(
            {
                "id": int(r["id"]),
                "email": r.get("email"),
                "first_name": r.get("first_name"),
                "last_name": r.get("last_name"),
                "phone": r.get("phone"),
                "state": r.get("state"),
                "verified_email": r.get("verified_email"),
                "tax_exempt": r.get("tax_exempt"),
                "tags": r.get("tags"),
                "currency": r.get("currency"),
                "note": r.get("note"),
                "orders_count": r.get("orders_count"),
                "total_spent": _decimal(r.get("total_spent")),
                "last_order_id": r.get("last_order_id"),
                "created_at": _datetime(r.get("created_at")),
                "updated_at": _datetime(r["updated_at"]),
                "email_marketing_state": consent.get("state"),
                "email_marketing_opt_in_level": consent.get("opt_in_level"),
                "email_marketing_consent_updated_at": _datetime(consent.get("consent_updated_at")),
                "sms_marketing_state": sms.get("state"),
                "default_address_id": address.get("id"),
                "default_address_company": address.get("company"),
                "default_address_address1": address.get("address1"),
                "default_address_address2": address.get("address2"),
                "default_address_city": address.get("city"),
                "default_address_province": address.get("province"),
                "default_address_province_code": address.get("province_code"),
                "default_address_country_code": address.get("country_code"),
                "default_address_zip": address.get("zip"),
                "default_address_phone": address.get("phone"),
            }
        )
    return rows


def best_rates(
    runs: dict[str, Callable[[], object]], count: int, repeats: int = 5
) -> dict[str, float]:
    """Records per second of each run's fastest attempt; attempts alternate between the runs
    so that a busy moment on the machine does not favour one side."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: count / seconds for name, seconds in best.items()}


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 200_000
    records = [make_customer(number) for number in range(count)]
    compiled = compile_mapping(load_mapping("shopify", "customers", mappings_dir=MAPPINGS_DIR))

    batch = compiled.map_records(records)
    expected = hand_written(records)
    table = compiled.table.name
    assert not batch.rejected, batch.rejected[:3]
    assert batch.rows[table] == expected, "compiled mapping and hand-written loop disagree"

    rates = best_rates(
        {"mapped": lambda: compiled.map_records(records), "by_hand": lambda: hand_written(records)},
        count,
    )
    mapped, by_hand = rates["mapped"], rates["by_hand"]
    ratio = mapped / by_hand
    print(f"records:            {count:>12,}  ({len(compiled.table.columns)} columns)")
    print(f"map_records:        {mapped:>12,.0f} records/s")
    print(f"hand-written loop:  {by_hand:>12,.0f} records/s")
    print(f"ratio:              {ratio:>12.2f}  (ceiling >= {CEILING:.2f})")
    return 0 if ratio >= CEILING else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
