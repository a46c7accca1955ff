"""The background work of one bulk query: read every page, write JSONL, end in a status.

The runner asks the GraphQL executor for one root page at a time (250 nodes), turns the
page into lines (`jsonl`), appends them to the operation's file and records the counts, so
memory holds one page whatever the export's size. It reads a snapshot of the shop taken when
the operation started (`execute` is bound to it): records changed or created afterwards are
not in the file, as an export that started earlier would not see them either.

Between pages it honours, in order: a cancel request (→ CANCELED), Shopify's ten-day limit
(→ FAILED, TIMEOUT), the `bulk_failure` fault (→ FAILED with its errorCode), the test hold
(`BulkOperations.pause`) and the pace (`objects_per_second`). A failure keeps what was
written as the partial data file; a GraphQL error from the executor is an
INTERNAL_SERVER_ERROR, as on Shopify.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, BinaryIO

from graphql import DocumentNode

from integration_assets.sandbox.shopify.bulk.jsonl import (
    Remainder,
    Split,
    connection_nodes,
    encode,
    page_info,
    split,
)
from integration_assets.sandbox.shopify.bulk.operations import (
    BulkOperation,
    BulkOperations,
    Status,
)
from integration_assets.sandbox.shopify.bulk.paging import (
    AFTER,
    FIRST,
    NODE_ID,
    PagedQuery,
    follow_up_query,
)

Execute = Callable[[DocumentNode, dict[str, Any]], dict[str, Any]]
"""Runs a document with variables against the operation's snapshot; returns `data`, or
raises `ExecutionFailed` when the executor reported errors."""

_log = logging.getLogger(__name__)


class ExecutionFailed(Exception):
    """The executor answered with GraphQL errors."""


class _Stop(Exception):
    """The operation ends early with this status (and maybe an errorCode)."""

    def __init__(self, status: Status, error_code: str | None = None) -> None:
        super().__init__(status.value)
        self.status = status
        self.error_code = error_code


class BulkRunner:
    """Runs one operation to its end; `run` is the thread's target."""

    def __init__(
        self,
        registry: BulkOperations,
        operation: BulkOperation,
        query: PagedQuery,
        execute: Execute,
        parent_types: dict[int, str],
    ) -> None:
        self.registry = registry
        self.operation = operation
        self.query = query
        self.execute = execute
        self.parent_types = parent_types
        self.objects = 0
        self.roots = 0
        self.bytes = 0

    def run(self) -> None:
        """Read, write, and leave the operation COMPLETED, CANCELED or FAILED."""
        registry, operation = self.registry, self.operation
        registry.transition(operation, Status.RUNNING)
        path = registry.result_path(operation)
        try:
            with path.open("wb") as out:
                self._walk(out)
        except _Stop as stop:
            self._end(stop.status, stop.error_code)
            return
        except Exception:
            _log.exception("bulk operation %s failed", operation.gid)
            self._end(Status.FAILED, "INTERNAL_SERVER_ERROR")
            return
        registry.transition(
            operation,
            Status.COMPLETED,
            completed_at=registry.now(),
            file_size=self.bytes,
            object_count=self.objects,
            root_object_count=self.roots,
        )

    def _end(self, status: Status, error_code: str | None) -> None:
        values: dict[str, Any] = {"object_count": self.objects, "root_object_count": self.roots}
        if status is Status.FAILED:
            values.update(error_code=error_code, partial=self.objects > 0)
        self.registry.transition(self.operation, status, **values)

    def _walk(self, out: BinaryIO) -> None:
        after: str | None = None
        while True:
            self._checkpoint()
            data = self._execute(
                self.query.document, {FIRST: self.registry.root_page, AFTER: after}
            )
            payload = data.get(self.query.root_key)
            written = self.objects
            self._write_page(out, connection_nodes(payload))
            self.registry.progress(self.operation, self.objects, self.roots)
            self._pace(self.objects - written)
            more, cursor = page_info(payload)
            if not more or cursor is None:
                break
            after = cursor
        failure = self.operation.failure
        if failure is not None:
            raise _Stop(Status.FAILED, failure.error_code)

    def _write_page(self, out: BinaryIO, nodes: list[dict[str, Any]]) -> None:
        """A page of root nodes and all their children, in the order the file gets them.

        `groupObjects` puts each node's children (and the pages of them read on through
        `node(id:)`) right after it. Otherwise the page's root lines come first and all their
        children after them, which the guide allows ("after their parent, not necessarily
        directly after") and which keeps clients honest about it.
        """
        parts = [split(node, self.query.root.children) for node in nodes]
        if self.operation.group_objects:
            for part in parts:
                self._write(out, part.line, True)
                self._write_children(out, part)
            return
        for part in parts:
            self._write(out, part.line, True)
        for part in parts:
            self._write_children(out, part)

    def _write_children(self, out: BinaryIO, part: Split) -> None:
        for child in part.children:
            self._write(out, child, False)
        for remainder in part.remainders:
            self._finish_nested(out, remainder)

    def _finish_nested(self, out: BinaryIO, remainder: Remainder) -> None:
        """Read the rest of one parent's nested connection through `node(id:)`."""
        connection = remainder.connection
        document = follow_up_query(
            connection, self.parent_types[id(connection)], self.query.document
        )
        cursor: str | None = remainder.end_cursor
        while cursor is not None:
            self._checkpoint()
            data = self._execute(document, {NODE_ID: remainder.parent_id, AFTER: cursor})
            holder: Any = data.get("node") or {}
            for key in connection.path[:-1]:
                holder = holder.get(key) if isinstance(holder, dict) else None
            payload = holder.get(connection.path[-1]) if isinstance(holder, dict) else None
            for child in connection_nodes(payload):
                part = split(child, connection.children, parent_id=remainder.parent_id)
                self._write(out, part.line, False)
                for grandchild in part.children:
                    self._write(out, grandchild, False)
            more, cursor = page_info(payload)
            if not more:
                cursor = None

    def _execute(self, document: DocumentNode, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.execute(document, variables)
        except ExecutionFailed:
            raise _Stop(Status.FAILED, "INTERNAL_SERVER_ERROR") from None

    def _write(self, out: BinaryIO, line: dict[str, Any], is_root: bool) -> None:
        failure = self.operation.failure
        if failure is not None and self.objects >= failure.after_objects:
            raise _Stop(Status.FAILED, failure.error_code)
        data = encode(line)
        out.write(data)
        self.bytes += len(data)
        self.objects += 1
        if is_root:
            self.roots += 1

    def _checkpoint(self) -> None:
        registry, operation = self.registry, self.operation
        registry.progress(operation, self.objects, self.roots)
        registry.wait_turn(operation)
        if operation.cancel_requested.is_set():
            raise _Stop(Status.CANCELED)
        if registry.over_time(operation):
            raise _Stop(Status.FAILED, "TIMEOUT")

    def _pace(self, lines: int) -> None:
        rate = self.registry.objects_per_second
        if rate and lines:
            self.operation.cancel_requested.wait(lines / rate)
