"""A burst of webhooks from many senders at once: every one stored, none lost or doubled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import pending_events
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.helpers import shopify_delivery

BURST = 1000


def test_a_burst_of_a_thousand_webhooks_is_all_stored_in_commit_order(
    console: tuple[ConsoleServer, Warehouse],
) -> None:
    server, warehouse = console
    deliveries = [shopify_delivery({"id": n}, "orders/updated") for n in range(BURST)]
    url = f"{server.url}/webhooks/shopify/shop"
    limits = httpx.Limits(max_connections=32)
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(32) as pool:
        statuses = list(
            pool.map(
                lambda d: client.post(url, content=d.body, headers=d.headers).status_code,
                deliveries,
            )
        )

    assert statuses == [200] * BURST
    stored = pending_events(warehouse, limit=BURST + 1)
    assert sorted(int(event.record_id or -1) for event in stored) == list(range(BURST))
    ids = [event.id for event in stored]
    assert ids == sorted(ids) and len(set(ids)) == BURST
