"""Parse one page body into its records, or say precisely why it can't be.

Kept apart from the HTTP loop so "what counts as a well-formed page" is one small function: the
body must be JSON and hold a list of objects at the entity's dotted `records_path`.
"""

from __future__ import annotations

from typing import Any

import orjson

from integration_assets.paths import PathNotFound, lookup, parse_path


class MalformedBody(ValueError):
    """Why a body is not a page; `position`/`line`/`column` locate a JSON syntax error."""

    def __init__(
        self,
        reason: str,
        *,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.position = position
        self.line = line
        self.column = column
        super().__init__(reason)


def parse_json(body: bytes) -> Any:
    """The parsed body, or MalformedBody saying where JSON parsing stopped."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(
            f"body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}, "
            f"char {exc.pos} of {len(body)} bytes)",
            position=exc.pos,
            line=exc.lineno,
            column=exc.colno,
        ) from None


def locate_records(document: Any, records_path: str) -> list[dict[str, Any]]:
    """The list of record objects at `records_path`, or MalformedBody."""
    try:
        records = lookup(document, records_path)
    except PathNotFound:
        raise MalformedBody(f"body has no records at {records_path!r}") from None
    if not isinstance(records, list):
        raise MalformedBody(
            f"records at {records_path!r} are a {type(records).__name__}, not a list"
        )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise MalformedBody(
                f"record {index} at {records_path!r} is a {type(record).__name__}, not an object"
            )
    return records


def parse_page(
    body: bytes, records_path: str, *, connections: bool = False
) -> tuple[Any, list[dict[str, Any]]]:
    """The parsed document and the list of records at `records_path`, or MalformedBody.

    With `connections` (GraphQL vendors), nested Relay connections in the records are turned
    into plain lists (see `flatten_connections`) in place, so the document and the records
    stay one object graph (redaction edits records and writes the document back). Other
    vendors' records are left alone: walking every record costs time on the hot path.
    """
    document = parse_json(body)
    records = locate_records(document, records_path)
    if connections:
        for record in records:
            flatten_connections(record)
    return document, records


def records_from_body(
    body: bytes, records_path: str, *, connections: bool = False
) -> list[dict[str, Any]]:
    """The records of a stored page body (landing replays pages through this), shaped as the
    extract stage shaped them (`connections`: see `parse_page`)."""
    return parse_page(body, records_path, connections=connections)[1]


_CONNECTION_KEYS = frozenset({"nodes", "edges", "pageInfo"})


class TruncatedConnection(MalformedBody):
    """A nested connection says it has more nodes than the page holds (`hasNextPage`)."""


def connection_nodes(value: Any) -> list[Any] | None:
    """The nodes of a Relay connection object, or None when `value` is not one.

    A connection is an object with `nodes` (a list) or `edges` (a list of `{node}`), and
    optionally `pageInfo`, nothing else: the GraphQL contract's generic rule, not a vendor's.
    """
    if not isinstance(value, dict) or not value or not value.keys() <= _CONNECTION_KEYS:
        return None
    if isinstance(value.get("nodes"), list):
        return list(value["nodes"])
    edges = value.get("edges")
    if isinstance(edges, list) and all(isinstance(e, dict) and "node" in e for e in edges):
        return [edge["node"] for edge in edges]
    return None


def has_next_page(value: dict[str, Any]) -> bool:
    page_info = value.get("pageInfo")
    return isinstance(page_info, dict) and page_info.get("hasNextPage") is True


def flatten_connections(record: dict[str, Any]) -> dict[str, Any]:
    """Turn every nested Relay connection of `record` into the plain list of its nodes, in
    place (and return the record), at any depth. Idempotent: a list stays a list.

    A connection whose `pageInfo.hasNextPage` is true would lose nodes silently: it raises
    `TruncatedConnection` naming the record and field. The extract stage completes declared
    nested connections before this runs (see `EntitySpec.nested_connections`).
    """
    _flatten(record, record, "")
    return record


def _flatten(value: Any, record: dict[str, Any], path: str) -> Any:
    if isinstance(value, dict):
        nodes = connection_nodes(value)
        if nodes is not None:
            if has_next_page(value):
                raise TruncatedConnection(
                    f"record {record.get('id', '?')!r}: its {path!r} has more nodes than the "
                    "page holds (pageInfo.hasNextPage is true) and no follow-up query read "
                    "them; refusing to keep it truncated"
                )
            return [_flatten(node, record, path) for node in nodes]
        for key, child in value.items():
            flat = _flatten(child, record, f"{path}.{key}" if path else key)
            if flat is not child:
                value[key] = flat
        return value
    if isinstance(value, list):
        for index, child in enumerate(value):
            flat = _flatten(child, record, path)
            if flat is not child:
                value[index] = flat
    return value


def frame_records(records_path: str, records: list[dict[str, Any]]) -> bytes:
    """A page body holding `records` at `records_path`: the inverse of `records_from_body`.

    For records that did not come as a page (an export file's reassembled lines), so that
    landing stores and replays them exactly like fetched pages: `data.customers.nodes`
    frames them as `{"data": {"customers": {"nodes": [...]}}}`, the shape of a GraphQL
    listing page. Every segment becomes an object key, numeric ones included.
    """
    document: Any = records
    for segment in reversed(parse_path(records_path)):
        document = {segment: document}
    return orjson.dumps(document)
