"""Redaction: remove one person from the warehouse, landing and quarantine.

Shopify's `customers/redact` (and a Klaviyo profile deletion) oblige the shop to erase a
person's data. The connector spec says, as data, which entity is a person and where other
entities point at one (`ConnectorSpec.person`); the mappings say which warehouse column each
raw path became. In one transaction on the warehouse database:

- warehouse: the person's row, and its child rows, are deleted. In referencing tables (Shopify
  orders, Klaviyo events) the rows pointing at the person keep their business facts (amounts,
  line items, metric and time) and lose the columns mapped from the reference's
  `personal_fields` and the reference column itself, so no row points at anyone any more.
  The rule is data-driven (a column is personal when its source path is, or lies under, a
  declared personal path) rather than the name-based `mapping.masking` heuristic: a name such
  as `note` or `shipping_address_city` says nothing, the vendor's record shape does;
- landing: every stored page of those entities that mentions the person's id is rewritten,
  without the person's own records and without the personal fields (and reference) of
  records pointing at them; `record_count` follows;
- quarantine: the person's rejected records and rejected records pointing at them are deleted;
- webhook inbox (`load/inbox.py`), pending and processed events alike: the person's own events
  (their updates, and the `customers/redact` delivery itself, which carries their email and
  phone) keep their row but lose their body (`SCRUBBED_BODY`), so the delivery id still
  deduplicates a vendor's retry; a pending update of theirs is marked processed, as there is
  no one left to load. Events of records pointing at them lose the personal fields and the
  reference, as landing pages do, and stay pending when they were: the order still loads,
  naming nobody. Events are read as the vendor's webhook payloads are shaped
  (`WebhookSpec.payload_api`, `record_path`).

The person's id is given as the warehouse knows it (`123`); raw records may write it as the
spec's `PersonSpec.raw_id` says (Shopify GraphQL: `gid://shopify/Customer/123`), and both
forms are matched in raw records and text key columns.

Idempotent: a second run finds nothing and changes nothing. Limitation: a later sync of a
referencing record the vendor still holds unredacted writes its personal fields again;
vendors redact on their side too (Shopify sends `customers/redact` after erasing), and
running this again after such a sync removes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, or_, select, text, update

from integration_assets.connectors.connections import Connection as VendorConnection
from integration_assets.connectors.spec import PersonReference, PersonSpec
from integration_assets.extract.records import parse_page
from integration_assets.load.bookkeeping import bookkeeping, ensure_bookkeeping
from integration_assets.load.inbox import ensure_inbox, inbox_table
from integration_assets.load.landing import WEBHOOK_URL_PREFIX
from integration_assets.load.tables import build_table, ensure_tables
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.paths import PathError, build_getter, parse_path
from integration_assets.schema import CONNECTION_COLUMN, ColumnType, TableSchema
from integration_assets.sync.target import SyncTarget

SCRUBBED_BODY = b'{"redacted":true}'
"""What a redacted person's webhook event keeps of its body."""


class RedactError(ValueError):
    """The vendor declares no person, or a mapping cannot be redacted as declared."""


@dataclass
class RedactResult:
    """What was removed; every count is 0 on a re-run."""

    connection: str
    vendor: str
    rows_deleted: dict[str, int] = field(default_factory=dict)
    rows_scrubbed: dict[str, int] = field(default_factory=dict)
    landing_pages_rewritten: int = 0
    landing_pages_deleted: int = 0
    landing_records_removed: int = 0
    landing_records_scrubbed: int = 0
    quarantine_deleted: int = 0
    inbox_events_emptied: int = 0
    inbox_events_scrubbed: int = 0


def _covered(source: str, paths: tuple[str, ...]) -> bool:
    return any(source == path or source.startswith(path + ".") for path in paths)


def _reference_columns(
    mapping: CompiledMapping, reference: PersonReference
) -> tuple[str, list[str]]:
    """(reference column, columns to null) of the referencing entity's parent table."""
    fields = [f for f in mapping.spec.fields if f.source is not None]
    matches = [f.target for f in fields if f.source == reference.path]
    if not matches:
        raise RedactError(
            f"mapping {mapping.spec.integration}/{mapping.spec.entity} maps no column from "
            f"{reference.path!r}, so its rows cannot be matched to a person; map it (e.g. "
            f"as a `..._id` column) and sync again"
        )
    nulled = [
        f.target
        for f in fields
        if f.source is not None and _covered(f.source, (*reference.personal_fields, reference.path))
    ]
    table = mapping.table
    required = [name for name in nulled if not table.column(name).nullable]
    if required:
        raise RedactError(
            f"table {table.name!r}: personal column(s) {required} are required in the mapping "
            "and cannot be emptied; make them optional"
        )
    return matches[0], nulled


def _key_values(schema: TableSchema, person_id: str, forms: frozenset[str]) -> list[Any]:
    """The values a key column holds for the person: the integer id, or any text form."""
    kind = schema.column(schema.primary_key[0]).type
    if kind is ColumnType.INTEGER:
        try:
            return [int(person_id)]
        except ValueError:
            raise RedactError(f"person id {person_id!r} is not an integer id") from None
    return sorted(forms)


def id_forms(raw_id: str, person_id: str) -> frozenset[str]:
    """Every way the person's id may be written in a raw record or a text key: as given, and
    as the spec's `raw_id` template says (Shopify GraphQL: a GID)."""
    return frozenset({person_id, raw_id.replace("{id}", person_id)})


def _pop(record: dict[str, Any], path: str) -> bool:
    """Null the value at dotted `path` (objects only), keeping the record's shape; True if
    something was there."""
    *parents, last = parse_path(path)
    try:
        current = build_getter(tuple(parents))(record) if parents else record
    except PathError:  # a scalar where an object should be: nothing there to null
        return False
    if isinstance(current, dict) and current.get(last) is not None:
        current[last] = None
        return True
    return False


def _warehouse_rows(
    conn: Connection,
    warehouse: Warehouse,
    tenant: str,
    person: CompiledMapping,
    person_id: str,
    references: list[tuple[CompiledMapping, PersonReference]],
    result: RedactResult,
    forms: frozenset[str],
) -> None:
    root = person.table
    key_values = _key_values(root, person_id, forms)
    for schema in person.tables[1:]:  # children first, then the person's row
        if schema.parent != root.name:
            continue
        table = build_table(schema, warehouse.schema)
        result.rows_deleted[schema.name] = conn.execute(
            delete(table).where(
                table.c[CONNECTION_COLUMN] == tenant,
                table.c[schema.parent_key[0]].in_(key_values),
            )
        ).rowcount
    table = build_table(root, warehouse.schema)
    result.rows_deleted[root.name] = conn.execute(
        delete(table).where(
            table.c[CONNECTION_COLUMN] == tenant, table.c[root.primary_key[0]].in_(key_values)
        )
    ).rowcount
    for mapping, reference in references:
        column, nulled = _reference_columns(mapping, reference)
        schema = mapping.table
        table = build_table(schema, warehouse.schema)
        kind = schema.column(column).type
        values = [int(person_id)] if kind is ColumnType.INTEGER and person_id.isdigit() else forms
        result.rows_scrubbed[schema.name] = conn.execute(
            update(table)
            .where(table.c[CONNECTION_COLUMN] == tenant, table.c[column].in_(sorted(values)))
            .values(dict.fromkeys(nulled))
        ).rowcount


def _landing(
    conn: Connection,
    warehouse: Warehouse,
    tenant: str,
    person: SyncTarget,
    person_id: str,
    references: list[tuple[SyncTarget, PersonReference]],
    result: RedactResult,
    forms: frozenset[str],
    webhook_pages: bool | None = None,
) -> None:
    """Rewrite the landed pages that mention the person, one page at a time.

    `webhook_pages`: only pages landed from the webhook inbox (True), only the others
    (False), or every page (None); see `_views`.
    """
    pages = bookkeeping(warehouse.dialect).landing_pages
    needle = person_id.encode()
    # A cheap superset: only pages whose raw bytes contain the id can mention the person.
    mentions = (
        text("position(:needle IN body) > 0").bindparams(needle=needle)
        if warehouse.dialect == "postgresql"
        else func.instr(pages.c.body, needle) > 0
    )
    key_getter = build_getter(parse_path(person.entity.primary_key))
    getters = {
        target.entity_name: (target, reference, build_getter(parse_path(reference.path)))
        for target, reference in references
    }
    entities = [person.entity_name, *getters]
    where_pages = [pages.c.connection == tenant, pages.c.entity.in_(entities), mentions]
    from_inbox = pages.c.url.startswith(WEBHOOK_URL_PREFIX)
    if webhook_pages is not None:
        where_pages.append(from_inbox if webhook_pages else or_(pages.c.url.is_(None), ~from_inbox))
    keys = conn.execute(
        select(pages.c.run_id, pages.c.entity, pages.c.page_number).where(*where_pages)
    ).all()
    for run_id, entity, number in keys:
        where = (
            pages.c.run_id == run_id,
            pages.c.connection == tenant,
            pages.c.entity == entity,
            pages.c.page_number == number,
        )
        body = bytes(conn.execute(select(pages.c.body).where(*where)).scalar_one())
        target = person if entity == person.entity_name else getters[entity][0]
        document, records = parse_page(
            body,
            target.entity.records_path,
            connections=target.connector.request == "graphql",
        )
        changed = False
        if entity == person.entity_name:
            kept = [r for r in records if str(key_getter(r)) not in forms]
            result.landing_records_removed += len(records) - len(kept)
            changed = len(kept) != len(records)
            records[:] = kept
        else:
            _, reference, getter = getters[entity]
            for record in records:
                if str(getter(record)) not in forms:
                    continue
                for path in (*reference.personal_fields, reference.path):
                    _pop(record, path)
                result.landing_records_scrubbed += 1
                changed = True
        if changed:
            conn.execute(
                update(pages)
                .where(*where)
                .values(body=orjson.dumps(document), record_count=len(records))
            )
            result.landing_pages_rewritten += 1


def _quarantine(
    conn: Connection,
    warehouse: Warehouse,
    tenant: str,
    person: SyncTarget,
    person_id: str,
    references: list[tuple[SyncTarget, PersonReference]],
    result: RedactResult,
    forms: frozenset[str],
) -> None:
    quarantine = bookkeeping(warehouse.dialect).quarantine
    key_getter = build_getter(parse_path(person.entity.primary_key))
    getters = {t.entity_name: build_getter(parse_path(r.path)) for t, r in references}
    rows = conn.execute(
        select(
            quarantine.c.id, quarantine.c.entity, quarantine.c.record_key, quarantine.c.record
        ).where(
            quarantine.c.connection == tenant,
            quarantine.c.entity.in_([person.entity_name, *getters]),
        )
    ).all()
    doomed = []
    for row_id, entity, record_key, record in rows:
        raw = record if isinstance(record, dict) else {}
        if entity == person.entity_name:
            mine = record_key in forms or str(_safe(key_getter, raw)) in forms
        else:
            mine = str(_safe(getters[entity], raw)) in forms
        if mine:
            doomed.append(row_id)
    if doomed:
        result.quarantine_deleted = conn.execute(
            delete(quarantine).where(quarantine.c.id.in_(doomed))
        ).rowcount


def _safe(getter: Any, record: dict[str, Any]) -> Any:
    try:
        return getter(record)
    except Exception:  # a malformed quarantined record cannot reference anyone
        return None


def _inbox(
    conn: Connection,
    warehouse: Warehouse,
    tenant: str,
    view: _View,
    person_id: str,
    result: RedactResult,
) -> None:
    """Scrub the person out of the connection's stored webhook events (see the docstring)."""
    person, references, forms, _ = view
    spec = person.connection.connector.webhooks
    if spec is None:
        return
    inbox = inbox_table(warehouse.dialect)
    needle = person_id.encode()
    mentions = (
        text("position(:needle IN body) > 0").bindparams(needle=needle)
        if warehouse.dialect == "postgresql"
        else func.instr(inbox.c.body, needle) > 0
    )
    record_of = build_getter(parse_path(spec.record_path)) if spec.record_path else None
    key_getter = build_getter(parse_path(person.entity.primary_key))
    getters = {
        target.entity_name: (reference, build_getter(parse_path(reference.path)))
        for target, reference in references
    }
    rows = conn.execute(
        select(inbox.c.id, inbox.c.entity, inbox.c.kind, inbox.c.record_id, inbox.c.body).where(
            inbox.c.connection == tenant,
            or_(inbox.c.entity.in_([person.entity_name, *getters]), inbox.c.kind == "redact"),
            inbox.c.body != SCRUBBED_BODY,
            mentions,
        )
    ).all()
    emptied: list[int] = []
    for row_id, entity, kind, record_id, body in rows:
        document = orjson.loads(bytes(body))
        record = _safe(record_of, document) if record_of else document
        record = record if isinstance(record, dict) else {}
        if kind == "redact" or entity == person.entity_name:
            if record_id in forms or str(_safe(key_getter, record)) in forms:
                emptied.append(row_id)
            continue
        reference, getter = getters[entity]
        if str(_safe(getter, record)) not in forms:
            continue
        for path in (*reference.personal_fields, reference.path):
            _pop(record, path)
        conn.execute(update(inbox).where(inbox.c.id == row_id).values(body=orjson.dumps(document)))
        result.inbox_events_scrubbed += 1
    result.inbox_events_emptied += _empty_inbox_events(conn, warehouse, emptied)


def _empty_inbox_events(conn: Connection, warehouse: Warehouse, ids: list[int]) -> int:
    """Replace the events' bodies with `SCRUBBED_BODY`; pending updates become processed."""
    if not ids:
        return 0
    inbox = inbox_table(warehouse.dialect)
    conn.execute(
        update(inbox)
        .where(inbox.c.id.in_(ids), inbox.c.status == "pending", inbox.c.kind == "upsert")
        .values(status="processed", processed_at=datetime.now(UTC))
    )
    return conn.execute(
        update(inbox).where(inbox.c.id.in_(ids)).values(body=SCRUBBED_BODY)
    ).rowcount


def _redaction_targets(
    connection: VendorConnection, warehouse: Warehouse, mappings_dir: Path | None
) -> tuple[PersonSpec, SyncTarget, list[tuple[SyncTarget, PersonReference]]]:
    """The connection's person spec, the person entity and the entities referring to it, with
    their tables and the bookkeeping they touch ensured; refuses a vendor with no person."""
    spec = connection.connector.person
    if spec is None:
        raise RedactError(f"{connection.vendor} declares no person entity; nothing to redact")
    person = SyncTarget(connection, spec.entity, mappings_dir)
    references = [
        (SyncTarget(connection, reference.entity, mappings_dir), reference)
        for reference in spec.references
    ]
    ensure_bookkeeping(warehouse)
    ensure_inbox(warehouse)
    ensure_tables(warehouse, person.mapping.tables)
    for target, _ in references:
        ensure_tables(warehouse, target.mapping.tables)
    return spec, person, references


def redact_person(
    connection: VendorConnection,
    warehouse: Warehouse,
    person_id: str,
    *,
    mappings_dir: Path | None = None,
) -> RedactResult:
    """Remove person `person_id` of `connection` from warehouse, landing and quarantine."""
    spec, person, references = _redaction_targets(connection, warehouse, mappings_dir)
    person_id = str(person_id).strip()
    forms = id_forms(spec.raw_id, person_id)
    if not person_id:
        raise RedactError("the person id is empty")
    tenant = connection.name
    result = RedactResult(connection=tenant, vendor=connection.vendor)
    mapped = [(target.mapping, reference) for target, reference in references]
    views = _views(connection, person, references, person_id, forms, mappings_dir)
    with warehouse.begin() as conn:
        _warehouse_rows(conn, warehouse, tenant, person.mapping, person_id, mapped, result, forms)
        for view, view_references, view_forms, webhook_pages in views:
            _landing(
                conn,
                warehouse,
                tenant,
                view,
                person_id,
                view_references,
                result,
                view_forms,
                webhook_pages,
            )
        _quarantine(conn, warehouse, tenant, person, person_id, references, result, forms)
        # The last view reads records as webhook payloads are shaped (see `_views`).
        _inbox(conn, warehouse, tenant, views[-1], person_id, result)
    return result


_View = tuple[SyncTarget, list[tuple[SyncTarget, PersonReference]], frozenset[str], bool | None]


def _views(
    connection: VendorConnection,
    person: SyncTarget,
    references: list[tuple[SyncTarget, PersonReference]],
    person_id: str,
    forms: frozenset[str],
    mappings_dir: Path | None,
) -> list[_View]:
    """How to read landed pages: as the connection's API serves records, and, when the
    vendor's webhook payloads are another API's (a Shopify connection polling over GraphQL
    gets REST resources), the pages landed from the inbox as that API's records."""
    webhooks = connection.connector.webhooks
    api = webhooks.payload_api if webhooks else None
    if api is None or api == connection.connector.api_id:
        return [(person, references, forms, None)]
    shaped = connection.model_copy(update={"api": api})
    spec = shaped.connector.person
    assert spec is not None  # every API of a vendor declares the same person
    shaped_person = SyncTarget(shaped, spec.entity, mappings_dir)
    shaped_references = [
        (SyncTarget(shaped, reference.entity, mappings_dir), reference)
        for reference in spec.references
    ]
    shaped_forms = id_forms(spec.raw_id, person_id)
    return [
        (person, references, forms, False),
        (shaped_person, shaped_references, shaped_forms, True),
    ]


def redact_everyone(
    connection: VendorConnection,
    warehouse: Warehouse,
    *,
    mappings_dir: Path | None = None,
) -> RedactResult:
    """Remove every person of `connection`: Shopify's `shop/redact`, sent 48 hours after a
    shop uninstalled the app, asks for all of its customers' personal data to be erased.

    As `redact_person` for each of them at once, in one transaction: every person row (and
    its children) of the connection is deleted, every row of the referencing entities loses
    its personal columns and reference (guest orders too; order totals stay), and the connection's landing pages and
    quarantine rows of those entities are deleted outright (they are raw copies; nothing of
    them is worth keeping for a shop that is gone). Its webhook events of those entities, and
    its redaction events, keep their rows (for deduplication) but lose their bodies; pending
    updates among them are marked processed. Idempotent.
    """
    _, person, references = _redaction_targets(connection, warehouse, mappings_dir)
    tenant = connection.name
    result = RedactResult(connection=tenant, vendor=connection.vendor)
    entities = [person.entity_name, *(target.entity_name for target, _ in references)]
    books = bookkeeping(warehouse.dialect)
    with warehouse.begin() as conn:
        for schema in reversed(person.mapping.tables):  # children before the person rows
            table = build_table(schema, warehouse.schema)
            result.rows_deleted[schema.name] = conn.execute(
                delete(table).where(table.c[CONNECTION_COLUMN] == tenant)
            ).rowcount
        for target, reference in references:
            _, nulled = _reference_columns(target.mapping, reference)
            table = build_table(target.mapping.table, warehouse.schema)
            result.rows_scrubbed[target.mapping.table.name] = conn.execute(
                # Every row: a guest's order names nobody yet carries their contact details.
                update(table)
                .where(table.c[CONNECTION_COLUMN] == tenant)
                .values(dict.fromkeys(nulled))
            ).rowcount
        pages = books.landing_pages
        result.landing_pages_deleted = conn.execute(
            delete(pages).where(pages.c.connection == tenant, pages.c.entity.in_(entities))
        ).rowcount
        quarantine = books.quarantine
        result.quarantine_deleted = conn.execute(
            delete(quarantine).where(
                quarantine.c.connection == tenant, quarantine.c.entity.in_(entities)
            )
        ).rowcount
        inbox = inbox_table(warehouse.dialect)
        theirs = conn.execute(
            select(inbox.c.id).where(
                inbox.c.connection == tenant,
                or_(inbox.c.entity.in_(entities), inbox.c.kind == "redact"),
                inbox.c.body != SCRUBBED_BODY,
            )
        )
        result.inbox_events_emptied = _empty_inbox_events(
            conn, warehouse, [row_id for (row_id,) in theirs]
        )
    return result
