"""Shopify's calculated query cost, before execution (requested) and after (actual).

The rules, from shopify.dev "GraphQL Admin API rate limits" → "Cost calculation":

    Scalar 0 · Enum 0 · Object 1 · Interface/Union: maximum of possible selections ·
    Connection: sized by `first` and `last` · Mutation 10

A connection costs 2 (its edges/pageInfo wrappers) plus `first` (or `last`) times the cost
of one node; nesting multiplies (`orders(first: 10) { lineItems(first: 5) {…} }` costs
2 + 10 * (1 + 2 + 5 * 1)). Published answers agree: `productVariants(first: 250) { nodes
{ id } }` is requested at 252, a mutation with its payload at 10. A list field that is not a
connection counts as one object; `nodes(ids:)` counts one object per id. Shopify may set
manual costs on fields: `costs` maps "Type.field" to such a cost, which replaces the default
(extensions use it for their own fields).

The actual cost walks the same selections over the returned data: a null object costs
nothing and a connection costs 2 plus what its returned nodes cost, so a short last page is
cheaper than requested, and the difference goes back into the bucket.

With the request header `X-GraphQL-Cost-Include-Fields: true` Shopify adds
`extensions.cost.fields`: per field path its `definedCost`, `requestedTotalCost` and
`requestedChildrenCost` (`fields_breakdown`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_variable_values

MUTATION_COST = 10
CONNECTION_BASE = 2
_MISSING = object()


def _is_connection(graphql_type: Any) -> bool:
    return (
        isinstance(graphql_type, GraphQLObjectType)
        and graphql_type.name.endswith("Connection")
        and "pageInfo" in graphql_type.fields
        and ("edges" in graphql_type.fields or "nodes" in graphql_type.fields)
    )


def _entry(path: list[str], own: int, total: int) -> dict[str, Any]:
    return {
        "path": path,
        "definedCost": own,
        "requestedTotalCost": total,
        "requestedChildrenCost": total - own,
    }


def _is_list(field_type: Any) -> bool:
    return is_list_type(field_type.of_type if is_non_null_type(field_type) else field_type)


class CostCalculator:
    """Requested and actual cost of one operation of one document."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        costs: Mapping[str, int] | None = None,
    ) -> None:
        self.schema = schema
        self.costs = dict(costs or {})
        self.operation = get_operation_ast(document, operation_name)
        self.fragments: dict[str, FragmentDefinitionNode] = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variables: dict[str, Any] = {}
        if self.operation is not None:
            coerced = get_variable_values(
                schema, self.operation.variable_definitions or (), dict(variables or {})
            )
            if isinstance(coerced, dict):
                self.variables = coerced

    def _root(self) -> GraphQLObjectType | None:
        if self.operation is None:
            return None
        if self.operation.operation is OperationType.MUTATION:
            return self.schema.mutation_type
        if self.operation.operation is OperationType.QUERY:
            return self.schema.query_type
        return None

    def requested(self) -> int:
        """The cost computed from the query alone (what the bucket must hold to run it)."""
        return self._cost(_MISSING)

    def fields_breakdown(self) -> list[dict[str, Any]]:
        """Every costed field of the request: path, defined cost, requested total and children."""
        root = self._root()
        if root is None or self.operation is None:
            return []
        fields = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation.selection_set
        )
        out: list[dict[str, Any]] = []
        mutation = self.operation.operation is OperationType.MUTATION
        for key, nodes in fields.items():
            if mutation:
                own = self.costs.get(f"{root.name}.{nodes[0].name.value}", MUTATION_COST)
                out.append(_entry([key], own, own))
            else:
                self._describe(root, nodes, [key], out)
        return out

    def _describe(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], path: list[str], out: list
    ) -> None:
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        if definition is None or name.startswith("__"):
            return
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return
        manual = self.costs.get(f"{parent.name}.{name}")
        if _is_connection(parent):
            # The wrappers inside a connection are priced in its base cost.
            if name == "pageInfo":
                return
            own = 0 if name == "edges" else 1
            total = (
                self._object(named, nodes, _MISSING)
                if name == "edges"
                else 1 + self._children(named, nodes, _MISSING)
            )
        else:
            own = (CONNECTION_BASE if _is_connection(named) else 1) if manual is None else manual
            total = self._field(parent, nodes, _MISSING)
        out.append(_entry(path, own, total))
        candidates = self.schema.get_possible_types(named) if is_abstract_type(named) else [named]
        seen: set[str] = set()
        for candidate in candidates:
            sub = collect_sub_fields(self.schema, self.fragments, self.variables, candidate, nodes)
            for key, sub_nodes in sub.items():
                if key not in seen:
                    seen.add(key)
                    self._describe(candidate, sub_nodes, [*path, key], out)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """The cost of what was returned (never more than requested)."""
        if data is None:
            return 0
        return min(self._cost(data), self.requested())

    def _cost(self, data: Any) -> int:
        root = self._root()
        if root is None or self.operation is None:
            return 0
        fields = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation.selection_set
        )
        mutation = self.operation.operation is OperationType.MUTATION
        total = 0
        for key, nodes in fields.items():
            value = (
                _MISSING
                if data is _MISSING
                else data.get(key)
                if isinstance(data, Mapping)
                else None
            )
            if mutation:
                own = self.costs.get(f"{root.name}.{nodes[0].name.value}", MUTATION_COST)
                total += own if value is _MISSING or value is not None else 0
            else:
                total += self._field(root, nodes, value)
        return total

    def _field(self, parent: GraphQLObjectType, nodes: list[FieldNode], value: Any) -> int:
        name = nodes[0].name.value
        if name.startswith("__"):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        manual = self.costs.get(f"{parent.name}.{name}")
        if is_leaf_type(named):
            return manual or 0
        if value is None:
            return 0
        if _is_connection(named):
            assert isinstance(named, GraphQLObjectType)
            return self._connection(definition, named, nodes, value, manual)
        own = 1 if manual is None else manual
        if _is_list(definition.type) and "ids" in definition.args:
            arguments = get_argument_values(definition, nodes[0], self.variables)
            if value is _MISSING:
                return len(arguments.get("ids") or []) * (
                    own + self._children(named, nodes, _MISSING)
                )
            return sum(
                own + self._children(named, nodes, item) for item in value if item is not None
            )
        if _is_list(definition.type) and value is not _MISSING:
            items = [item for item in value if item is not None]
            return own + max((self._children(named, nodes, item) for item in items), default=0)
        return own + self._children(named, nodes, value)

    def _children(self, named: Any, nodes: list[FieldNode], value: Any) -> int:
        """Cost of the sub-selections of an object (the maximum over an abstract type's types)."""
        if is_abstract_type(named):
            assert isinstance(named, GraphQLAbstractType)
            candidates = self.schema.get_possible_types(named)
            typename = value.get("__typename") if isinstance(value, Mapping) else None
            if typename is not None:
                candidates = [item for item in candidates if item.name == typename] or candidates
            return max((self._object(item, nodes, value) for item in candidates), default=0)
        assert isinstance(named, GraphQLObjectType)
        return self._object(named, nodes, value)

    def _object(self, object_type: GraphQLObjectType, nodes: list[FieldNode], value: Any) -> int:
        fields = collect_sub_fields(self.schema, self.fragments, self.variables, object_type, nodes)
        total = 0
        for key, sub_nodes in fields.items():
            sub_value = (
                _MISSING
                if value is _MISSING
                else value.get(key)
                if isinstance(value, Mapping)
                else None
            )
            total += self._field(object_type, sub_nodes, sub_value)
        return total

    def _connection(
        self,
        definition: Any,
        connection: GraphQLObjectType,
        nodes: list[FieldNode],
        value: Any,
        manual: int | None,
    ) -> int:
        base = CONNECTION_BASE if manual is None else manual
        size = 0
        for node in nodes:
            arguments = get_argument_values(definition, node, self.variables)
            for name in ("first", "last"):
                if isinstance(arguments.get(name), int):
                    size = max(size, arguments[name])
        parts = collect_sub_fields(self.schema, self.fragments, self.variables, connection, nodes)
        node_type = (
            get_named_type(connection.fields["nodes"].type)
            if "nodes" in connection.fields
            else None
        )
        edge_type = (
            get_named_type(connection.fields["edges"].type)
            if "edges" in connection.fields
            else None
        )
        if value is _MISSING:
            per_node = 0
            for sub_nodes in parts.values():
                field_name = sub_nodes[0].name.value
                if field_name == "nodes" and node_type is not None:
                    per_node = max(per_node, 1 + self._children(node_type, sub_nodes, _MISSING))
                elif field_name == "edges" and isinstance(edge_type, GraphQLObjectType):
                    per_node = max(per_node, self._object(edge_type, sub_nodes, _MISSING))
            return base + size * per_node
        per_item: dict[int, int] = {}
        for key, sub_nodes in parts.items():
            field_name = sub_nodes[0].name.value
            items = value.get(key) if isinstance(value, Mapping) else None
            if not isinstance(items, list):
                continue
            for position, item in enumerate(items):
                if item is None:
                    continue
                if field_name == "nodes" and node_type is not None:
                    cost = 1 + self._children(node_type, sub_nodes, item)
                elif field_name == "edges" and isinstance(edge_type, GraphQLObjectType):
                    cost = self._object(edge_type, sub_nodes, item)
                else:
                    continue
                per_item[position] = max(per_item.get(position, 0), cost)
        return base + sum(per_item.values())
