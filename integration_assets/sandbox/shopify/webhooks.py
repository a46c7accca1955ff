"""Shopify webhook deliveries for what one `advance` changed, as Shopify documents them.

Per https://shopify.dev/docs/apps/build/webhooks/delivery-structure: the body is the REST
resource as JSON (a delete's body is `{"id": …}`), and the headers are `X-Shopify-Topic`,
`X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body keyed with the app's client
secret, per https://shopify.dev/docs/apps/build/webhooks/verify-deliveries),
`X-Shopify-Shop-Domain`, `X-Shopify-API-Version`, `X-Shopify-Webhook-Id` (unique per
delivery), `X-Shopify-Triggered-At` (when the change triggered it; a retry repeats it) and
`X-Shopify-Event-Id` (shared by the deliveries of one change to several subscriptions).
Topics: `customers/create|update|delete`, `orders/create|updated|delete`,
`products/create|update|delete` (note `orders/updated`).

Since API version 2025-01 a customer payload lacks `tags`, `email_marketing_consent`,
`sms_marketing_consent`, `last_order_id`, `last_order_name`, `total_spent` and
`orders_count` (https://shopify.dev/changelog/new-customer-s-webhook-and-changes-to-existing-customer-s-webhooks-payload:
they moved to topics of their own), so the simulator leaves them out of `customers/*`.

Privacy compliance topics (https://shopify.dev/docs/apps/build/privacy-law-compliance) are
sent when a test asks (`compliance_deliveries`), as Shopify sends them on a merchant's
request: `customers/redact` with `{shop_id, shop_domain, customer: {id, email, phone},
orders_to_redact: [...]}`, and `shop/redact` (48 hours after an uninstall) with
`{shop_id, shop_domain}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from integration_assets.sandbox.store import Row
from integration_assets.sandbox.webhooks import SHOPIFY_RETRIES, Delivery, Subscription

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator
    from integration_assets.sandbox.simulator import AdvanceReport

API_VERSION = "2026-10"
_UPDATE_ACTION = {"customers": "update", "orders": "updated", "products": "update"}
_CUSTOMER_PAYLOAD_LACKS = (
    "tags",
    "email_marketing_consent",
    "sms_marketing_consent",
    "last_order_id",
    "last_order_name",
    "total_spent",
    "orders_count",
)
"""Left out of customer payloads since 2025-01 (see the module docstring)."""


def _payload(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    if entity != "customers":
        return record
    return {k: v for k, v in record.items() if k not in _CUSTOMER_PAYLOAD_LACKS}


def _signed_headers(secret: str, body: bytes, fixed: dict[str, str]) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {**fixed, "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}


def _changes(sim: ShopifySimulator, report: AdvanceReport) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) for every change of the report, in entity then index order."""
    changes: list[tuple[str, dict[str, Any]]] = []
    for entity in sim.entities:
        store = sim.store(entity)
        for action, indices in (
            ("create", report.created[entity]),
            (_UPDATE_ACTION[entity], report.updated[entity]),
        ):
            for index in indices:
                if not store.exists(index):
                    continue
                row = Row(index, index, store.version(index), store.updated_at(index))
                changes.append((f"{entity}/{action}", _payload(entity, sim.render(entity, row))))
        for index in report.deleted[entity]:
            changes.append((f"{entity}/delete", {"id": sim.vendor_id(entity, index)}))
    return changes


def compliance_deliveries(
    sim: ShopifySimulator,
    topic: str,
    payload: dict[str, Any],
    subscriptions: Sequence[Subscription],
    now: float,
) -> list[Delivery]:
    """The deliveries of one compliance request (`customers/redact`, `shop/redact`)."""
    return _deliveries(sim, [(topic, payload)], subscriptions, now)


def shopify_deliveries(
    sim: ShopifySimulator,
    report: AdvanceReport,
    subscriptions: Sequence[Subscription],
    now: float,
) -> list[Delivery]:
    """The deliveries `report`'s changes cause, one per change and matching subscription."""
    return _deliveries(sim, _changes(sim, report), subscriptions, now)


def _deliveries(
    sim: ShopifySimulator,
    changes: list[tuple[str, dict[str, Any]]],
    subscriptions: Sequence[Subscription],
    now: float,
) -> list[Delivery]:
    triggered_at = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    deliveries: list[Delivery] = []
    for topic, payload in changes:
        wanted = [s for s in subscriptions if s.matches(topic)]
        if not wanted:
            continue
        body = json.dumps(payload).encode()
        event_id = str(uuid.uuid4())
        for subscription in wanted:
            fixed = {
                "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": f"{sim.shop}.myshopify.com",
                "X-Shopify-API-Version": API_VERSION,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Triggered-At": triggered_at,
                "X-Shopify-Event-Id": event_id,
            }
            headers = _signed_headers(subscription.secret, body, fixed)
            deliveries.append(
                Delivery(
                    topic=topic,
                    address=subscription.address,
                    body=body,
                    sign=lambda _body, _now, headers=headers: headers,
                    policy=SHOPIFY_RETRIES,
                )
            )
    return deliveries
