"""Relay connections: `customers(first:, after:, query:, sortKey:, reverse:)` and nested lists.

Top-level connections page the entity store directly, so a page costs O(page + log n) whatever
the shop's size. A cursor is opaque and signed, and holds what Shopify's cursors hold: the
sort key's value and the record's id (plus the page number of the walk, which the
malformed-page fault needs). Resuming from it is a seek to "after (value, id)", not an
offset, so records that change while a client walks do not shift the pages: a record whose
`updated_at` moves past the walk's position shows up again later in an `UPDATED_AT` walk, as
on Shopify, and none is skipped.

Nested connections (an order's line items, a product's variants) page an in-memory list with
position cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from integration_assets.sandbox.cursor import InvalidCursor
from integration_assets.sandbox.shopify.graphql.search import parse_search
from integration_assets.sandbox.shopify.graphql.views import View
from integration_assets.sandbox.store import Order, Row

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.graphql.context import Context

MAX_PAGE = 250
UPDATED_KEYS = frozenset({"UPDATED_AT"})
INDEX_KEYS = frozenset({"ID", "CREATED_AT", "PROCESSED_AT", "ORDER_NUMBER", "RELEVANCE"})
"""Sort keys the store streams without sorting: creation time and numbers grow with the id
(RELEVANCE, which ranks text matches, is served in id order: no text search is simulated)."""
_CHUNK = 500


def check_page_arguments(first: int | None, last: int | None, unbounded: bool) -> None:
    """Shopify's argument rules for a connection: one of first/last, within 0..250."""
    if unbounded:
        return
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"Argument '{name}' on Field has an invalid value ({value}).")
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(
                f"The connection can't return more than {MAX_PAGE} records. "
                f"Use `{name}` to request {MAX_PAGE} records or fewer."
            )


def entity_connection(entity: str) -> Callable[..., View]:
    """The resolver of a top-level connection of `entity` (customers, orders, products)."""

    def resolve(
        _root: Any,
        info: Any,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        query: str | None = None,
        reverse: bool = False,
        sortKey: str = "ID",
    ) -> View:
        context: Context = info.context
        check_page_arguments(first, last, context.unbounded)
        if sortKey not in INDEX_KEYS | UPDATED_KEYS:
            raise GraphQLError(
                f"The sandbox does not simulate sortKey {sortKey}; use ID, CREATED_AT or "
                "UPDATED_AT."
            )
        search = parse_search(context.simulator, entity, query)
        if search.warnings:
            context.search.append(
                {
                    "path": [str(key) for key in info.path.as_list()],
                    "query": query,
                    "parsed": search.parsed,
                    "warnings": search.warnings,
                }
            )
        walk = _Walk(context, entity, sortKey, search.selection, reverse)
        if context.unbounded:
            return walk.everything()
        return walk.page(first, last, after, before)

    return resolve


class _Walk:
    """One connection request against the store."""

    def __init__(
        self, context: Context, entity: str, sort_key: str, selection: Any, reverse: bool
    ) -> None:
        self.context = context
        self.entity = entity
        self.sort_key = sort_key
        self.order = Order.UPDATED if sort_key in UPDATED_KEYS else Order.INDEX
        self.selection = selection
        self.reverse = reverse
        self.store = context.simulator.store(entity)
        self.ids = context.simulator.catalog.id_spaces[entity]

    # --- cursors -------------------------------------------------------------------------

    def _cursor(self, row: Row, page: int) -> str:
        value: int = row.updated if self.order is Order.UPDATED else self._sort_value(row)
        payload = {"c": self.entity, "s": self.sort_key, "v": value, "i": self.ids.id_of(row.index)}
        return self.context.simulator.codec.encode({**payload, "p": page})

    def _sort_value(self, row: Row) -> int:
        if self.sort_key in ("CREATED_AT", "PROCESSED_AT"):
            return self.store.created_at(row.index)
        return self.ids.id_of(row.index)

    def _read_cursor(self, token: str) -> tuple[int | tuple[int, int], int]:
        """(store key, page number) of a cursor issued for this connection and sort key."""
        try:
            payload = self.context.simulator.codec.decode(token)
        except InvalidCursor:
            raise GraphQLError(f"Invalid cursor: {token}") from None
        record_id, value, page = payload.get("i"), payload.get("v"), payload.get("p")
        valid = (
            payload.get("c") == self.entity
            and isinstance(record_id, int)
            and isinstance(value, int)
            and isinstance(page, int)
        )
        if not valid:
            raise GraphQLError(f"Invalid cursor: {token}")
        if payload.get("s") != self.sort_key:
            raise GraphQLError("Invalid cursor for current pagination sort.")
        assert isinstance(record_id, int) and isinstance(value, int) and isinstance(page, int)
        index = self.ids.first_index_above(record_id - 1)
        if self.order is Order.UPDATED:
            return (value, index), page
        return index, page

    # --- pages ---------------------------------------------------------------------------

    def _select(self, descending: bool, after: Any, limit: int) -> list[Row]:
        return self.store.select(self.selection, self.order, descending, after, limit)

    def page(
        self, first: int | None, last: int | None, after: str | None, before: str | None
    ) -> View:
        """One page, per the Relay rules: `first` after `after`, or `last` before `before`."""
        forward = first is not None or last is None
        settings = self.context.simulator.fault_settings
        if forward:
            key, page = self._read_cursor(after) if after else (None, 0)
            size = first if first is not None else MAX_PAGE
            duplicate = settings.duplicate_across_pages and key is not None and size > 1
            fresh = size - 1 if duplicate else size
            rows = self._select(self.reverse, key, fresh + 1)
            has_next = len(rows) > fresh
            rows = rows[:fresh]
            if duplicate and rows:
                rows.insert(0, self._row_at(key))
            has_previous = bool(rows) and bool(self._select(not self.reverse, rows[0].key, 1))
            page += 1
            if last is not None:
                rows = rows[-last:] if last else []
        else:
            key, page = self._read_cursor(before) if before else (None, 2)
            assert last is not None
            rows = self._select(not self.reverse, key, last + 1)
            has_previous = len(rows) > last
            rows = list(reversed(rows[:last]))
            has_next = bool(rows) and bool(self._select(self.reverse, rows[-1].key, 1))
            page = max(1, page - 1)
        self.context.pages.append((self.entity, page))
        cursors = [self._cursor(row, page) for row in rows]
        views = self.context.views
        nodes = [views.from_row(self.entity, row) for row in rows]
        return {
            "edges": [
                {"cursor": cursor, "node": node}
                for cursor, node in zip(cursors, nodes, strict=True)
            ],
            "nodes": nodes,
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": has_previous,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }

    def _row_at(self, key: Any) -> Row:
        index = key[1] if isinstance(key, tuple) else key
        return Row(key, index, self.store.version(index), self.store.updated_at(index))

    def _rows(self) -> Iterator[Row]:
        """Every match in order, read in chunks (the store re-reads its state between them)."""
        after = None
        while True:
            rows = self._select(self.reverse, after, _CHUNK)
            yield from rows
            if len(rows) < _CHUNK:
                return
            after = rows[-1].key

    def everything(self) -> View:
        """Every match, streamed: what a bulk operation's connection returns."""
        views, entity = self.context.views, self.entity

        def edges(_info: Any, **_: Any) -> Iterator[View]:
            for row in self._rows():
                yield {"cursor": self._cursor(row, 1), "node": views.from_row(entity, row)}

        def nodes(_info: Any, **_: Any) -> Iterator[View]:
            for row in self._rows():
                yield views.from_row(entity, row)

        return {
            "edges": edges,
            "nodes": nodes,
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
        }


def list_connection(
    items: list[View],
    info: Any,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool = False,
    **_: Any,
) -> View:
    """A page of a nested list (line items, variants, addresses) with position cursors."""
    context: Context = info.context
    check_page_arguments(first, last, context.unbounded)
    codec = context.simulator.codec
    ordered = list(enumerate(items))
    if reverse:
        ordered.reverse()

    def position(token: str) -> int:
        try:
            payload = codec.decode(token)
        except InvalidCursor:
            raise GraphQLError(f"Invalid cursor: {token}") from None
        value = payload.get("n")
        if not isinstance(value, int):
            raise GraphQLError(f"Invalid cursor: {token}")
        return value

    start, stop = 0, len(ordered)
    if after is not None:
        mark = position(after)
        start = next((i + 1 for i, (n, _) in enumerate(ordered) if n == mark), len(ordered))
    if before is not None:
        mark = position(before)
        stop = next((i for i, (n, _) in enumerate(ordered) if n == mark), 0)
    window = ordered[start:stop]
    if not context.unbounded:
        if first is not None:
            window = window[:first]
        if last is not None:
            window = window[-last:] if last else []
    shown_start = start if not window else ordered.index(window[0])
    shown_stop = stop if not window else ordered.index(window[-1]) + 1
    cursors = [codec.encode({"n": n}) for n, _ in window]
    nodes = [item for _, item in window]
    return {
        "edges": [{"cursor": c, "node": node} for c, node in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": shown_stop < len(ordered),
            "hasPreviousPage": shown_start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
