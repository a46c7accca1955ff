"""Shopify webhooks (HTTPS delivery), as documented.

Sources: https://shopify.dev/docs/apps/build/webhooks/delivery-structure (headers, payload =
the REST resource), https://shopify.dev/docs/apps/build/webhooks/verify-deliveries (base64
HMAC-SHA256 of the raw body keyed with the app's client secret, in `X-Shopify-Hmac-Sha256`;
`X-Shopify-Webhook-Id` is the per-delivery id to deduplicate on),
https://shopify.dev/changelog/updates-to-webhook-retry-mechanism (8 retries over 4 hours with
the original payload; `X-Shopify-Triggered-At` tells how stale a delivery is) and
https://shopify.dev/docs/apps/build/privacy-law-compliance (`customers/redact`,
`shop/redact`).

`X-Shopify-Event-Id` is shared by every delivery of one merchant action (one per
subscription), so it is kept beside the delivery but is not the deduplication key.
"""

from integration_assets.connectors.webhooks import (
    IdsFilter,
    WebhookSignature,
    WebhookSpec,
    WebhookTimestamp,
    WebhookTopic,
)

SHOPIFY_RETRY_WINDOW_SECONDS = 4 * 3600
"""Shopify retries a failed delivery 8 times over 4 hours, always with the first payload."""


CUSTOMER_OMITS = (
    "tags",
    "email_marketing_consent",
    "sms_marketing_consent",
    "last_order_id",
    "last_order_name",
    "total_spent",
    "orders_count",
)
"""What customer payloads lack since 2025-01 (each now has its own topic):
https://shopify.dev/changelog/new-customer-s-webhook-and-changes-to-existing-customer-s-webhooks-payload"""


def _topics() -> tuple[WebhookTopic, ...]:
    topics: list[WebhookTopic] = []
    changes = {
        "customers": ("create", "update", "enable", "disable"),
        "orders": (
            "create",
            "updated",
            "paid",
            "cancelled",
            "fulfilled",
            "partially_fulfilled",
        ),
        "products": ("create", "update"),
    }
    for entity, actions in changes.items():
        topics += [
            WebhookTopic(
                topic=f"{entity}/{a}",
                entity=entity,
                kind="upsert",
                record_id_path="id",
                omits=CUSTOMER_OMITS if entity == "customers" else (),
            )
            for a in actions
        ]
        # A delete delivery's body is only `{"id": …}`.
        topics.append(
            WebhookTopic(
                topic=f"{entity}/delete", entity=entity, kind="delete", record_id_path="id"
            )
        )
    topics += [
        WebhookTopic(
            topic="customers/redact",
            entity="customers",
            kind="redact",
            record_id_path="customer.id",
        ),
        WebhookTopic(topic="shop/redact", entity=None, kind="redact", record_id_path="shop_id"),
    ]
    return tuple(topics)


SHOPIFY_WEBHOOKS = WebhookSpec(
    signature=WebhookSignature(header="X-Shopify-Hmac-Sha256", encoding="base64", signed="body"),
    timestamp=WebhookTimestamp(
        header="X-Shopify-Triggered-At",
        format="iso8601",
        meaning="triggered",
        retry_window_seconds=SHOPIFY_RETRY_WINDOW_SECONDS,
    ),
    topics=_topics(),
    topic_header="X-Shopify-Topic",
    delivery_id_header="X-Shopify-Webhook-Id",
    event_id_header="X-Shopify-Event-Id",
    api_version_header="X-Shopify-API-Version",
    shop_domain_header="X-Shopify-Shop-Domain",
    shop_domain_suffix=".myshopify.com",
    payload_api="rest",
    # REST listings take `ids` (comma-separated, up to 250); the GraphQL search syntax ORs
    # `id:` terms.
    ids_filters={
        "rest": IdsFilter(param="ids", batch=250),
        "graphql": IdsFilter(param="query", term="id:{id}", separator=" OR ", batch=50),
    },
    docs_url="https://shopify.dev/docs/apps/build/webhooks/delivery-structure",
)
