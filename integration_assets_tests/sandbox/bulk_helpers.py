"""Running Shopify bulk queries against the simulator the way a client would, for the tests."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from integration_assets_tests.sandbox.graphql_helpers import graphql

RUN = """
mutation($query: String!, $group: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $group) {
    bulkOperation { id status type createdAt }
    userErrors { field message code }
  }
}
"""
CANCEL = """
mutation($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""
FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url "
    "partialDataUrl query type"
)
POLL = f"query($id: ID!) {{ bulkOperation(id: $id) {{ {FIELDS} }} }}"
ENDED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


def data(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a 200 answer without GraphQL errors."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def start(client: httpx.Client, query: str, group: bool = False) -> dict[str, Any]:
    """The `bulkOperationRunQuery` payload (bulkOperation and userErrors)."""
    payload: dict[str, Any] = data(graphql(client, RUN, {"query": query, "group": group}))[
        "bulkOperationRunQuery"
    ]
    return payload


def started(client: httpx.Client, query: str, group: bool = False) -> str:
    """Start a bulk query that must be accepted; its id."""
    payload = start(client, query, group)
    assert payload["userErrors"] == [], payload["userErrors"]
    operation_id: str = payload["bulkOperation"]["id"]
    return operation_id


def poll(client: httpx.Client, operation_id: str) -> dict[str, Any]:
    """The operation as `bulkOperation(id:)` serves it now."""
    operation: dict[str, Any] = data(graphql(client, POLL, {"id": operation_id}))["bulkOperation"]
    return operation


def cancel(client: httpx.Client, operation_id: str) -> dict[str, Any]:
    """The `bulkOperationCancel` payload."""
    payload: dict[str, Any] = data(graphql(client, CANCEL, {"id": operation_id}))[
        "bulkOperationCancel"
    ]
    return payload


def lines(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL body, one per line."""
    return [orjson.loads(line) for line in body.splitlines() if line]


def reassemble(objects: list[dict[str, Any]], nested: dict[str, str]) -> list[dict[str, Any]]:
    """Put child lines back under their parent as `{connection: {"nodes": [...]}}`.

    `nested` maps a child's gid type (`ProductVariant`) to its connection field (`variants`).
    Children must come after their parent, as the bulk operations guide promises. The lines
    themselves are left as they are.
    """
    by_id: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for line in objects:
        item = dict(line)
        parent_id = item.pop("__parentId", None)
        if parent_id is None:
            roots.append(item)
            for field in nested.values():
                item.setdefault(field, {"nodes": []})
        else:
            parent = by_id[parent_id]
            field = nested[item["id"].split("/")[3]]
            parent.setdefault(field, {"nodes": []})["nodes"].append(item)
        if "id" in item:
            by_id[item["id"]] = item
    return roots
