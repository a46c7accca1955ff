"""Shopify GraphQL Admin API, version 2026-10: the default API of Shopify connections.

Docs: https://shopify.dev/docs/api/admin-graphql/2026-10. Gotchas encoded here:

- One endpoint, `POST /admin/api/2026-10/graphql.json` with `{query, variables}`; listings are
  Relay connections (`nodes` plus `pageInfo {hasNextPage endCursor}`), paged with the
  variables `first` (at most 250) and `after`.
- Incremental: the search syntax `query: "updated_at:>='…'"` with `sortKey: UPDATED_AT`, so a
  walk follows time as the REST `updated_at_min` did.
- Errors come inside a 200 (`errors[].extensions.code`): `THROTTLED` when the bucket lacks
  the query's requested cost, `INTERNAL_SERVER_ERROR` for a fault on Shopify's side,
  `ACCESS_DENIED` for a missing scope, `MAX_COST_EXCEEDED` for a query above 1000 points.
- The budget is in cost points (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
  a leaky bucket per app and shop, 100 points/second restored on the Standard plan, a query
  charged its requested cost up front and refunded the unused part; every answer reports the
  bucket in `extensions.cost.throttleStatus`, so a bigger plan is picked up from the answers.
  It is a budget apart from the REST one (the limiter keys them apart).
- Nested connections (an order's line items, a product's variants) are cut at their own
  `first`; the rest is read through `node(id:)` follow-up queries.
- Records keep Shopify's camelCase names and GID ids; the extract stage turns every nested
  connection into a plain list (see the GraphQL contract). Redaction is given the numeric id
  and finds the GID through `PersonSpec.raw_id`.
- As in REST, an app without the `read_all_orders` scope sees only the last 60 days of
  orders: the token's scopes, not this spec, decide how far back a walk reaches.
"""

from integration_assets.connectors.shopify import SHOPIFY_VERSION_POLICY, VERSION
from integration_assets.connectors.shopify_bulk import (
    CUSTOMERS_EXPORT_QUERY,
    ORDERS_EXPORT_QUERY,
    PRODUCTS_EXPORT_QUERY,
    SHOPIFY_BULK_EXPORT,
    SINCE_FILTER,
)
from integration_assets.connectors.shopify_webhooks import SHOPIFY_WEBHOOKS
from integration_assets.connectors.spec import (
    AuthSpec,
    ConnectorSpec,
    CostReportSpec,
    EntitySpec,
    GraphQLErrorSpec,
    GraphQLSpec,
    IncrementalSpec,
    NestedConnectionSpec,
    PaginatorSpec,
    PersonReference,
    PersonSpec,
    RateLimitSpec,
)

_MONEY = "shopMoney { amount currencyCode }"

CUSTOMER_FIELDS = """
  id firstName lastName
  defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
  defaultPhoneNumber { phoneNumber marketingState }
  state verifiedEmail taxExempt tags note locale numberOfOrders
  amountSpent { amount currencyCode }
  lastOrder { id }
  createdAt updatedAt
  defaultAddress { id company address1 address2 city province provinceCode countryCodeV2 zip phone }
"""

LINE_ITEM_FIELDS = f"""
  id title variantTitle sku vendor quantity product {{ id }} variant {{ id }}
  originalUnitPriceSet {{ {_MONEY} }} totalDiscountSet {{ {_MONEY} }}
"""

VARIANT_FIELDS = """
  id title sku barcode price compareAtPrice position selectedOptions { name value }
  inventoryItem { id } inventoryQuantity createdAt updatedAt
"""

LINE_ITEMS_PER_ORDER = 10
"""An order's line items in its listing page; more come through a follow-up query. Small,
because each one multiplies the page's cost (see `extract/graphql_cost.py`)."""
VARIANTS_PER_PRODUCT = 25

ORDER_FIELDS = f"""
  id name number email phone customer {{ id }}
  displayFinancialStatus displayFulfillmentStatus currencyCode
  subtotalPriceSet {{ {_MONEY} }} totalPriceSet {{ {_MONEY} }}
  totalTaxSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }} totalShippingPriceSet {{ {_MONEY} }}
  totalTipReceivedSet {{ {_MONEY} }}
  tags note cancelReason createdAt updatedAt processedAt closedAt cancelledAt
  lineItems(first: {LINE_ITEMS_PER_ORDER}) {{
    nodes {{ {LINE_ITEM_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
"""

PRODUCT_FIELDS = f"""
  id title vendor productType handle status tags createdAt updatedAt publishedAt
  variants(first: {VARIANTS_PER_PRODUCT}) {{
    nodes {{ {VARIANT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
"""


def listing(connection: str, fields: str) -> str:
    """The listing document of one root connection, sorted by update time."""
    return f"""query Sync($first: Int!, $after: String, $query: String) {{
  {connection}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {fields} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def follow_up(type_name: str, field: str, fields: str) -> str:
    """The document reading further pages of one record's nested connection `field`."""
    return f"""query More($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on {type_name} {{
      {field}(first: $first, after: $after) {{
        nodes {{ {fields} }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
  }}
}}"""


_IDS = "id updatedAt"

_UPDATED_SINCE = IncrementalSpec(
    cursor_field="updatedAt",
    params={"query": "updated_at:>='{since}'"},
    since_format="%Y-%m-%dT%H:%M:%SZ",
)

SHOPIFY_GRAPHQL = ConnectorSpec(
    vendor="shopify",
    title="Shopify",
    api_id="graphql",
    request="graphql",
    api="Admin GraphQL API",
    api_prefix="/admin/api/{version}",
    version=VERSION,
    version_policy=SHOPIFY_VERSION_POLICY,
    auth=AuthSpec(headers={"X-Shopify-Access-Token": "{access_token}"}, secrets=("access_token",)),
    headers={"Accept": "application/json"},
    graphql=GraphQLSpec(
        path="graphql.json",
        errors=GraphQLErrorSpec(
            retryable_codes=("INTERNAL_SERVER_ERROR",),
            throttled_codes=("THROTTLED",),
            access_denied_codes=("ACCESS_DENIED",),
            max_cost_codes=("MAX_COST_EXCEEDED",),
        ),
    ),
    paginator=PaginatorSpec(
        kind="graphql_cursor",
        page_size_param="first",
        cursor_param="after",
        page_size=250,
        max_page_size=250,
    ),
    rate_limit=RateLimitSpec(
        unit="cost",
        capacity=2000,
        refill_per_second=100.0,
        max_request_cost=1000,
        cost_report=CostReportSpec(
            requested_path="extensions.cost.requestedQueryCost",
            actual_path="extensions.cost.actualQueryCost",
            available_path="extensions.cost.throttleStatus.currentlyAvailable",
            maximum_path="extensions.cost.throttleStatus.maximumAvailable",
            restore_rate_path="extensions.cost.throttleStatus.restoreRate",
        ),
    ),
    entities=(
        EntitySpec(
            name="customers",
            path="graphql.json",
            records_path="data.customers.nodes",
            export_query=CUSTOMERS_EXPORT_QUERY,
            export_since_filter=SINCE_FILTER,
            query=listing("customers", CUSTOMER_FIELDS),
            ids_query=listing("customers", _IDS),
            incremental=_UPDATED_SINCE,
            description="Shop customers with their default address.",
        ),
        EntitySpec(
            name="orders",
            path="graphql.json",
            records_path="data.orders.nodes",
            depends_on=("customers", "products"),
            export_query=ORDERS_EXPORT_QUERY,
            export_since_filter=SINCE_FILTER,
            export_children={"LineItem": "lineItems"},
            query=listing("orders", ORDER_FIELDS),
            ids_query=listing("orders", _IDS),
            incremental=_UPDATED_SINCE,
            nested_connections=(
                NestedConnectionSpec(
                    field="lineItems",
                    query=follow_up("Order", "lineItems", LINE_ITEM_FIELDS),
                    records_path="data.node.lineItems.nodes",
                ),
            ),
            description="Orders of every status, with their line items.",
        ),
        EntitySpec(
            name="products",
            path="graphql.json",
            records_path="data.products.nodes",
            export_query=PRODUCTS_EXPORT_QUERY,
            export_since_filter=SINCE_FILTER,
            export_children={"ProductVariant": "variants"},
            query=listing("products", PRODUCT_FIELDS),
            ids_query=listing("products", _IDS),
            incremental=_UPDATED_SINCE,
            nested_connections=(
                NestedConnectionSpec(
                    field="variants",
                    query=follow_up("Product", "variants", VARIANT_FIELDS),
                    records_path="data.node.variants.nodes",
                ),
            ),
            description="Products with their variants.",
        ),
    ),
    # As in REST: the customer is a person; an order names its customer and carries their
    # contact details and free text, around amounts the shop must keep.
    person=PersonSpec(
        entity="customers",
        raw_id="gid://shopify/Customer/{id}",
        references=(
            PersonReference(
                entity="orders",
                path="customer.id",
                personal_fields=("customer", "email", "phone", "note"),
            ),
        ),
    ),
    # First syncs and full refreshes read through bulk query operations (`shopify_bulk.py`).
    export=SHOPIFY_BULK_EXPORT,
    docs_url="https://shopify.dev/docs/api/admin-graphql/2026-10",
    webhooks=SHOPIFY_WEBHOOKS,
)
