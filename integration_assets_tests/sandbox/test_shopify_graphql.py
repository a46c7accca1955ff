"""Stories of the Shopify GraphQL Admin API 2026-10 simulator, told over real HTTP."""

from __future__ import annotations

import httpx

from integration_assets.sandbox import Sandbox
from integration_assets_tests.sandbox.graphql_helpers import GRAPHQL, graphql, walk

CUSTOMERS_PAGE = "{ customers(first: 3) { nodes { id firstName } pageInfo { hasNextPage } } }"


def test_customers_first_page_lists_the_first_customers_with_global_ids(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    response = graphql(shopify, CUSTOMERS_PAGE)

    body = response.json()
    expected = [
        {"id": f"gid://shopify/Customer/{record['id']}", "firstName": record["first_name"]}
        for record in list(sandbox.shopify.records("customers"))[:3]
    ]
    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == "2026-10"
    assert body["data"]["customers"] == {"nodes": expected, "pageInfo": {"hasNextPage": True}}


def test_a_walk_by_end_cursor_serves_every_customer_once_in_id_order(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    nodes = walk(shopify, "customers", "id", page_size=70)

    expected = [f"gid://shopify/Customer/{c['id']}" for c in sandbox.shopify.records("customers")]
    assert [node["id"] for node in nodes] == expected


def test_requests_without_the_right_access_token_are_refused_like_rest(
    sandbox: Sandbox,
) -> None:
    url = sandbox.shopify_url + GRAPHQL
    missing = httpx.post(url, json={"query": CUSTOMERS_PAGE})
    wrong = httpx.post(
        url, json={"query": CUSTOMERS_PAGE}, headers={"X-Shopify-Access-Token": "shpat_nope"}
    )

    unauthorized = {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert (missing.status_code, missing.json()) == (401, unauthorized)
    assert (wrong.status_code, wrong.json()) == (401, unauthorized)
