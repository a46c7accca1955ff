"""Running a GraphQL document against one simulated shop, without HTTP, cost or faults.

`execute(simulator, document, variables)` is the one entry point the HTTP endpoint and the
bulk-operation runner share: parse, validate, execute over the shop's current records. With
`unbounded=True` top-level and nested connections ignore `first`/`last` and the 250 cap and
stream every match, which is how a bulk operation reads a connection.

The executable schema is built once per simulator and set of extensions, since graphql-core's
schema building is far slower than answering a query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    parse,
    validate,
)
from graphql import execute as graphql_execute

from integration_assets.sandbox.shopify.graphql.connections import entity_connection
from integration_assets.sandbox.shopify.graphql.context import Context
from integration_assets.sandbox.shopify.graphql.schema import (
    Resolver,
    SchemaExtension,
    build_executable_schema,
)
from integration_assets.sandbox.shopify.graphql.views import View

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator


def _single(typename: str) -> Resolver:
    def resolve(_root: Any, info: Any, id: str) -> View | None:
        return info.context.views.by_gid(id, typename)

    return resolve


def _node(_root: Any, info: Any, id: str) -> View | None:
    return info.context.views.by_gid(id)


def _nodes(_root: Any, info: Any, ids: list[str]) -> list[View | None]:
    if len(ids) > 250:
        raise GraphQLError("The `ids` argument can't have more than 250 ids.")
    return [info.context.views.by_gid(value) for value in ids]


ROOT_RESOLVERS: Mapping[str, Mapping[str, Resolver]] = {
    "QueryRoot": {
        "customers": entity_connection("customers"),
        "orders": entity_connection("orders"),
        "products": entity_connection("products"),
        "customer": _single("Customer"),
        "order": _single("Order"),
        "product": _single("Product"),
        "node": _node,
        "nodes": _nodes,
    }
}


@dataclass
class Executor:
    """The shop's executable schema plus whatever extensions other features registered."""

    extensions: list[SchemaExtension] = field(default_factory=list)
    _schema: GraphQLSchema | None = None

    def extend(self, extension: SchemaExtension) -> None:
        """Add SDL and resolvers (e.g. the bulk-operation mutations) to the served schema."""
        self.extensions.append(extension)
        self._schema = None

    @property
    def costs(self) -> dict[str, int]:
        """Manual field costs the extensions set ("Type.field" → points)."""
        merged: dict[str, int] = {}
        for extension in self.extensions:
            merged.update(extension.costs)
        return merged

    @property
    def node_lookups(self) -> dict[str, Any]:
        """Global-id type name → lookup, for the extensions' own node types."""
        merged: dict[str, Any] = {}
        for extension in self.extensions:
            merged.update(extension.nodes)
        return merged

    @property
    def schema(self) -> GraphQLSchema:
        """The executable schema, built on first use after each change."""
        if self._schema is None:
            self._schema = build_executable_schema(ROOT_RESOLVERS, self.extensions)
        return self._schema


@dataclass
class Outcome:
    """An execution's result and the context resolvers left behind (search warnings, pages)."""

    result: ExecutionResult
    context: Context
    document: DocumentNode | None = None
    operation_name: str | None = None


def parse_and_validate(
    schema: GraphQLSchema, source: str
) -> tuple[DocumentNode | None, Sequence[GraphQLError]]:
    """The parsed document, or the syntax/validation errors Shopify would list."""
    try:
        document = parse(source)
    except GraphQLError as error:
        return None, [error]
    errors = validate(schema, document)
    return (document if not errors else None), errors


def execute(
    simulator: ShopifySimulator,
    document: str | DocumentNode,
    variables: Mapping[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    unbounded: bool = False,
) -> Outcome:
    """Run one GraphQL request against the shop's current records (hold `simulator.lock`).

    Syntax and validation errors come back in `result.errors` with `data` None, as a GraphQL
    server answers them; resolver errors come back beside partial data.
    """
    context = Context(simulator, unbounded=unbounded)
    schema = simulator.graphql.schema
    if isinstance(document, str):
        parsed, errors = parse_and_validate(schema, document)
        if parsed is None:
            return Outcome(ExecutionResult(None, list(errors)), context)
        document = parsed
    result = graphql_execute(
        schema,
        document,
        context_value=context,
        variable_values=dict(variables or {}),
        operation_name=operation_name,
    )
    assert isinstance(result, ExecutionResult)
    return Outcome(result, context, document, operation_name)
