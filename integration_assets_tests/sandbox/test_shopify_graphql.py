"""Stories of the Shopify GraphQL Admin API 2026-10 simulator, told over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from integration_assets.sandbox import Sandbox
from integration_assets_tests.sandbox.graphql_helpers import GRAPHQL, graphql, walk
from integration_assets_tests.sandbox.helpers import shopify_records

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
    assert wrong.headers["X-Shopify-API-Version"] == "2026-10"


def _ids(nodes: list[dict[str, Any]]) -> list[int]:
    return [int(node["id"].rsplit("/", 1)[1]) for node in nodes]


def _live_ids(sandbox: Sandbox, entity: str) -> set[int]:
    return {record["id"] for record in sandbox.shopify.records(entity)}


def test_an_id_walk_while_records_change_serves_every_survivor_exactly_once(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    before = _live_ids(sandbox, "customers")
    deleted: set[int] = set()

    def change(page: int) -> None:
        report = sandbox.shopify.advance(seconds=600, updated_fraction=0.05, created=3, deleted=2)
        deleted.update(
            sandbox.shopify.vendor_id("customers", i) for i in report.deleted["customers"]
        )

    served = _ids(walk(shopify, "customers", "id", page_size=40, between_pages=change))

    assert len(served) == len(set(served))
    assert before - deleted <= set(served)
    assert served == sorted(served)


def test_an_updated_at_walk_while_records_change_skips_none_and_repeats_only_the_changed(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    before = _live_ids(sandbox, "customers")
    changed: set[int] = set()
    deleted: set[int] = set()
    created: set[int] = set()

    def change(page: int) -> None:
        report = sandbox.shopify.advance(seconds=600, updated_fraction=0.05, created=2, deleted=1)
        vendor_id = sandbox.shopify.vendor_id
        changed.update(vendor_id("customers", i) for i in report.updated["customers"])
        deleted.update(vendor_id("customers", i) for i in report.deleted["customers"])
        created.update(vendor_id("customers", i) for i in report.created["customers"])

    nodes = walk(
        shopify,
        "customers",
        "id updatedAt",
        page_size=40,
        arguments=", sortKey: UPDATED_AT",
        between_pages=change,
    )
    served = _ids(nodes)

    repeated = {number for number in served if served.count(number) > 1}
    assert before - deleted <= set(served)
    assert created - deleted <= set(served)
    assert repeated <= changed
    stamps = [node["updatedAt"] for node in nodes]
    assert stamps == sorted(stamps)


def test_reverse_and_last_before_page_backwards_through_the_same_records(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    every = sorted(_live_ids(sandbox, "customers"))

    reversed_walk = _ids(
        walk(shopify, "customers", "id", page_size=90, arguments=", reverse: true")
    )
    tail = graphql(
        shopify, "{ customers(last: 5) { nodes { id } pageInfo { hasPreviousPage startCursor } } }"
    ).json()["data"]["customers"]
    before_tail = graphql(
        shopify,
        "query($c: String) { customers(last: 3, before: $c) { nodes { id } pageInfo { hasNextPage } } }",
        {"c": tail["pageInfo"]["startCursor"]},
    ).json()["data"]["customers"]

    assert reversed_walk == every[::-1]
    assert _ids(tail["nodes"]) == every[-5:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    assert _ids(before_tail["nodes"]) == every[-8:-5]
    assert before_tail["pageInfo"]["hasNextPage"] is True


def test_search_by_updated_at_returns_exactly_the_records_changed_since(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    since = sandbox.shopify.clock
    report = sandbox.shopify.advance(seconds=3600, updated_fraction=0.05, created=4, deleted=0)
    stamp = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    served = _ids(walk(shopify, "customers", "id", arguments=f", query: \"updated_at:>'{stamp}'\""))

    indices = set(report.updated["customers"]) | set(report.created["customers"])
    assert served == sorted(sandbox.shopify.vendor_id("customers", i) for i in indices)


def test_search_combines_created_at_and_id_bounds_with_and(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    records = list(sandbox.shopify.records("customers"))
    low, high = records[50], records[60]
    floor_id = records[54]["id"]
    query = (
        f"created_at:>='{low['created_at']}' AND created_at:<'{high['created_at']}' id:>{floor_id}"
    )

    served = _ids(walk(shopify, "customers", "id", arguments=f", query: {json.dumps(query)}"))

    assert served == [record["id"] for record in records[55:60]]


def test_an_unknown_search_field_is_ignored_with_a_warning_like_shopify(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    response = graphql(
        shopify, '{ customers(first: 250, query: "favourite_colour:blue") { nodes { id } } }'
    )

    body = response.json()
    assert len(body["data"]["customers"]["nodes"]) == 250
    assert body["extensions"]["search"] == [
        {
            "path": ["customers"],
            "query": "favourite_colour:blue",
            "parsed": {"field": "favourite_colour", "match_all": "blue"},
            "warnings": [
                {"field": "favourite_colour", "message": "Invalid search field for this query."}
            ],
        }
    ]


def test_orders_status_search_matches_the_rest_status_filter(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    rest = shopify_records(shopify, "orders", {"limit": 250, "status": "cancelled"})

    served = _ids(walk(shopify, "orders", "id", arguments=', query: "status:cancelled"'))

    assert served == [order["id"] for order in rest]
    assert served


def test_single_record_lookups_by_global_id(sandbox: Sandbox, shopify: httpx.Client) -> None:
    customer = next(iter(sandbox.shopify.records("customers")))
    gid = f"gid://shopify/Customer/{customer['id']}"
    query = """query($id: ID!) {
      customer(id: $id) { id email }
      node(id: $id) { id ... on Customer { firstName } }
      nodes(ids: [$id, "gid://shopify/Customer/1"]) { id }
      order(id: $id) { id }
    }"""

    data = graphql(shopify, query, {"id": gid}).json()["data"]

    assert data == {
        "customer": {"id": gid, "email": customer["email"]},
        "node": {"id": gid, "firstName": customer["first_name"]},
        "nodes": [{"id": gid}, None],
        "order": None,
    }


def test_versions_fall_forward_to_the_oldest_supported_one(shopify: httpx.Client) -> None:
    served = {
        version: graphql(shopify, CUSTOMERS_PAGE, version=version)
        for version in ("2026-01", "2026-07", "2024-10", "2025-04", "unstable")
    }
    not_a_version = graphql(shopify, CUSTOMERS_PAGE, version="latest")

    assert {v: r.headers["X-Shopify-API-Version"] for v, r in served.items()} == {
        "2026-01": "2026-01",
        "2026-07": "2026-07",
        "2024-10": "2026-01",
        "2025-04": "2026-01",
        "unstable": "unstable",
    }
    assert all(response.status_code == 200 for response in served.values())
    assert not_a_version.status_code == 404


def test_the_request_log_names_each_graphql_operation_and_its_fields(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    graphql(
        shopify,
        "query Page { customers(first: 2) { nodes { id } } orders(first: 1) { nodes { id } } }",
    )

    logged = sandbox.shopify.stats().filter(path="graphql.json")

    assert [(entry.method, entry.params, entry.status) for entry in logged] == [
        ("POST", {"operation": "query", "fields": "customers,orders"}, 200)
    ]
