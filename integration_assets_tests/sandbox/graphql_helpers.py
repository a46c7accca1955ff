"""Talking GraphQL to the Shopify simulator the way a client would, for the test stories."""

from __future__ import annotations

from typing import Any

import httpx

VERSION = "2026-10"
GRAPHQL = f"/admin/api/{VERSION}/graphql.json"


def graphql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    version: str = VERSION,
) -> httpx.Response:
    """POST one GraphQL document; the answer is returned whatever its status."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return client.post(f"/admin/api/{version}/graphql.json", json=body)


def walk(
    client: httpx.Client,
    connection: str,
    selection: str,
    page_size: int = 50,
    arguments: str = "",
    between_pages: Any = None,
) -> list[dict[str, Any]]:
    """Every node of a top-level connection, following `pageInfo.endCursor` as a client does.

    `between_pages(page_number)` runs between pages (to change data mid-walk).
    """
    query = (
        f"query($after: String) {{ {connection}(first: {page_size}, after: $after{arguments}) "
        f"{{ nodes {{ {selection} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
    nodes: list[dict[str, Any]] = []
    after = None
    page = 0
    while True:
        response = graphql(client, query, {"after": after})
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        result = body["data"][connection]
        nodes.extend(result["nodes"])
        page += 1
        if not result["pageInfo"]["hasNextPage"]:
            return nodes
        if between_pages is not None:
            between_pages(page)
        after = result["pageInfo"]["endCursor"]
