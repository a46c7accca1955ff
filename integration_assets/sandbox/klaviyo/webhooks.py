"""Klaviyo system webhook deliveries for the events one `advance` created, as documented.

Per https://developers.klaviyo.com/en/docs/working_with_system_webhooks: a request batches
events, `{"data": [{"topic", "external_id", "payload"}], "meta": {"klaviyo_account_id",
"klaviyo_webhook_id", "timestamp", "version"}}`, `payload` shaped like a Get Event answer
(`{"data": <event>}`); headers `Klaviyo-Webhook-Id` (equal to `meta.klaviyo_webhook_id`),
`Klaviyo-Timestamp` (when the request was sent, an HTTP date) and `Klaviyo-Signature`, the
hex HMAC-SHA256 keyed with the webhook's secret over the raw body followed by the timestamp.

Topics are per metric: `event:klaviyo.received_email` for Klaviyo's own metrics. For metrics
of integrations the sandbox names them alike after the integration
(`event:shopify.placed_order`, `event:api.active_on_site`), an assumption: the docs list
the topics of an account only through Get Webhook Topics.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from integration_assets.sandbox.klaviyo.records import METRICS
from integration_assets.sandbox.store import Row
from integration_assets.sandbox.webhooks import KLAVIYO_RETRIES, Delivery, Subscription

if TYPE_CHECKING:
    from integration_assets.sandbox.klaviyo.simulator import KlaviyoSimulator
    from integration_assets.sandbox.simulator import AdvanceReport

REVISION = "2026-10-15"
BATCH_SIZE = 100
ACCOUNT_ID = "SbXk9Q"


def topic_of(sim: KlaviyoSimulator, index: int) -> str:
    """The webhook topic of event `index`, from its metric."""
    name, integration, _ = METRICS[sim.catalog.metric_ids.index(sim.catalog.metric_of(index))]
    return f"event:{integration.lower()}.{name.lower().replace(' ', '_')}"


def webhook_id(subscription: Subscription) -> str:
    """A stable id for the subscription, as Klaviyo gives each webhook one."""
    seed = f"{subscription.address}|{subscription.topic}".encode()
    return "01" + hashlib.sha256(seed).hexdigest()[:24].upper()


def _signer(secret: str, hook_id: str) -> Any:
    def sign(body: bytes, now: float) -> dict[str, str]:
        stamp = format_datetime(datetime.fromtimestamp(int(now), UTC), usegmt=True)
        mac = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return {"Klaviyo-Webhook-Id": hook_id, "Klaviyo-Timestamp": stamp, "Klaviyo-Signature": mac}

    return sign


def klaviyo_deliveries(
    sim: KlaviyoSimulator,
    report: AdvanceReport,
    subscriptions: Sequence[Subscription],
    now: float,
) -> list[Delivery]:
    """Batches of at most BATCH_SIZE created events per subscription whose topic they match."""
    store = sim.store("events")
    items = []
    for index in report.created["events"]:
        row = Row(index, index, store.version(index), store.updated_at(index))
        event = sim.render("events", row)
        items.append(
            {"topic": topic_of(sim, index), "external_id": event["id"], "payload": {"data": event}}
        )
    deliveries: list[Delivery] = []
    sent_at = datetime.fromtimestamp(now, UTC).isoformat()
    for subscription in subscriptions:
        mine = [item for item in items if subscription.matches(item["topic"])]
        hook_id = webhook_id(subscription)
        for start in range(0, len(mine), BATCH_SIZE):
            batch = mine[start : start + BATCH_SIZE]
            meta = {
                "klaviyo_account_id": ACCOUNT_ID,
                "klaviyo_webhook_id": hook_id,
                "timestamp": sent_at,
                "version": REVISION,
            }
            body = json.dumps({"data": batch, "meta": meta}).encode()
            deliveries.append(
                Delivery(
                    topic=subscription.topic,
                    address=subscription.address,
                    body=body,
                    sign=_signer(subscription.secret, hook_id),
                    policy=KLAVIYO_RETRIES,
                )
            )
    return deliveries
