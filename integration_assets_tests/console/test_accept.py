"""Signed deliveries are stored once and answered 200, on SQLite and Postgres."""

from __future__ import annotations

import httpx
import orjson

from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import inbox_depth, pending_events
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.helpers import (
    klaviyo_delivery,
    klaviyo_event,
    shopify_delivery,
)


def test_a_signed_shopify_delivery_is_stored_with_its_entity_and_answered_200(
    console: tuple[ConsoleServer, Warehouse], client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = shopify_delivery({"id": 4711, "email": "x@example.com"}, "orders/updated")

    answer = client.post(
        f"{server.url}/webhooks/shopify/shop", content=delivery.body, headers=delivery.headers
    )

    assert answer.status_code == 200
    [event] = pending_events(warehouse)
    assert (event.connection, event.vendor, event.topic) == ("shop", "shopify", "orders/updated")
    assert (event.entity, event.kind, event.record_id) == ("orders", "upsert", "4711")
    assert event.delivery_id == delivery.headers["X-Shopify-Webhook-Id"]
    assert event.event_id == delivery.headers["X-Shopify-Event-Id"]
    assert event.api_version == "2026-10"
    assert event.body == delivery.body


def test_the_same_shopify_delivery_twice_is_stored_once_and_both_answered_200(
    console: tuple[ConsoleServer, Warehouse], client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = shopify_delivery({"id": 1}, "customers/delete")
    url = f"{server.url}/webhooks/shopify/shop"

    first = client.post(url, content=delivery.body, headers=delivery.headers)
    again = client.post(url, content=delivery.body, headers=delivery.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["new"], again.json()["new"]) == (1, 0)
    [event] = pending_events(warehouse)
    assert (event.entity, event.kind) == ("customers", "delete")


def test_a_klaviyo_batch_is_stored_one_row_per_event_and_a_rebatched_retry_adds_only_new_ones(
    console: tuple[ConsoleServer, Warehouse], client: httpx.Client
) -> None:
    server, warehouse = console
    url = f"{server.url}/webhooks/klaviyo/klav"
    first = klaviyo_delivery([klaviyo_event("EV1"), klaviyo_event("EV2")])
    retry = klaviyo_delivery(
        [klaviyo_event("EV2"), klaviyo_event("EV3", "event:shopify.placed_order")]
    )

    assert client.post(url, content=first.body, headers=first.headers).status_code == 200
    assert client.post(url, content=retry.body, headers=retry.headers).json()["new"] == 1

    events = pending_events(warehouse)
    assert [e.delivery_id for e in events] == ["EV1", "EV2", "EV3"]
    assert {(e.entity, e.kind) for e in events} == {("events", "upsert")}
    assert [e.record_id for e in events] == ["EV1", "EV2", "EV3"]
    assert orjson.loads(events[2].body)["topic"] == "event:shopify.placed_order"
    assert inbox_depth(warehouse) == {("klav", "events"): 3}


def test_a_redaction_topic_names_the_person(
    console: tuple[ConsoleServer, Warehouse], client: httpx.Client
) -> None:
    server, warehouse = console
    payload = {"shop_id": 9, "shop_domain": "shop.myshopify.com", "customer": {"id": 77}}
    delivery = shopify_delivery(payload, "customers/redact")

    client.post(
        f"{server.url}/webhooks/shopify/shop", content=delivery.body, headers=delivery.headers
    )

    [event] = pending_events(warehouse)
    assert (event.entity, event.kind, event.record_id) == ("customers", "redact", "77")


def test_a_topic_the_spec_does_not_map_is_kept_without_an_entity(
    console: tuple[ConsoleServer, Warehouse], client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = shopify_delivery({"id": 5}, "app/uninstalled")

    answer = client.post(
        f"{server.url}/webhooks/shopify/shop", content=delivery.body, headers=delivery.headers
    )

    assert answer.status_code == 200
    [event] = pending_events(warehouse)
    assert (event.topic, event.entity, event.kind) == ("app/uninstalled", None, None)
