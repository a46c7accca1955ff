"""Shopify Admin REST API, version 2026-10 (by default; a connection may pin another).

Docs: https://shopify.dev/docs/api/admin-rest/2026-10. The REST Admin API is legacy since
2024-10-01 but still released every quarter with the GraphQL one; `/products` is deprecated on
every version (answers carry `X-Shopify-API-Deprecated-Reason`). Versions: a stable version
each quarter (YYYY-01, -04, -07, -10), supported for at least 12 months; a request for a
version no longer supported is answered with the oldest supported one, named in
`X-Shopify-API-Version` (https://shopify.dev/docs/api/usage/versioning). Gotchas encoded here: pagination is
cursor-based through the `Link` header and the next URL must be followed as given (Shopify
refuses filters beside `page_info`); orders hide closed and cancelled ones unless
`status=any`; `fields=id` cuts each record to its id (how deletions are found: listings
never show deleted records, and there are no tombstones); the call budget is a leaky bucket of 40 draining 2 per second per shop, reported
in `X-Shopify-Shop-Api-Call-Limit`.
"""

from integration_assets.connectors.shopify_webhooks import SHOPIFY_WEBHOOKS
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

VERSION = "2026-10"

SHOPIFY_VERSION_POLICY = VersionPolicy(
    scheme="year_month",
    release_months=(1, 4, 7, 10),
    cadence_months=3,
    retired_after_months=12,
    placement="path",
    served_version_header="X-Shopify-API-Version",
    deprecation_header="X-Shopify-API-Deprecated-Reason",
    falls_forward=True,
    docs_url="https://shopify.dev/docs/api/usage/versioning",
)
"""Shared by every Shopify Admin API spec (REST and GraphQL are versioned together)."""

_IDS_ONLY = {"fields": "id"}

_UPDATED_SINCE = IncrementalSpec(
    cursor_field="updated_at",
    params={"updated_at_min": "{since}"},
    since_format="%Y-%m-%dT%H:%M:%S+00:00",
)

SHOPIFY = ConnectorSpec(
    vendor="shopify",
    title="Shopify",
    api="Admin REST API",
    api_prefix="/admin/api/{version}",
    version=VERSION,
    version_policy=SHOPIFY_VERSION_POLICY,
    auth=AuthSpec(headers={"X-Shopify-Access-Token": "{access_token}"}, secrets=("access_token",)),
    headers={"Accept": "application/json"},
    paginator=PaginatorSpec(
        kind="link_header", page_size_param="limit", page_size=250, max_page_size=250
    ),
    rate_limit=RateLimitSpec(
        capacity=40,
        refill_per_second=2.0,
        budget_header="X-Shopify-Shop-Api-Call-Limit",
        budget_header_format="used/limit",
    ),
    entities=(
        EntitySpec(
            name="customers",
            path="customers.json",
            records_path="customers",
            ids_only_params=_IDS_ONLY,
            incremental=_UPDATED_SINCE,
            description="Shop customers with their default address.",
        ),
        EntitySpec(
            name="orders",
            path="orders.json",
            records_path="orders",
            ids_only_params=_IDS_ONLY,
            params={"status": "any"},
            incremental=_UPDATED_SINCE,
            description="Orders of every status, with their line items.",
            depends_on=("customers", "products"),
        ),
        EntitySpec(
            name="products",
            path="products.json",
            records_path="products",
            ids_only_params=_IDS_ONLY,
            incremental=_UPDATED_SINCE,
            description="Products with their variants.",
        ),
    ),
    # `customers/redact`: the customer is a person; an order names its customer and carries
    # contact details, addresses and free text of theirs, around amounts the shop must keep.
    person=PersonSpec(
        entity="customers",
        references=(
            PersonReference(
                entity="orders",
                path="customer.id",
                personal_fields=(
                    "customer",
                    "email",
                    "contact_email",
                    "phone",
                    "billing_address",
                    "shipping_address",
                    "browser_ip",
                    "client_details",
                    "note",
                    "note_attributes",
                ),
            ),
        ),
    ),
    docs_url="https://shopify.dev/docs/api/admin-rest/2026-10",
    webhooks=SHOPIFY_WEBHOOKS,
)
