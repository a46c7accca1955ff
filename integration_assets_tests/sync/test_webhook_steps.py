"""The webhook steps without Dagster: inbox events landed, loaded, deleted, redacted, for a
Shopify connection that polls over GraphQL while its deliveries are REST resources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from integration_assets.connectors.connections import Connection
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.inbox import InboxEvent, ensure_inbox, inbox_depth, store_events
from integration_assets.load.landing import LandingStore
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sync.redact import redact_person
from integration_assets.sync.target import SyncTarget
from integration_assets.sync.webhooks import run_webhook_extract, run_webhook_load

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
    return {"id": 42, "email": email, "first_name": "Ada", "updated_at": updated_at}


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
    assert SyncStateStore(warehouse).get("shop", "customers") is None, "the cursor was written"
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
