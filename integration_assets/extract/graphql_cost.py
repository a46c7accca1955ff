"""The requested cost of a GraphQL document, estimated from the text alone (no schema).

Shopify charges a query its *requested* cost before running it and refuses one above 1000
points (`MAX_COST_EXCEEDED`), so the page size must be chosen before sending. Its documented
rules (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost
calculation"): a scalar or enum costs 0, an object 1, a connection 2 plus the objects it may
return (its `first`/`last`), each of those objects counting its own selection. Without the
schema a field is known by its shape: a field with no selection is a scalar or enum, a field
taking `first` or `last` is a connection (its `pageInfo` is in the 2), any other field with a
selection is an object. Lists of objects without `first` (Shopify's `selectedOptions`) are
counted as one object, as the docs' default "Object: 1" says. A mutation costs 10.

The estimate errs high, never low: a page sized by it is never refused for its cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
)

_PAGE_ARGS = ("first", "last")
MUTATION_COST = 10


class QueryCostError(ValueError):
    """The document cannot be costed (not GraphQL, or a page size is neither literal nor given)."""


def _page_size(field: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for argument in field.arguments:
        if argument.name.value not in _PAGE_ARGS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int) and not isinstance(given, bool):
                return given
            raise QueryCostError(
                f"field {field.name.value!r} takes its page size from ${value.name.value}, "
                "which has no integer value"
            )
    return None


def _selections(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    """The fields of a selection, inline fragments flattened (the costliest branch would be
    the max; summing every branch errs high, which is the safe side)."""
    if selection_set is None:
        return []
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields.extend(_selections(selection.selection_set))
        elif isinstance(selection, FragmentSpreadNode):
            raise QueryCostError("named fragments are not supported by the cost estimate")
    return fields


def _node_cost(connection: FieldNode, variables: Mapping[str, Any]) -> int:
    """What one object of a connection costs: 1 plus its own selection."""
    cost = 0
    for child in _selections(connection.selection_set):
        name = child.name.value
        if name == "nodes":
            cost = max(cost, _selection_cost(child.selection_set, variables))
        elif name == "edges":
            for edge_child in _selections(child.selection_set):
                if edge_child.name.value == "node":
                    cost = max(cost, _selection_cost(edge_child.selection_set, variables))
    return 1 + cost


def _field_cost(field: FieldNode, variables: Mapping[str, Any]) -> int:
    if field.selection_set is None:
        return 0
    size = _page_size(field, variables)
    if size is not None:
        return 2 + size * _node_cost(field, variables)
    return 1 + _selection_cost(field.selection_set, variables)


def _selection_cost(selection_set: SelectionSetNode | None, variables: Mapping[str, Any]) -> int:
    return sum(_field_cost(field, variables) for field in _selections(selection_set))


def estimate_query_cost(document: str, variables: Mapping[str, Any] | None = None) -> int:
    """The requested cost of `document`'s operation with `variables`, by Shopify's rules."""
    try:
        parsed = parse(document)
    except GraphQLError as exc:
        raise QueryCostError(f"not a GraphQL document: {exc.message}") from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise QueryCostError("the document must hold exactly one operation")
    operation = operations[0]
    values = variables or {}
    if operation.operation is OperationType.MUTATION:
        # "Mutation: 10" per root field, its payload within it.
        return sum(
            max(MUTATION_COST, _field_cost(field, values))
            for field in _selections(operation.selection_set)
        )
    return _selection_cost(operation.selection_set, values)


def largest_page_size(
    document: str,
    variables: Mapping[str, Any],
    page_size_variable: str,
    *,
    ceiling: int,
    max_cost: int,
) -> int:
    """The largest page size up to `ceiling` whose estimated cost stays within `max_cost`.

    Raises `QueryCostError` when even a page of one record is too expensive (the document's
    nested connections ask for too much).
    """

    def cost(size: int) -> int:
        return estimate_query_cost(document, {**variables, page_size_variable: size})

    if cost(1) > max_cost:
        raise QueryCostError(
            f"even one record per page costs {cost(1)} points, above the {max_cost} a query "
            "may cost: ask nested connections for fewer objects"
        )
    low, high = 1, ceiling
    while low < high:
        middle = (low + high + 1) // 2
        if cost(middle) <= max_cost:
            low = middle
        else:
            high = middle - 1
    return low
