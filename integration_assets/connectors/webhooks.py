"""A vendor's webhooks, as data: how deliveries are signed, identified and what they concern.

The console (`integration_assets/console/`) interprets this spec, as the extract stage
interprets the rest of `ConnectorSpec`. Every field describes the vendor's documented wire
format; nothing here knows our endpoint.

Two shapes of delivery exist among our vendors:

- one event per request (Shopify): the topic and the delivery id travel in headers, the body
  is the changed resource;
- a batch per request (Klaviyo system webhooks): the body holds `data`, a list of events,
  each with its own topic and id; the request headers carry the signature only.

`topics` maps each topic to the entity it concerns and what happened to it (`upsert`,
`delete`, `redact`). A topic ending in `*` matches every topic with that prefix (Klaviyo's
topics are one per metric of the account, so they cannot all be listed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WebhookKind = Literal["upsert", "delete", "redact"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookTopic(_Frozen):
    """One topic: the entity it concerns (None: the whole account) and what happened.

    `record_id_path` is the dotted path of the concerned record's id inside one event's body
    (the delivery body for Shopify, one item of `data` for Klaviyo), so a consumer knows
    which record to re-read without parsing every topic's shape itself.
    """

    topic: str = Field(min_length=1)
    entity: str | None
    kind: WebhookKind
    record_id_path: str | None = None
    omits: tuple[str, ...] = ()
    """Paths of the record the vendor leaves out of this topic's payload, as documented: when
    the entity's mapping reads one and a payload lacks it, the record is fetched by id."""

    def matches(self, topic: str) -> bool:
        """Whether `topic` is this one (or starts with its prefix, for `prefix*`)."""
        if self.topic.endswith("*"):
            return topic.startswith(self.topic[:-1])
        return topic == self.topic


class WebhookSignature(_Frozen):
    """How a delivery is signed: HMAC-SHA256 keyed with the webhook secret.

    `signed` is what the MAC covers: the raw body, or the raw body followed by the value of
    `timestamp_header` exactly as sent. `encoding` is how the MAC is written in `header`.
    """

    header: str
    encoding: Literal["base64", "hex"]
    signed: Literal["body", "body+timestamp"]

    @property
    def covers_timestamp(self) -> bool:
        return self.signed == "body+timestamp"


class WebhookTimestamp(_Frozen):
    """The header saying when the delivery was made, and what that moment is.

    `meaning`: `sent` is this attempt (a retry carries a new one: Klaviyo), `triggered` is
    the change that caused the delivery (every retry repeats it: Shopify). A triggered
    timestamp legitimately ages by the vendor's whole retry window, `retry_window_seconds`,
    so the console allows that much on top of its tolerance.
    """

    header: str
    format: Literal["iso8601", "http_date"]
    meaning: Literal["sent", "triggered"]
    retry_window_seconds: int = Field(default=0, ge=0)


class IdsFilter(_Frozen):
    """How one of the vendor's APIs lists named records: query parameter `param` (a GraphQL
    variable for a GraphQL API) set to each id through `term` (`{id}`), joined by
    `separator`, at most `batch` ids a listing."""

    param: str
    term: str = "{id}"
    separator: str = ","
    batch: int = Field(default=100, ge=1)

    def params(self, ids: list[str]) -> dict[str, str]:
        return {self.param: self.separator.join(self.term.replace("{id}", i) for i in ids)}


class WebhookSpec(_Frozen):
    """Everything the console needs to accept a vendor's webhooks.

    Per request: `signature`, `timestamp`, and for one-event deliveries `topic_header` and
    `delivery_id_header` (the id that is the same on every retry of one delivery).
    `event_id_header` names an id shared by deliveries of the same change (kept, not used to
    deduplicate). For batched deliveries `batch_path` is the list of events in the body and
    `item_topic_path` / `item_id_path` locate each event's topic and id.
    `account_id_header` / `account_id_path`: a header that must equal a value in the body
    (Klaviyo: `Klaviyo-Webhook-Id` and `meta.klaviyo_webhook_id`), else the delivery is
    refused. `api_version_header`: the API version the payload was serialised with.

    `shop_domain_header` names the account a delivery is about when one secret signs for
    several accounts (a Shopify app's client secret signs every shop's deliveries): when a
    connection's base URL host ends with `shop_domain_suffix` (`.myshopify.com`), the header
    must name that host, so one shop's delivery cannot be filed under another connection.
    """

    signature: WebhookSignature
    timestamp: WebhookTimestamp
    topics: tuple[WebhookTopic, ...]
    topic_header: str | None = None
    delivery_id_header: str | None = None
    event_id_header: str | None = None
    api_version_header: str | None = None
    batch_path: str | None = None
    item_topic_path: str | None = None
    item_id_path: str | None = None
    account_id_header: str | None = None
    account_id_path: str | None = None
    shop_domain_header: str | None = None
    shop_domain_suffix: str | None = None
    payload_api: str | None = None
    """Which of the vendor's APIs an event's record is shaped like, whatever API the
    connection polls with (Shopify: the REST resource); None for a vendor with one API."""
    record_path: str | None = None
    """Where the record is inside one stored event (None: the event body is the record;
    Klaviyo: `payload.data`, the event as Get Event serves it)."""
    ids_filters: dict[str, IdsFilter] = Field(default_factory=dict)
    """Per API id, how to list named records: what fetches a partial payload's record (see
    `WebhookTopic.omits`)."""
    docs_url: str = ""

    @model_validator(mode="after")
    def _one_shape(self) -> WebhookSpec:
        batched = self.batch_path is not None
        if batched and (self.item_topic_path is None or self.item_id_path is None):
            raise ValueError("a batched webhook needs item_topic_path and item_id_path")
        if not batched and (self.topic_header is None or self.delivery_id_header is None):
            raise ValueError("a one-event webhook needs topic_header and delivery_id_header")
        if (self.account_id_header is None) != (self.account_id_path is None):
            raise ValueError("account_id_header and account_id_path go together")
        return self

    def topic(self, name: str) -> WebhookTopic | None:
        """The first topic entry matching `name` (exact entries are listed before prefixes)."""
        for entry in self.topics:
            if entry.matches(name):
                return entry
        return None
