"""Extract an entity through the vendor's asynchronous export: start, poll, download, reassemble.

For a first sync or a full refresh, reading a whole shop page by page costs hours of rate
budget; an asynchronous export (Shopify's bulk operations) runs the same query on the
vendor's side and hands back one file. `ExportStream` drives it entirely from the connector's
`ExportSpec` and the entity's `export_query` / `export_children`, so a third vendor with an
export is data, not code:

1. **start** the operation (`export_operation.ExportControl`), unless the vendor lists one
   of the very same query still running (a crashed extract's), which is adopted instead; a
   start refused because the vendor's limit of concurrent exports is reached waits and
   tries again.
2. yield a **marker page**: no records, its `next_url` the resume token of the operation
   (`export:<operation id>#0:0`), its `url` the control endpoint. Landing it at once is what
   lets a retried extract find the operation instead of starting a second one.
3. **poll** until the operation is terminal (within the export's deadline). A failure
   (FAILED, CANCELED, EXPIRED) is an `ExportError` with the vendor's error code; a partial
   file is never read.
4. **download** the file as lines (`export_download.LineDownload`, streamed, reconnecting at
   the byte where a broken download stopped), **reassemble** each record with its children
   (`export_lines`), and yield pages of `page_records` records. A page body frames its
   records at the entity's `records_path` (`records.frame_records`): for Shopify
   `{"data": {"customers": {"nodes": [...]}}}`, a GraphQL listing page whose connections are
   already plain lists, so landing, replay and the mapping cannot tell it from a paginated
   page. Each page's `next_url` is `export:<operation id>#<byte offset after its last
   record>:<objects read by then>`; the last page's is '' (the walk is complete). At the
   end the objects read must be the vendor's count (`object_count_field`), resumed or not. Its `url` is the file's URL
   without the query string: the signature never reaches a log, an error or landing.

If anything fails on our side while the operation still runs (an exception, Ctrl-C, the
deadline, the consumer closing the stream), the operation is canceled before the error goes
on. A retried extract resumes with `resume=` (see `parse_resume_token`): a running or
completed operation is waited for and read from the stored offset; one that can no longer
deliver is replaced by a new one (after `on_restart`, which forgets what was landed).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from integration_assets.connectors.connections import Connection
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec, ExportSpec
from integration_assets.connectors.versions import run_lifecycle_warning
from integration_assets.extract.export_download import DownloadContext, LineDownload, public_url
from integration_assets.extract.export_lines import ExportFormatError, FamilyAssembler, reassemble
from integration_assets.extract.export_operation import (
    ExportContext,
    ExportControl,
    ExportError,
    ExportOperation,
    GraphQLCall,
)
from integration_assets.extract.headers import header
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.records import frame_records
from integration_assets.extract.settings import ExtractSettings
from integration_assets.extract.stream import format_since
from integration_assets.extract.walk import PageWalk
from integration_assets.timestamps import parse_http_date

logger = logging.getLogger("integration_assets.extract")

RESUME_PREFIX = "export:"


@dataclass(frozen=True)
class ExportResume:
    """Where a retried export goes on: its operation, the byte of the file to read next, and
    how many objects the file held before that byte (None: unknown, not checked)."""

    operation_id: str
    offset: int
    objects: int | None = 0


def resume_token(operation_id: str, offset: int, objects: int = 0) -> str:
    """The `next_url` a landed export page stores (see the module docstring)."""
    return f"{RESUME_PREFIX}{operation_id}#{offset}:{objects}"


def parse_resume_token(token: str | None) -> ExportResume | None:
    """The resume point in a stored `next_url`, or None if it is not an export token."""
    if not token or not token.startswith(RESUME_PREFIX):
        return None
    operation_id, _, position = token[len(RESUME_PREFIX) :].rpartition("#")
    offset, _, objects = position.partition(":")
    if not operation_id or not offset.isdigit() or (objects and not objects.isdigit()):
        return None
    return ExportResume(operation_id, int(offset), int(objects) if objects else None)


def has_export(spec: ConnectorSpec, entity: EntitySpec) -> bool:
    """Whether `entity` can be extracted through the connector's export."""
    return spec.export is not None and entity.export_query is not None


def export_query(entity: EntitySpec, since: datetime | None) -> str:
    """The entity's export query, filtered to records changed since `since` when it can be."""
    assert entity.export_query is not None
    if since is None or entity.export_since_filter is None or entity.incremental is None:
        if since is not None:
            logger.info("%s has no incremental export filter; exporting everything", entity.name)
        return entity.export_query.replace("{since_filter}", "")
    formatted = format_since(since, entity.incremental.since_format)
    return entity.export_query.replace(
        "{since_filter}", entity.export_since_filter.replace("{since}", formatted)
    )


class ExportStream(PageWalk):
    """The pages of one entity of one connection, read through an asynchronous export.

    Iterate it once, like `PageStream`; `stats`, `walk_started_at` (when the operation was
    created, on the vendor's clock: its creation time, else the `Date` of the answer that
    started it) and
    `operation` can be read at any time. `call` posts one control document (the connector's
    GraphQL transport, with its retries and pacing); `endpoint` is that transport's URL,
    without secrets. The file is downloaded with `client` (or one of its own), which
    carries no credentials: the URL is signed. `stats` count the download and the pages;
    the control calls are the transport's to count (`control.requests` says how many).
    """

    def __init__(
        self,
        spec: ConnectorSpec,
        entity: str,
        connection: Connection,
        *,
        call: GraphQLCall,
        endpoint: str,
        since: datetime | None = None,
        settings: ExtractSettings | None = None,
        secret_values: tuple[str, ...] = (),
        client: httpx.Client | None = None,
        resume: ExportResume | None = None,
        first_page: int = 1,
        walk_started_at: datetime | None = None,
        on_restart: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if spec.export is None:
            raise ValueError(f"{spec.vendor} declares no asynchronous export")
        self.spec = spec
        self.export: ExportSpec = spec.export
        self.entity = spec.entity(entity)
        if self.entity.export_query is None:
            raise ValueError(f"{spec.vendor}/{entity} declares no export query")
        self.connection = connection
        self.settings = settings or ExtractSettings()
        self.stats = ExtractStats()
        self.api_version = connection.effective_api_version
        if warning := run_lifecycle_warning(self.spec, self.api_version, self.settings.today):
            self.stats.warn(warning)
        self.query = export_query(self.entity, since)
        self.endpoint = endpoint
        self.timeout_seconds = self.settings.timeout_seconds or connection.timeout_seconds
        self.page_records = self.settings.export_page_records or self.export.page_records
        self.deadline_seconds = (
            self.settings.export_deadline_seconds or self.export.deadline_seconds
        )
        self.control = ExportControl(
            self.export,
            call,
            ExportContext(
                vendor=spec.vendor,
                connection=connection.name,
                entity=entity,
                endpoint=endpoint,
                secret_values=secret_values,
            ),
            poll_interval_seconds=self.settings.export_poll_interval_seconds,
            sleep=sleep,
            clock=clock,
        )
        self._client = client
        self._owns_client = client is None
        self._resume = resume
        self._first_page = first_page
        self._on_restart = on_restart
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.walk_started_at = walk_started_at
        self.operation: ExportOperation | None = None
        self.restarted = False

    def _pages(self) -> Iterator[Page]:
        started = self._clock()
        deadline = started + self.deadline_seconds
        try:
            yield from self._run(deadline)
        except BaseException:
            last = self.control.last
            if self.operation is not None and last is not None and last.id == self.operation.id:
                self.operation = last  # e.g. the FAILED state that ended the wait
            self._cancel_quietly()
            raise
        finally:
            self.stats.seconds = self._clock() - started
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def _run(self, deadline: float) -> Iterator[Page]:
        number = self._first_page - 1
        offset = 0
        objects: int | None = 0
        operation: ExportOperation | None = None
        if self._resume is not None:
            operation = self.control.poll(self._resume.operation_id)
            self.operation = operation
            if self._deliverable(operation):
                offset, objects = self._resume.offset, self._resume.objects
                logger.info(
                    "%s/%s (connection %r): going on with export %s (%s) from byte %d",
                    self.spec.vendor,
                    self.entity.name,
                    self.connection.name,
                    operation.id,
                    operation.status,
                    offset,
                )
            else:
                logger.info(
                    "%s/%s (connection %r): export %s is %s; starting a new one",
                    self.spec.vendor,
                    self.entity.name,
                    self.connection.name,
                    operation.id,
                    operation.status,
                )
                if self._on_restart is not None:
                    self._on_restart()
                self.restarted = True
                operation, number = None, 0
        if operation is None:
            requested_at = datetime.now(UTC)
            headers: Mapping[str, str] = {}
            operation = self.control.find_running(self.query)
            if operation is not None:
                logger.info(
                    "%s/%s (connection %r): export %s of the same query is still %s; "
                    "waiting for it instead of starting another",
                    self.spec.vendor,
                    self.entity.name,
                    self.connection.name,
                    operation.id,
                    operation.status,
                )
            else:
                operation, headers = self.control.start(self.query, deadline)
            self.operation = operation
            self.walk_started_at = (
                operation.created_at or parse_http_date(header(headers, "Date")) or requested_at
            )
            number += 1
            yield self._page(number, self.endpoint, [], resume_token(operation.id, 0), last=False)
        operation = self.control.wait(operation, deadline)
        self.operation = operation
        if not operation.url:
            if operation.object_count:
                raise self.control.failed(operation)
            # Nothing matched: a completed export of no objects has no file at all.
            yield self._page(number + 1, self.endpoint, [], "", last=True)
            return
        yield from self._download(operation, offset, objects, number, deadline)

    def _deliverable(self, operation: ExportOperation) -> bool:
        """Whether a resumed operation can still give us its file."""
        return operation.status not in self.export.failed_statuses

    def _download(
        self,
        operation: ExportOperation,
        offset: int,
        objects: int | None,
        number: int,
        deadline: float,
    ) -> Iterator[Page]:
        assert operation.url is not None
        if self._client is None:
            self._client = httpx.Client(
                http1=True,
                http2=False,
                timeout=httpx.Timeout(self.timeout_seconds),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                follow_redirects=True,
            )
        download = LineDownload(
            self._client,
            operation.url,
            context=DownloadContext(
                vendor=self.spec.vendor,
                connection=self.connection.name,
                entity=self.entity.name,
                retryable_statuses=frozenset(self.spec.retryable_statuses),
            ),
            policy=self.settings.backoff(),
            stats=self.stats,
            timeout_seconds=self.timeout_seconds,
            expected_size=operation.file_size,
            refresh=lambda: self._fresh_url(operation.id),
            sleep=self._sleep,
            rng=self._rng,
        )
        export = self.export
        assembler = FamilyAssembler(
            self.entity.export_children,
            parent_field=export.parent_field,
            type_field=export.type_field,
            id_type_pattern=export.id_type_pattern,
            objects=objects or 0,
        )
        file_url = public_url(operation.url)
        records: list[dict[str, Any]] = []
        end, read = offset, objects or 0
        try:
            for family in reassemble(download.lines(offset), assembler):
                if len(records) >= self.page_records:
                    number += 1
                    token = resume_token(operation.id, end, read)
                    yield self._page(number, file_url, records, token)
                    records = []
                    self._check_deadline(deadline, operation)
                records.append(family.record)
                end, read = family.end, family.objects
        except ExportFormatError as problem:
            raise ExportError(
                operation_id=operation.id,
                vendor=self.spec.vendor,
                connection=self.connection.name,
                entity=self.entity.name,
                method="GET",
                url=file_url,
                summary="the export file cannot be read",
                reason=str(problem),
            ) from None
        expected = operation.object_count
        if objects is not None and expected is not None and assembler.lines != expected:
            raise ExportError(
                operation_id=operation.id,
                vendor=self.spec.vendor,
                connection=self.connection.name,
                entity=self.entity.name,
                method="GET",
                url=file_url,
                summary="the export file is incomplete",
                reason=f"it has {assembler.lines} objects, the vendor counted {expected}",
                hint="nothing of it is loaded; run the sync again",
            )
        number += 1
        yield self._page(number, file_url, records, "", last=True)

    def _fresh_url(self, operation_id: str) -> str:
        """A new signed URL for the operation's file (the old one was refused)."""
        operation = self.control.poll(operation_id)
        if operation.status not in self.export.completed_statuses or not operation.url:
            raise self.control.failed(operation)
        return operation.url

    def _check_deadline(self, deadline: float, operation: ExportOperation) -> None:
        if self._clock() > deadline:
            raise ExportError(
                operation_id=operation.id,
                vendor=self.spec.vendor,
                connection=self.connection.name,
                entity=self.entity.name,
                method="GET",
                url=public_url(operation.url or ""),
                summary="the export's deadline passed while its file was being read",
                reason=f"more than {self.deadline_seconds:.0f} s since the export began",
                hint="a retried sync goes on from the last landed page",
            )

    def _page(
        self,
        number: int,
        url: str,
        records: list[dict[str, Any]],
        next_url: str,
        *,
        last: bool = False,
    ) -> Page:
        body = frame_records(self.entity.records_path, records)
        self.stats.pages += 1
        self.stats.records += len(records)
        return Page(
            number=number,
            url=url,
            status=200,
            body=body,
            records=records,
            fetched_at=datetime.now(UTC),
            next_url=next_url,
            last=last,
        )

    def _cancel_quietly(self) -> None:
        """Cancel our operation if it still runs; a failure to do so must not hide the error."""
        operation = self.operation
        if operation is None or not self.control.is_running(operation):
            return
        try:
            self.control.cancel(operation.id)
        except Exception as exc:  # the original error matters more
            logger.warning(
                "%s/%s (connection %r): could not cancel export %s: %s",
                self.spec.vendor,
                self.entity.name,
                self.connection.name,
                operation.id,
                type(exc).__name__,
            )
        else:
            logger.info(
                "%s/%s (connection %r): canceled export %s",
                self.spec.vendor,
                self.entity.name,
                self.connection.name,
                operation.id,
            )


def secret_values_of(spec: ConnectorSpec, secrets: Mapping[str, str]) -> tuple[str, ...]:
    """The secret values to scrub from vendor text quoted in errors."""
    return tuple(secrets[s] for s in spec.auth.secrets if secrets.get(s))
