"""`bulkOperations`: the 2026-01+ connection listing an app's bulk operations.

From Shopify's changelog "New Queries for Bulk Operations" (2026-01): filter with search
syntax on `status` (e.g. `status:running`), `operation_type` (`query`/`mutation`) and
`created_at` (`created_at:>2025-10-10`); sort by `CREATED_AT`, `COMPLETED_AT`, `STATUS` (or
`ID`); newest first by default, `reverse: true` flips it. The sandbox keeps every operation
of the simulator's life (a handful), so this pages an in-memory list with position cursors.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from graphql import GraphQLError

from integration_assets.sandbox.shopify.bulk.operations import (
    BulkOperation,
    BulkOperations,
    to_graphql,
)
from integration_assets.sandbox.timefmt import parse_utc

_TERM = re.compile(r"^(?P<field>\w+):(?P<op><=|>=|<|>)?(?P<value>.+)$")
MAX_PAGE = 250


def list_operations(
    _root: Any,
    info: Any,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool = False,
    sortKey: str = "CREATED_AT",
) -> dict[str, Any]:
    """The connection payload (edges, nodes, pageInfo) of the matching operations."""
    registry: BulkOperations = info.context.simulator.bulk
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if (first or 0) > MAX_PAGE or (last or 0) > MAX_PAGE:
        raise GraphQLError(f"The connection can't return more than {MAX_PAGE} records.")
    matching = [op for op in registry.all() if _matches(registry, op, query or "")]
    matching.sort(key=lambda op: _sort_key(registry, op, sortKey), reverse=not reverse)
    positions = list(range(len(matching)))
    if after is not None:
        positions = [p for p in positions if p > _position(after)]
    if before is not None:
        positions = [p for p in positions if p < _position(before)]
    window = positions[:first] if first is not None else positions
    if last is not None:
        window = window[-last:] if last else []
    edges = [{"cursor": _cursor(p), "node": to_graphql(registry, matching[p])} for p in window]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < positions[-1],
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _matches(registry: BulkOperations, operation: BulkOperation, query: str) -> bool:
    for term in query.split():
        match = _TERM.match(term)
        if match is None:
            continue
        name, op, value = match["field"].lower(), match["op"], match["value"].strip("'\"")
        if name == "status" and registry.status(operation).value != value.upper():
            return False
        if name == "operation_type" and operation.type != value.upper():
            return False
        if name == "created_at" and not _compare(operation.created_at, op, value):
            return False
    return True


def _compare(stamp: int, op: str | None, value: str) -> bool:
    bound = parse_utc(value)
    if bound is None:
        return True
    if op == ">":
        return stamp > bound
    if op == ">=":
        return stamp >= bound
    if op == "<":
        return stamp < bound
    if op == "<=":
        return stamp <= bound
    return stamp == bound


def _sort_key(registry: BulkOperations, operation: BulkOperation, key: str) -> tuple[Any, ...]:
    if key == "COMPLETED_AT":
        return (operation.completed_at or 0, operation.number)
    if key == "STATUS":
        return (registry.status(operation).value, operation.number)
    if key == "ID":
        return (operation.number,)
    return (operation.created_at, operation.number)


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"bulk:{position}".encode()).decode()


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return int(text.removeprefix("bulk:"))
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError("Invalid cursor.") from None
