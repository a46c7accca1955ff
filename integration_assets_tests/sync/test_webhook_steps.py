"""The webhook steps without Dagster: inbox events landed, loaded, deleted, redacted, for a
Shopify connection that polls over GraphQL while its deliveries are REST resources."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from integration_assets.connectors.connections import Connection
from integration_assets.connectors.shopify_webhooks import SHOPIFY_WEBHOOKS
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.inbox import (
    InboxEvent,
    ensure_inbox,
    inbox_depth,
    inbox_table,
    store_events,
)
from integration_assets.load.landing import LandingStore
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.loader import load_mapping
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync.redact import SCRUBBED_BODY, redact_everyone, redact_person
from integration_assets.sync.target import SyncTarget
from integration_assets.sync.webhooks import FETCH_SUFFIX, run_webhook_extract, run_webhook_load
from integration_assets_tests.oracle import expected_tables

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHOP = Connection(
    name="shop",
    vendor="shopify",
    base_url="http://127.0.0.1:1",
    secrets={"access_token": "SHOP_TOKEN"},
    entities={"customers": "realtime", "orders": "realtime"},
)


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    built = Warehouse.from_url(warehouse_url)
    ensure_inbox(built)
    yield built
    built.dispose()


def customer(updated_at: str, email: str = "ada@example.com") -> dict[str, Any]:
    """A customer payload carrying every field the mapping reads (as before API 2025-01), so
    it loads from the payload; see the partial-payload tests at the end for the others."""
    return {
        "id": 42,
        "email": email,
        "first_name": "Ada",
        "updated_at": updated_at,
        "tags": "",
        "email_marketing_consent": None,
        "sms_marketing_consent": None,
        "orders_count": 0,
        "total_spent": "0.00",
        "last_order_id": None,
    }


def deliver(warehouse: Warehouse, topic: str, body: dict[str, Any], n: int) -> None:
    kind = "delete" if topic.endswith("/delete") else "upsert"
    store_events(
        warehouse,
        [
            InboxEvent(
                connection="shop",
                vendor="shopify",
                topic=topic,
                delivery_id=f"delivery-{n}",
                body=orjson.dumps(body),
                entity=topic.split("/")[0],
                kind=kind,
                record_id=str(body["id"]),
            )
        ],
    )


def run(warehouse: Warehouse, entity: str, run_id: str, *, load: bool = True) -> None:
    target = SyncTarget(SHOP, entity, MAPPINGS)
    extracted = run_webhook_extract(target, warehouse, run_id=run_id, first_id=1, last_id=10**9)
    if load:
        run_webhook_load(target, warehouse, extracted, run_id=run_id)


def stored(warehouse: Warehouse) -> dict[str, Any]:
    target = SyncTarget(SHOP, "customers", MAPPINGS)
    table = build_table(target.mapping.tables[0], warehouse.schema)
    with warehouse.engine.connect() as conn:
        (row,) = conn.execute(select(table).where(table.c.id == 42)).mappings()
        return dict(row)


def test_the_connection_polls_over_graphql_yet_the_rest_payload_loads(
    warehouse: Warehouse,
) -> None:
    assert SHOP.connector.api_id == "graphql"
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)

    run(warehouse, "customers", "run-1")

    row = stored(warehouse)
    assert (row["email"], row["first_name"], row["_deleted_at"]) == ("ada@example.com", "Ada", None)
    assert inbox_depth(warehouse) == {}
    state = SyncStateStore(warehouse).get("shop", "customers")
    assert state is not None and state.cursor is None, "the poll cursor was written"
    assert LandingStore(warehouse).page_count("run-1", "shop", "customers") == 0


def test_a_delete_marks_the_row_and_a_later_version_of_the_record_clears_it(
    warehouse: Warehouse,
) -> None:
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)
    run(warehouse, "customers", "run-1")
    deliver(warehouse, "customers/delete", {"id": 42}, 2)
    run(warehouse, "customers", "run-2")
    assert stored(warehouse)["_deleted_at"] is not None

    deliver(warehouse, "customers/update", customer("2026-11-30T02:00:00Z"), 3)
    run(warehouse, "customers", "run-3")

    assert stored(warehouse)["_deleted_at"] is None
    assert inbox_depth(warehouse) == {}


def test_a_redaction_finds_the_person_in_pages_of_a_webhook_load_that_failed(
    warehouse: Warehouse,
) -> None:
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)
    order = {
        "id": 7,
        "email": "ada@example.com",
        "customer": customer("2026-11-30T01:00:00Z"),
        "updated_at": "2026-11-30T01:00:00Z",
    }
    deliver(warehouse, "orders/updated", order, 2)
    run(warehouse, "customers", "run-c", load=False)  # landed; the load never happened
    run(warehouse, "orders", "run-o", load=False)

    result = redact_person(SHOP, warehouse, "42", mappings_dir=MAPPINGS)

    assert result.landing_records_removed == 1
    assert result.landing_records_scrubbed == 1
    pages = bookkeeping(warehouse.dialect).landing_pages
    with warehouse.engine.connect() as conn:
        bodies = [bytes(body) for (body,) in conn.execute(select(pages.c.body))]
    assert len(bodies) == 2
    assert not [body for body in bodies if b"ada@example.com" in body]


def test_a_webhook_run_records_its_success_and_freshness_but_never_the_poll_cursor(
    warehouse: Warehouse,
) -> None:
    states = SyncStateStore(warehouse)
    polled_at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    with warehouse.begin() as conn:  # a poll saved its cursor and succeeded
        states.save(conn, "shop", "customers", polled_at.isoformat(), "poll-1", "success")
    states.record_success(
        "shop",
        "customers",
        "poll-1",
        records=80,
        records_per_second=40.0,
        newest_source_at=polled_at,
    )

    # A webhook about an older change: the entity is not less fresh for it.
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)
    run(warehouse, "customers", "hook-1")
    state = states.get("shop", "customers")
    assert state is not None
    assert (state.cursor_at, state.newest_source_at) == (polled_at, polled_at)
    assert (state.last_success_run_id, state.last_status, state.last_records) == (
        "hook-1",
        "success",
        1,
    )

    # A newer change moves the freshness, and still not the cursor.
    deliver(warehouse, "customers/update", customer("2026-11-30T03:30:00Z"), 2)
    run(warehouse, "customers", "hook-2")
    state = states.get("shop", "customers")
    assert state is not None and state.last_synced_at is not None
    assert state.cursor_at == polled_at
    assert state.newest_source_at == datetime(2026, 11, 30, 3, 30, tzinfo=UTC)
    assert state.last_success_run_id == "hook-2"


def _inbox_bodies(warehouse: Warehouse) -> dict[str, tuple[str, bytes]]:
    """Each stored delivery's (status, body), by delivery id."""
    inbox = inbox_table(warehouse.dialect)
    with warehouse.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.delivery_id, inbox.c.status, inbox.c.body))
        return {delivery: (status, bytes(body)) for delivery, status, body in rows}


def _order(email: str, customer_id: int = 42) -> dict[str, Any]:
    return {
        "id": customer_id * 100,
        "email": email,
        "phone": "+15550100",
        "total_price": "12.50",
        "customer": customer("2026-11-30T01:00:00Z", email) | {"id": customer_id},
        "updated_at": "2026-11-30T01:00:00Z",
    }


def test_redacting_a_customer_scrubs_their_webhook_events_pending_or_processed(
    warehouse: Warehouse,
) -> None:
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)
    run(warehouse, "customers", "run-1")  # processed: the body is still stored
    deliver(warehouse, "customers/update", customer("2026-11-30T02:00:00Z"), 2)  # pending
    deliver(warehouse, "orders/updated", _order("ada@example.com"), 3)  # pending
    deliver(warehouse, "orders/updated", _order("bob@example.com", customer_id=43), 4)
    store_events(  # the redaction request itself names them
        warehouse,
        [
            InboxEvent(
                connection="shop",
                vendor="shopify",
                topic="customers/redact",
                delivery_id="delivery-5",
                body=orjson.dumps({"customer": {"id": 42, "email": "ada@example.com"}}),
                entity="customers",
                kind="redact",
                record_id="42",
            )
        ],
    )

    result = redact_person(SHOP, warehouse, "42", mappings_dir=MAPPINGS)

    assert (result.inbox_events_emptied, result.inbox_events_scrubbed) == (3, 1)
    bodies = _inbox_bodies(warehouse)
    assert len(bodies) == 5, "a row was deleted: a retried delivery would be stored again"
    assert not [d for d, (_, body) in bodies.items() if b"ada@example.com" in body]
    assert b"bob@example.com" in bodies["delivery-4"][1], "another customer's order was touched"
    # Their pending update will not load; their order still does, naming nobody.
    assert bodies["delivery-2"][0] == "processed"
    assert bodies["delivery-3"][0] == "pending"
    run(warehouse, "orders", "run-2")
    orders = SyncTarget(SHOP, "orders", MAPPINGS).mapping.tables[0]
    table = build_table(orders, warehouse.schema)
    with warehouse.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == 4200)).mappings().one()
    assert (row["email"], row["customer_id"], row["total_price"]) == (None, None, Decimal("12.50"))
    assert redact_person(SHOP, warehouse, "42", mappings_dir=MAPPINGS).inbox_events_emptied == 0


def test_redacting_a_whole_shop_empties_its_customer_and_order_events(
    warehouse: Warehouse,
) -> None:
    deliver(warehouse, "customers/update", customer("2026-11-30T01:00:00Z"), 1)
    run(warehouse, "customers", "run-1")
    deliver(warehouse, "orders/updated", _order("ada@example.com"), 2)
    deliver(warehouse, "products/update", {"id": 9, "title": "Tea"}, 3)

    result = redact_everyone(SHOP, warehouse, mappings_dir=MAPPINGS)

    assert result.inbox_events_emptied == 2
    bodies = _inbox_bodies(warehouse)
    assert not [d for d, (_, body) in bodies.items() if b"@example.com" in body]
    assert bodies["delivery-2"] == ("processed", SCRUBBED_BODY)
    assert bodies["delivery-3"][0] == "pending", "products hold no person: left to load"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 30, "orders": 5}, rate_limits=False) as running:
        yield running


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_a_partial_customer_payload_is_fetched_by_id_and_loads_as_a_poll_would(
    warehouse: Warehouse, sandbox: Sandbox, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_SHOP_TOKEN", sandbox.shopify.access_token)
    shop = Connection(
        name="shop",
        vendor="shopify",
        api=api,
        base_url=sandbox.shopify_url,
        secrets={"access_token": "SANDBOX_SHOP_TOKEN"},
        entities={"customers": "realtime"},
    )
    records = list(itertools.islice(sandbox.shopify.records("customers"), 3))
    omitted = SHOPIFY_WEBHOOKS.topic("customers/update").omits  # type: ignore[union-attr]
    for n, record in enumerate(records):  # as Shopify sends them since 2025-01
        payload = {k: v for k, v in record.items() if k not in omitted}
        deliver(warehouse, "customers/update", payload, n)

    target = SyncTarget(shop, "customers", MAPPINGS)
    extracted = run_webhook_extract(target, warehouse, run_id="hook", first_id=1, last_id=10**9)
    assert len(extracted.fetched) == 3 and extracted.upserts == ()
    assert extracted.requests == 1
    run_webhook_load(target, warehouse, extracted, run_id="hook")

    spec = load_mapping("shopify", "customers", mappings_dir=MAPPINGS, api="rest")
    expected = expected_tables(spec, records)[spec.table]
    table = build_table(target.mapping.tables[0], warehouse.schema)
    with warehouse.engine.connect() as conn:
        rows = {row["id"]: row for row in conn.execute(select(table)).mappings()}
    for (key,), row in expected.items():  # the tags and consents the payload lacked, too
        assert {column: rows[key][column] for column in row} == row
    assert inbox_depth(warehouse) == {}
    assert LandingStore(warehouse).page_count(f"hook{FETCH_SUFFIX}", "shop", "customers") == 0
