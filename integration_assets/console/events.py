"""A verified delivery becomes inbox events: one per delivery, or one per batched event.

One-event vendors (Shopify): the topic and the delivery id come from headers and the body is
stored exactly as received. Batched vendors (Klaviyo): each item of the batch is an event
with its own topic and id (the id the vendor keeps across retries, which may re-batch), and
is stored as its own JSON; the signature, already checked, covered the whole body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.datastructures import Headers

from integration_assets.connectors.webhooks import WebhookSpec
from integration_assets.console.secrets import WebhookReceiver
from integration_assets.console.verify import Refused
from integration_assets.load.inbox import InboxEvent
from integration_assets.paths import lookup_optional

MAX_ID_LENGTH = 512


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_ID_LENGTH else None


def _record_id(
    spec: WebhookSpec, topic: str, document: Any
) -> tuple[str | None, str | None, str | None]:
    """(entity, kind, record id) for `topic`; all None when the spec does not map it."""
    entry = spec.topic(topic)
    if entry is None:
        return None, None, None
    record = lookup_optional(document, entry.record_id_path) if entry.record_id_path else None
    return entry.entity, entry.kind, _text(record)


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(400, "the body is not JSON") from None


def events_from_delivery(
    receiver: WebhookReceiver, headers: Headers, body: bytes, timestamp: datetime
) -> list[InboxEvent]:
    """The inbox events of one verified delivery; Refused(400/401) when its shape is wrong."""
    spec = receiver.spec
    document = _parse_json(body)
    if spec.account_id_header is not None and spec.account_id_path is not None:
        claimed = headers.get(spec.account_id_header)
        if not claimed or _text(lookup_optional(document, spec.account_id_path)) != claimed:
            raise Refused(401, f"{spec.account_id_header} does not match the body")
    if receiver.shop_domain is not None and spec.shop_domain_header is not None:
        named = (headers.get(spec.shop_domain_header) or "").strip().lower()
        if named != receiver.shop_domain:
            raise Refused(401, f"{spec.shop_domain_header} names another shop")
    api_version = headers.get(spec.api_version_header) if spec.api_version_header else None
    common = {
        "connection": receiver.connection,
        "vendor": receiver.vendor,
        "api_version": api_version,
        "triggered_at": timestamp,
    }
    if spec.batch_path is None:
        return [_single(spec, headers, body, document, common)]
    return _batch(spec, document, common)


def _single(
    spec: WebhookSpec, headers: Headers, body: bytes, document: Any, common: dict[str, Any]
) -> InboxEvent:
    assert spec.topic_header is not None and spec.delivery_id_header is not None
    topic = _text(headers.get(spec.topic_header))
    delivery_id = _text(headers.get(spec.delivery_id_header))
    if topic is None or delivery_id is None:
        raise Refused(400, f"missing {spec.topic_header} or {spec.delivery_id_header}")
    entity, kind, record_id = _record_id(spec, topic, document)
    event_id = _text(headers.get(spec.event_id_header)) if spec.event_id_header else None
    return InboxEvent(
        topic=topic,
        delivery_id=delivery_id,
        body=body,
        entity=entity,
        kind=kind,
        record_id=record_id,
        event_id=event_id,
        **common,
    )


def _batch(spec: WebhookSpec, document: Any, common: dict[str, Any]) -> list[InboxEvent]:
    assert spec.batch_path and spec.item_topic_path and spec.item_id_path
    items = lookup_optional(document, spec.batch_path)
    if not isinstance(items, list):
        raise Refused(400, f"the body has no {spec.batch_path} list")
    events: list[InboxEvent] = []
    for item in items:
        topic = _text(lookup_optional(item, spec.item_topic_path))
        delivery_id = _text(lookup_optional(item, spec.item_id_path))
        if topic is None or delivery_id is None:
            raise Refused(400, f"an event lacks {spec.item_topic_path} or {spec.item_id_path}")
        entity, kind, record_id = _record_id(spec, topic, item)
        events.append(
            InboxEvent(
                topic=topic,
                delivery_id=delivery_id,
                body=orjson.dumps(item),
                entity=entity,
                kind=kind,
                record_id=record_id,
                **common,
            )
        )
    return events
