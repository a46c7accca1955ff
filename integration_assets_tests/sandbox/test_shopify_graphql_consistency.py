"""REST and GraphQL are two views of one shop: the same records, with the same values.

Each story walks both APIs of the same shop at the same simulated time (after an `advance`,
so some records are at a later version, some new, some gone) and compares every record:
ids as numbers, timestamps as instants, amounts as decimals, states as enums, tags as lists.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from integration_assets.sandbox import Sandbox, ShopifySimulator, SimulatorServer
from integration_assets_tests.sandbox.graphql_helpers import graphql, walk
from integration_assets_tests.sandbox.helpers import shopify_records

CUSTOMER_FIELDS = """
  id firstName lastName displayName email phone state verifiedEmail taxExempt tags note
  numberOfOrders amountSpent { amount currencyCode } lastOrder { id } createdAt updatedAt
  defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
  defaultPhoneNumber { phoneNumber }
  defaultAddress { company address1 address2 city province provinceCode countryCodeV2 zip phone }
"""
ORDER_FIELDS = """
  id name number email phone customer { id } displayFinancialStatus displayFulfillmentStatus
  currencyCode tags note cancelReason createdAt updatedAt processedAt closedAt cancelledAt
  subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount } }
  totalPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount } }
  totalDiscountsSet { shopMoney { amount } }
  confirmed discountCodes paymentGatewayNames taxLines { rate priceSet { shopMoney { amount } } }
  lineItems(first: 5) { nodes { id title variantTitle sku vendor quantity product { id }
    variant { id } originalUnitPriceSet { shopMoney { amount } } totalDiscountSet { shopMoney { amount } }
    originalTotalSet { shopMoney { amount } } } }
"""
PRODUCT_FIELDS = """
  id title vendor productType handle status tags createdAt updatedAt publishedAt
  variants(first: 8) { nodes { id title sku barcode price compareAtPrice position
    selectedOptions { name value } inventoryItem { id } inventoryQuantity createdAt updatedAt } }
"""


def _number(global_id: str | None) -> int | None:
    return None if global_id is None else int(global_id.split("/")[-1].split("?")[0])


def _instant(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _enum(value: str | None) -> str | None:
    return None if value is None else value.upper()


def _ref(value: dict[str, Any] | None) -> int | None:
    return None if value is None else _number(value["id"])


def _changed_shop(sandbox: Sandbox) -> None:
    sandbox.shopify.advance(seconds=7200, updated_fraction=0.1, created=5, deleted=4)


def test_customers_agree_field_by_field(sandbox: Sandbox, shopify: httpx.Client) -> None:
    _changed_shop(sandbox)
    rest = shopify_records(shopify, "customers", {"limit": 250})
    graph = walk(shopify, "customers", CUSTOMER_FIELDS, page_size=100)

    assert len(rest) == len(graph) == sandbox.shopify.count("customers") > 250
    live_orders = {order["id"] for order in sandbox.shopify.records("orders")}
    for record, node in zip(rest, graph, strict=True):
        consent = record["email_marketing_consent"]
        address = record["default_address"]
        assert _number(node["id"]) == record["id"]
        assert (node["firstName"], node["lastName"]) == (record["first_name"], record["last_name"])
        assert node["displayName"] == f"{record['first_name']} {record['last_name']}"
        assert (node["email"], node["phone"]) == (record["email"], record["phone"])
        assert node["state"] == record["state"].upper()
        assert node["verifiedEmail"] is record["verified_email"]
        assert node["taxExempt"] is record["tax_exempt"]
        assert node["tags"] == _tags(record["tags"])
        assert node["note"] == record["note"]
        assert int(node["numberOfOrders"]) == record["orders_count"]
        assert Decimal(node["amountSpent"]["amount"]) == Decimal(record["total_spent"])
        assert node["amountSpent"]["currencyCode"] == record["currency"]
        expected_last = record["last_order_id"] if record["last_order_id"] in live_orders else None
        assert _ref(node["lastOrder"]) == expected_last
        assert _instant(node["createdAt"]) == _instant(record["created_at"])
        assert _instant(node["updatedAt"]) == _instant(record["updated_at"])
        assert node["createdAt"].endswith("Z")
        email = node["defaultEmailAddress"]
        assert email["emailAddress"] == record["email"]
        assert email["marketingState"] == consent["state"].upper()
        assert email["marketingOptInLevel"] == _enum(consent["opt_in_level"])
        assert _instant(email["marketingUpdatedAt"]) == _instant(consent["consent_updated_at"])
        phone = node["defaultPhoneNumber"]
        assert (phone and phone["phoneNumber"]) == record["phone"]
        assert node["defaultAddress"] == {
            "company": address["company"],
            "address1": address["address1"],
            "address2": address["address2"],
            "city": address["city"],
            "province": address["province"],
            "provinceCode": address["province_code"],
            "countryCodeV2": address["country_code"],
            "zip": address["zip"],
            "phone": address["phone"],
        }


def _money(node: dict[str, Any], key: str) -> Decimal:
    return Decimal(node[key]["shopMoney"]["amount"])


def test_orders_agree_field_by_field_line_items_included(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    _changed_shop(sandbox)
    rest = shopify_records(shopify, "orders", {"limit": 250, "status": "any"})
    graph = walk(shopify, "orders", ORDER_FIELDS, page_size=15, arguments=", sortKey: ID")

    assert len(rest) == len(graph) == sandbox.shopify.count("orders")
    fulfillment = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}
    live_customers = {customer["id"] for customer in sandbox.shopify.records("customers")}
    live_products = {
        product["id"]: {variant["id"] for variant in product["variants"]}
        for product in sandbox.shopify.records("products")
    }
    for record, node in zip(rest, graph, strict=True):
        assert _number(node["id"]) == record["id"]
        assert (node["name"], node["number"]) == (record["name"], record["order_number"])
        assert (node["email"], node["phone"]) == (record["email"], record["phone"])
        customer = record["customer"]
        expected_customer = (
            customer["id"] if customer and customer["id"] in live_customers else None
        )
        assert _ref(node["customer"]) == expected_customer
        assert node["displayFinancialStatus"] == record["financial_status"].upper()
        assert node["displayFulfillmentStatus"] == fulfillment[record["fulfillment_status"]]
        assert node["currencyCode"] == record["currency"]
        assert node["tags"] == _tags(record["tags"])
        assert node["note"] == record["note"]
        assert node["cancelReason"] == _enum(record["cancel_reason"])
        for graph_key, rest_key in (
            ("createdAt", "created_at"),
            ("updatedAt", "updated_at"),
            ("processedAt", "processed_at"),
            ("closedAt", "closed_at"),
            ("cancelledAt", "cancelled_at"),
        ):
            assert _instant(node[graph_key]) == _instant(record[rest_key])
        assert _money(node, "subtotalPriceSet") == Decimal(record["subtotal_price"])
        assert _money(node, "totalPriceSet") == Decimal(record["total_price"])
        assert _money(node, "totalTaxSet") == Decimal(record["total_tax"])
        assert _money(node, "totalDiscountsSet") == Decimal(record["total_discounts"])
        assert node["confirmed"] is record["confirmed"]
        assert node["discountCodes"] == [code["code"] for code in record["discount_codes"]]
        assert node["paymentGatewayNames"] == record["payment_gateway_names"]
        assert [(tax["rate"], _money(tax, "priceSet")) for tax in node["taxLines"]] == [
            (tax["rate"], Decimal(tax["price"])) for tax in record["tax_lines"]
        ]
        lines = node["lineItems"]["nodes"]
        assert len(lines) == len(record["line_items"])
        for line, rest_line in zip(lines, record["line_items"], strict=True):
            assert _number(line["id"]) == rest_line["id"]
            assert (line["title"], line["variantTitle"]) == (
                rest_line["title"],
                rest_line["variant_title"],
            )
            assert (line["sku"], line["vendor"]) == (rest_line["sku"], rest_line["vendor"])
            assert line["quantity"] == rest_line["quantity"]
            # A deleted product leaves its line items pointing at nothing, as on Shopify.
            product_id = rest_line["product_id"]
            live = product_id in live_products
            assert _ref(line["product"]) == (product_id if live else None)
            assert _ref(line["variant"]) == (rest_line["variant_id"] if live else None)
            assert _money(line, "originalUnitPriceSet") == Decimal(rest_line["price"])
            assert _money(line, "totalDiscountSet") == Decimal(rest_line["total_discount"])
            assert (
                _money(line, "originalTotalSet")
                == Decimal(rest_line["price"]) * rest_line["quantity"]
            )


def test_products_agree_field_by_field_variants_included(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    _changed_shop(sandbox)
    rest = shopify_records(shopify, "products", {"limit": 250})
    graph = walk(shopify, "products", PRODUCT_FIELDS, page_size=25)

    assert len(rest) == len(graph) == sandbox.shopify.count("products")
    for record, node in zip(rest, graph, strict=True):
        assert _number(node["id"]) == record["id"]
        assert (node["title"], node["vendor"], node["productType"], node["handle"]) == (
            record["title"],
            record["vendor"],
            record["product_type"],
            record["handle"],
        )
        assert node["status"] == record["status"].upper()
        assert node["tags"] == _tags(record["tags"])
        assert _instant(node["createdAt"]) == _instant(record["created_at"])
        assert _instant(node["updatedAt"]) == _instant(record["updated_at"])
        assert _instant(node["publishedAt"]) == _instant(record["published_at"])
        variants = node["variants"]["nodes"]
        assert len(variants) == len(record["variants"])
        option_names = [option["name"] for option in record["options"]]
        for variant, rest_variant in zip(variants, record["variants"], strict=True):
            assert _number(variant["id"]) == rest_variant["id"]
            assert (variant["title"], variant["sku"], variant["barcode"]) == (
                rest_variant["title"],
                rest_variant["sku"],
                rest_variant["barcode"],
            )
            assert Decimal(variant["price"]) == Decimal(rest_variant["price"])
            compare = rest_variant["compare_at_price"]
            assert variant["compareAtPrice"] == compare
            assert variant["position"] == rest_variant["position"]
            assert _ref(variant["inventoryItem"]) == rest_variant["inventory_item_id"]
            assert variant["inventoryQuantity"] == rest_variant["inventory_quantity"]
            values = [rest_variant["option1"], rest_variant["option2"], rest_variant["option3"]]
            assert variant["selectedOptions"] == [
                {"name": name, "value": value}
                for name, value in zip(option_names, values, strict=False)
                if value is not None
            ]
            assert _instant(variant["updatedAt"]) == _instant(rest_variant["updated_at"])


def test_graphql_answers_carry_the_simulated_date_like_rest(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.advance(seconds=86400)

    rest = shopify.get("/admin/api/2024-10/customers.json", params={"limit": 1})
    graph = shopify.post(
        "/admin/api/2026-10/graphql.json",
        json={"query": "{ customers(first: 1) { nodes { id } } }"},
    )

    assert graph.headers["Date"] == rest.headers["Date"] == "Wed, 02 Oct 2024 12:00:00 GMT"


def test_without_read_all_orders_both_apis_show_only_the_last_60_days() -> None:
    simulator = ShopifySimulator(
        seed=5, sizes={"customers": 30, "orders": 200, "products": 5}, read_all_orders=False
    )
    server = SimulatorServer(simulator).start()
    headers = {"X-Shopify-Access-Token": simulator.access_token}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            rest = shopify_records(client, "orders", {"limit": 250, "status": "any"})
            graph = walk(client, "orders", "id createdAt", page_size=100)
            oldest = next(iter(simulator.records("orders")))["id"]
            rest_old = client.get(f"/admin/api/2024-10/orders/{oldest}.json")
            graph_old = graphql(
                client,
                "query($id: ID!) { order(id: $id) { id } }",
                {"id": f"gid://shopify/Order/{oldest}"},
            )
    finally:
        server.stop()

    floor = simulator.clock - 60 * 86400
    recent = [o["id"] for o in simulator.records("orders") if _instant(o["created_at"]) >= floor]
    assert 0 < len(recent) < 200
    assert [order["id"] for order in rest] == recent
    assert [_number(node["id"]) for node in graph] == recent
    assert rest_old.status_code == 404
    assert graph_old.json()["data"] == {"order": None}
