"""The bulk operations of one simulated shop: their lifecycle, limits, files and URLs.

Facts from Shopify's docs (GraphQL Admin API 2026-10):

* statuses CREATED → RUNNING → COMPLETED, or FAILED (with `errorCode` ACCESS_DENIED,
  INTERNAL_SERVER_ERROR or TIMEOUT and maybe a `partialDataUrl`), or CANCELING → CANCELED
  after `bulkOperationCancel`; EXPIRED once the result URL has expired;
* from API 2026-01 an app runs up to five bulk *query* operations at a time per shop; one
  more is refused with a `LIMIT_REACHED` userError ("Bulk operations limit reached. Please
  try again later.");
* a bulk query has ten days to complete, after which it is stopped and marked failed;
* `url` and `partialDataUrl` expire seven days after the operation ended;
* `objectCount` is the running total of lines written, `rootObjectCount` of top-level ones;
  `fileSize` (bytes) and `completedAt` exist once the operation completed.

Time is the simulator's clock (createdAt, completedAt, expiry, the ten days), so tests move
it with `advance`. Each operation runs in its own daemon thread (see `runner`); the result is
streamed to a file in a private temporary folder, never held in memory.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from integration_assets.sandbox.faults import BulkFailure
from integration_assets.sandbox.shopify.bulk.paging import PAGE
from integration_assets.sandbox.shopify.bulk.rules import BulkQueryError
from integration_assets.sandbox.shopify.bulk.signing import URL_LIFETIME, UrlSigner, Verdict
from integration_assets.sandbox.timefmt import naive_iso

MAX_RUNNING_QUERIES = 5
TIME_LIMIT = 10 * 86400
GID_PREFIX = "gid://shopify/BulkOperation/"
DOWNLOAD_PREFIX = "/_bulk/"
LIMIT_REACHED = "Bulk operations limit reached. Please try again later."


class Status(StrEnum):
    """BulkOperationStatus."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


ACTIVE = frozenset({Status.CREATED, Status.RUNNING, Status.CANCELING})


@dataclass
class BulkOperation:
    """One bulk query operation; mutated only by its runner and `cancel`, under the lock."""

    number: int
    query: str
    group_objects: bool
    created_at: int
    failure: BulkFailure | None
    status: Status = Status.CREATED
    error_code: str | None = None
    completed_at: int | None = None
    ended_at: int | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    partial: bool = False
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def gid(self) -> str:
        """The operation's global id."""
        return f"{GID_PREFIX}{self.number}"

    @property
    def type(self) -> str:
        """BulkOperationType: only queries are simulated."""
        return "QUERY"


class BulkOperations:
    """Every bulk operation of one shop, the concurrency limit and the result files."""

    def __init__(
        self,
        clock: Callable[[], int],
        faults: Callable[[], BulkFailure | None],
        base_url: Callable[[], str],
        max_running: int = MAX_RUNNING_QUERIES,
    ) -> None:
        self._clock = clock
        self._faults = faults
        self._base_url = base_url
        self.max_running = max_running
        self.signer = UrlSigner()
        self.changed = threading.Condition()
        self._operations: dict[int, BulkOperation] = {}
        self._threads: list[threading.Thread] = []
        self._next = 1
        self._files = tempfile.TemporaryDirectory(
            prefix="sandbox-shopify-bulk-", ignore_cleanup_errors=True
        )
        self._folder = Path(self._files.name)
        self.objects_per_second: float | None = None
        """Pace of every runner (None: as fast as the executor goes); for demos and clients'
        tests that want an export to take a while."""
        self.root_page = PAGE
        self.nested_page = PAGE
        """Page sizes the runners read with (Shopify's 250); smaller in tests."""
        self._hold_at: int | None = None
        self._downloaded: set[str] = set()

    def now(self) -> int:
        """The simulator's clock."""
        return self._clock()

    # --- the lifecycle --------------------------------------------------------------------

    def create(self, query: str, group_objects: bool) -> BulkOperation | BulkQueryError:
        """A new CREATED operation, or the LIMIT_REACHED userError when five are running."""
        with self.changed:
            running = [op for op in self._operations.values() if op.status in ACTIVE]
            if len(running) >= self.max_running:
                return BulkQueryError(LIMIT_REACHED, field=None, code="LIMIT_REACHED")
            operation = BulkOperation(
                number=self._next,
                query=query,
                group_objects=group_objects,
                created_at=self._clock(),
                failure=self._faults(),
            )
            self._next += 1
            self._operations[operation.number] = operation
            self.changed.notify_all()
            return operation

    def launch(self, operation: BulkOperation, target: Callable[[], None]) -> None:
        """Run `target` (the operation's runner) in a daemon thread."""
        thread = threading.Thread(
            target=target, name=f"shopify-bulk-{operation.number}", daemon=True
        )
        with self.changed:
            self._threads = [item for item in self._threads if item.is_alive()]
            self._threads.append(thread)
        thread.start()

    def get(self, gid: str) -> BulkOperation | None:
        """The operation with that global id (or bare number), if any."""
        number = gid.removeprefix(GID_PREFIX)
        if not number.isdigit():
            return None
        with self.changed:
            return self._operations.get(int(number))

    def all(self) -> list[BulkOperation]:
        """Every operation, oldest first."""
        with self.changed:
            return list(self._operations.values())

    def cancel(self, gid: str) -> tuple[BulkOperation | None, str | None]:
        """Start canceling; (operation, None) or (operation or None, the userError message)."""
        operation = self.get(gid)
        if operation is None:
            return None, "Bulk operation does not exist"
        with self.changed:
            status = self.status(operation)
            if status not in ACTIVE:
                return operation, (
                    f"A bulk operation cannot be canceled when it is {status.value.lower()}"
                )
            operation.status = Status.CANCELING
            operation.cancel_requested.set()
            self.changed.notify_all()
        return operation, None

    def transition(self, operation: BulkOperation, status: Status, **values: Any) -> None:
        """Move an operation to `status` (a runner's call), waking whoever waits on it."""
        with self.changed:
            if operation.status in (Status.CANCELED, Status.COMPLETED, Status.FAILED):
                return
            if operation.status is Status.CANCELING and status is Status.RUNNING:
                return
            operation.status = status
            for name, value in values.items():
                setattr(operation, name, value)
            if status in (Status.COMPLETED, Status.CANCELED, Status.FAILED):
                operation.ended_at = self._clock()
            self.changed.notify_all()

    def progress(self, operation: BulkOperation, objects: int, roots: int) -> None:
        """Record lines written so far."""
        with self.changed:
            operation.object_count = objects
            operation.root_object_count = roots
            self.changed.notify_all()

    def status(self, operation: BulkOperation) -> Status:
        """The status as served now: COMPLETED turns EXPIRED when its URL has expired."""
        if operation.status is Status.COMPLETED and self._expired(operation):
            return Status.EXPIRED
        return operation.status

    def _expired(self, operation: BulkOperation) -> bool:
        return operation.ended_at is not None and self._clock() > self.expires(operation)

    def expires(self, operation: BulkOperation) -> int:
        """When the operation's result URLs stop working (simulated clock)."""
        assert operation.ended_at is not None
        return operation.ended_at + URL_LIFETIME

    def over_time(self, operation: BulkOperation) -> bool:
        """Whether the operation has run past Shopify's ten days."""
        return self._clock() - operation.created_at > TIME_LIMIT

    # --- pacing, for tests and demos ------------------------------------------------------

    def pause(self, after_objects: int = 0) -> None:
        """Hold runners before reading a page once they have written `after_objects` lines.

        Lets a test see RUNNING (and a growing objectCount) without racing the runner.
        """
        with self.changed:
            self._hold_at = after_objects
            self.changed.notify_all()

    @property
    def paused_at(self) -> int | None:
        """Where runners are held (lines written), or None when they run freely."""
        return self._hold_at

    def resume(self) -> None:
        """Let held runners go on."""
        with self.changed:
            self._hold_at = None
            self.changed.notify_all()

    def wait_turn(self, operation: BulkOperation) -> None:
        """Block while runners are held at this operation's progress (or until canceled)."""
        with self.changed:
            while (
                self._hold_at is not None
                and operation.object_count >= self._hold_at
                and not operation.cancel_requested.is_set()
            ):
                self.changed.wait()

    def wait_for(self, gid: str, statuses: Iterable[str], timeout: float = 30.0) -> BulkOperation:
        """Block until the operation reaches one of `statuses`; TimeoutError otherwise."""
        wanted = {Status(status) for status in statuses}
        with self.changed:
            operation = self.get(gid)
            if operation is None:
                raise KeyError(gid)
            if not self.changed.wait_for(lambda: self.status(operation) in wanted, timeout):
                raise TimeoutError(f"{gid} is {self.status(operation).value}, not {sorted(wanted)}")
            return operation

    def wait_for_progress(self, gid: str, objects: int, timeout: float = 30.0) -> BulkOperation:
        """Block until the operation has written `objects` lines; TimeoutError otherwise."""
        with self.changed:
            operation = self.get(gid)
            if operation is None:
                raise KeyError(gid)
            if not self.changed.wait_for(lambda: operation.object_count >= objects, timeout):
                raise TimeoutError(f"{gid} wrote {operation.object_count} lines, not {objects}")
            return operation

    # --- files and URLs -------------------------------------------------------------------

    def result_path(self, operation: BulkOperation) -> Path:
        """Where the runner writes the operation's JSONL file."""
        return self._folder / f"{operation.number}.jsonl"

    def download_path(self, operation: BulkOperation) -> str:
        """The URL path of the operation's file (complete or partial)."""
        kind = "partial" if operation.status is Status.FAILED else "final"
        return f"{DOWNLOAD_PREFIX}bulk-operation-outputs/{operation.number}-{kind}.jsonl"

    def url(self, operation: BulkOperation, partial: bool) -> str | None:
        """`url` (partial=False) or `partialDataUrl` as served now, or None."""
        status = self.status(operation)
        if partial:
            ready = status is Status.FAILED and operation.partial
        else:
            ready = status is Status.COMPLETED
        if not ready or self._expired(operation):
            return None
        path = self.download_path(operation)
        return f"{self._base_url()}{path}?{self.signer.query(path, self.expires(operation))}"

    def resolve_download(
        self, path: str, expires: str | None, signature: str | None
    ) -> tuple[Verdict, Path | None]:
        """The file a signed download path serves, after checking signature and expiry."""
        verdict = self.signer.check(path, expires, signature, self._clock())
        if verdict is not Verdict.VALID:
            return verdict, None
        for operation in self.all():
            if self.download_path(operation) == path and operation.ended_at is not None:
                file = self.result_path(operation)
                return verdict, file if file.exists() else None
        return verdict, None

    def first_download(self, path: str) -> bool:
        """Whether `path` is downloaded for the first time (for the once-only download cut)."""
        with self.changed:
            first = path not in self._downloaded
            self._downloaded.add(path)
            return first

    # --- teardown -------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel every running operation, wait for the runners and delete the files."""
        with self.changed:
            self._hold_at = None
            for operation in self._operations.values():
                operation.cancel_requested.set()
            self.changed.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)
        self._files.cleanup()


def iso(seconds: int | None) -> str | None:
    """Shopify GraphQL's DateTime: UTC with a `Z`."""
    return None if seconds is None else naive_iso(seconds) + "Z"


def to_graphql(registry: BulkOperations, operation: BulkOperation) -> dict[str, Any]:
    """The BulkOperation object's fields as served (UnsignedInt64 as strings)."""
    with registry.changed:
        status = registry.status(operation)
        completed = operation.completed_at if status is Status.COMPLETED else None
        if status is Status.EXPIRED:
            completed = operation.completed_at
        return {
            "__typename": "BulkOperation",
            "id": operation.gid,
            "status": status.value,
            "errorCode": operation.error_code,
            "createdAt": iso(operation.created_at),
            "completedAt": iso(completed),
            "objectCount": str(operation.object_count),
            "rootObjectCount": str(operation.root_object_count),
            "fileSize": None if operation.file_size is None else str(operation.file_size),
            "url": registry.url(operation, partial=False),
            "partialDataUrl": registry.url(operation, partial=True),
            "query": operation.query,
            "type": operation.type,
        }
