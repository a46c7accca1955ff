"""Stories of the Shopify Admin REST 2024-10 simulator, told over real HTTP."""

from __future__ import annotations

import re

import httpx

from integration_assets.sandbox import Sandbox
from integration_assets.sandbox.timefmt import utc_iso
from integration_assets_tests.sandbox.helpers import shopify_pages, shopify_records

CUSTOMERS = "/admin/api/2024-10/customers.json"
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def test_requests_without_the_right_access_token_are_refused(sandbox: Sandbox) -> None:
    missing = httpx.get(sandbox.shopify_url + CUSTOMERS)
    wrong = httpx.get(
        sandbox.shopify_url + CUSTOMERS, headers={"X-Shopify-Access-Token": "shpat_nope"}
    )

    assert (missing.status_code, missing.json()) == (401, UNAUTHORIZED)
    assert (wrong.status_code, wrong.json()) == (401, UNAUTHORIZED)


def test_link_header_walk_serves_every_customer_exactly_once_in_id_order(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    pages = shopify_pages(shopify, "customers", {"limit": 37})
    served = [customer["id"] for page in pages for customer in page.json()["customers"]]

    assert served == [customer["id"] for customer in sandbox.shopify.records("customers")]
    assert len(pages) == 9
    first_link = pages[0].headers["Link"]
    assert first_link.startswith(f"<{sandbox.shopify_url}{CUSTOMERS}?limit=37&page_info=")
    assert first_link.endswith('>; rel="next"')
    assert 'rel="previous"' in pages[1].headers["Link"]
    assert "Link" not in pages[-1].headers or 'rel="next"' not in pages[-1].headers["Link"]


def test_previous_link_leads_back_to_the_page_before(shopify: httpx.Client) -> None:
    first = shopify.get(CUSTOMERS, params={"limit": 10})
    second = shopify.get(first.links["next"]["url"])
    back = shopify.get(second.links["previous"]["url"])

    assert back.json() == first.json()


def test_limit_is_capped_at_250(shopify: httpx.Client) -> None:
    response = shopify.get(CUSTOMERS, params={"limit": 1000})

    assert len(response.json()["customers"]) == 250
    assert len(shopify.get(CUSTOMERS).json()["customers"]) == 50


def test_page_info_refuses_any_filter_beside_limit_and_fields(shopify: httpx.Client) -> None:
    first = shopify.get(CUSTOMERS, params={"limit": 5, "updated_at_min": "2020-01-01T00:00:00Z"})
    token = first.links["next"]["url"].split("page_info=")[1]

    refused = shopify.get(CUSTOMERS, params={"page_info": token, "updated_at_min": "2020-01-01"})
    allowed = shopify.get(CUSTOMERS, params={"page_info": token, "limit": 5, "fields": "id"})

    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {
            "updated_at_min": "updated_at_min cannot be passed when page_info is present. See "
            "https://help.shopify.com/api/guides/paginated-rest-results for more information."
        }
    }
    assert allowed.status_code == 200
    assert list(allowed.json()["customers"][0]) == ["id"]


def test_an_altered_page_info_is_refused(shopify: httpx.Client) -> None:
    token = shopify.get(CUSTOMERS, params={"limit": 5}).links["next"]["url"].split("page_info=")[1]

    response = shopify.get(CUSTOMERS, params={"page_info": token[:-3] + "abc"})

    assert response.status_code == 400
    assert response.json() == {"errors": {"page_info": "Invalid value."}}


def test_updated_at_min_after_advance_returns_exactly_the_changed_records(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    since = utc_iso(sandbox.shopify.clock)
    report = sandbox.shopify.advance(seconds=3600, updated_fraction=0.05, created=4, deleted=3)
    simulator = sandbox.shopify
    sandbox.shopify.reset_stats()

    served = shopify_records(shopify, "customers", {"updated_at_min": since, "limit": 250})

    changed = set(report.updated["customers"]) | set(report.created["customers"])
    expected = sorted(simulator.vendor_id("customers", index) for index in changed)
    assert [customer["id"] for customer in served] == expected
    assert len(expected) == 15 + 4
    assert sandbox.shopify.stats().count("customers.json") == 1


def test_orders_hide_closed_and_cancelled_ones_unless_status_is_any(
    shopify: httpx.Client,
) -> None:
    default = shopify_records(shopify, "orders", {"limit": 250})
    every = shopify_records(shopify, "orders", {"limit": 250, "status": "any"})
    cancelled = shopify_records(shopify, "orders", {"limit": 250, "status": "cancelled"})

    assert all(order["closed_at"] is None and order["cancelled_at"] is None for order in default)
    assert len(every) == 120 > len(default)
    assert cancelled and all(order["cancelled_at"] and order["closed_at"] for order in cancelled)
    counts = {
        status: shopify.get("/admin/api/2024-10/orders/count.json", params=params).json()["count"]
        for status, params in (("default", {}), ("any", {"status": "any"}))
    }
    assert counts == {"default": len(default), "any": 120}


def test_counts_honour_filters_and_forget_deleted_records(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    since = utc_iso(sandbox.shopify.clock)
    sandbox.shopify.advance(updated_fraction=0.1, created=2, deleted=5)

    total = shopify.get("/admin/api/2024-10/customers/count.json").json()
    recent = shopify.get(
        "/admin/api/2024-10/customers/count.json", params={"updated_at_min": since}
    )

    assert total == {"count": 300 + 2 - 5}
    assert recent.json()["count"] == len(
        shopify_records(shopify, "customers", {"updated_at_min": since})
    )


def test_every_answer_reports_the_bucket_and_an_overflow_gets_429_with_retry_after(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(rate_limits=True)

    responses = []
    for _ in range(120):
        responses.append(shopify.get(CUSTOMERS, params={"limit": 1, "fields": "id"}))
        if responses[-1].status_code == 429:
            break

    assert all(
        re.fullmatch(r"\d+/40", r.headers["X-Shopify-Shop-Api-Call-Limit"]) for r in responses
    )
    throttled = responses[-1]
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.0"
    assert throttled.json() == {
        "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
        "uninterrupted service."
    }


def test_records_look_like_shopify_2024_10(shopify: httpx.Client) -> None:
    customer = shopify.get(CUSTOMERS, params={"limit": 1}).json()["customers"][0]
    order = shopify.get(
        "/admin/api/2024-10/orders.json", params={"limit": 1, "status": "any"}
    ).json()["orders"][0]
    product = shopify.get("/admin/api/2024-10/products.json", params={"limit": 1})

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[45]:00", customer["created_at"])
    assert customer["admin_graphql_api_id"] == f"gid://shopify/Customer/{customer['id']}"
    assert customer["default_address"] == customer["addresses"][0]
    assert re.fullmatch(r"\d+\.\d\d", order["total_price"])
    assert order["name"] == f"#{order['order_number']}"
    assert all(line["product_id"] and line["variant_id"] for line in order["line_items"])
    variants = product.json()["products"][0]["variants"]
    assert variants and all(
        variant["product_id"] == product.json()["products"][0]["id"] for variant in variants
    )
    assert "X-Shopify-API-Deprecated-Reason" in product.headers


def test_single_record_since_id_and_ids_filters(sandbox: Sandbox, shopify: httpx.Client) -> None:
    ids = [sandbox.shopify.vendor_id("customers", index) for index in (3, 4, 250)]

    single = shopify.get(f"/admin/api/2024-10/customers/{ids[0]}.json")
    after = shopify.get(CUSTOMERS, params={"since_id": ids[1], "limit": 2})
    chosen = shopify.get(CUSTOMERS, params={"ids": f"{ids[2]},{ids[0]},999"})

    assert single.json()["customer"]["id"] == ids[0]
    assert shopify.get("/admin/api/2024-10/customers/1.json").status_code == 404
    assert [c["id"] for c in after.json()["customers"]] == [
        sandbox.shopify.vendor_id("customers", index) for index in (5, 6)
    ]
    assert [c["id"] for c in chosen.json()["customers"]] == [ids[0], ids[2]]
