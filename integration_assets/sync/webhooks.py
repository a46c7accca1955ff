"""Webhook events from the inbox become warehouse rows, through the same mapping and guard
as a poll, with no Dagster in sight (the sensor and the asset ops only call this).

Three steps, as for a poll:

1. **Plan** (`plan_runs`): pending inbox events past the sensor's cursor are grouped per
   (connection, entity) into runs of at most `MAX_EVENTS_PER_RUN` events, each named by the
   range of inbox ids it covers. A run is told a range, not a list: inbox ids become visible
   in commit order, so once an id is seen no event can appear below it later, and a range's
   events of one (connection, entity) are exactly those planned. An account-wide redaction
   (Shopify `shop/redact`, no entity) goes to the vendor's person entity.
2. **Extract** (`run_webhook_extract`): the range's pending upsert events are landed as pages
   (`EVENTS_PER_PAGE` records each, at the records path of the entity in the payload's API,
   url `webhook:inbox/<first>-<last>`), so a failed load is retried from landing like a
   poll's. Deletes and redactions carry only ids: they travel in the result.
3. **Load** (`run_webhook_load`): under the entity's writer lock, pages are mapped and
   validated on the entity's quality rules (failing records are quarantined, with no
   threshold) and upserted in batches with the upsert guard; then, in one transaction, delete topics set
   `_deleted_at` on the named rows and their children (`sync.reconcile.mark_keys_deleted`,
   the code reconciliation uses) and the events are marked processed; redactions run last
   (`sync.redact`) and their events are marked after them (redaction is idempotent, so a
   crash in between only redacts again). A run that fails leaves its events pending; a
   retry, or the sensor's next run for them, loads them again and the guard turns what was
   already written into `unchanged`.

**Partial payloads**: a topic may leave out fields its entity's mapping reads (Shopify's
customer payloads, since 2025-01, lack `tags`, the marketing consents and the order totals:
`WebhookTopic.omits`). Loading such a payload would write those columns empty, and over a
poll's complete row (same `updated_at`, another row hash). So an upsert whose payload lacks
an omitted path that the mapping reads is not landed from the inbox: its record is fetched by
id through the connection's own API (`WebhookSpec.ids_filters`: REST `ids=`, GraphQL
`id:… OR id:…`), landed as ordinary pages of that API under `<run id>/fetch`, and mapped
with the connection's mapping, as a poll would. A payload carrying every field (an older
webhook API version) loads as it is.

**Payload shape**: deliveries are shaped like the vendor's `WebhookSpec.payload_api`
(Shopify's are REST resources, whichever API the connection polls with), so they are mapped
with that API's mapping (and the connection's override): the per-API mappings write
identical rows, which is what makes a webhook row equal a poll row.

**The poll cursor does not move.** The cursor is the watermark of the vendor walk: "every
change before it has been read". A webhook says nothing about the records around it; moving
the cursor to a webhook's `updated_at` would make the next poll skip records changed
earlier whose own webhooks were lost (vendors drop deliveries after their retries). So
webhook loads never write the cursor; the next poll re-reads its window as usual, and
records a webhook already wrote come back `unchanged`. They do record their success in sync
state (last success, records, speed and the newest source timestamp, which only moves
forward): a realtime connection is fresh because of its webhooks, and the status page and
`integration-assets status` must say so rather than wait for the hourly safety-net poll.
A failed webhook run is not recorded there: its events stay pending (the inbox depth says
so), the sensor asks for it again and the run failure sensor alerts.

**Order inside one run**: upserts, then deletes, then redactions. A vendor does not update a
record after deleting or redacting it, and the guard already settles the order of versions
by their timestamps; redacting last guarantees that nothing the run wrote escapes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from integration_assets.connectors import get_connector
from integration_assets.connectors.webhooks import WebhookSpec
from integration_assets.extract import ExtractSettings, PageStream
from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.inbox import (
    StoredEvent,
    mark_processed,
    mark_processed_in,
    pending_in_range,
)
from integration_assets.load.landing import WEBHOOK_URL_PREFIX, LandingStore
from integration_assets.load.lock import HeldLock, writer_lock
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import ensure_tables
from integration_assets.load.upsert import UpsertResult, upsert_batch
from integration_assets.load.warehouse import Warehouse
from integration_assets.paths import PathError, build_getter, parse_path
from integration_assets.sync.cursor import CursorTracker
from integration_assets.sync.gate import LoadGate
from integration_assets.sync.reconcile import mark_keys_deleted
from integration_assets.sync.redact import redact_everyone, redact_person
from integration_assets.sync.steps import (
    ExtractResult,
    LoadResult,
    SyncSettings,
    _mapped_batches,
    records_per_second,
)
from integration_assets.sync.target import SyncTarget

logger = logging.getLogger(__name__)

FETCH_SUFFIX = "/fetch"
"""Landing run id of the records a run fetched by id: `<run id>/fetch`."""
MAX_EVENTS_PER_RUN = 5000
"""A burst becomes a handful of runs: each loads this many events at most."""
EVENTS_PER_PAGE = 250


@dataclass(frozen=True)
class WebhookGroup:
    """One run to request: the pending events of (connection, entity) in an id range."""

    connection: str
    vendor: str
    entity: str
    first_id: int
    last_id: int
    events: int

    @property
    def run_key(self) -> str:
        """Unique per range: a re-evaluated tick never launches the same events twice."""
        return f"webhooks:{self.connection}:{self.entity}:{self.first_id}-{self.last_id}"


@dataclass(frozen=True)
class WebhookPlan:
    """The runs for a slice of the inbox, and the cursor to save once they are requested.

    `unrouted`: events no run can take (a connection no longer in the file, a topic the
    spec does not map). They stay pending, counted by `inbox_depth`, and the cursor passes
    them: the safety-net poll covers their records.
    """

    groups: tuple[WebhookGroup, ...]
    unrouted: tuple[int, ...]
    cursor: int


def run_entity(vendor: str, entity: str | None, kind: str | None) -> str | None:
    """The entity whose run takes an event: its own; an account-wide redaction (no entity)
    goes to the vendor's person entity, whose run holds the redaction."""
    if entity is not None:
        return entity
    if kind == "redact":
        person = get_connector(vendor).person
        return person.entity if person else None
    return None


def plan_runs(
    events: Sequence[StoredEvent],
    after_id: int,
    vendors: Mapping[str, str],
    *,
    max_events_per_run: int = MAX_EVENTS_PER_RUN,
) -> WebhookPlan:
    """Group `events` (pending, ids above `after_id`) into runs; `vendors` maps each known
    connection name to its vendor (from the connections file)."""
    if max_events_per_run < 1:
        raise ValueError("max_events_per_run must be at least 1")
    open_groups: dict[tuple[str, str], list[StoredEvent]] = {}
    closed: list[list[StoredEvent]] = []
    unrouted: list[int] = []
    cursor = after_id
    for event in sorted(events, key=lambda e: e.id):
        cursor = max(cursor, event.id)
        entity = _routable(event, vendors)
        if entity is None:
            unrouted.append(event.id)
            continue
        members = open_groups.setdefault((event.connection, entity), [])
        members.append(event)
        if len(members) >= max_events_per_run:
            closed.append(members)
            del open_groups[(event.connection, entity)]
    groups = [_group(members) for members in [*closed, *open_groups.values()]]
    groups.sort(key=lambda group: group.first_id)
    return WebhookPlan(tuple(groups), tuple(unrouted), cursor)


def _routable(event: StoredEvent, vendors: Mapping[str, str]) -> str | None:
    if vendors.get(event.connection) != event.vendor:
        return None
    try:
        entity = run_entity(event.vendor, event.entity, event.kind)
        if entity is not None:
            get_connector(event.vendor).entity(entity)
    except (KeyError, ValueError):
        return None
    return entity


def _group(members: list[StoredEvent]) -> WebhookGroup:
    first = members[0]
    return WebhookGroup(
        connection=first.connection,
        vendor=first.vendor,
        entity=run_entity(first.vendor, first.entity, first.kind) or "",
        first_id=members[0].id,
        last_id=members[-1].id,
        events=len(members),
    )


@dataclass(frozen=True)
class WebhookExtract(ExtractResult):
    """What a webhook run landed (upserts, as pages) and what it carries by id."""

    first_id: int = 0
    last_id: int = 0
    upserts: tuple[int, ...] = ()
    """Inbox ids whose records were landed."""
    deletes: tuple[tuple[int, str], ...] = ()
    """(inbox id, record id) of delete topics."""
    redacts: tuple[tuple[int, str | None], ...] = ()
    """(inbox id, person id) of redactions; None: every person of the connection."""
    skipped: tuple[int, ...] = ()
    """Inbox ids with nothing to do (a delete or redaction naming no record)."""
    fetched: tuple[int, ...] = ()
    """Inbox ids of partial payloads whose records were fetched by id (see the docstring)."""
    fetched_landing_run_id: str = ""


def webhook_spec(target: SyncTarget) -> WebhookSpec:
    spec = get_connector(target.connection.vendor).webhooks
    if spec is None:
        raise ValueError(f"{target.connection.vendor} takes no webhooks")
    return spec


def payload_target(target: SyncTarget) -> SyncTarget:
    """`target` as seen through the API webhook payloads are shaped like (its mapping and
    records path); `target` itself when the connection polls with that API already."""
    api = webhook_spec(target).payload_api
    if api is None or api == target.connector.api_id:
        return target
    connection = target.connection.model_copy(update={"api": api})
    return SyncTarget(connection, target.entity_name, target.mappings_dir)


def _record(spec: WebhookSpec, event: StoredEvent) -> Any:
    document = orjson.loads(event.body)
    if spec.record_path is None:
        return document
    try:
        return build_getter(parse_path(spec.record_path))(document)
    except PathError:
        return document  # not the documented shape: the mapping rejects it with its reasons


def _covered(source: str, path: str) -> bool:
    return source == path or source.startswith(path + ".")


def _absent(record: Any, path: str) -> bool:
    """Whether `record` has no key at `path` (a key holding null is present)."""
    current = record
    for key in parse_path(path):
        if not isinstance(current, dict) or key not in current:
            return True
        current = current[key]
    return False


def is_partial(spec: WebhookSpec, shaped: SyncTarget, event: StoredEvent) -> bool:
    """Whether `event`'s payload lacks a field its topic omits and the mapping reads."""
    topic = spec.topic(event.topic)
    if topic is None or not topic.omits:
        return False
    sources = [f.source for f in shaped.mapping.spec.fields if f.source]
    needed = [path for path in topic.omits if any(_covered(s, path) for s in sources)]
    record = _record(spec, event)
    return any(_absent(record, path) for path in needed)


def _fetch(
    target: SyncTarget,
    spec: WebhookSpec,
    landing: LandingStore,
    run_id: str,
    record_ids: list[str],
    settings: ExtractSettings,
) -> tuple[int, int, dict[str, float]]:
    """Land the named records as the connection's API lists them, under `run_id`.
    Returns (pages, records, request counters)."""
    api = target.connector.api_id
    ids_filter = spec.ids_filters.get(api)
    if ids_filter is None:
        raise ValueError(
            f"{target.connection.vendor}/{target.entity_name}: a partial webhook payload needs "
            f"its record fetched by id, and the {api} API declares no ids filter"
        )
    connection, entity = target.connection.name, target.entity_name
    counters = dict.fromkeys(
        ("requests", "retries", "throttled", "server_errors", "timeouts", "seconds"), 0.0
    )
    pages = records = 0
    with landing.writer() as writer:
        for start in range(0, len(record_ids), ids_filter.batch):
            chunk = record_ids[start : start + ids_filter.batch]
            stream = PageStream(
                target.connector,
                entity,
                target.connection,
                settings=settings,
                params=ids_filter.params(chunk),
            )
            for page in stream:
                pages += 1
                records += len(page.records)
                writer.write(
                    run_id,
                    connection,
                    entity,
                    pages,
                    page.url,
                    page.body,
                    len(page.records),
                    next_url="" if page.last else page.next_url,
                )
            for name in counters:
                counters[name] += float(getattr(stream.stats, name))
    return pages, records, counters


def _page_body(records_path: str, records: list[Any]) -> bytes:
    """A page shaped like one the vendor's listing serves: the records at `records_path`."""
    document: Any = records
    for key in reversed(parse_path(records_path)):
        document = {key: document}
    return orjson.dumps(document)


def run_webhook_extract(
    target: SyncTarget,
    warehouse: Warehouse,
    *,
    run_id: str,
    first_id: int,
    last_id: int,
    settings: ExtractSettings | None = None,
) -> WebhookExtract:
    """Land the pending events of `target` with ids in [first_id, last_id] for `run_id`
    (fetching by id the records of partial payloads, with `settings`).

    A retry of the same run lands afresh (its earlier pages are replaced), and events an
    earlier attempt already loaded are no longer pending, so they are not landed again.
    """
    started = time.perf_counter()
    ensure_bookkeeping(warehouse)
    spec = webhook_spec(target)
    shaped = payload_target(target)
    connection, entity = target.connection.name, target.entity_name
    events = [
        event
        for event in pending_in_range(warehouse, connection, first_id, last_id)
        if event.vendor == target.connection.vendor
        and run_entity(event.vendor, event.entity, event.kind) == entity
    ]
    partial = {e.id for e in events if e.kind == "upsert" and is_partial(spec, shaped, e)}
    fetched = [e for e in events if e.id in partial and e.record_id]
    upserts = [event for event in events if event.kind == "upsert" and event.id not in partial]
    deletes = [(e.id, e.record_id) for e in events if e.kind == "delete" and e.record_id]
    # A redaction with an entity names one person; without one, the whole account.
    redacts = [
        (e.id, e.record_id if e.entity else None)
        for e in events
        if e.kind == "redact" and (e.record_id or e.entity is None)
    ]
    handled = {i for i, _ in deletes} | {i for i, _ in redacts} | {e.id for e in upserts}
    handled |= {e.id for e in fetched}
    skipped = tuple(event.id for event in events if event.id not in handled)
    landing = LandingStore(warehouse)
    landing.delete_run(run_id, connection, entity)
    pages = 0
    with landing.writer() as writer:
        for start in range(0, len(upserts), EVENTS_PER_PAGE):
            chunk = upserts[start : start + EVENTS_PER_PAGE]
            pages += 1
            writer.write(
                run_id,
                connection,
                entity,
                pages,
                f"{WEBHOOK_URL_PREFIX}{chunk[0].id}-{chunk[-1].id}",
                _page_body(shaped.entity.records_path, [_record(spec, e) for e in chunk]),
                len(chunk),
                next_url="",
            )
    fetch_run = f"{run_id}{FETCH_SUFFIX}"
    landing.delete_run(fetch_run, connection, entity)
    fetched_pages, fetched_records, counters = 0, 0, {}
    if fetched:
        ids = list(dict.fromkeys(str(event.record_id) for event in fetched))
        fetched_pages, fetched_records, counters = _fetch(
            target, spec, landing, fetch_run, ids, settings or ExtractSettings()
        )
    warnings = tuple(
        f"inbox event {event.id} ({event.topic}) names no record; nothing to do"
        for event in events
        if event.id in skipped
    )
    return WebhookExtract(
        landing_run_id=run_id,
        connection=connection,
        vendor=target.connection.vendor,
        entity=entity,
        since=None,
        full_refresh=False,
        pages=pages + fetched_pages,
        records=len(upserts) + fetched_records,
        requests=int(counters.get("requests", 0)),
        retries=int(counters.get("retries", 0)),
        throttled=int(counters.get("throttled", 0)),
        server_errors=int(counters.get("server_errors", 0)),
        timeouts=int(counters.get("timeouts", 0)),
        rate_limit_wait_seconds=0.0,
        seconds=round(time.perf_counter() - started, 3),
        api_version=None,
        warnings=warnings,
        first_id=first_id,
        last_id=last_id,
        upserts=tuple(event.id for event in upserts),
        deletes=tuple((i, str(record)) for i, record in deletes),
        redacts=tuple(redacts),
        skipped=skipped,
        fetched=tuple(event.id for event in fetched),
        fetched_landing_run_id=fetch_run,
    )


@dataclass
class _Upserted:
    """What the gated upserts of a webhook load wrote, summed over its batches."""

    upsert: UpsertResult = field(default_factory=UpsertResult)
    records: int = 0
    batches: int = 0

    def __iadd__(self, other: _Upserted) -> _Upserted:
        self.upsert += other.upsert
        self.records += other.records
        self.batches += other.batches
        return self


def _gated_upserts(
    target: SyncTarget,
    warehouse: Warehouse,
    landing: LandingStore,
    extracted: ExtractResult,
    gate: LoadGate,
    newest: CursorTracker,
    lock: HeldLock,
    run_id: str,
    settings: SyncSettings,
) -> _Upserted:
    """Upsert the landed records of `extracted` batch by batch, each record through `gate`.

    Every record passes the entity's quality rules or is quarantined; there is no threshold:
    a failing event would otherwise hold up every other one for good. The cursor is never
    saved (see the module docstring).
    """
    done = _Upserted()
    for batch in _mapped_batches(target, landing, extracted, settings.batch_records, newest, None):
        if not batch.records:
            continue
        lock.check()
        checked = gate.check(batch.mapped, batch.origins)
        checked.kept.rejected.extend(checked.failed)
        done.upsert += upsert_batch(
            warehouse,
            target.mapping.tables,
            checked.kept,
            connection=target.connection.name,
            entity=target.entity_name,
            run_id=run_id,
            save_cursor=False,
        )
        done.records += batch.records
        done.batches += 1
    return done


def run_webhook_load(
    target: SyncTarget,
    warehouse: Warehouse,
    extracted: WebhookExtract,
    *,
    run_id: str,
    settings: SyncSettings | None = None,
) -> LoadResult:
    """Upsert the landed records, apply deletes and redactions, mark the events processed,
    and record the success in sync state (never the poll cursor; see the module docstring).
    """
    settings = settings or SyncSettings()
    started = time.perf_counter()
    shaped = payload_target(target)
    mapping = shaped.mapping
    connection, entity = target.connection.name, target.entity_name
    with writer_lock(warehouse, connection, entity, timeout=settings.lock_timeout) as lock:
        ensure_bookkeeping(warehouse)
        ensure_tables(warehouse, mapping.tables)
        states = SyncStateStore(warehouse)
        state = states.get(connection, entity)
        cursor = state.cursor if state else None
        landing = LandingStore(warehouse)
        # Follows the newest source timestamp only: its cursor is never saved.
        newest = CursorTracker(shaped.entity.incremental, None)
        gate = LoadGate(shaped, landing, extracted.landing_run_id, connection, entity)
        loaded = _gated_upserts(
            shaped, warehouse, landing, extracted, gate, newest, lock, run_id, settings
        )
        # Records fetched by id are pages of the connection's own API: its mapping, as a poll.
        fetched_newest = CursorTracker(target.entity.incremental, None)
        if extracted.fetched:
            ensure_tables(warehouse, target.mapping.tables)
            fetched = replace(extracted, landing_run_id=extracted.fetched_landing_run_id)
            fetched_gate = LoadGate(
                target, landing, extracted.fetched_landing_run_id, connection, entity
            )
            fetched_gate.builder = gate.builder  # one report for the whole webhook load
            loaded += _gated_upserts(
                target,
                warehouse,
                landing,
                fetched,
                fetched_gate,
                fetched_newest,
                lock,
                run_id,
                settings,
            )
        total, records, batches = loaded.upsert, loaded.records, loaded.batches
        done = [
            *extracted.upserts,
            *extracted.fetched,
            *(i for i, _ in extracted.deletes),
            *extracted.skipped,
        ]
        with warehouse.begin() as conn:
            if extracted.deletes:
                marked, children = mark_keys_deleted(
                    conn,
                    warehouse,
                    list(mapping.tables),
                    connection,
                    [record for _, record in extracted.deletes],
                    datetime.now(UTC),
                )
                logger.info(
                    "%s/%s: %d rows (%d child rows) marked deleted",
                    connection,
                    entity,
                    marked,
                    children,
                )
            mark_processed_in(conn, warehouse.dialect, done)
    for inbox_id, person in extracted.redacts:
        if person is None:
            redact_everyone(target.connection, warehouse, mappings_dir=target.mappings_dir)
        else:
            redact_person(target.connection, warehouse, person, mappings_dir=target.mappings_dir)
        mark_processed(warehouse, [inbox_id])
    # A webhook for an old record must not make the entity look less fresh.
    source_at = _newest(
        state.newest_source_at if state else None, newest.newest, fetched_newest.newest
    )
    speed = records_per_second(extracted, time.perf_counter() - started)
    states.record_success(
        connection,
        entity,
        run_id,
        records=records,
        records_per_second=speed,
        newest_source_at=source_at,
    )
    # The pages served their purpose (a retried load); the inbox keeps the events until
    # pruned, and landing must not keep personal data a later redaction cannot find.
    LandingStore(warehouse).delete_run(extracted.landing_run_id, connection, entity)
    if extracted.fetched_landing_run_id:
        LandingStore(warehouse).delete_run(extracted.fetched_landing_run_id, connection, entity)
    shown = min(source_at, datetime.now(UTC)) if source_at else None
    return LoadResult(
        records=records,
        upsert=total,
        cursor=cursor,
        previous_cursor=cursor,
        batches=batches,
        seconds=round(time.perf_counter() - started, 3),
        records_per_second=speed,
        newest_source_at=shown.isoformat() if shown else None,
        quality=gate.report(),
    )


def _newest(*stamps: datetime | None) -> datetime | None:
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known) if known else None
