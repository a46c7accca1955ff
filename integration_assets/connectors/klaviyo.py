"""Klaviyo API, revision 2026-10-15.

Docs: https://developers.klaviyo.com/en/reference/api_overview. Gotchas encoded here: every
request needs a `revision` header (`REVISION`, the one place it is written); bodies are
JSON:API (`data[].attributes`) and the next page is the absolute URL in `links.next`; filters
use the JSON:API `filter=greater-than(field,value)` syntax; each endpoint has its own
burst/steady budget (profiles: 75/s burst, 750/min steady since 2026-01-15; events: 350/s
burst, 3,500/min steady); events are append-only and, since 2026-01-15, take `page[size]` up to
1,000 (default 200). JSON:API sparse fieldsets (`fields[profile]=updated`) cut attributes but
always keep `id`: that is how an id walk finds deleted profiles.

A revision is retired two years after its release, and Klaviyo then answers it as the oldest
revision still supported ("fall-forward"): 200s in a shape this connector was not written for.
`X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1` turns that silent drift into a 410 naming the
revision, so a sync pinned to a retired revision fails loudly instead of loading other data.
Source: https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy

Each revision is stable for a year, then deprecated for a year, then retired. Klaviyo
documents no header announcing a deprecation, so the sunset is computed from the revision's
date (`connectors/versions.py`).
"""

from integration_assets.connectors.klaviyo_webhooks import KLAVIYO_WEBHOOKS
from integration_assets.connectors.spec import (
    AuthSpec,
    ConnectorSpec,
    EntitySpec,
    IncrementalSpec,
    PaginatorSpec,
    PersonReference,
    PersonSpec,
    RateLimitSpec,
)
from integration_assets.connectors.versions import VersionPolicy

KLAVIYO_VERSION_POLICY = VersionPolicy(
    scheme="date",
    cadence_months=3,
    deprecated_after_months=12,
    retired_after_months=24,
    placement="header",
    header="revision",
    # A retired revision is answered as the oldest supported one unless the request opts out
    # (the opt-out makes it a 410 instead).
    falls_forward=True,
    docs_url="https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy",
)

REVISION = "2026-10-15"
"""The Klaviyo API revision every request names; supported until 2028-10-15."""

KLAVIYO = ConnectorSpec(
    vendor="klaviyo",
    title="Klaviyo",
    api="API",
    default_base_url="https://a.klaviyo.com",
    api_prefix="/api",
    auth=AuthSpec(headers={"Authorization": "Klaviyo-API-Key {api_key}"}, secrets=("api_key",)),
    headers={
        "revision": "{version}",
        "X-Klaviyo-Revision-Fall-Forward-Opt-Out": "1",
        "Accept": "application/vnd.api+json",
    },
    version=REVISION,
    version_policy=KLAVIYO_VERSION_POLICY,
    paginator=PaginatorSpec(
        kind="json_next_link",
        next_path="links.next",
        page_size_param="page[size]",
        page_size=100,
        max_page_size=100,
    ),
    # One leaky bucket honours both of Klaviyo's windows: capacity + refill <= burst per second
    # and capacity + 60 * refill <= steady per minute (profiles: 75/s, 750/min).
    rate_limit=RateLimitSpec(capacity=63, refill_per_second=11.4),
    entities=(
        EntitySpec(
            name="profiles",
            path="profiles/",
            records_path="data",
            incremental=IncrementalSpec(
                cursor_field="attributes.updated",
                params={"filter": "greater-than(updated,{since})"},
            ),
            # A sparse fieldset must name at least one attribute; `updated` is small and not
            # personal. `id` is not an attribute and is always returned.
            ids_only_params={"fields[profile]": "updated"},
            description="Klaviyo profiles (people) with location and custom properties.",
        ),
        EntitySpec(
            name="events",
            path="events/",
            records_path="data",
            append_only=True,
            # The largest page Get Events serves: a fifth of the requests of its default 200.
            page_size=1000,
            max_page_size=1000,
            # 350/s burst, 3,500/min steady, folded into one bucket as for profiles.
            rate_limit=RateLimitSpec(capacity=297, refill_per_second=53.0),
            incremental=IncrementalSpec(
                cursor_field="attributes.datetime",
                params={"filter": "greater-than(datetime,{since})"},
            ),
            description="Klaviyo events (append-only activity), linked to a profile and metric.",
        ),
    ),
    # A profile is a person; an event points at its profile, and its free-form
    # `event_properties` may carry the person's data ($email, $phone_number, addresses).
    person=PersonSpec(
        entity="profiles",
        references=(
            PersonReference(
                entity="events",
                path="relationships.profile.data.id",
                personal_fields=("attributes.event_properties",),
            ),
        ),
    ),
    docs_url="https://developers.klaviyo.com/en/reference/api_overview",
    webhooks=KLAVIYO_WEBHOOKS,
)
