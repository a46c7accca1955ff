"""Syncs of a Shopify connection on its default API, GraphQL, against the simulator: GraphQL
pages land as the vendor sent them, a killed walk resumes from the POST stored in landing,
an error inside a 200 lands nothing twice, replay from landing gives the same records, and
reconciliation walks ids through the GraphQL id query."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from integration_assets.connectors.connections import Connection, RateLimitOverride
from integration_assets.extract import ExtractError, ExtractSettings, MalformedPageError
from integration_assets.extract.paginators import PageRequest
from integration_assets.extract.records import records_from_body
from integration_assets.load.landing import LandingStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import DELETED_AT_COLUMN
from integration_assets.sync.reconcile import run_reconcile
from integration_assets.sync.redact import redact_person
from integration_assets.sync.steps import SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget

SIZES = {"customers": 150, "orders": 30, "products": 20}
PAGE = 10
SETTINGS = SyncSettings(
    batch_records=40,
    extract=ExtractSettings(page_size=PAGE, max_attempts=3, backoff_base=0.01, backoff_cap=0.02),
)
ROOMY = RateLimitOverride(capacity=1_000_000, refill_per_second=1_000_000.0)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def shop(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Connection:
    """A connection naming no API: Shopify's default, GraphQL."""
    monkeypatch.setenv("IA_GQL_SHOP_TOKEN", sandbox.shopify.access_token)
    connection = Connection(
        name=f"gql-{uuid.uuid4().hex[:8]}",
        vendor="shopify",
        base_url=sandbox.shopify_url,
        secrets={"access_token": "IA_GQL_SHOP_TOKEN"},
        entities={"customers": "hourly"},
        rate_limit=ROOMY,
        bulk="never",  # these stories are about the paginated walk, not the bulk export
    )
    assert connection.connector.request == "graphql"
    return connection


def numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def landed_ids(warehouse: Warehouse, target: SyncTarget, run_id: str) -> Counter[int]:
    """Every record id in the run's landed pages, read back as a replay reads them."""
    landing = LandingStore(warehouse)
    pages = landing.iter_pages(run_id, target.connection.name, target.entity_name)
    return Counter(
        numeric(record["id"])
        for page in pages
        for record in records_from_body(page.body, target.entity.records_path, connections=True)
    )


def test_a_killed_walk_resumes_from_the_post_stored_in_landing(
    sandbox: Sandbox, shop: Connection, warehouse: Warehouse
) -> None:
    target = SyncTarget(shop, "customers")
    sim = sandbox.shopify
    sim.set_faults(malformed_page={"entity": "customers", "page": 4, "mode": "always"})

    with pytest.raises(MalformedPageError):
        run_extract(target, warehouse, run_id="backfill", settings=SETTINGS)

    landing = LandingStore(warehouse)
    point = landing.resume_point("backfill", shop.name, "customers")
    assert point is not None and point.pages == 3 and point.next_url
    stored = json.loads(point.next_url)
    assert stored["method"] == "POST" and stored["url"].endswith("/admin/api/2026-10/graphql.json")
    assert stored["variables"]["first"] == PAGE and stored["variables"]["after"]
    assert sim.access_token not in point.next_url  # the request holds no credential

    sim.clear_faults()
    sim.reset_stats()
    extracted = run_extract(target, warehouse, run_id="backfill", settings=SETTINGS)

    assert extracted.resumed_pages == 3
    assert (extracted.pages, extracted.records) == (15, 150)
    assert sim.stats().total == extracted.requests == 12  # pages 4-15 only
    ids = landed_ids(warehouse, target, "backfill")
    assert set(ids) == {record["id"] for record in sim.records("customers")}
    assert set(ids.values()) == {1}  # nothing landed twice


def test_pages_land_as_sent_and_replay_to_the_streamed_records(
    sandbox: Sandbox, shop: Connection, warehouse: Warehouse
) -> None:
    """Landing keeps the vendor's body (Relay shape, cost extensions); the records the load
    step reads back are the flattened ones the contract describes."""
    target = SyncTarget(shop.model_copy(update={"entities": {"orders": "hourly"}}), "orders")
    run_extract(target, warehouse, run_id="r1", settings=SETTINGS)

    landing = LandingStore(warehouse)
    pages = list(landing.iter_pages("r1", shop.name, "orders"))
    assert len(pages) == 3
    truth = {order["id"]: order for order in sandbox.shopify.records("orders")}
    for page in pages:
        document = orjson.loads(page.body)
        assert "nodes" in document["data"]["orders"]["nodes"][0]["lineItems"]
        assert "cost" in document["extensions"]
        for order in records_from_body(page.body, "data.orders.nodes", connections=True):
            expected = truth[numeric(order["id"])]
            assert [numeric(item["id"]) for item in order["lineItems"]] == [
                item["id"] for item in expected["line_items"]
            ]


def test_an_error_inside_a_200_names_the_vendors_words_and_lands_nothing_twice(
    sandbox: Sandbox, shop: Connection, warehouse: Warehouse
) -> None:
    target = SyncTarget(shop, "customers")
    sim = sandbox.shopify
    sim.set_faults(graphql_error_rate=1.0)

    with pytest.raises(ExtractError) as error:
        run_extract(target, warehouse, run_id="r1", settings=SETTINGS)

    assert "Internal error. Looks like something went wrong on our end" in str(error.value)
    assert LandingStore(warehouse).page_count("r1", shop.name, "customers") == 0

    sim.set_faults(graphql_error_rate=0.3, seed=9)
    patient = SyncSettings(extract=ExtractSettings(page_size=PAGE, max_attempts=10, backoff_base=0))
    extracted = run_extract(target, warehouse, run_id="r1", settings=patient)
    assert extracted.server_errors > 0 and extracted.pages == 15
    ids = landed_ids(warehouse, target, "r1")
    assert len(ids) == 150 and set(ids.values()) == {1}


def test_a_stored_post_round_trips_to_the_same_request() -> None:
    request = PageRequest(
        "https://shop.example/admin/api/2026-10/graphql.json",
        method="POST",
        document="query Sync($first: Int!, $after: String) { x }",
        variables=(("first", 50), ("after", "abc")),
    )
    again = PageRequest.from_stored(request.stored)
    assert again.identity == request.identity and again.content is not None
    assert orjson.loads(again.content) == orjson.loads(request.content or b"")
    assert again.with_variable("after", "abd").identity != request.identity
    with pytest.raises(ValueError, match="stored request is not readable"):
        PageRequest.from_stored('{"method": "POST"}')


MAPPING = {
    "integration": "shopify",
    "entity": "customers",
    "table": "gql_customers",
    "primary_key": ["id"],
    "source_updated_at": "updated_at",
    "mappings": [
        {"source": "id", "target": "id", "type": "string", "required": True},
        {"source": "updatedAt", "target": "updated_at", "type": "datetime", "required": True},
        {"source": "firstName", "target": "first_name", "type": "string"},
    ],
}


def test_reconciliation_walks_ids_through_the_graphql_id_query(
    tmp_path: Path, sandbox: Sandbox, shop: Connection, warehouse: Warehouse
) -> None:
    """Customers the vendor deleted get `_deleted_at`, exactly those, found by walking the
    entity's `ids_query` (ids and update times only)."""
    mappings = tmp_path / "mappings"
    (mappings / "shopify").mkdir(parents=True)
    (mappings / "shopify" / "customers.json").write_text(json.dumps(MAPPING))
    target = SyncTarget(shop, "customers", mappings)
    extracted = run_extract(target, warehouse, run_id="r1", settings=SETTINGS)
    run_load(target, warehouse, extracted, run_id="r1", settings=SETTINGS)
    before = {record["id"] for record in sandbox.shopify.records("customers")}
    sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted=6)
    after = {record["id"] for record in sandbox.shopify.records("customers")}
    deleted = {f"gid://shopify/Customer/{i}" for i in before - after}
    assert len(deleted) == 6
    sandbox.shopify.reset_stats()

    result = run_reconcile(target, warehouse, settings=ExtractSettings())

    assert (result.seen, result.marked_deleted) == (144, 6)
    assert result.requests == sandbox.shopify.stats().total == 1  # 250 ids a page
    table = build_table(target.mapping.tables[0], warehouse.schema)
    with warehouse.read() as conn:
        marked = {
            row[0]
            for row in conn.execute(
                select(table.c.id).where(table.c[DELETED_AT_COLUMN].is_not(None))
            )
        }
    assert marked == deleted


ORDERS_MAPPING = {
    "integration": "shopify",
    "entity": "orders",
    "table": "gql_orders",
    "primary_key": ["id"],
    "source_updated_at": "updated_at",
    "mappings": [
        {"source": "id", "target": "id", "type": "string", "required": True},
        {"source": "updatedAt", "target": "updated_at", "type": "datetime", "required": True},
        {"source": "customer.id", "target": "customer_id", "type": "string"},
        {"source": "email", "target": "email", "type": "string"},
        {"source": "name", "target": "name", "type": "string"},
    ],
}


def test_redaction_finds_the_person_by_the_global_ids_of_graphql_records(
    tmp_path: Path, sandbox: Sandbox, shop: Connection, warehouse: Warehouse
) -> None:
    """The person is named by the id the warehouse knows; GraphQL records write it as a GID
    (`PersonSpec.raw_id`): their row, their landed records and the personal fields of their
    orders go, the orders' other facts stay."""
    mappings = tmp_path / "mappings"
    (mappings / "shopify").mkdir(parents=True)
    (mappings / "shopify" / "customers.json").write_text(json.dumps(MAPPING))
    (mappings / "shopify" / "orders.json").write_text(json.dumps(ORDERS_MAPPING))
    both = shop.model_copy(update={"entities": {"customers": "hourly", "orders": "hourly"}})
    for entity in ("customers", "orders"):
        target = SyncTarget(both, entity, mappings)
        extracted = run_extract(target, warehouse, run_id="r1", settings=SETTINGS)
        run_load(target, warehouse, extracted, run_id="r1", settings=SETTINGS)
    buyer = next(order["customer"]["id"] for order in sandbox.shopify.records("orders"))
    gid = f"gid://shopify/Customer/{buyer}"

    result = redact_person(both, warehouse, str(buyer), mappings_dir=mappings)

    assert result.rows_deleted["gql_customers"] == 1
    assert result.rows_scrubbed["gql_orders"] >= 1
    assert result.landing_records_removed == 1 and result.landing_records_scrubbed >= 1
    orders = build_table(SyncTarget(both, "orders", mappings).mapping.tables[0], warehouse.schema)
    scrubbed_orders = [
        o["id"] for o in sandbox.shopify.records("orders") if o["customer"]["id"] == buyer
    ]
    with warehouse.read() as conn:
        assert conn.execute(select(orders.c.id).where(orders.c.customer_id == gid)).all() == []
        kept = conn.execute(
            select(orders.c.name, orders.c.email, orders.c.customer_id).where(
                orders.c.id.in_([f"gid://shopify/Order/{i}" for i in scrubbed_orders])
            )
        ).all()
    assert len(kept) == len(scrubbed_orders)
    assert all(name and email is None and customer is None for name, email, customer in kept)
    landing = LandingStore(warehouse)
    for entity in ("customers", "orders"):
        for page in landing.iter_pages("r1", shop.name, entity):
            assert f'"{gid}"'.encode() not in page.body
    again = redact_person(both, warehouse, str(buyer), mappings_dir=mappings)
    assert again.landing_pages_rewritten == 0 and sum(again.rows_deleted.values()) == 0
