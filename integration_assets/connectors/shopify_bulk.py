"""Shopify GraphQL Admin API 2026-10 bulk query operations, as data for `extract/export.py`.

Docs: https://shopify.dev/docs/api/usage/bulk-operations/queries and the reference pages of
`bulkOperationRunQuery`, `bulkOperation`, `bulkOperationCancel`, `BulkOperationStatus`,
`BulkOperationErrorCode` and `BulkOperationUserErrorCode` (2026-10). What is encoded here:

- `bulkOperationRunQuery(query:, groupObjects:)` starts an operation; the answer holds
  `bulkOperation` and `userErrors { field message code }`. Since 2026-01 an app may run up to
  five bulk queries at a time per shop; past that the start is refused with the user error
  code `LIMIT_REACHED` (older versions: `OPERATION_IN_PROGRESS`), so we wait and try again.
- `bulkOperation(id:)` (2026-01 and later) polls one operation by id; statuses CREATED,
  RUNNING, CANCELING, then COMPLETED (`url` of the JSONL file, `objectCount` lines,
  `fileSize` bytes), FAILED (`errorCode` ACCESS_DENIED / INTERNAL_SERVER_ERROR / TIMEOUT,
  maybe a `partialDataUrl`), CANCELED or EXPIRED. `url` and `partialDataUrl` are signed and
  expire after seven days.
- `bulkOperationCancel(id:)` starts canceling a running operation.
- `bulkOperations(first:, query:)` (2026-01 and later) lists the app's operations, filtered
  with search syntax (`status:running operation_type:query`), each with its `query` text:
  how a sync finds the operation a crashed sync of the same entity left running.
- The file: one JSON object per line; an item of a nested connection is a line of its own
  with `__parentId` naming its parent. `groupObjects` defaults to false since 2026-01
  (children anywhere in the file); we pass `true`, which the docs say writes each object's
  children directly below it, so a sync holds one order and its line items, not the file.
- Bulk queries: at most five connections, two levels of nesting, no `first`/`pageInfo`; a
  connection is selected as `edges { node { ... } }`.

The selections below are the shared contract's (`GRAPHQL_CONTRACT.md`), so an exported record
has exactly the fields of a paginated one, its connections as plain lists.
"""

from __future__ import annotations

from integration_assets.connectors.spec import ExportSpec

_OPERATION = "id status errorCode createdAt completedAt objectCount fileSize url partialDataUrl"

SHOPIFY_BULK_EXPORT = ExportSpec(
    start_document=(
        "mutation StartExport($query: String!) { bulkOperationRunQuery(query: $query, "
        "groupObjects: true) { bulkOperation { " + _OPERATION + " } "
        "userErrors { field message code } } }"
    ),
    start_payload_path="bulkOperationRunQuery",
    poll_document=("query PollExport($id: ID!) { bulkOperation(id: $id) { " + _OPERATION + " } }"),
    poll_operation_path="bulkOperation",
    cancel_document=(
        "mutation CancelExport($id: ID!) { bulkOperationCancel(id: $id) { "
        "bulkOperation { id status } userErrors { field message } } }"
    ),
    cancel_payload_path="bulkOperationCancel",
    find_document=(
        "query RunningExports { "
        'running: bulkOperations(first: 10, query: "status:running operation_type:query") '
        "{ nodes { " + _OPERATION + " query } } "
        'created: bulkOperations(first: 10, query: "status:created operation_type:query") '
        "{ nodes { " + _OPERATION + " query } } }"
    ),
    find_paths=("running.nodes", "created.nodes"),
    busy_codes=("LIMIT_REACHED", "OPERATION_IN_PROGRESS"),
    refused_codes=("ACCESS_DENIED",),
    poll_interval_seconds=1.0,
    poll_backoff=1.5,
    poll_max_interval_seconds=30.0,
    deadline_seconds=3 * 3600,
)

_MONEY = "shopMoney { amount currencyCode }"

CUSTOMERS_EXPORT_QUERY = (
    "{ customers{since_filter} { edges { node { "
    "id firstName lastName "
    "defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt } "
    "defaultPhoneNumber { phoneNumber marketingState } "
    "state verifiedEmail taxExempt tags note locale numberOfOrders "
    "amountSpent { amount currencyCode } lastOrder { id } createdAt updatedAt "
    "defaultAddress { id company address1 address2 city province provinceCode countryCodeV2 "
    "zip phone } "
    "} } } }"
)

ORDERS_EXPORT_QUERY = (
    "{ orders{since_filter} { edges { node { "
    "id name number email phone customer { id } "
    "displayFinancialStatus displayFulfillmentStatus currencyCode "
    f"subtotalPriceSet {{ {_MONEY} }} totalPriceSet {{ {_MONEY} }} "
    f"totalTaxSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }} totalShippingPriceSet {{ {_MONEY} }} "
    f"totalTipReceivedSet {{ {_MONEY} }} "
    "tags note cancelReason createdAt updatedAt processedAt closedAt cancelledAt "
    "lineItems { edges { node { "
    "id title variantTitle sku vendor quantity product { id } variant { id } "
    f"originalUnitPriceSet {{ {_MONEY} }} totalDiscountSet {{ {_MONEY} }} "
    "} } } "
    "} } } }"
)

PRODUCTS_EXPORT_QUERY = (
    "{ products{since_filter} { edges { node { "
    "id title vendor productType handle status tags createdAt updatedAt publishedAt "
    "variants { edges { node { "
    "id title sku barcode price compareAtPrice position selectedOptions { name value } "
    "inventoryItem { id } inventoryQuantity createdAt updatedAt "
    "} } } "
    "} } } }"
)

SINCE_FILTER = "(query: \"updated_at:>='{since}'\")"
"""The incremental filter of an export (Shopify search syntax), as in the paginated walk."""
