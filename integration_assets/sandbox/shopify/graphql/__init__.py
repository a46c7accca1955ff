"""Shopify GraphQL Admin API 2026-10 for the simulated shop: a second view of the same records.

The REST simulator and this one read the same entity stores, so a REST listing and a GraphQL
listing of the same shop at the same simulated time describe the same records: ids equal as
numbers (`123` ↔ `gid://shopify/Customer/123`), timestamps equal as instants, amounts equal
as decimals, `"paid"` ↔ `PAID`, `"a, b"` ↔ `["a", "b"]`.

Modules, one job each: `schema` (the SDL and how extensions merge into it), `views` (REST
record → GraphQL object), `connections` (paging the store, cursors), `search` (the `query:`
syntax), `cost` (requested and actual query cost), `throttle` (the cost bucket), `executor`
(run a document against the shop), `errors` (error shapes), `endpoint` (the HTTP exchange).

For other features (bulk operations):

    from integration_assets.sandbox.shopify.graphql import SchemaExtension, execute
    simulator.graphql.extend(SchemaExtension(sdl="type Mutation { … }", resolvers={…},
                                             costs={"Mutation.bulkOperationRunQuery": 10}))
    outcome = execute(simulator, "query { customers { edges { node { id } } } }",
                      unbounded=True)    # connections return every match, streamed
    outcome.result.data, outcome.result.errors

Call `execute` holding `simulator.lock` when the server runs in another thread.
"""

from integration_assets.sandbox.shopify.graphql.context import Context
from integration_assets.sandbox.shopify.graphql.cost import CostCalculator
from integration_assets.sandbox.shopify.graphql.endpoint import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    GraphQLEndpoint,
    served_version,
)
from integration_assets.sandbox.shopify.graphql.executor import (
    Executor,
    Outcome,
    execute,
    parse_and_validate,
)
from integration_assets.sandbox.shopify.graphql.schema import SDL, SchemaExtension
from integration_assets.sandbox.shopify.graphql.throttle import CostBucket, CostLimits
from integration_assets.sandbox.shopify.graphql.views import gid, parse_gid

__all__ = [
    "LATEST_VERSION",
    "SDL",
    "SUPPORTED_VERSIONS",
    "Context",
    "CostBucket",
    "CostCalculator",
    "CostLimits",
    "Executor",
    "GraphQLEndpoint",
    "Outcome",
    "SchemaExtension",
    "execute",
    "gid",
    "parse_and_validate",
    "parse_gid",
    "served_version",
]
