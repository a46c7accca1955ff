"""Throughput of `map_records` against a hand-written loop doing the same conversions.

The compiled mapping must stay within 2x of code written by hand for one entity (ceiling:
ratio >= 0.50), so that generic, file-driven mapping is never the reason to hand-code a sync.
Both sides map the same generated Shopify customers with the shipped mappings, 30 columns:
integers, strings, booleans, decimals, offset datetimes, flattened nested objects. Twice: as
the REST API sends them (`mappings/shopify/rest/customers.json`) and as the GraphQL API does
(`mappings/shopify/graphql/customers.json`, where ids are global ids, enums are upper case and
tags a list, so five fields go through transforms).

    .venv/bin/python bench/mapping_throughput.py [records]   # default 200000
"""

from __future__ import annotations

import re
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


def make_graphql_customer(number: int) -> dict[str, Any]:
    """The same customer as Shopify's GraphQL Admin API 2026-10 returns it."""
    rest = make_customer(number)
    consent = rest["email_marketing_consent"]
    address = rest["default_address"]
    return {
        "id": rest["admin_graphql_api_id"],
        "firstName": rest["first_name"],
        "lastName": rest["last_name"],
        "defaultEmailAddress": {
            "emailAddress": rest["email"],
            "marketingState": consent["state"].upper(),
            "marketingOptInLevel": None,
            "marketingUpdatedAt": consent["consent_updated_at"],
        },
        "defaultPhoneNumber": {"phoneNumber": rest["phone"], "marketingState": "NOT_SUBSCRIBED"},
        "state": rest["state"].upper(),
        "verifiedEmail": rest["verified_email"],
        "taxExempt": rest["tax_exempt"],
        "tags": rest["tags"].split(", "),
        "note": None,
        "locale": "en",
        "numberOfOrders": str(rest["orders_count"]),
        "amountSpent": {"amount": rest["total_spent"], "currencyCode": "USD"},
        "lastOrder": {"id": f"gid://shopify/Order/{rest['last_order_id']}"},
        "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"],
        "defaultAddress": {
            "id": f"gid://shopify/MailingAddress/{address['id']}?model_name=CustomerAddress",
            "company": None,
            "address1": address["address1"],
            "address2": address["address2"],
            "city": address["city"],
            "province": address["province"],
            "provinceCode": address["province_code"],
            "countryCodeV2": address["country_code"],
            "zip": address["zip"],
            "phone": address["phone"],
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


_GID = re.compile(r"gid://[A-Za-z0-9_-]+/[A-Za-z0-9_]+/([0-9]+)(?:\?[^#\s]*)?")


def _gid(value: str | None) -> int | None:
    if value is None:
        return None
    match = _GID.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return int(match.group(1))


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def hand_written_graphql(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hand-written loop for the GraphQL customers: same rows, with the same checks."""
    rows = []
    for r in records:
        address = r.get("defaultAddress") or {}
        email = r.get("defaultEmailAddress") or {}
        phone = r.get("defaultPhoneNumber") or {}
        spent = r.get("amountSpent") or {}
        tags = r.get("tags")
        orders = r.get("numberOfOrders")
        rows.append(
            {
                "id": _gid(r["id"]),
                "email": email.get("emailAddress"),
                "first_name": r.get("firstName"),
                "last_name": r.get("lastName"),
                "phone": phone.get("phoneNumber"),
                "state": _lower(r.get("state")),
                "verified_email": r.get("verifiedEmail"),
                "tax_exempt": r.get("taxExempt"),
                "tags": None if tags is None else ", ".join(tags),
                "currency": spent.get("currencyCode"),
                "note": r.get("note"),
                "orders_count": None if orders is None else int(orders),
                "total_spent": _decimal(spent.get("amount")),
                "last_order_id": _gid((r.get("lastOrder") or {}).get("id")),
                "created_at": _datetime(r.get("createdAt")),
                "updated_at": _datetime(r["updatedAt"]),
                "email_marketing_state": _lower(email.get("marketingState")),
                "email_marketing_opt_in_level": _lower(email.get("marketingOptInLevel")),
                "email_marketing_consent_updated_at": _datetime(email.get("marketingUpdatedAt")),
                "sms_marketing_state": _lower(phone.get("marketingState")),
                "default_address_id": _gid(address.get("id")),
                "default_address_company": address.get("company"),
                "default_address_address1": address.get("address1"),
                "default_address_address2": address.get("address2"),
                "default_address_city": address.get("city"),
                "default_address_province": address.get("province"),
                "default_address_province_code": address.get("provinceCode"),
                "default_address_country_code": address.get("countryCodeV2"),
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


def measure(
    api: str,
    records: list[dict[str, Any]],
    by_hand: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> float:
    """Print one API's rates; the ratio of the compiled mapping to the hand-written loop."""
    spec = load_mapping("shopify", "customers", mappings_dir=MAPPINGS_DIR, api=api)
    compiled = compile_mapping(spec)
    batch = compiled.map_records(records)
    table = compiled.table.name
    assert not batch.rejected, batch.rejected[:3]
    assert batch.rows[table] == by_hand(records), f"{api}: mapping and hand-written loop disagree"

    rates = best_rates(
        {"mapped": lambda: compiled.map_records(records), "by_hand": lambda: by_hand(records)},
        len(records),
    )
    ratio = rates["mapped"] / rates["by_hand"]
    print(f"{api}: {len(records):,} records ({len(compiled.table.columns)} columns)")
    print(f"  map_records:        {rates['mapped']:>12,.0f} records/s")
    print(f"  hand-written loop:  {rates['by_hand']:>12,.0f} records/s")
    print(f"  ratio:              {ratio:>12.2f}  (ceiling >= {CEILING:.2f})")
    return ratio


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 200_000
    ratios = [
        measure("rest", [make_customer(n) for n in range(count)], hand_written),
        measure("graphql", [make_graphql_customer(n) for n in range(count)], hand_written_graphql),
    ]
    return 0 if min(ratios) >= CEILING else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
