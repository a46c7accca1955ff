"""The accepted bulk query rewritten so the simulator's own executor can read it in pages.

Shopify ignores `first`/`last`/`after`/`before` in a bulk query: every connection is read to
its end. The runner gets there through the ordinary GraphQL executor, page by page: the root
connection takes `first: $bulkFirst, after: $bulkAfter`, nested connections take the largest
page Shopify allows, and every connection also selects its `pageInfo` under a private alias.
A nested connection longer than one page is read on through `node(id:)` with the same
selection. Reusing the executor keeps the JSONL lines exactly the objects the paginated API
serves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
)

from integration_assets.sandbox.shopify.bulk.rules import BulkQuery, Connection

PAGE_INFO = "bulkPageInfo_"
"""Response key of the pageInfo the runner adds to every connection (stripped from output)."""
FIRST, AFTER, NODE_ID = "bulkFirst", "bulkAfter", "bulkNodeId"
PAGE = 250
"""Shopify's cap on `first`: the page size of root and nested connections alike."""
_PAGING_ARGUMENTS = frozenset({"first", "last", "after", "before"})


@dataclass(frozen=True)
class PagedQuery:
    """The root connection's page query and what the runner needs to read its answers."""

    document: DocumentNode
    root: Connection
    root_key: str


def page_query(query: BulkQuery, nested_page: int = PAGE) -> PagedQuery:
    """Rewrite `query` (its own parsed document, changed in place) for page-by-page reading.

    `nested_page` is the page size of nested connections (smaller in tests, to make a
    parent's children span pages).
    """
    root = query.root
    _rewrite(root, paged_root=True, nested_page=nested_page)
    operation = next(
        d for d in query.document.definitions if isinstance(d, OperationDefinitionNode)
    )
    operation.variable_definitions = (
        *(operation.variable_definitions or ()),
        _variable(FIRST, "Int", required=True),
        _variable(AFTER, "String", required=False),
    )
    return PagedQuery(query.document, root, root.path[0])


def _rewrite(connection: Connection, paged_root: bool, nested_page: int) -> None:
    for node in connection.field_nodes:
        _page_arguments(node, paged_root, nested_page)
        _add_page_info(node)
    for child in connection.children:
        _rewrite(child, paged_root=False, nested_page=nested_page)


def _page_arguments(node: FieldNode, paged_root: bool, nested_page: int) -> None:
    kept = [arg for arg in node.arguments or () if arg.name.value not in _PAGING_ARGUMENTS]
    first = VariableNode(name=NameNode(value=FIRST)) if paged_root else _int(nested_page)
    kept.append(ArgumentNode(name=NameNode(value="first"), value=first))
    if paged_root:
        kept.append(
            ArgumentNode(
                name=NameNode(value="after"), value=VariableNode(name=NameNode(value=AFTER))
            )
        )
    node.arguments = tuple(kept)


def _add_page_info(node: FieldNode) -> None:
    assert node.selection_set is not None
    if any(
        isinstance(item, FieldNode) and item.alias is not None and item.alias.value == PAGE_INFO
        for item in node.selection_set.selections
    ):
        return
    page_info = FieldNode(
        alias=NameNode(value=PAGE_INFO),
        name=NameNode(value="pageInfo"),
        arguments=(),
        directives=(),
        selection_set=SelectionSetNode(
            selections=(_leaf("hasNextPage"), _leaf("endCursor")),
        ),
    )
    node.selection_set.selections = (*node.selection_set.selections, page_info)


def follow_up_query(
    connection: Connection, parent_type: str, document: DocumentNode
) -> DocumentNode:
    """`node(id:)` reading the rest of a nested connection of one parent after a cursor.

    Built from the rewritten field node, so it selects exactly what the first page selected;
    the fragments of the rewritten `document` come along for any spread it holds.
    """
    inner = copy.copy(connection.field_nodes[0])
    inner.arguments = tuple(
        [arg for arg in inner.arguments or () if arg.name.value != "after"]
        + [
            ArgumentNode(
                name=NameNode(value="after"), value=VariableNode(name=NameNode(value=AFTER))
            )
        ]
    )
    selection: FieldNode = inner
    for wrapper in reversed(connection.path_nodes):
        outer = copy.copy(wrapper)
        outer.selection_set = SelectionSetNode(selections=(selection,))
        selection = outer
    node = FieldNode(
        name=NameNode(value="node"),
        arguments=(
            ArgumentNode(
                name=NameNode(value="id"), value=VariableNode(name=NameNode(value=NODE_ID))
            ),
        ),
        directives=(),
        selection_set=SelectionSetNode(
            selections=(
                InlineFragmentNode(
                    type_condition=NamedTypeNode(name=NameNode(value=parent_type)),
                    directives=(),
                    selection_set=SelectionSetNode(selections=(selection,)),
                ),
            )
        ),
    )
    operation = OperationDefinitionNode(
        operation=OperationType.QUERY,
        variable_definitions=(
            _variable(NODE_ID, "ID", required=True),
            _variable(AFTER, "String", required=False),
        ),
        directives=(),
        selection_set=SelectionSetNode(selections=(node,)),
    )
    fragments = tuple(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    return DocumentNode(definitions=(operation, *fragments))


def _leaf(name: str) -> FieldNode:
    return FieldNode(name=NameNode(value=name), arguments=(), directives=())


def _int(value: int) -> IntValueNode:
    return IntValueNode(value=str(value))


def _variable(name: str, type_name: str, required: bool) -> VariableDefinitionNode:
    named = NamedTypeNode(name=NameNode(value=type_name))
    return VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value=name)),
        type=NonNullTypeNode(type=named) if required else named,
        directives=(),
    )
