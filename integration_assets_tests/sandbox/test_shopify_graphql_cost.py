"""Calculated query cost and the cost bucket of the GraphQL simulator, over real HTTP.

The shared sandbox runs without rate limits; the throttling stories use a shop of their own
whose bucket never restores (restore rate 0), so every number is exact and no story waits.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integration_assets.sandbox import Sandbox, ShopifySimulator, SimulatorServer
from integration_assets.sandbox.shopify.graphql import CostLimits
from integration_assets_tests.sandbox.graphql_helpers import graphql


def _cost(response: httpx.Response) -> dict:
    return response.json()["extensions"]["cost"]


@pytest.mark.parametrize(
    ("query", "requested"),
    [
        ("{ customers(first: 10) { nodes { id email } } }", 2 + 10 * 1),
        (
            "{ customers(first: 10) { edges { cursor node { id amountSpent { amount } } } "
            "pageInfo { hasNextPage } } }",
            2 + 10 * (1 + 1),
        ),
        (
            "{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } } } } }",
            2 + 10 * (1 + 2 + 5 * 1),
        ),
        ('{ customer(id: "gid://shopify/Customer/1") { id tags } }', 1),
        (
            '{ node(id: "gid://shopify/Customer/1") { id ... on Customer { defaultAddress { id } } '
            "... on Product { variants(first: 3) { nodes { id } } } } }",
            1 + (2 + 3 * 1),
        ),
    ],
)
def test_requested_cost_follows_shopify_rules(
    shopify: httpx.Client, query: str, requested: int
) -> None:
    response = graphql(shopify, query)

    assert _cost(response)["requestedQueryCost"] == requested


def test_actual_cost_counts_only_what_came_back(sandbox: Sandbox, shopify: httpx.Client) -> None:
    first_id = next(iter(sandbox.shopify.records("customers")))["id"]
    query = f'{{ customers(first: 250, query: "id:<={first_id + 1}") {{ nodes {{ id }} }} }}'

    cost = _cost(graphql(shopify, query))

    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (252, 3)


def test_without_rate_limits_the_bucket_is_reported_full_at_standard_plan_figures(
    shopify: httpx.Client,
) -> None:
    cost = _cost(graphql(shopify, "{ customers(first: 5) { nodes { id } } }"))

    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 2000,
        "restoreRate": 100.0,
    }


def test_a_query_over_the_single_query_limit_is_refused_before_it_runs(
    shopify: httpx.Client,
) -> None:
    query = "{ customers(first: 250) { nodes { id addressesV2(first: 10) { nodes { id } } } } }"

    response = graphql(shopify, query)

    body = response.json()
    requested = 2 + 250 * (1 + 2 + 10)
    assert response.status_code == 200
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": requested,
        "maxCost": 1000,
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    }
    assert body["errors"][0]["message"].startswith(
        f"Query cost is {requested}, which exceeds the single query max cost limit (1000)."
    )
    assert body["extensions"]["cost"]["actualQueryCost"] is None


@pytest.fixture(scope="module")
def tight_shop() -> Iterator[tuple[ShopifySimulator, str]]:
    """A shop whose GraphQL bucket holds 100 points and never refills."""
    simulator = ShopifySimulator(
        seed=11,
        sizes={"customers": 40, "orders": 10, "products": 5},
        graphql_limits=CostLimits(maximum_available=100, restore_rate=0.0),
    )
    server = SimulatorServer(simulator).start()
    try:
        yield simulator, server.url
    finally:
        server.stop()


@pytest.fixture
def tight(tight_shop: tuple[ShopifySimulator, str]) -> Iterator[httpx.Client]:
    simulator, url = tight_shop
    simulator.reset()
    headers = {"X-Shopify-Access-Token": simulator.access_token}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        yield client


def test_the_bucket_refunds_what_a_query_did_not_use(tight: httpx.Client) -> None:
    # 40 customers exist: a page of 50 is requested at 52 and returns 40 (actual 42).
    cost = _cost(graphql(tight, "{ customers(first: 50) { nodes { id } } }"))

    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (52, 42)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 100.0,
        "currentlyAvailable": 58,
        "restoreRate": 0.0,
    }


def test_a_query_the_bucket_cannot_cover_is_throttled_inside_a_200(tight: httpx.Client) -> None:
    query = "{ customers(first: 40) { nodes { id } } }"
    graphql(tight, query)
    graphql(tight, query)

    response = graphql(tight, query)

    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 42,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 100.0,
                    "currentlyAvailable": 16,
                    "restoreRate": 0.0,
                },
            }
        },
    }


def test_the_throttled_fault_refuses_even_with_a_full_bucket(
    tight_shop: tuple[ShopifySimulator, str], tight: httpx.Client
) -> None:
    tight_shop[0].set_faults(graphql_throttled_rate=1.0)

    response = graphql(tight, "{ customers(first: 1) { nodes { id } } }")

    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 100


def test_graphql_spends_points_not_the_rest_request_bucket(tight: httpx.Client) -> None:
    rest = tight.get("/admin/api/2024-10/customers.json", params={"limit": 1})
    graph = graphql(tight, "{ customers(first: 1) { nodes { id } } }")

    assert rest.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert "X-Shopify-Shop-Api-Call-Limit" not in graph.headers
    assert _cost(graph)["throttleStatus"]["currentlyAvailable"] == 97


def test_the_cost_include_fields_header_breaks_the_requested_cost_down(
    shopify: httpx.Client,
) -> None:
    response = shopify.post(
        "/admin/api/2026-10/graphql.json",
        json={
            "query": "{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
        },
        headers={"X-GraphQL-Cost-Include-Fields": "true"},
    )

    cost = _cost(response)
    assert cost["requestedQueryCost"] == 82
    assert cost["fields"] == [
        {
            "path": ["orders"],
            "definedCost": 2,
            "requestedTotalCost": 82,
            "requestedChildrenCost": 80,
        },
        {
            "path": ["orders", "nodes"],
            "definedCost": 1,
            "requestedTotalCost": 8,
            "requestedChildrenCost": 7,
        },
        {
            "path": ["orders", "nodes", "lineItems"],
            "definedCost": 2,
            "requestedTotalCost": 7,
            "requestedChildrenCost": 5,
        },
        {
            "path": ["orders", "nodes", "lineItems", "nodes"],
            "definedCost": 1,
            "requestedTotalCost": 1,
            "requestedChildrenCost": 0,
        },
    ]
    assert "fields" not in _cost(graphql(shopify, "{ orders(first: 1) { nodes { id } } }"))
