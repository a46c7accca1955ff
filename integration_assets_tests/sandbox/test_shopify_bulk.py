"""Stories of Shopify bulk query operations (GraphQL Admin API 2026-10), over real HTTP.

A client starts an operation with `bulkOperationRunQuery`, polls `bulkOperation(id:)` until it
is COMPLETED, downloads the JSONL at `url` without any Shopify token, and puts each
`__parentId` line back under its parent. The runner's pace is held and released with
`sandbox.shopify.bulk.pause()/resume()` and awaited with `wait_for`, so no story sleeps.
"""

from __future__ import annotations

import tracemalloc
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sandbox.shopify import ShopifySimulator
from integration_assets.sandbox.shopify.graphql import execute
from integration_assets_tests.sandbox.bulk_helpers import (
    ENDED,
    RUN,
    cancel,
    data,
    lines,
    poll,
    reassemble,
    start,
    started,
)
from integration_assets_tests.sandbox.graphql_helpers import graphql, walk

PRODUCTS = (
    "{ products { edges { node { id title variants { edges { node { id title price } } } } } } }"
)
ORDERS = (
    "{ orders(first: 10) { edges { node { id name customer { id email } "
    "totalPriceSet { shopMoney { amount } } "
    "lineItems(first: 1) { edges { node { id title quantity } } } } } } }"
)
WEEK = 7 * 86400


def _finished(sandbox: Sandbox, client: httpx.Client, operation_id: str) -> dict:
    sandbox.shopify.bulk.wait_for(operation_id, ENDED)
    return poll(client, operation_id)


def test_a_products_export_holds_every_product_and_variant_the_paginated_api_serves(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    operation = _finished(sandbox, shopify, started(shopify, PRODUCTS))
    download = httpx.get(operation["url"])

    objects = lines(download.content)
    expected = walk(
        shopify, "products", "id title variants(first: 50) { nodes { id title price } }", 10
    )
    variants = sum(len(product["variants"]["nodes"]) for product in expected)
    assert operation["status"] == "COMPLETED"
    assert download.status_code == 200
    assert reassemble(objects, {"ProductVariant": "variants"}) == expected
    assert operation["rootObjectCount"] == str(len(expected))
    assert operation["objectCount"] == str(len(expected) + variants)
    assert operation["fileSize"] == str(len(download.content))
    assert operation["completedAt"] == operation["createdAt"] == "2024-10-01T12:00:00Z"


def test_roots_and_children_spanning_many_pages_are_all_exported_once_and_grouped(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    httpx.post(f"{sandbox.shopify_url}/_sandbox/bulk", json={"root_page": 7, "nested_page": 2})

    loose = _finished(sandbox, shopify, started(shopify, PRODUCTS))
    tight = _finished(sandbox, shopify, started(shopify, PRODUCTS, group=True))

    objects = lines(httpx.get(loose["url"]).content)
    grouped = lines(httpx.get(tight["url"]).content)
    expected = walk(
        shopify, "products", "id title variants(first: 50) { nodes { id title price } }", 10
    )
    assert max(len(product["variants"]["nodes"]) for product in expected) > 2
    assert reassemble(objects, {"ProductVariant": "variants"}) == expected
    assert reassemble(grouped, {"ProductVariant": "variants"}) == expected
    assert len({item["id"] for item in objects}) == len(objects)
    assert _parent_runs(grouped) == [product["id"] for product in expected]


def _parent_runs(objects: list[dict]) -> list[str]:
    """Each root's id, checking that every child line sits right after its root's run."""
    roots: list[str] = []
    for item in objects:
        if "__parentId" in item:
            assert item["__parentId"] == roots[-1]
        else:
            roots.append(item["id"])
    return roots


def test_fragments_are_followed_into_nested_connections_and_their_later_pages(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.bulk.nested_page = 2
    query = (
        "{ products { edges { node { ...Product } } } } "
        "fragment Product on Product { id title variants { edges { node { ...Variant } } } } "
        "fragment Variant on ProductVariant { id title price }"
    )

    operation = _finished(sandbox, shopify, started(shopify, query))

    objects = lines(httpx.get(operation["url"]).content)
    expected = walk(
        shopify, "products", "id title variants(first: 50) { nodes { id title price } }", 10
    )
    assert operation["status"] == "COMPLETED"
    assert reassemble(objects, {"ProductVariant": "variants"}) == expected


def test_a_search_filtered_export_holds_what_the_same_filter_pages_through(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.advance(seconds=3600, updated_fraction=0.1, created=5)
    since = "updated_at:>'2024-10-01T12:00:00Z'"
    query = (
        f'{{ customers(query: "{since}", sortKey: UPDATED_AT) '
        "{ edges { node { id updatedAt } } } }"
    )

    operation = _finished(sandbox, shopify, started(shopify, query))

    exported = lines(httpx.get(operation["url"]).content)
    expected = walk(
        shopify, "customers", "id updatedAt", arguments=f', query: "{since}", sortKey: UPDATED_AT'
    )
    assert 0 < len(expected) < sandbox.shopify.count("customers")
    assert exported == expected


def test_paging_arguments_are_ignored_and_inline_objects_stay_in_their_line(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    operation = _finished(sandbox, shopify, started(shopify, ORDERS))

    objects = lines(httpx.get(operation["url"]).content)
    roots = [item for item in objects if "__parentId" not in item]
    expected = walk(
        shopify,
        "orders",
        "id name customer { id email } totalPriceSet { shopMoney { amount } } "
        "lineItems(first: 50) { nodes { id title quantity } }",
        page_size=10,
    )
    assert len(expected) == sandbox.shopify.count("orders")
    assert reassemble(objects, {"LineItem": "lineItems"}) == expected
    assert len(roots) == len(expected)
    assert all("customer" in item and "lineItems" not in item for item in roots)


def test_children_come_after_their_parent_and_grouping_puts_them_right_after_it(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    ungrouped = _finished(sandbox, shopify, started(shopify, PRODUCTS))
    grouped = _finished(sandbox, shopify, started(shopify, PRODUCTS, group=True))

    loose = lines(httpx.get(ungrouped["url"]).content)
    tight = lines(httpx.get(grouped["url"]).content)
    seen: set[str] = set()
    for item in loose:
        assert item.get("__parentId") in seen | {None}
        seen.add(item["id"])
    _parent_runs(tight)
    assert sorted(loose, key=lambda item: item["id"]) == sorted(tight, key=lambda item: item["id"])
    assert "__parentId" in loose[sandbox.shopify.count("products")]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            '{ product(id: "gid://shopify/Product/1") { id title } }',
            "Bulk queries must contain at least one connection.",
        ),
        (
            '{ node(id: "gid://shopify/Product/1") { id } }',
            "Bulk queries cannot contain a top level `node` field.",
        ),
        (
            "{ products { nodes { id } } }",
            "All connection fields in a bulk query must select their contents using 'edges' > "
            "'node', e.g: 'products { edges { node {'. Selecting via 'nodes' is not supported. "
            "Invalid connection fields: 'products'.",
        ),
        (
            "{ products { edges { node { title variants { edges { node { id } } } } } } }",
            "The parent 'node' field for a nested connection must select the 'id' field without "
            "an alias and must be of 'ID' return type. Connection fields without 'id': variants.",
        ),
        (
            "{ products { edges { node { id "
            + " ".join(f"v{n}: variants {{ edges {{ node {{ id }} }} }}" for n in range(5))
            + " } } } }",
            "Bulk queries cannot contain more than 5 connections.",
        ),
        (
            "{ products { edges { node { id variants { edges { node { id product { "
            "variants { edges { node { id } } } } } } } } } } }",
            "Bulk queries cannot contain connections with a nesting depth greater than 2.",
        ),
        (
            'mutation { bulkOperationCancel(id: "gid://shopify/BulkOperation/1") { '
            "userErrors { message } } }",
            "Invalid operation type. Only `query` operations are supported.",
        ),
        ("{ products { edges { node { id nope } } } }", None),
        ("{ products { edges { node { id ", None),
    ],
)
def test_a_query_breaking_a_bulk_rule_is_refused_with_a_user_error(
    sandbox: Sandbox, shopify: httpx.Client, query: str, message: str | None
) -> None:
    payload = start(shopify, query)

    assert payload["bulkOperation"] is None
    [error] = [
        error for error in payload["userErrors"] if message is None or error["message"] == message
    ]
    assert error["field"] == ["query"]
    assert error["code"] == "INVALID"
    if message is None:
        assert error["message"].startswith("Invalid bulk query: ")
    assert sandbox.shopify.bulk.all() == []


def test_a_sixth_concurrent_bulk_query_is_refused_until_one_ends(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.bulk.pause()
    running = [started(shopify, PRODUCTS) for _ in range(5)]

    refused = start(shopify, PRODUCTS)
    cancel(shopify, running[0])
    sandbox.shopify.bulk.wait_for(running[0], ["CANCELED"])
    accepted = start(shopify, PRODUCTS)

    assert refused == {
        "bulkOperation": None,
        "userErrors": [
            {
                "field": None,
                "message": "Bulk operations limit reached. Please try again later.",
                "code": "LIMIT_REACHED",
            }
        ],
    }
    assert accepted["userErrors"] == []
    assert accepted["bulkOperation"]["status"] == "CREATED"


def test_polling_sees_created_then_running_with_a_growing_count_then_completed(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    bulk = sandbox.shopify.bulk
    httpx.post(f"{sandbox.shopify_url}/_sandbox/bulk", json={"pause": 0})
    payload = start(shopify, "{ customers { edges { node { id email } } } }")
    operation_id = payload["bulkOperation"]["id"]
    bulk.wait_for(operation_id, ["RUNNING"])
    before = poll(shopify, operation_id)
    bulk.pause(after_objects=250)
    bulk.wait_for_progress(operation_id, 250)
    midway = poll(shopify, operation_id)
    control = httpx.post(f"{sandbox.shopify_url}/_sandbox/bulk", json={"pause": None}).json()
    after = _finished(sandbox, shopify, operation_id)

    assert payload["bulkOperation"]["status"] == "CREATED"
    assert payload["bulkOperation"]["type"] == "QUERY"
    assert (before["status"], before["objectCount"], before["url"]) == ("RUNNING", "0", None)
    assert (midway["status"], midway["objectCount"]) == ("RUNNING", "250")
    assert midway["fileSize"] is None and midway["completedAt"] is None
    assert control["paused_at"] is None
    assert (after["status"], after["objectCount"]) == (
        "COMPLETED",
        str(sandbox.shopify.count("customers")),
    )


def test_a_canceled_operation_stops_and_cannot_be_canceled_again(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.bulk.pause()
    operation_id = started(shopify, PRODUCTS)
    sandbox.shopify.bulk.wait_for(operation_id, ["RUNNING"])

    first = cancel(shopify, operation_id)
    ended = _finished(sandbox, shopify, operation_id)
    again = cancel(shopify, operation_id)
    unknown = cancel(shopify, "gid://shopify/BulkOperation/999999")

    assert first == {"bulkOperation": {"id": operation_id, "status": "CANCELING"}, "userErrors": []}
    assert (ended["status"], ended["url"], ended["objectCount"]) == ("CANCELED", None, "0")
    assert again["userErrors"] == [
        {"field": None, "message": "A bulk operation cannot be canceled when it is canceled"}
    ]
    assert unknown == {
        "bulkOperation": None,
        "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
    }


def test_a_failed_operation_reports_its_error_code_and_offers_the_partial_data(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(
        bulk_failure={"error_code": "INTERNAL_SERVER_ERROR", "after_objects": 100}
    )
    failed = _finished(
        sandbox, shopify, started(shopify, "{ customers { edges { node { id } } } }")
    )
    sandbox.shopify.clear_faults()
    complete = _finished(
        sandbox, shopify, started(shopify, "{ customers { edges { node { id } } } }")
    )

    partial = lines(httpx.get(failed["partialDataUrl"]).content)
    full = lines(httpx.get(complete["url"]).content)
    assert (failed["status"], failed["errorCode"], failed["url"]) == (
        "FAILED",
        "INTERNAL_SERVER_ERROR",
        None,
    )
    assert failed["completedAt"] is None
    assert partial == full[:100]
    assert failed["objectCount"] == "100"


def test_the_result_url_needs_no_token_but_a_valid_signature_and_expires_after_a_week(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    operation_id = started(shopify, PRODUCTS)
    url = _finished(sandbox, shopify, operation_id)["url"]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    forged = f"{parts.scheme}://{parts.netloc}{parts.path}?" + urlencode(
        {**query, "Signature": query["Signature"][::-1]}
    )
    extended = f"{parts.scheme}://{parts.netloc}{parts.path}?" + urlencode(
        {**query, "Expires": int(query["Expires"]) + WEEK}
    )

    good = httpx.get(url)
    bad = httpx.get(forged)
    longer = httpx.get(extended)
    sandbox.shopify.advance(seconds=WEEK + 60, updated_fraction=0.0)
    late = httpx.get(url)
    operation = poll(shopify, operation_id)

    assert good.status_code == 200
    assert (bad.status_code, longer.status_code) == (403, 403)
    assert "<Code>SignatureDoesNotMatch</Code>" in bad.text
    assert late.status_code == 400
    assert "<Code>ExpiredToken</Code>" in late.text
    assert (operation["status"], operation["url"]) == ("EXPIRED", None)


def test_a_download_cut_mid_stream_is_detectable_and_a_retry_or_range_gets_the_rest(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    url = _finished(sandbox, shopify, started(shopify, PRODUCTS))["url"]
    sandbox.shopify.set_faults(bulk_download_cut={"after_bytes": 1000, "mode": "once"})
    received = bytearray()

    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as cut:
        declared = int(cut.headers["Content-Length"])
        for chunk in cut.iter_bytes():
            received.extend(chunk)
    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    beyond = httpx.get(url, headers={"Range": f"bytes={declared}-"})
    retry = httpx.get(url)

    assert len(received) == 1000 < declared
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {len(received)}-{declared - 1}/{declared}"
    assert (beyond.status_code, "<Code>InvalidRange</Code>" in beyond.text) == (416, True)
    assert bytes(received) + rest.content == retry.content
    assert len(retry.content) == declared


def test_an_export_reads_the_shop_as_it_was_when_the_operation_started(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    before = walk(shopify, "customers", "id updatedAt")
    sandbox.shopify.bulk.pause()
    operation_id = started(shopify, "{ customers { edges { node { id updatedAt } } } }")
    sandbox.shopify.advance(seconds=3600, updated_fraction=0.5, created=20, deleted=10)
    sandbox.shopify.bulk.resume()

    exported = lines(httpx.get(_finished(sandbox, shopify, operation_id)["url"]).content)
    now = walk(shopify, "customers", "id updatedAt")
    assert exported == before
    assert now != before


def test_an_operation_running_past_ten_days_fails_with_timeout(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.bulk.pause()
    operation_id = started(shopify, PRODUCTS)
    sandbox.shopify.advance(seconds=10 * 86400 + 1, updated_fraction=0.0)
    sandbox.shopify.bulk.resume()

    operation = _finished(sandbox, shopify, operation_id)
    assert (operation["status"], operation["errorCode"]) == ("FAILED", "TIMEOUT")


def test_operations_are_found_by_id_node_listing_and_the_deprecated_current_query(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    first = _finished(sandbox, shopify, started(shopify, PRODUCTS))["id"]
    second = _finished(sandbox, shopify, started(shopify, ORDERS))["id"]
    query = (
        "query($id: ID!) { node(id: $id) { id ... on BulkOperation { status } } "
        "currentBulkOperation { id } "
        'bulkOperations(first: 5, query: "status:completed operation_type:query") '
        "{ nodes { id } } "
        'missing: bulkOperation(id: "gid://shopify/BulkOperation/999") { id } }'
    )

    response = graphql(shopify, query, {"id": first})
    answer = data(response)
    assert answer["node"] == {"id": first, "status": "COMPLETED"}
    assert answer["missing"] is None
    assert "currentBulkOperation" in response.headers["X-Shopify-API-Deprecated-Reason"]
    assert answer["currentBulkOperation"] == {"id": second}
    assert answer["bulkOperations"]["nodes"] == [{"id": second}, {"id": first}]


def _export_peak(customers: int) -> tuple[int, int]:
    """(peak traced bytes during the export, file size) of one customers export."""
    shop = ShopifySimulator(sizes={"customers": customers, "orders": 1, "products": 1})
    query = (
        "{ customers { edges { node { id firstName lastName email createdAt updatedAt tags "
        "defaultAddress { address1 city zip } addressesV2 { edges { node { id city } } } } } } }"
    )
    execute(shop, "{ customers(first: 1) { nodes { id } } }")
    shop.bulk.pause()
    outcome = execute(shop, RUN, {"query": query, "group": False})
    operation_id = outcome.result.data["bulkOperationRunQuery"]["bulkOperation"]["id"]
    shop.bulk.wait_for(operation_id, ["RUNNING"])
    tracemalloc.start()
    try:
        shop.bulk.resume()
        operation = shop.bulk.wait_for(operation_id, ["COMPLETED"], timeout=300)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert operation.file_size is not None
    size = operation.file_size
    shop.bulk.close()
    return peak, size


def test_a_five_times_larger_export_needs_no_more_memory() -> None:
    small_peak, small_file = _export_peak(600)
    large_peak, large_file = _export_peak(3000)

    assert large_file > 4 * small_file
    assert large_peak < 1.5 * small_peak


def test_bad_bulk_controls_and_fault_switches_are_refused_with_the_reason(
    sandbox: Sandbox,
) -> None:
    base = sandbox.shopify_url
    page = httpx.post(f"{base}/_sandbox/bulk", json={"nested_page": 0})
    unknown = httpx.post(f"{base}/_sandbox/bulk", json={"speed": 3})
    code = httpx.post(f"{base}/_sandbox/faults", json={"bulk_failure": {"error_code": "OOPS"}})
    cut = httpx.post(f"{base}/_sandbox/faults", json={"bulk_download_cut": {"mode": "twice"}})

    assert (page.status_code, page.json()) == (
        400,
        {"error": "nested_page must be within [1, 250], got 0"},
    )
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "unknown bulk control(s): speed"},
    )
    assert (code.status_code, code.json()) == (
        400,
        {"error": "invalid bulk_failure error_code: 'OOPS'"},
    )
    assert cut.status_code == 400
    assert sandbox.shopify.bulk.nested_page == 250
    assert sandbox.shopify.fault_settings.bulk_failure is None


def test_a_sandbox_in_a_child_process_runs_bulk_operations_driven_over_http() -> None:
    with run_sandbox(seed=5, sizes={"customers": 40}, rate_limits=False, process=True) as box:
        client = httpx.Client(
            base_url=box.shopify_url,
            headers={"X-Shopify-Access-Token": box.shopify.access_token},
        )
        operation_id = started(client, "{ customers { edges { node { id } } } }")
        operation = poll(client, operation_id)
        for _ in range(1000):  # a client polls: the runner is in another process
            if operation["status"] in ENDED:
                break
            operation = poll(client, operation_id)
        exported = lines(httpx.get(operation["url"]).content)

        with pytest.raises(NotImplementedError, match="/_sandbox/bulk"):
            box.shopify.bulk.pause()
        assert operation["status"] == "COMPLETED"
        assert [item["id"] for item in exported] == [
            f"gid://shopify/Customer/{record['id']}" for record in box.shopify.records("customers")
        ]
