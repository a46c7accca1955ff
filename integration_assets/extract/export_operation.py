"""Start, poll and cancel one asynchronous export, as the connector's `ExportSpec` says.

The control documents travel over the connector's GraphQL transport (`GraphQLCall`: one
document with its variables, retried, paced and checked for errors by the caller); this
module only knows where the operation, its status and its user errors are in the answers.

Waiting is part of the protocol, not an error: a start refused because the vendor's limit of
concurrent exports is reached (`busy_codes`) is tried again after a pause, and a running
operation is polled with a growing interval (`poll_interval_seconds` x `poll_backoff`, capped
at `poll_max_interval_seconds`). Both stop at the export's deadline, with an error that says
so. Everything else the vendor refuses fails at once, with its message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integration_assets.connectors.spec import ExportSpec
from integration_assets.extract.errors import ExtractError, scrub
from integration_assets.paths import PathNotFound, lookup
from integration_assets.timestamps import parse_instant

logger = logging.getLogger("integration_assets.extract")


@dataclass(frozen=True)
class GraphQLAnswer:
    """The `data` of a GraphQL answer and the HTTP headers it came with (for `Date`)."""

    data: Mapping[str, Any]
    headers: Mapping[str, str]


GraphQLCall = Callable[[str, Mapping[str, Any]], GraphQLAnswer]
"""Posts one document with its variables; raises `ExtractError` when it cannot get data."""


class ExportError(ExtractError):
    """The export could not run to a complete file; `operation_id` and `error_code` say which
    and why (the vendor's code, e.g. Shopify's TIMEOUT), when known."""

    def __init__(
        self, *, operation_id: str | None = None, error_code: str | None = None, **details: Any
    ) -> None:
        self.operation_id = operation_id
        self.error_code = error_code
        super().__init__(**details)


class ExportDeadlineError(ExportError):
    """The export did not finish within its deadline; the operation was canceled.

    Not worth an automatic retry: a new export would wait as long again."""


class ExportRefusedError(ExportError):
    """The vendor refused the export itself (an invalid query, a missing access scope):
    the same export is refused again however often it is retried."""


@dataclass(frozen=True)
class ExportOperation:
    """What the vendor says about one operation. The URLs are signed: never shown."""

    id: str
    status: str
    url: str | None = field(default=None, repr=False)
    partial_url: str | None = field(default=None, repr=False)
    error_code: str | None = None
    object_count: int | None = None
    file_size: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ExportContext:
    """Who is exporting, for errors: `endpoint` is the transport's URL, without secrets."""

    vendor: str
    connection: str
    entity: str
    endpoint: str
    secret_values: tuple[str, ...] = ()


class ExportControl:
    """The control plane of one export: start (or wait for room to start), poll, cancel."""

    def __init__(
        self,
        spec: ExportSpec,
        call: GraphQLCall,
        context: ExportContext,
        *,
        poll_interval_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._spec = spec
        self._call = call
        self._context = context
        self._first_interval = poll_interval_seconds or spec.poll_interval_seconds
        self._sleep = sleep
        self._clock = clock
        self.requests = 0
        self.last: ExportOperation | None = None
        """The operation as the vendor last described it (start, find or poll)."""

    def start(self, query: str, deadline: float) -> tuple[ExportOperation, Mapping[str, str]]:
        """Start an export of `query`; returns it and the headers of the answer that did.

        A start refused for a busy code is tried again after a pause until `deadline` (a
        monotonic time): it never starts a second operation, since a refused start created
        none.
        """
        spec = self._spec
        interval = self._first_interval
        while True:
            answer = self._post(spec.start_document, {spec.query_variable: query})
            payload = self._payload(answer, spec.start_payload_path)
            errors = payload.get(spec.user_errors_field) or []
            busy = [e for e in errors if isinstance(e, dict) and e.get("code") in spec.busy_codes]
            if errors and len(busy) == len(errors):
                self._wait_or_fail(
                    deadline,
                    interval,
                    "starting the export",
                    f"the vendor refused to start another export ({_messages(busy)})",
                )
                interval = self._next(interval)
                continue
            if errors:
                raise self._error(
                    "the vendor refused to start the export",
                    self._scrub(_messages(errors)),
                    hint="the entity's export query or the credential's scopes need fixing",
                    kind=ExportRefusedError,
                )
            operation = self._operation(payload.get(spec.operation_field), "start")
            return operation, answer.headers

    def find_running(self, query: str) -> ExportOperation | None:
        """A running operation of exactly `query` (whitespace aside), if the vendor lists one."""
        spec = self._spec
        if spec.find_document is None:
            return None
        answer = self._post(spec.find_document, {})
        wanted = _normalised(query)
        for path in spec.find_paths:
            try:
                found = lookup(answer.data, path)
            except PathNotFound:
                continue
            for item in found if isinstance(found, list) else []:
                if not isinstance(item, dict) or not isinstance(item.get(spec.query_field), str):
                    continue
                if _normalised(item[spec.query_field]) != wanted:
                    continue
                operation = self._operation(item, "find")
                if self.is_running(operation):
                    self.last = operation
                    return operation
        return None

    def poll(self, operation_id: str) -> ExportOperation:
        """The operation's current state."""
        spec = self._spec
        answer = self._post(spec.poll_document, {spec.id_variable: operation_id})
        try:
            found = lookup(answer.data, spec.poll_operation_path)
        except PathNotFound:
            found = None
        return self._operation(found, "poll", operation_id)

    def wait(self, operation: ExportOperation, deadline: float) -> ExportOperation:
        """Poll until the operation is terminal; returns it COMPLETED, else ExportError."""
        spec = self._spec
        interval = self._first_interval
        while operation.status not in spec.completed_statuses:
            if operation.status in spec.failed_statuses:
                raise self.failed(operation)
            self._wait_or_fail(
                deadline,
                interval,
                f"waiting for export {operation.id}",
                f"it is still {operation.status}",
                operation_id=operation.id,
            )
            interval = self._next(interval)
            operation = self.poll(operation.id)
        return operation

    def is_running(self, operation: ExportOperation) -> bool:
        """Whether the operation may still change: canceling it means something."""
        spec = self._spec
        return (
            operation.status not in spec.completed_statuses
            and operation.status not in spec.failed_statuses
        )

    def cancel(self, operation_id: str) -> None:
        """Ask the vendor to cancel the operation (it may take a moment to stop)."""
        spec = self._spec
        answer = self._post(spec.cancel_document, {spec.id_variable: operation_id})
        payload = self._payload(answer, spec.cancel_payload_path)
        errors = payload.get(spec.user_errors_field) or []
        if errors:
            logger.warning(
                "%s/%s (connection %r): canceling export %s: %s",
                self._context.vendor,
                self._context.entity,
                self._context.connection,
                operation_id,
                self._scrub(_messages(errors)),
            )

    def failed(self, operation: ExportOperation) -> ExportError:
        """The error for an operation that ended without a usable file."""
        code = operation.error_code
        reason = f"export {operation.id} ended {operation.status}"
        if code:
            reason += f" with error code {code}"
        if operation.partial_url:
            reason += "; the vendor kept a partial file, which is not loaded (records are missing)"
        if code in self._spec.refused_codes:
            return self._error(
                "the vendor refused the export",
                reason,
                operation_id=operation.id,
                error_code=code,
                hint="the credential lacks an access scope the export query needs",
                kind=ExportRefusedError,
            )
        return self._error(
            "the export did not complete",
            reason,
            operation_id=operation.id,
            error_code=code,
            hint="run the sync again; a TIMEOUT may need a smaller export query",
        )

    def _post(self, document: str, variables: Mapping[str, Any]) -> GraphQLAnswer:
        self.requests += 1
        return self._call(document, variables)

    def _payload(self, answer: GraphQLAnswer, path: str) -> Mapping[str, Any]:
        try:
            payload = lookup(answer.data, path)
        except PathNotFound:
            payload = None
        if not isinstance(payload, dict):
            raise self._error(
                "the vendor's answer is not an export payload", f"no object at {path!r}"
            )
        return payload

    def _operation(self, found: Any, step: str, operation_id: str | None = None) -> ExportOperation:
        spec = self._spec
        if not isinstance(found, dict) or not found.get(spec.id_field):
            raise self._error(
                f"the vendor's {step} answer has no export operation",
                f"expected an object with {spec.id_field!r}",
                operation_id=operation_id,
            )
        operation = ExportOperation(
            id=str(found[spec.id_field]),
            status=str(found.get(spec.status_field)),
            url=found.get(spec.url_field) or None,
            partial_url=found.get(spec.partial_url_field) if spec.partial_url_field else None,
            error_code=found.get(spec.error_code_field) if spec.error_code_field else None,
            object_count=_count(found.get(spec.object_count_field))
            if spec.object_count_field
            else None,
            file_size=_count(found.get(spec.file_size_field)) if spec.file_size_field else None,
            created_at=parse_instant(found.get(spec.created_at_field))
            if spec.created_at_field
            else None,
        )
        if step != "find":
            self.last = operation
        return operation

    def _wait_or_fail(
        self,
        deadline: float,
        interval: float,
        doing: str,
        why: str,
        operation_id: str | None = None,
    ) -> None:
        if self._clock() + interval > deadline:
            raise self._error(
                f"gave up {doing}: the export's deadline passed",
                why,
                operation_id=operation_id,
                hint="the vendor is busy or slow; run the sync again later",
                kind=ExportDeadlineError,
            )
        self._sleep(interval)

    def _next(self, interval: float) -> float:
        return min(interval * self._spec.poll_backoff, self._spec.poll_max_interval_seconds)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._context.secret_values)

    def _error(
        self,
        summary: str,
        reason: str,
        *,
        operation_id: str | None = None,
        error_code: str | None = None,
        hint: str | None = None,
        kind: type[ExportError] = ExportError,
    ) -> ExportError:
        return kind(
            operation_id=operation_id,
            error_code=error_code,
            vendor=self._context.vendor,
            connection=self._context.connection,
            entity=self._context.entity,
            method="POST",
            url=self._context.endpoint,
            summary=summary,
            reason=reason,
            hint=hint,
        )


def _messages(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message") or "")
            parts.append(f"{code}: {message}" if code else message)
        else:
            parts.append(str(error))
    return "; ".join(parts)


def _normalised(query: str) -> str:
    return " ".join(query.split())


def _count(value: Any) -> int | None:
    """An unsigned count, which GraphQL APIs often send as a string (UnsignedInt64)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
