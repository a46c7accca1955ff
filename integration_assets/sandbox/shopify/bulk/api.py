"""Bulk operations in the GraphQL Admin API 2026-10 schema: SDL and resolvers.

Served (names, arguments and types as in Shopify's 2026-10 reference):

    mutation { bulkOperationRunQuery(query: String!, groupObjects: Boolean! = false)
               { bulkOperation { …BulkOperation } userErrors { field message code } } }
    mutation { bulkOperationCancel(id: ID!) { bulkOperation { … } userErrors { field message } } }
    query    { bulkOperation(id: ID!) { … } }             # the 2026-01+ way to poll one
    query    { bulkOperations(first:, after:, query:, sortKey:, reverse:) { edges { node { … } } } }
    query    { currentBulkOperation(type: QUERY) { … } }  # deprecated, still served
    query    { node(id: "gid://shopify/BulkOperation/1") { ... on BulkOperation { … } } }

`bulkOperationRunQuery` checks the inner query (`rules`), refuses a sixth concurrent query
with LIMIT_REACHED, and otherwise answers at once with the CREATED operation while a runner
thread reads a frozen copy of the shop (`snapshot`) and writes the JSONL file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode

from integration_assets.sandbox.shopify.bulk.listing import list_operations
from integration_assets.sandbox.shopify.bulk.operations import (
    BulkOperation,
    BulkOperations,
    to_graphql,
)
from integration_assets.sandbox.shopify.bulk.paging import page_query
from integration_assets.sandbox.shopify.bulk.rules import BulkQueryError, Connection, analyse
from integration_assets.sandbox.shopify.bulk.runner import BulkRunner, Execute, ExecutionFailed
from integration_assets.sandbox.shopify.bulk.snapshot import frozen_shop
from integration_assets.sandbox.shopify.graphql.executor import execute
from integration_assets.sandbox.shopify.graphql.schema import Resolver, SchemaExtension

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

SDL = '''
"""
An asynchronous operation that exports large datasets or imports data in bulk. After
creation, check the `status` field to track progress. When completed, the `url` field
contains a link to download results in JSONL format.
"""
type BulkOperation implements Node {
  """When the bulk operation was successfully completed."""
  completedAt: DateTime
  """When the bulk operation was created."""
  createdAt: DateTime!
  """Error code for failed operations."""
  errorCode: BulkOperationErrorCode
  """File size in bytes of the file in the `url` field."""
  fileSize: UnsignedInt64
  """A globally-unique ID."""
  id: ID!
  """The running count of all objects processed."""
  objectCount: UnsignedInt64!
  """The URL that points to the partial or incomplete response data (in JSONL format)."""
  partialDataUrl: URL
  """GraphQL query document specified in `bulkOperationRunQuery`."""
  query: String!
  """The running count of all objects processed at the root of the query."""
  rootObjectCount: UnsignedInt64!
  """Status of the bulk operation."""
  status: BulkOperationStatus!
  """The bulk operation's type."""
  type: BulkOperationType!
  """The URL that points to the response data in JSONL format."""
  url: URL
}

"""Error codes for failed bulk operations."""
enum BulkOperationErrorCode {
  ACCESS_DENIED
  INTERNAL_SERVER_ERROR
  TIMEOUT
}

"""The valid values for the status of a bulk operation."""
enum BulkOperationStatus {
  CANCELED
  CANCELING
  COMPLETED
  CREATED
  EXPIRED
  FAILED
  RUNNING
}

"""The valid values for the bulk operation's type."""
enum BulkOperationType {
  MUTATION
  QUERY
}

"""Possible error codes that can be returned by `BulkOperationUserError`."""
enum BulkOperationUserErrorCode {
  INVALID
  LIMIT_REACHED
  OPERATION_IN_PROGRESS
}

"""An error in the input of a mutation."""
type BulkOperationUserError {
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}

"""Represents an error in the input of a mutation."""
type UserError {
  field: [String!]
  message: String!
}

"""Return type for `bulkOperationRunQuery` mutation."""
type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}

"""Return type for `bulkOperationCancel` mutation."""
type BulkOperationCancelPayload {
  bulkOperation: BulkOperation
  userErrors: [UserError!]!
}

type BulkOperationEdge {
  cursor: String!
  node: BulkOperation!
}

type BulkOperationConnection {
  edges: [BulkOperationEdge!]!
  nodes: [BulkOperation!]!
  pageInfo: PageInfo!
}

"""The set of valid sort keys for the BulkOperation query."""
enum BulkOperationsSortKeys {
  COMPLETED_AT
  CREATED_AT
  ID
  STATUS
}

"""The schema's entry point for all mutation operations."""
type Mutation {
  """Starts the cancelation process of a running bulk operation."""
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
  """Creates and runs a bulk operation to fetch data asynchronously."""
  bulkOperationRunQuery(groupObjects: Boolean! = false, query: String!): BulkOperationRunQueryPayload
}

extend type QueryRoot {
  """Returns a `BulkOperation` resource by ID."""
  bulkOperation(id: ID!): BulkOperation
  """Returns the app's bulk operations meeting the specified filters."""
  bulkOperations(after: String, before: String, first: Int, last: Int, query: String, reverse: Boolean = false, sortKey: BulkOperationsSortKeys = CREATED_AT): BulkOperationConnection!
  """Returns the current app's most recent BulkOperation."""
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation @deprecated(reason: "Use `bulkOperations` with status filter instead.")
}
'''


def _registry(info: Any) -> BulkOperations:
    registry: BulkOperations = info.context.simulator.bulk
    return registry


def _object(registry: BulkOperations, operation: BulkOperation | None) -> dict[str, Any] | None:
    return None if operation is None else to_graphql(registry, operation)


def _run_query(_root: Any, info: Any, query: str, groupObjects: bool = False) -> dict[str, Any]:
    simulator: ShopifySimulator = info.context.simulator
    registry = simulator.bulk
    analysed = analyse(query, simulator.graphql.schema)
    if isinstance(analysed, list):
        return {"bulkOperation": None, "userErrors": [error.to_json() for error in analysed]}
    created = registry.create(query, groupObjects)
    if isinstance(created, BulkQueryError):
        return {"bulkOperation": None, "userErrors": [created.to_json()]}
    answer = _object(registry, created)
    paged = page_query(analysed, registry.nested_page)
    runner = BulkRunner(
        registry, created, paged, _bound(frozen_shop(simulator)), _parent_types(paged.root)
    )
    registry.launch(created, runner.run)
    return {"bulkOperation": answer, "userErrors": []}


def _bound(shop: ShopifySimulator) -> Execute:
    """The executor over a frozen shop, raising on GraphQL errors."""

    def run(document: DocumentNode, variables: dict[str, Any]) -> dict[str, Any]:
        outcome = execute(shop, document, variables)
        if outcome.result.errors:
            raise ExecutionFailed("; ".join(error.message for error in outcome.result.errors))
        return outcome.result.data or {}

    return run


def _parent_types(root: Connection) -> dict[int, str]:
    """For each nested connection (by identity), the type of the node it hangs from."""
    found: dict[int, str] = {}

    def visit(connection: Connection) -> None:
        for child in connection.children:
            found[id(child)] = connection.node_type
            visit(child)

    visit(root)
    return found


def _cancel(_root: Any, info: Any, id: str) -> dict[str, Any]:
    registry = _registry(info)
    operation, problem = registry.cancel(id)
    if problem is None:
        return {"bulkOperation": _object(registry, operation), "userErrors": []}
    field = ["id"] if operation is None else None
    return {
        "bulkOperation": _object(registry, operation),
        "userErrors": [{"field": field, "message": problem}],
    }


def _bulk_operation(_root: Any, info: Any, id: str) -> dict[str, Any] | None:
    registry = _registry(info)
    return _object(registry, registry.get(id))


def _current(_root: Any, info: Any, type: str = "QUERY") -> dict[str, Any] | None:
    registry = _registry(info)
    operations = [op for op in registry.all() if op.type == type]
    return _object(registry, operations[-1] if operations else None)


def _lookup(simulator: ShopifySimulator, number: int) -> dict[str, Any] | None:
    """`node(id:)` / `nodes(ids:)` for `gid://shopify/BulkOperation/<number>`."""
    registry = simulator.bulk
    return _object(registry, registry.get(str(number)))


RESOLVERS: Mapping[str, Mapping[str, Resolver]] = {
    "Mutation": {"bulkOperationRunQuery": _run_query, "bulkOperationCancel": _cancel},
    "QueryRoot": {
        "bulkOperation": _bulk_operation,
        "currentBulkOperation": _current,
        "bulkOperations": list_operations,
    },
}


def bulk_extension() -> SchemaExtension:
    """The SDL and resolvers to register with the shop's GraphQL executor."""
    return SchemaExtension(SDL, RESOLVERS, nodes={"BulkOperation": _lookup})
