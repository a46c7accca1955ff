"""Klaviyo API, revision 2024-10-15.

Docs: https://developers.klaviyo.com/en/reference/api_overview. Gotchas encoded here: every
request needs a `revision` header; bodies are JSON:API (`data[].attributes`) and the next page
is the absolute URL in `links.next`; filters use the JSON:API `filter=greater-than(field,value)`
syntax; each endpoint has its own burst/steady budget (profiles: 75/s burst, 700/min steady;
events: 350/s burst, 3,500/min steady); events are append-only and, in this revision, take no
`page[size]` (always 200 per page).
"""

from integration_assets.connectors.spec import (
    AuthSpec,
    ConnectorSpec,
    EntitySpec,
    IncrementalSpec,
    PaginatorSpec,
    RateLimitSpec,
)

KLAVIYO = ConnectorSpec(
    vendor="klaviyo",
    title="Klaviyo",
    default_base_url="https://a.klaviyo.com",
    api_prefix="/api",
    auth=AuthSpec(headers={"Authorization": "Klaviyo-API-Key {api_key}"}, secrets=("api_key",)),
    headers={"revision": "2024-10-15", "Accept": "application/vnd.api+json"},
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
    docs_url="https://developers.klaviyo.com/en/reference/api_overview",
)
