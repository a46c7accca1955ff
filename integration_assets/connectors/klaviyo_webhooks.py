"""Klaviyo system webhooks, as documented.

Source: https://developers.klaviyo.com/en/docs/working_with_system_webhooks. Each request
carries `Klaviyo-Signature` (hex HMAC-SHA256 keyed with the webhook's secret over the raw
body followed by the `Klaviyo-Timestamp` value as sent), `Klaviyo-Timestamp` (when this
request was sent, an HTTP date such as `Thu, 04 Jan 2024 18:05:25 GMT`) and
`Klaviyo-Webhook-Id`, which must equal `meta.klaviyo_webhook_id` in the body ("if these
values do not match, ... you should not process the webhook"). The body batches events:
`data` is a list of `{topic, external_id, payload}`, `external_id` the event's id and
`payload` shaped like a Get Event answer. Topics are one per metric of the account
(`event:klaviyo.received_email`, …), so one prefix entry covers them: every one is an event.
"""

from integration_assets.connectors.webhooks import (
    WebhookSignature,
    WebhookSpec,
    WebhookTimestamp,
    WebhookTopic,
)

KLAVIYO_WEBHOOKS = WebhookSpec(
    signature=WebhookSignature(header="Klaviyo-Signature", encoding="hex", signed="body+timestamp"),
    timestamp=WebhookTimestamp(header="Klaviyo-Timestamp", format="http_date", meaning="sent"),
    topics=(
        WebhookTopic(
            topic="event:*", entity="events", kind="upsert", record_id_path="payload.data.id"
        ),
    ),
    batch_path="data",
    item_topic_path="topic",
    item_id_path="external_id",
    account_id_header="Klaviyo-Webhook-Id",
    account_id_path="meta.klaviyo_webhook_id",
    record_path="payload.data",
    docs_url="https://developers.klaviyo.com/en/docs/working_with_system_webhooks",
)
