"""The mapping files we ship validate, compile, and map the vendors' documented payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from integration_assets.mapping import available_mappings, compile_mapping, load_mapping
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.mapping.loader import MappingFile, mapping_files
from integration_assets.mapping.schema import SCHEMA_FILE
from integration_assets.schema import PARENT_ROW, ColumnType
from integration_assets_tests.mapping.conftest import FIXTURES, REPO_ROOT, SHIPPED_MAPPINGS

SHIPPED = available_mappings(SHIPPED_MAPPINGS)
SHIPPED_FILES = mapping_files(SHIPPED_MAPPINGS)


def shipped(vendor: str, entity: str, api: str | None = None) -> CompiledMapping:
    """The shipped mapping; Shopify's documented REST payloads need its REST files."""
    api = api or ("rest" if vendor == "shopify" else None)
    return compile_mapping(load_mapping(vendor, entity, mappings_dir=SHIPPED_MAPPINGS, api=api))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_entity_of_both_vendors_has_a_mapping() -> None:
    assert SHIPPED == [
        ("klaviyo", "events"),
        ("klaviyo", "profiles"),
        ("shopify", "customers"),
        ("shopify", "orders"),
        ("shopify", "products"),
    ]


def test_shopify_has_a_mapping_per_api_and_klaviyo_one_per_entity() -> None:
    assert [
        (file.vendor, file.api, file.entity, file.path.relative_to(SHIPPED_MAPPINGS).as_posix())
        for file in SHIPPED_FILES
    ] == [
        ("klaviyo", None, "events", "klaviyo/events.json"),
        ("klaviyo", None, "profiles", "klaviyo/profiles.json"),
        ("shopify", "graphql", "customers", "shopify/graphql/customers.json"),
        ("shopify", "rest", "customers", "shopify/rest/customers.json"),
        ("shopify", "graphql", "orders", "shopify/graphql/orders.json"),
        ("shopify", "rest", "orders", "shopify/rest/orders.json"),
        ("shopify", "graphql", "products", "shopify/graphql/products.json"),
        ("shopify", "rest", "products", "shopify/rest/products.json"),
    ]


@pytest.mark.parametrize(
    "file", SHIPPED_FILES, ids=lambda file: file.path.relative_to(SHIPPED_MAPPINGS).as_posix()
)
def test_a_shipped_mapping_validates_compiles_and_points_editors_at_the_schema(
    file: MappingFile,
) -> None:
    vendor = file.vendor
    mapping = compile_mapping(
        load_mapping(vendor, file.entity, mappings_dir=SHIPPED_MAPPINGS, api=file.api)
    )

    assert mapping.spec.api == file.api
    assert mapping.spec.json_schema is not None
    schema = (file.path.parent / mapping.spec.json_schema).resolve()
    assert schema == (REPO_ROOT / SCHEMA_FILE).resolve()
    assert mapping.table.primary_key == ("id",)
    id_type = ColumnType.INTEGER if vendor == "shopify" else ColumnType.STRING
    assert mapping.table.column("id").type is id_type
    guard = mapping.table.source_updated_at
    assert guard is not None and mapping.table.column(guard).type is ColumnType.DATETIME
    assert not mapping.table.column(guard).nullable


def test_the_documented_shopify_order_maps_to_an_order_row_and_three_line_items() -> None:
    batch = shipped("shopify", "orders").map_records([fixture("shopify_order")])

    assert batch.rejected == []
    at_11_est = datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert batch.rows["shopify_orders"] == [
        {
            "id": 450789469,
            "name": "#1001",
            "order_number": 1001,
            "email": "bob.norman@mail.example.com",
            "phone": "+557734881234",
            "customer_id": 207119551,
            "financial_status": "partially_refunded",
            "fulfillment_status": None,
            "currency": "USD",
            "subtotal_price": Decimal("597.00"),
            "total_price": Decimal("598.94"),
            "total_tax": Decimal("11.94"),
            "total_discounts": Decimal("10.00"),
            "total_shipping": None,
            "total_tip_received": None,
            "tags": "",
            "note": None,
            "cancel_reason": None,
            "created_at": at_11_est,
            "updated_at": at_11_est,
            "processed_at": at_11_est,
            "closed_at": None,
            "cancelled_at": None,
        }
    ]
    line = {
        "order_id": 450789469,
        "product_id": 632910392,
        "title": "IPod Nano - 8gb",
        "vendor": None,
        "quantity": 1,
        "price": Decimal("199.00"),
        "total_discount": Decimal("0.00"),
        PARENT_ROW: batch.rows["shopify_orders"][0],
    }
    assert batch.rows["shopify_order_line_items"] == [
        {
            **line,
            "id": 466157049,
            "variant_id": 39072856,
            "variant_title": "green",
            "sku": "IPOD2008GREEN",
        },
        {
            **line,
            "id": 518995019,
            "variant_id": 49148385,
            "variant_title": "red",
            "sku": "IPOD2008RED",
        },
        {
            **line,
            "id": 703073504,
            "variant_id": 457924702,
            "variant_title": "black",
            "sku": "IPOD2008BLACK",
        },
    ]


def test_a_guest_order_without_a_customer_has_no_customer_id() -> None:
    guest = {**fixture("shopify_order"), "customer": None}

    (row,) = shipped("shopify", "orders").map_records([guest]).rows["shopify_orders"]

    assert row["customer_id"] is None


def test_the_documented_shopify_customer_flattens_address_and_consent() -> None:
    (row,) = (
        shipped("shopify", "customers")
        .map_records([fixture("shopify_customer")])
        .rows["shopify_customers"]
    )

    assert row["id"] == 207119551
    assert row["updated_at"] == datetime(2024, 10, 1, 14, 54, 53, tzinfo=UTC)
    assert row["total_spent"] == Decimal("199.65")
    assert row["tags"] == "Léon, Noël"
    assert row["email_marketing_state"] == "not_subscribed"
    assert row["email_marketing_consent_updated_at"] == datetime(
        2004, 6, 13, 15, 57, 11, tzinfo=UTC
    )
    assert (row["default_address_city"], row["default_address_province_code"]) == (
        "Louisville",
        "KY",
    )
    assert (row["default_address_country_code"], row["default_address_zip"]) == ("US", "40202")


def test_the_documented_shopify_product_maps_its_variants() -> None:
    batch = shipped("shopify", "products").map_records([fixture("shopify_product")])

    (product,) = batch.rows["shopify_products"]
    assert (product["handle"], product["status"]) == ("ipod-nano", "active")
    assert product["published_at"] == datetime(2008, 1, 1, 0, 0, tzinfo=UTC)
    variants = batch.rows["shopify_product_variants"]
    assert [(v["product_id"], v["id"], v["sku"]) for v in variants] == [
        (632910392, 808950810, "IPOD2008PINK"),
        (632910392, 49148385, "IPOD2008RED"),
    ]
    assert [v["compare_at_price"] for v in variants] == [None, Decimal("249.00")]


def test_the_documented_klaviyo_profile_maps_location_and_keeps_properties_as_json() -> None:
    (row,) = (
        shipped("klaviyo", "profiles")
        .map_records([fixture("klaviyo_profile")])
        .rows["klaviyo_profiles"]
    )

    assert row["id"] == "01GDDKASAP8TKDDA2GRZDSVP4H"
    assert row["updated"] == datetime(2022, 11, 8, tzinfo=UTC)
    assert (row["location_city"], row["location_zip"]) == ("New York", "10017")
    assert row["location_timezone"] == "America/New_York"
    assert row["properties"] == {"pseudonym": "Dr. Octopus"}


def test_the_documented_klaviyo_event_links_its_profile_and_metric() -> None:
    (row,) = (
        shipped("klaviyo", "events").map_records([fixture("klaviyo_event")]).rows["klaviyo_events"]
    )

    assert row == {
        "id": "4vRpBT3Aq8T",
        "profile_id": "01GDDKASAP8TKDDA2GRZDSVP4H",
        "metric_id": "925e385b52fb405715f3616c337cc65c",
        "datetime": datetime(2022, 11, 8, 1, 23, 45, tzinfo=UTC),
        "timestamp": 1667870625,
        "uuid": "2a9d3f3c-5f0b-11ed-8001-0c0e1e7f3b8e",
        "event_properties": {
            "$value": 29.99,
            "ItemNames": ["Winnie the Pooh"],
            "$event_id": "1234",
        },
    }
