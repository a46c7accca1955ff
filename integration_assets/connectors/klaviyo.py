"""Klaviyo API, revision 2024-10-15.

Docs: https://developers.klaviyo.com/en/reference/api_overview. Gotchas encoded here: every
request needs a `revision` header; bodies are JSON:API (`data[].attributes`) and the next page
is the absolute URL in `links.next`; filters use the JSON:API `filter=greater-than(field,value)`
syntax; each endpoint has its own burst/steady budget (profiles: 75/s burst, 700/min steady;
events: 350/s burst, 3,500/min steady); events are append-only and, in this revision, take no
`page[size]` (always 200 per page). JSON:API sparse fieldsets (`fields[profile]=updated`)
cut attributes but always keep `id`: that is how an id walk finds deleted profiles.

Revisions (https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy):
each is stable for a year, then deprecated for a year, then retired, two years after its
release date. Klaviyo documents no header announcing a deprecation, so the sunset is computed
from the revision's date (`connectors/versions.py`).
"""

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

REVISION = "2024-10-15"

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

KLAVIYO = ConnectorSpec(
    vendor="klaviyo",
    title="Klaviyo",
    api="API",
    default_base_url="https://a.klaviyo.com",
    api_prefix="/api",
    auth=AuthSpec(headers={"Authorization": "Klaviyo-API-Key {api_key}"}, secrets=("api_key",)),
    headers={"revision": "{version}", "Accept": "application/vnd.api+json"},
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
    # and capacity + 60 * refill <= steady per minute (profiles: 75/s, 700/min).
    rate_limit=RateLimitSpec(capacity=63, refill_per_second=10.6),
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
            sends_page_size=False,
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
)
