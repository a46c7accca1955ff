"""Turning executed GraphQL nodes into the lines of a bulk operation's JSONL file.

As the bulk operations guide describes the result: one JSON object per line; each node of a
nested connection is a line of its own with `__parentId` naming the id of the node it hangs
from, and it comes after that parent's line (not necessarily right after it); objects that are
not connections (an order's `customer`, a money bag, a list of strings) stay inline in their
node's line. Connection wrappers (`edges`, `node`, `pageInfo`) never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from integration_assets.sandbox.shopify.bulk.paging import PAGE_INFO
from integration_assets.sandbox.shopify.bulk.rules import Connection

PARENT_KEY = "__parentId"


@dataclass
class Remainder:
    """A nested connection of one parent that has more pages than its first one."""

    connection: Connection
    parent_id: str
    end_cursor: str


@dataclass
class Split:
    """One node broken into its own line and the lines of its nested connections."""

    line: dict[str, Any]
    children: list[dict[str, Any]]
    remainders: list[Remainder]


def connection_nodes(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The nodes of a connection payload (`edges[*].node`), skipping null nodes."""
    if not payload:
        return []
    return [edge["node"] for edge in payload.get("edges") or () if edge and edge.get("node")]


def page_info(payload: dict[str, Any] | None) -> tuple[bool, str | None]:
    """(hasNextPage, endCursor) of a connection payload read by the runner."""
    info = (payload or {}).get(PAGE_INFO) or {}
    return bool(info.get("hasNextPage")), info.get("endCursor")


def split(
    node: dict[str, Any], connections: list[Connection], parent_id: str | None = None
) -> Split:
    """Take the nested connections out of `node` (in place) and make lines of everything."""
    children: list[dict[str, Any]] = []
    remainders: list[Remainder] = []
    node_id = node.get("id")
    for connection in connections:
        payload = _pop(node, connection.path)
        for child in connection_nodes(payload):
            part = split(child, connection.children, parent_id=node_id)
            children.append(part.line)
            children.extend(part.children)
            remainders.extend(part.remainders)
        more, cursor = page_info(payload)
        if more and cursor is not None and isinstance(node_id, str):
            remainders.append(Remainder(connection, node_id, cursor))
    if parent_id is not None:
        node[PARENT_KEY] = parent_id
    return Split(node, children, remainders)


def _pop(node: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """Remove and return the object at `path` (None when an object on the way is null)."""
    holder: Any = node
    for key in path[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
        if holder is None:
            return None
    if not isinstance(holder, dict):
        return None
    value = holder.pop(path[-1], None)
    return value if isinstance(value, dict) else None


def encode(line: dict[str, Any]) -> bytes:
    """One JSONL line: compact JSON and a newline."""
    return orjson.dumps(line) + b"\n"
