"""Signing webhooks the way the vendors document it, and a console on a real warehouse.

The signing here is written from the vendors' docs (see `connectors/shopify_webhooks.py`,
`connectors/klaviyo_webhooks.py`), not from the console's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from sqlalchemy import func, select

from integration_assets.connectors.connections import Connection
from integration_assets.console import ConsoleSettings, build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import inbox_table
from integration_assets.load.warehouse import Warehouse

SHOP_SECRET = "shpss_test_client_secret"
KLAVIYO_SECRET = "klaviyo-webhook-secret-0123456789"
KLAVIYO_HOOK_ID = "01HOOKTESTID"
ENVIRON = {"SHOP_WEBHOOK_SECRET": SHOP_SECRET, "KLAVIYO_WEBHOOK_SECRET": KLAVIYO_SECRET}

CONNECTIONS = [
    Connection(
        name="shop",
        vendor="shopify",
        base_url="http://127.0.0.1:1",
        secrets={"access_token": "SHOP_TOKEN", "webhook_secret": "SHOP_WEBHOOK_SECRET"},
        entities={"customers": "daily", "orders": "daily"},
    ),
    Connection(
        name="klav",
        vendor="klaviyo",
        base_url="http://127.0.0.1:1",
        secrets={"api_key": "KLAVIYO_KEY", "webhook_secret": "KLAVIYO_WEBHOOK_SECRET"},
        entities={"events": "daily"},
    ),
    Connection(
        name="quiet-shop",
        vendor="shopify",
        base_url="http://127.0.0.1:1",
        secrets={"access_token": "SHOP_TOKEN"},
        entities={"customers": "daily"},
    ),
]


@dataclass(frozen=True)
class Signed:
    """A request ready to send: body and headers."""

    body: bytes
    headers: dict[str, str]


def shopify_delivery(
    payload: dict[str, Any],
    topic: str = "customers/update",
    *,
    secret: str = SHOP_SECRET,
    webhook_id: str | None = None,
    triggered_at: datetime | None = None,
    shop_domain: str = "shop.myshopify.com",
) -> Signed:
    """Base64 HMAC-SHA256 of the raw body keyed with the client secret."""
    body = json.dumps(payload).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    when = (triggered_at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    return Signed(
        body,
        {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": mac,
            "X-Shopify-Shop-Domain": shop_domain,
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": when,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        },
    )


def klaviyo_event(event_id: str, topic: str = "event:klaviyo.received_email") -> dict[str, Any]:
    """One item of a Klaviyo system webhook batch."""
    return {
        "topic": topic,
        "external_id": event_id,
        "payload": {"data": {"type": "event", "id": event_id, "attributes": {"timestamp": 1}}},
    }


def klaviyo_delivery(
    events: list[dict[str, Any]],
    *,
    secret: str = KLAVIYO_SECRET,
    hook_id: str = KLAVIYO_HOOK_ID,
    header_hook_id: str | None = None,
    sent_at: datetime | None = None,
) -> Signed:
    """Hex HMAC-SHA256 over the raw body followed by `Klaviyo-Timestamp` (an HTTP date)."""
    when = sent_at or datetime.now(UTC)
    meta = {"klaviyo_account_id": "AbC123", "klaviyo_webhook_id": hook_id, "version": "2026-10-15"}
    body = json.dumps({"data": events, "meta": {**meta, "timestamp": when.isoformat()}}).encode()
    stamp = format_datetime(when.astimezone(UTC), usegmt=True)
    mac = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return Signed(
        body,
        {
            "Content-Type": "application/json",
            "Klaviyo-Webhook-Id": header_hook_id or hook_id,
            "Klaviyo-Timestamp": stamp,
            "Klaviyo-Signature": mac,
        },
    )


def inbox_count(warehouse: Warehouse) -> int:
    """Rows in the inbox (0 when it does not exist yet)."""
    table = inbox_table(warehouse.dialect)
    with warehouse.engine.connect() as connection:
        if not warehouse.engine.dialect.has_table(connection, table.name, schema=table.schema):
            return 0
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@contextmanager
def running_console(
    warehouse_url: str,
    settings: ConsoleSettings | None = None,
    connections: list[Connection] | None = None,
) -> Iterator[tuple[ConsoleServer, Warehouse]]:
    """The console on a free loopback port, storing into `warehouse_url`."""
    warehouse = Warehouse.from_url(warehouse_url)
    app = build_app(warehouse, connections or CONNECTIONS, settings, environ=ENVIRON)
    try:
        with ConsoleServer(app) as server:
            yield server, warehouse
    finally:
        warehouse.dispose()
