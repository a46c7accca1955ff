"""The executor other features build on: schema extensions and unbounded (bulk) execution."""

from __future__ import annotations

from typing import Any

from integration_assets.sandbox import ShopifySimulator
from integration_assets.sandbox.shopify.graphql import (
    CostCalculator,
    Executor,
    SchemaExtension,
    execute,
)
from integration_assets.sandbox.shopify.graphql.executor import parse_and_validate

BULK_SDL = """
type BulkOperation implements Node { id: ID! status: String! }
type Mutation { bulkOperationRunQuery(query: String!): BulkOperation }
"""


def _extended() -> ShopifySimulator:
    simulator = ShopifySimulator(sizes={"customers": 600, "orders": 5, "products": 3})
    # A bare executor: this story is about the extension mechanism, not what the shop registers.
    simulator.graphql = Executor()

    def run(_root: Any, info: Any, query: str) -> dict[str, Any]:
        outcome = execute(info.context.simulator, query, unbounded=True)
        count = len(outcome.result.data["customers"]["edges"])
        return {
            "__typename": "BulkOperation",
            "id": f"gid://shopify/BulkOperation/{count}",
            "status": "COMPLETED",
        }

    def lookup(_simulator: ShopifySimulator, number: int) -> dict[str, Any]:
        return {
            "__typename": "BulkOperation",
            "id": f"gid://shopify/BulkOperation/{number}",
            "status": "COMPLETED",
        }

    simulator.graphql.extend(
        SchemaExtension(
            BULK_SDL,
            resolvers={"Mutation": {"bulkOperationRunQuery": run}},
            nodes={"BulkOperation": lookup},
        )
    )
    return simulator


def test_an_extension_adds_a_mutation_root_whose_runs_see_every_record() -> None:
    simulator = _extended()
    mutation = 'mutation { bulkOperationRunQuery(query: "{ customers { edges { node { id } } } }") { id status } }'

    result = execute(simulator, mutation).result

    assert result.errors is None
    assert result.data == {
        "bulkOperationRunQuery": {"id": "gid://shopify/BulkOperation/600", "status": "COMPLETED"}
    }


def test_a_mutation_is_requested_at_ten_points() -> None:
    simulator = _extended()
    document, errors = parse_and_validate(
        simulator.graphql.schema, 'mutation { bulkOperationRunQuery(query: "{}") { id status } }'
    )
    assert document is not None and not errors

    assert CostCalculator(simulator.graphql.schema, document).requested() == 10


def test_node_finds_the_extension_objects_by_global_id() -> None:
    simulator = _extended()

    result = execute(
        simulator,
        '{ node(id: "gid://shopify/BulkOperation/7") { ... on BulkOperation { status } } }',
    ).result

    assert result.data == {"node": {"status": "COMPLETED"}}


def test_bounded_execution_still_requires_first_or_last() -> None:
    simulator = _extended()

    result = execute(simulator, "{ customers { edges { node { id } } } }").result

    assert result.data is None
    assert [error.message for error in result.errors or []] == [
        "you must provide one of first or last"
    ]
