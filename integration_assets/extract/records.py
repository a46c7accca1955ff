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


def parse_page(body: bytes, records_path: str) -> tuple[Any, list[dict[str, Any]]]:
    """The parsed document and the list of records at `records_path`, or MalformedBody."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(
            f"body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}, "
            f"char {exc.pos} of {len(body)} bytes)",
            position=exc.pos,
            line=exc.lineno,
            column=exc.colno,
        ) from None
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
    return document, records


def records_from_body(body: bytes, records_path: str) -> list[dict[str, Any]]:
    """The records of a stored page body (landing replays pages through this)."""
    return parse_page(body, records_path)[1]


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
