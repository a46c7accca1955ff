"""The pre-rendered server's recording mode, which the GraphQL and bulk benchmarks page.

`bench/api_paths.py` records one pass of the sandbox's GraphQL pages and bulk export through
`prerendered_server.py`, then times clients against the replay. These stories check that the
replay is what the sandbox said: pages picked by their `after` cursor whatever the order of the
variables, a bulk poll that ends on the finished operation, a file URL that points at the
recorder, and that anything not recorded is forwarded and counted.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.connectors.shopify_bulk import CUSTOMERS_EXPORT_QUERY, SHOPIFY_BULK_EXPORT
from integration_assets.extract import PageStream, UnlimitedLimiter
from integration_assets.sandbox import run_sandbox

BENCH = Path(__file__).resolve().parents[2] / "bench"
GRAPHQL = "/admin/api/2026-10/graphql.json"
SIZES = {"customers": 400, "orders": 5, "products": 5, "profiles": 5, "events": 5}


def _bench_module(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # api_paths imports its siblings by name
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


prerendered_server = _bench_module("prerendered_server")
api_paths = _bench_module("api_paths")


def _truth(sandbox: Any) -> list[int]:
    return sorted(record["id"] for record in sandbox.shopify.records("customers"))


def _graphql_connection(url: str) -> Connection:
    return Connection(
        name="bench-shop",
        vendor="shopify",
        api="graphql",
        bulk="never",
        base_url=url,
        secrets={"access_token": "IA_TEST_BENCH_TOKEN"},
        entities={"customers": "hourly"},
    )


def test_recorded_graphql_pages_are_replayed_by_their_after_cursor() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        with prerendered_server.serve_prerendered(
            sandbox.shopify_url, [], headers, record=True
        ) as recorder:
            stream = PageStream(
                get_connector("shopify", "graphql"),
                "customers",
                _graphql_connection(recorder.url),
                secrets={"access_token": token},
                limiter=UnlimitedLimiter(),
            )
            recorded_ids = [record["id"] for page in stream for record in page.records]
            recorder.replay()
            path, document, variables, _ = api_paths.first_page()
            config = {
                "server_url": recorder.url,
                "graphql_path": path,
                "token": token,
                "document": document,
                "variables": variables,
            }
            bodies = list(api_paths.post_pages(config))
            stats = recorder.stats()

    replayed = [
        api_paths.map_graphql_customer(node)[0]
        for body in bodies
        for node in httpx.Response(200, content=body).json()["data"]["customers"]["nodes"]
    ]
    assert len(recorded_ids) == 400
    assert sorted(replayed) == _truth(sandbox)
    assert len(bodies) == 3  # 400 customers, 166 a page
    assert (stats["hits"], stats["misses"], stats["recording"]) == (3, 0, False)


def _post(client: httpx.Client, url: str, document: str, variables: dict[str, Any]) -> Any:
    response = client.post(url + GRAPHQL, json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _export(client: httpx.Client, url: str) -> dict[str, Any]:
    """Start the customers export and poll it until it completes (bounded)."""
    query = CUSTOMERS_EXPORT_QUERY.replace("{since_filter}", "")
    started = _post(client, url, SHOPIFY_BULK_EXPORT.start_document, {"query": query})
    operation_id = started["bulkOperationRunQuery"]["bulkOperation"]["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        polled = _post(client, url, SHOPIFY_BULK_EXPORT.poll_document, {"id": operation_id})
        if polled["bulkOperation"]["status"] == "COMPLETED":
            return polled["bulkOperation"]
        time.sleep(0.1)
    raise AssertionError("the sandbox's export did not complete in 120 s")


def test_a_recorded_bulk_export_is_replayed_with_its_file_served_by_the_recorder() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        with (
            prerendered_server.serve_prerendered(
                sandbox.shopify_url, [], headers, record=True
            ) as recorder,
            httpx.Client(headers=headers, timeout=60) as client,
        ):
            recorded = _export(client, recorder.url)
            first_file = httpx.get(recorded["url"]).content
            recorder.replay()
            replayed = _export(client, recorder.url)
            lines = list(api_paths.download_lines({"file_url": replayed["url"]}))
            stats = recorder.stats()

    assert recorded["url"].startswith(recorder.url + "/")
    assert replayed == recorded
    assert b"\n".join(lines) + b"\n" == first_file
    ids = [api_paths.map_graphql_customer(httpx.Response(200, content=x).json())[0] for x in lines]
    assert sorted(ids) == _truth(sandbox)
    assert stats["recorded_gets"] == [recorded["url"].removeprefix(recorder.url)]
    assert (stats["hits"], stats["misses"]) == (3, 0)  # start, poll, file


def test_in_replay_a_request_not_recorded_is_forwarded_and_counted() -> None:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as sandbox:
        token = sandbox.shopify.access_token
        headers = {"X-Shopify-Access-Token": token}
        with prerendered_server.serve_prerendered(
            sandbox.shopify_url, [], headers, record=True
        ) as recorder:
            recorder.replay()
            answer = httpx.post(
                recorder.url + GRAPHQL,
                json={"query": "{ customers(first: 2) { nodes { id } } }"},
                headers=headers,
            )
            wrong_token = httpx.post(
                recorder.url + GRAPHQL,
                json={"query": "{ customers(first: 2) { nodes { id } } }"},
                headers={"X-Shopify-Access-Token": "nope"},
            )
            stats = recorder.stats()

    assert answer.status_code == 200 and len(answer.json()["data"]["customers"]["nodes"]) == 2
    assert wrong_token.status_code == 401
    assert (stats["hits"], stats["misses"], stats["recorded"]) == (0, 2, 0)


def test_the_bare_cursor_search_stops_on_the_last_page() -> None:
    more = b'{"data":{"customers":{"nodes":[],"pageInfo":{"hasNextPage":true,"endCursor":"abc"}}}}'
    last = b'{"data":{"customers":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":"x"}}}}'
    assert api_paths.end_cursor(more) == "abc"
    assert api_paths.end_cursor(last) is None
