"""The two steps of a sync, composed from the stages, with no Dagster in sight.

`run_extract` pages the vendor into landing; `run_load` turns landed pages into warehouse rows.
They meet only through landing, so a failed load is retried (or a mapping fix replayed) from
the stored pages without calling the vendor again. The Dagster ops are thin wrappers of these
two functions, and so is anything else that wants to run a sync.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from integration_assets.extract import ExtractSettings, PageStream, records_from_body
from integration_assets.extract.export import ExportStream
from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.landing import LandingStore
from integration_assets.load.lock import DEFAULT_LOCK_TIMEOUT, HeldLock, writer_lock
from integration_assets.load.quarantine import quarantine_records
from integration_assets.load.retention import expire_quarantine
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import ensure_tables
from integration_assets.load.upsert import UpsertResult, upsert_batch
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.gate import QualityGateError
from integration_assets.quality.model import ValidationReport
from integration_assets.schema import (
    PARENT_ROW,
    MappedBatch,
    RejectedRecord,
    Row,
    TableSchema,
    join_key,
)
from integration_assets.sync.cursor import CursorTracker, cursor_ceiling
from integration_assets.sync.failure import failure_message, record_failure_quietly
from integration_assets.sync.gate import LoadGate, Origin, ValidRowsHook
from integration_assets.sync.reconcile import ReconcileResult, run_reconcile
from integration_assets.sync.resume import FRESH, plan_walk
from integration_assets.sync.target import SyncTarget
from integration_assets.sync.walk import export_stream, exports
from integration_assets.timestamps import parse_instant

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as `progress(step, pages, records)` after each page (step is "extract" or "load")."""


@dataclass(frozen=True)
class SyncSettings:
    """Knobs of one sync. Defaults suit a production shop; tests tighten the retry ones."""

    batch_records: int = 10_000
    landing_retention: timedelta = timedelta(days=7)
    quarantine_retention: timedelta = timedelta(days=90)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    lock_timeout: timedelta = DEFAULT_LOCK_TIMEOUT
    """How long a load waits for another load of the same (connection, entity) to finish."""


@dataclass(frozen=True)
class ExtractResult:
    """What the extract step landed; the load step needs only this to find the pages."""

    landing_run_id: str
    connection: str
    vendor: str
    entity: str
    since: str | None
    full_refresh: bool
    pages: int
    records: int
    requests: int
    retries: int
    throttled: int
    server_errors: int
    timeouts: int
    rate_limit_wait_seconds: float
    seconds: float
    walk_started_at: str | None = None
    """When the walk began on the vendor's clock (ISO 8601); the cursor may not pass it."""
    resumed_pages: int = 0
    """Pages an earlier attempt of this run landed, counted in `pages`, not fetched again."""
    api_version: str | None = None
    """The API version requested (the connection's `api_version`, else the connector's)."""
    served_version: str | None = None
    """The version the vendor said it served, when it says (Shopify `X-Shopify-API-Version`)."""
    warnings: tuple[str, ...] = ()
    """Version lifecycle and deprecation warnings of this attempt (see `ExtractStats`)."""
    export_operation: str | None = None
    """The vendor's id of the asynchronous export this extract read, when it read one."""


@dataclass(frozen=True)
class LoadResult:
    """What the load step did to the warehouse."""

    records: int
    upsert: UpsertResult
    cursor: str | None
    previous_cursor: str | None
    batches: int
    seconds: float
    reconciled: ReconcileResult | None = None
    """Set after a full refresh of an entity that is reconciled (see `sync/reconcile.py`)."""
    records_per_second: float = 0.0
    """The sync's records over its extract plus load seconds (as sync state records it)."""
    newest_source_at: str | None = None
    """The newest source timestamp synced (ISO 8601, never after the load ended), for the lag."""
    quality: ValidationReport | None = None
    """What the quality gate saw over every batch (None: the load validated nothing)."""


def records_per_second(extracted: ExtractResult, load_seconds: float) -> float:
    """The speed of a whole sync: records over extract plus load time."""
    seconds = extracted.seconds + load_seconds
    return round(extracted.records / seconds, 1) if seconds > 0 else 0.0


def _since(target: SyncTarget, warehouse: Warehouse, full_refresh: bool) -> datetime | None:
    """Where the incremental window starts: the saved cursor minus the connection's lookback.

    Re-reading the lookback window catches records that arrived late or out of order; the
    upsert guard makes reading them twice harmless.
    """
    if full_refresh or target.entity.incremental is None:
        return None
    state = SyncStateStore(warehouse).get(target.connection.name, target.entity_name)
    if state is None or state.cursor_at is None:
        return None
    return state.cursor_at - timedelta(seconds=target.connection.lookback_seconds)


def run_extract(
    target: SyncTarget,
    warehouse: Warehouse,
    *,
    run_id: str,
    full_refresh: bool = False,
    settings: SyncSettings | None = None,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
) -> ExtractResult:
    """Page the vendor into landing for `run_id`; memory holds one page at a time.

    A retry of the same `run_id` goes on after the pages it landed when it can (see
    `sync.resume`); `pages` and `records` count those pages too, the request counters only
    this attempt's. `walk_started_at` is the first attempt's.
    """
    settings = settings or SyncSettings()
    try:
        return _run_extract(target, warehouse, run_id, full_refresh, settings, progress, client)
    except BaseException as exc:
        record_failure_quietly(
            warehouse, partial(_record_failure, warehouse, target, run_id, exc), "extract"
        )
        raise


def _run_extract(
    target: SyncTarget,
    warehouse: Warehouse,
    run_id: str,
    full_refresh: bool,
    settings: SyncSettings,
    progress: Progress | None,
    client: httpx.Client | None,
) -> ExtractResult:
    ensure_bookkeeping(warehouse)
    connection, entity = target.connection.name, target.entity_name
    SyncStateStore(warehouse).mark_started(connection, entity, run_id)
    since = _since(target, warehouse, full_refresh)
    landing = LandingStore(warehouse)
    # First syncs and full refreshes read through the vendor's export when it has one.
    exporting = exports(target, since=since, full_refresh=full_refresh)
    # A retry of the same run goes on after the pages it landed (see `sync.resume`).
    start = plan_walk(target, landing, run_id, exporting=exporting)
    # Pruned here too, not only after a successful load: landing stays bounded while loads fail.
    landing.prune(settings.landing_retention, connection=connection, entity=entity, keep_run=run_id)
    with ExitStack() as resources:
        stream: PageStream | ExportStream
        if exporting:
            stream = resources.enter_context(
                export_stream(
                    target,
                    since=since,
                    settings=settings.extract,
                    start=start,
                    on_restart=lambda: landing.delete_run(run_id, connection, entity),
                )
            )
        else:
            stream = PageStream(
                target.connector,
                entity,
                target.connection,
                since=since,
                settings=settings.extract,
                client=client,
                resume_from=start.resume_from,
                first_page=start.first_page,
            )
        walk_started_at = start.walk_started_at
        if not start.complete:
            with _collector_paused(), landing.writer(background=True) as writer:
                for page in stream:
                    if isinstance(stream, ExportStream):
                        # When the vendor created the operation (a restarted one's, too).
                        walk_started_at = stream.walk_started_at
                    else:
                        walk_started_at = walk_started_at or stream.walk_started_at
                    writer.write(
                        run_id,
                        connection,
                        entity,
                        page.number,
                        page.url,
                        page.body,
                        len(page.records),
                        next_url="" if page.last else page.next_url,
                        walk_started_at=walk_started_at,
                    )
                    if exporting and not page.records and not page.last:
                        # The export's marker page names the running operation: stored at
                        # once, a retried extract finds it instead of starting another.
                        writer.flush()
                    if progress:
                        progress("extract", page.number, start.records + stream.stats.records)
        if isinstance(stream, ExportStream) and stream.restarted:
            start = FRESH  # the pages an earlier attempt landed were forgotten
    stats = stream.stats
    return ExtractResult(
        landing_run_id=run_id,
        connection=connection,
        vendor=target.connection.vendor,
        entity=entity,
        since=since.isoformat() if since else None,
        full_refresh=full_refresh,
        pages=start.pages + stats.pages,
        records=start.records + stats.records,
        requests=stats.requests,
        retries=stats.retries,
        throttled=stats.throttled,
        server_errors=stats.server_errors,
        timeouts=stats.timeouts,
        rate_limit_wait_seconds=round(stats.rate_limit_wait_seconds, 3),
        seconds=round(stats.seconds, 3),
        walk_started_at=walk_started_at.isoformat() if walk_started_at else None,
        resumed_pages=start.pages,
        api_version=stream.api_version,
        served_version=stats.served_version,
        warnings=tuple(stats.warnings),
        export_operation=stream.operation.id
        if isinstance(stream, ExportStream) and stream.operation is not None
        else None,
    )


class _Batch:
    """The mapped rows of about `batch_records` landed records, built page by page."""

    def __init__(self, tables: Sequence[TableSchema]) -> None:
        self.mapped = MappedBatch(rows={table.name: [] for table in tables})
        self.origins: list[Origin] = []
        """(page number, index in the page) of each row of the entity's own table."""
        self.records = 0
        self.last = False

    def add(self, page: MappedBatch, records: int, origins: Sequence[Origin]) -> None:
        """Append one page's rows and rejected records."""
        for name, rows in page.rows.items():
            self.mapped.rows[name].extend(rows)
        self.mapped.rejected.extend(page.rejected)
        self.origins.extend(origins)
        self.records += records


@dataclass
class _Skip:
    """What the upsert pass of a multi-batch load leaves out (found by the validation pass)."""

    keys: tuple[str, ...]
    """The own table's key columns."""
    origins: set[Origin] = field(default_factory=set)
    """Records that failed the gate."""
    newest_failure: dict[str, Origin] = field(default_factory=dict)
    """Each failing record's key → its last failing version: versions read before it are
    left out too (see `sync.gate._older_versions`)."""

    def drops(self, row: Row, origin: Origin) -> bool:
        if origin in self.origins:
            return True
        if not self.newest_failure:
            return False
        values = [row[column] for column in self.keys]
        if any(value is None for value in values):
            return False
        failing = self.newest_failure.get(join_key(values))
        return failing is not None and origin < failing


def _skipping(page: MappedBatch, table: str, origins: list[Origin], skip: _Skip) -> None:
    """Drop from `page` (in place) the own rows `skip` drops and their child rows."""
    own = page.rows[table]
    dropped = {id(row) for row, origin in zip(own, origins, strict=True) if skip.drops(row, origin)}
    if not dropped:
        return
    kept = [
        (row, origin) for row, origin in zip(own, origins, strict=True) if id(row) not in dropped
    ]
    page.rows[table] = [row for row, _ in kept]
    origins[:] = [origin for _, origin in kept]
    for name, rows in page.rows.items():
        if name != table:
            page.rows[name] = [row for row in rows if id(row[PARENT_ROW]) not in dropped]


def _mapped_batches(
    target: SyncTarget,
    landing: LandingStore,
    extracted: ExtractResult,
    batch_records: int,
    tracker: CursorTracker,
    progress: Progress | None,
    skip: _Skip | None = None,
) -> Iterator[_Batch]:
    """Landed records, mapped page by page, in batches of about `batch_records` records.

    Each page is mapped (and its records observed by the cursor tracker) as soon as it is
    read, so a batch holds mapped rows, not raw records: these are several times larger, and
    keeping 10,000 of them alive made the garbage collector walk them over and over. A full
    batch is handed over when the next page with records arrives; when the pages end, the
    batch in hand is marked `last` (the cursor travels with it). So only one page is ever
    read ahead, not a whole batch, which kept a second batch in memory.
    """
    mapping = target.mapping
    records_path = target.entity.records_path
    connections = target.connector.request == "graphql"
    batch = _Batch(mapping.tables)
    records = 0
    landed = landing.iter_pages(extracted.landing_run_id, extracted.connection, extracted.entity)
    for pages, page in enumerate(landed, start=1):
        page_records = records_from_body(page.body, records_path, connections=connections)
        records += len(page_records)
        if progress:
            progress("load", pages, records)
        if page_records and batch.records >= batch_records:
            yield batch
            batch = _Batch(mapping.tables)
        tracker.observe(page_records)
        positions: list[int] = []
        mapped = mapping.map_records(page_records, positions)
        origins = [(page.page_number, index) for index in positions]
        if skip is not None:
            mapped.rejected = []
            _skipping(mapped, mapping.table.name, origins, skip)
        batch.add(mapped, len(page_records), origins)
    batch.last = True
    yield batch


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around a step's hot loop, then restore it.

    Pages, records, rows and batches form no reference cycles (the one httpx made is broken
    in `extract.fetch`), so reference counting frees each as soon as the loop is done with
    it. But they are millions of containers: they set off a collection every 700
    allocations, and the full ones walk every live object of the process (Dagster's
    included) over and over, which measured a fifth of the load step and 7% of the extract
    step. Cyclic garbage made meanwhile by anything else is collected afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _record_failure(
    warehouse: Warehouse, target: SyncTarget, run_id: str, exc: BaseException
) -> None:
    """Mark the run failed in sync state, with its error for monitoring."""
    SyncStateStore(warehouse).record_failure(
        target.connection.name, target.entity_name, run_id, failure_message(exc)
    )


def run_load(
    target: SyncTarget,
    warehouse: Warehouse,
    extracted: ExtractResult,
    *,
    run_id: str,
    settings: SyncSettings | None = None,
    progress: Progress | None = None,
    on_valid_rows: ValidRowsHook | None = None,
) -> LoadResult:
    """Map landed pages, gate them on quality, upsert them; the cursor moves with the last batch.

    Every batch is one transaction (rows, child rows, quarantined records). The cursor is
    written only in the final batch's transaction, so a crash anywhere leaves the cursor where
    it was and the next run re-reads the window; the upsert guard makes that harmless.

    The whole load holds the writer lock of (connection, entity) (see `load.lock`), and the
    saved cursor is read only once it is held, so two loads never interleave and the cursor
    never moves backwards; a second load waits up to `settings.lock_timeout`, then raises
    `SyncBusyError` having written nothing.

    **Quality gate.** Every mapped batch is validated with the entity's rules (see
    `quality/gate.py`): a record failing any rule goes to the quarantine with its raw form
    and every reason, never to the warehouse. When the sync's pass rate (records that
    passed over records read, mapping rejects counting as failed) is under the entity's
    threshold, the load publishes no row in any batch, keeps the cursor where it was,
    keeps what it quarantined, and raises `QualityGateError`. A load of one batch (the
    usual incremental sync) validates and upserts in one pass; a longer one first validates
    every batch (quarantining as it goes and remembering the failing rows' positions),
    decides, and only then maps the pages again to upsert, skipping those positions. A
    passing version of a record read before a failing one is left out too: loading it
    would resolve the newer version's quarantine row as superseded.
    `on_valid_rows` is called once per validated batch with the rows of the entity's own
    table that passed (for profiling).
    """
    settings = settings or SyncSettings()
    with writer_lock(
        warehouse,
        target.connection.name,
        target.entity_name,
        timeout=settings.lock_timeout,
        on_wait=lambda: logger.info(
            "waiting for another load of %s/%s to finish",
            target.connection.name,
            target.entity_name,
        ),
    ) as lock:
        return _load_locked(
            target, warehouse, extracted, run_id, settings, progress, lock, on_valid_rows
        )


def _load_locked(
    target: SyncTarget,
    warehouse: Warehouse,
    extracted: ExtractResult,
    run_id: str,
    settings: SyncSettings,
    progress: Progress | None,
    lock: HeldLock,
    on_valid_rows: ValidRowsHook | None = None,
) -> LoadResult:
    started = time.perf_counter()
    ensure_bookkeeping(warehouse)
    mapping = target.mapping
    ensure_tables(warehouse, mapping.tables)
    expire_quarantine(
        warehouse,
        settings.quarantine_retention,
        connection=target.connection.name,
        entity=target.entity_name,
    )
    landing = LandingStore(warehouse)
    state = SyncStateStore(warehouse).get(target.connection.name, target.entity_name)
    previous_cursor = state.cursor if state else None
    ceiling = cursor_ceiling(
        parse_instant(extracted.walk_started_at), target.connection.clock_skew_seconds
    )
    tracker = CursorTracker(target.entity.incremental, previous_cursor, ceiling)

    gate = LoadGate(
        target,
        landing,
        extracted.landing_run_id,
        extracted.connection,
        extracted.entity,
        on_valid_rows,
    )
    total = UpsertResult()
    records = batches = 0
    try:
        with _collector_paused():
            batches_iter = _mapped_batches(
                target, landing, extracted, settings.batch_records, tracker, progress
            )
            first = next(batches_iter)
            if first.last:  # the whole sync is one batch: validate and upsert in one pass
                checked = gate.check(first.mapped, first.origins)
                rejected = [*first.mapped.rejected, *checked.failed]
                _enforce(gate, warehouse, target, run_id, rejected)
                checked.kept.rejected = rejected
                lock.check()
                total = upsert_batch(
                    warehouse,
                    mapping.tables,
                    checked.kept,
                    connection=target.connection.name,
                    entity=target.entity_name,
                    run_id=run_id,
                    cursor=tracker.cursor,
                    save_cursor=True,
                )
                records, batches = first.records, 1
            else:
                gate.affordable_failures = int((1 - gate.threshold) * extracted.records) + 1
                skip = _validation_pass(
                    gate, warehouse, target, run_id, lock, _chain(first, batches_iter)
                )
                _enforce(gate, warehouse, target, run_id, [])
                if gate.overflowed:  # more failures than the threshold allows, yet it passed
                    raise RuntimeError("the quality gate's failing positions overflowed")
                # The upsert pass reads every record again, so its tracker starts afresh.
                tracker = CursorTracker(target.entity.incremental, previous_cursor, ceiling)
                for batch in _mapped_batches(
                    target, landing, extracted, settings.batch_records, tracker, progress, skip
                ):
                    lock.check()
                    total += upsert_batch(
                        warehouse,
                        mapping.tables,
                        batch.mapped,
                        connection=target.connection.name,
                        entity=target.entity_name,
                        run_id=run_id,
                        cursor=tracker.cursor,
                        save_cursor=batch.last,
                    )
                    records += batch.records
                    batches += 1
                total = UpsertResult(total.tables, total.quarantined + gate.quarantined)
    except BaseException as exc:
        record_failure_quietly(
            warehouse, partial(_record_failure, warehouse, target, run_id, exc), "load"
        )
        raise
    speed = records_per_second(extracted, time.perf_counter() - started)
    # A record dated in the future (a sender's clock) is not "synced ahead": no lag, not less.
    newest = min(tracker.newest, datetime.now(UTC)) if tracker.newest else None
    SyncStateStore(warehouse).record_success(
        target.connection.name,
        target.entity_name,
        run_id,
        records=records,
        records_per_second=speed,
        newest_source_at=newest,
    )
    landing.prune(older_than=settings.landing_retention)
    reconciled = None
    if extracted.full_refresh and target.entity.reconciled:
        # A full refresh cannot see deletions either (listings have no tombstones).
        reconciled = run_reconcile(target, warehouse, settings=settings.extract)
    return LoadResult(
        records=records,
        upsert=total,
        cursor=tracker.cursor,
        previous_cursor=previous_cursor,
        batches=batches,
        seconds=round(time.perf_counter() - started, 3),
        reconciled=reconciled,
        records_per_second=speed,
        newest_source_at=newest.isoformat() if newest else None,
        quality=gate.report(),
    )


def _quarantine(
    warehouse: Warehouse, target: SyncTarget, run_id: str, rejected: Sequence[RejectedRecord]
) -> int:
    """Quarantine `rejected` in a transaction of its own (it outlives a failed gate)."""
    if not rejected:
        return 0
    with warehouse.begin() as conn:
        return quarantine_records(
            conn,
            warehouse.dialect,
            rejected,
            tenant=target.connection.name,
            entity=target.entity_name,
            run_id=run_id,
        )


def _enforce(
    gate: LoadGate,
    warehouse: Warehouse,
    target: SyncTarget,
    run_id: str,
    rejected: Sequence[RejectedRecord],
) -> None:
    """Raise `QualityGateError` when the sync is under its threshold, after quarantining
    `rejected` (the failing records not yet written)."""
    report = gate.report()
    if report.gate_passed:
        return
    _quarantine(warehouse, target, run_id, rejected)
    raise QualityGateError(target.connection.name, target.entity_name, report)


def _validation_pass(
    gate: LoadGate,
    warehouse: Warehouse,
    target: SyncTarget,
    run_id: str,
    lock: HeldLock,
    batches: Iterator[_Batch],
) -> _Skip:
    """Validate every batch, quarantine the failing records, return what to leave out.

    Only as many origins are kept as the gate can afford to fail: past that the sync fails
    the gate whatever comes next, so no upsert pass will need them (memory stays bounded
    by the threshold, not by the size of the sync).
    """
    skip = _Skip(target.mapping.quality_rules.primary_keys[target.mapping.table.name])
    for batch in batches:
        lock.check()
        checked = gate.check(batch.mapped, batch.origins)
        gate.quarantined += _quarantine(
            warehouse, target, run_id, [*batch.mapped.rejected, *checked.failed]
        )
        if len(skip.origins) + len(checked.failed_origins) <= gate.affordable_failures:
            skip.origins.update(checked.failed_origins)
            for key, origin in gate.newest_failures(checked).items():
                skip.newest_failure[key] = max(origin, skip.newest_failure.get(key, origin))
        else:
            gate.overflowed = True
    return skip


def _chain(first: _Batch, rest: Iterator[_Batch]) -> Iterator[_Batch]:
    yield first
    yield from rest
