"""The simulators send signed webhooks when their records change, and our console takes them.

The sandbox signs from the vendors' docs and the console verifies from the connector specs;
these stories pass only when both agree with the docs.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import psycopg
import pytest

from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import pending_events
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox.klaviyo import KlaviyoSimulator
from integration_assets.sandbox.shopify import ShopifySimulator
from integration_assets.sandbox.webhooks import Subscription, WebhookSender
from integration_assets_tests.console.helpers import (
    KLAVIYO_SECRET,
    SHOP_SECRET,
    inbox_count,
    running_console,
)

SHOP_SIZES = {"customers": 30, "orders": 20, "products": 10}


@pytest.fixture
def console(warehouse_url: str) -> Iterator[tuple[ConsoleServer, Warehouse]]:
    with running_console(warehouse_url) as running:
        yield running


def _shop(address: str, secret: str = SHOP_SECRET) -> ShopifySimulator:
    shop = ShopifySimulator(sizes=SHOP_SIZES, rate_limits=False)
    shop.set_webhooks(
        [Subscription("customers/*", address, secret), Subscription("orders/*", address, secret)]
    )
    return shop


def test_every_shopify_change_arrives_signed_and_is_stored_once_with_its_entity(
    console: tuple[ConsoleServer, Warehouse],
) -> None:
    server, warehouse = console
    shop = _shop(f"{server.url}/webhooks/shopify/shop")

    report = shop.advance(seconds=600, updated_fraction=0.2, created=2, deleted=1)
    sender = shop.webhook_sender
    assert sender is not None and sender.wait_idle()

    expected = sum(
        len(report.created[e]) + len(report.updated[e]) + len(report.deleted[e])
        for e in ("customers", "orders")
    )
    assert expected > 0 and len(sender.deliveries) == expected
    assert all(delivery.attempts == [200] for delivery in sender.deliveries)
    stored = pending_events(warehouse)
    assert len(stored) == expected
    assert {e.topic.split("/")[1] for e in stored} == {"create", "update", "updated", "delete"}
    deleted_id = str(shop.vendor_id("orders", report.deleted["orders"][0]))
    assert ("orders", "delete", deleted_id) in {(e.entity, e.kind, e.record_id) for e in stored}
    for event in stored:
        assert str(orjson.loads(event.body)["id"]) == event.record_id


def test_new_klaviyo_events_arrive_in_signed_batches_one_row_per_event(
    console: tuple[ConsoleServer, Warehouse],
) -> None:
    server, warehouse = console
    account = KlaviyoSimulator(sizes={"profiles": 20, "events": 20}, rate_limits=False)
    sender = account.set_webhooks(
        [Subscription("event:*", f"{server.url}/webhooks/klaviyo/klav", KLAVIYO_SECRET)]
    )

    report = account.advance(seconds=600, created={"events": 150})
    assert sender is not None and sender.wait_idle()

    assert [len(orjson.loads(d.body)["data"]) for d in sender.deliveries] == [100, 50]
    assert all(delivery.attempts == [200] for delivery in sender.deliveries)
    stored = pending_events(warehouse)
    ids = {account.vendor_id("events", index) for index in report.created["events"]}
    assert {event.delivery_id for event in stored} == ids
    assert {(event.entity, event.kind) for event in stored} == {("events", "upsert")}
    assert all(event.topic.startswith("event:") for event in stored)


def test_shopify_retries_a_refused_delivery_eight_times_and_klaviyo_not_a_401(
    console: tuple[ConsoleServer, Warehouse],
) -> None:
    server, warehouse = console
    shop = ShopifySimulator(sizes=SHOP_SIZES, rate_limits=False)
    shop.set_webhooks(
        [Subscription("customers/*", f"{server.url}/webhooks/shopify/shop", "a-wrong-secret")],
        WebhookSender(backoff_seconds=0.01, max_backoff_seconds=0.05),
    )
    account = KlaviyoSimulator(sizes={"profiles": 5, "events": 5}, rate_limits=False)
    account.set_webhooks(
        [Subscription("event:*", f"{server.url}/webhooks/klaviyo/klav", "a-wrong-secret")]
    )

    shop.advance(seconds=60, created={"customers": 1})
    account.advance(seconds=60, created={"events": 1})
    assert shop.webhook_sender and shop.webhook_sender.wait_idle()
    assert account.webhook_sender and account.webhook_sender.wait_idle()

    assert [d.attempts for d in shop.webhook_sender.deliveries] == [[401] * 9]
    assert [d.attempts for d in account.webhook_sender.deliveries] == [[401]]
    assert inbox_count(warehouse) == 0


def test_a_delivery_refused_with_503_while_postgres_is_down_is_stored_by_the_vendors_retry(
    postgres_admin_url: str, postgres_url: str
) -> None:
    database = postgres_url.rsplit("/", 1)[1]

    def allow(allowed: bool) -> None:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )

    with running_console(postgres_url) as (server, warehouse):
        shop = ShopifySimulator(sizes=SHOP_SIZES, rate_limits=False)
        sender = WebhookSender(backoff_seconds=0.2, max_backoff_seconds=0.5)
        shop.set_webhooks(
            [Subscription("customers/create", f"{server.url}/webhooks/shopify/shop", SHOP_SECRET)],
            sender,
        )
        allow(False)
        try:
            shop.advance(seconds=60, created={"customers": 1})
            [delivery] = sender.deliveries
            assert sender.wait_attempted(delivery)
        finally:
            allow(True)
        assert sender.wait_idle()

        assert delivery.attempts[0] == 503 and delivery.attempts[-1] == 200
        assert inbox_count(warehouse) == 1
