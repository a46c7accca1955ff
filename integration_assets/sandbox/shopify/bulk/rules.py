"""Which `query` texts `bulkOperationRunQuery` accepts, and the connection tree of one it does.

Shopify's rules for the inner query of a bulk query (bulkOperationRunQuery reference and the
bulk operations guide, API 2026-10): one top-level field, never `node`/`nodes`; at least one
connection; at most five connections; connections nested at most two levels deep; every
connection selects its contents through `edges { node { … } }`; a node whose connection has
a nested connection must select its `id` (that id becomes the children's `__parentId`); no
connection inside a list field. A query that breaks a rule is answered with `userErrors`
(code INVALID, field ["query"]), never with a GraphQL error, and no operation starts.

The analysis reads the query against the schema, so "is a connection" means what the
schema says (a field whose type is `…Connection`), not a guess from the selection's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
)

MAX_CONNECTIONS = 5
MAX_DEPTH = 2

Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True)
class BulkQueryError:
    """One `BulkOperationUserError`: message, input path and code."""

    message: str
    field: tuple[str, ...] | None = ("query",)
    code: str = "INVALID"

    def to_json(self) -> dict[str, object]:
        """The userError as served."""
        return {
            "field": list(self.field) if self.field is not None else None,
            "message": self.message,
            "code": self.code,
        }


@dataclass
class Connection:
    """One connection of the query, with the field nodes that select it.

    `path` holds the response keys from the enclosing node (or from the query root) down to
    the connection field, so plain objects between a node and its connection are kept.
    """

    path: tuple[str, ...]
    node_type: str
    depth: int
    field_nodes: list[FieldNode]
    path_nodes: list[FieldNode]
    children: list[Connection] = field(default_factory=list)


@dataclass
class _Analysis:
    connections: int = 0
    depth: int = 0
    via_nodes: list[str] = field(default_factory=list)
    without_parent_id: list[str] = field(default_factory=list)
    within_list: bool = False


@dataclass(frozen=True)
class BulkQuery:
    """An accepted bulk query: its parsed document and its root connection."""

    text: str
    document: DocumentNode
    root: Connection


def analyse(text: str, schema: GraphQLSchema) -> BulkQuery | list[BulkQueryError]:
    """The accepted query, or every rule it breaks as userErrors."""
    if not text.strip():
        return [BulkQueryError("Invalid bulk query: syntax error, unexpected end of file")]
    try:
        document = parse(text)
    except GraphQLError as error:
        return [BulkQueryError(f"Invalid bulk query: {error.message}")]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return [BulkQueryError("Invalid bulk query: the document must hold exactly one operation.")]
    operation = operations[0]
    if operation.operation is not OperationType.QUERY:
        return [BulkQueryError("Invalid operation type. Only `query` operations are supported.")]
    invalid = validate(schema, document)
    if invalid:
        return [BulkQueryError(f"Invalid bulk query: {error.message}") for error in invalid]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _Walker(schema, fragments)
    query_type = schema.query_type
    assert query_type is not None
    top = walker.fields(operation.selection_set, query_type)
    errors: list[BulkQueryError] = []
    if any(name in ("node", "nodes") for name, _ in _names(top)):
        errors.append(BulkQueryError("Bulk queries cannot contain a top level `node` field."))
    if len({key for key, _ in _names(top)}) > 1:
        errors.append(BulkQueryError("Bulk queries must contain exactly one top level field."))
    roots: list[Connection] = []
    walker.walk(operation.selection_set, query_type, 0, False, (), [], roots)
    analysis = walker.analysis
    if analysis.via_nodes:
        first, listed = analysis.via_nodes[0], "', '".join(analysis.via_nodes)
        errors.append(
            BulkQueryError(
                "All connection fields in a bulk query must select their contents using "
                f"'edges' > 'node', e.g: '{first} {{ edges {{ node {{'. Selecting via 'nodes' "
                f"is not supported. Invalid connection fields: '{listed}'."
            )
        )
    if analysis.depth > MAX_DEPTH:
        errors.append(
            BulkQueryError(
                "Bulk queries cannot contain connections with a nesting depth greater than "
                f"{MAX_DEPTH}."
            )
        )
    if analysis.connections > MAX_CONNECTIONS:
        errors.append(
            BulkQueryError(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")
        )
    if analysis.without_parent_id:
        errors.append(
            BulkQueryError(
                "The parent 'node' field for a nested connection must select the 'id' field "
                "without an alias and must be of 'ID' return type. Connection fields without "
                f"'id': {', '.join(analysis.without_parent_id)}."
            )
        )
    if analysis.within_list:
        errors.append(
            BulkQueryError(
                "Queries that contain a connection field within a list field are not currently "
                "supported."
            )
        )
    if analysis.connections == 0:
        errors.append(BulkQueryError("Bulk queries must contain at least one connection."))
    if errors:
        return errors
    if len(roots) != 1 or roots[0].path_nodes:
        # The single top-level field exists but is not itself the connection (a plain object
        # such as `shop { … }` holding one): nothing to stream from the root.
        return [BulkQueryError("Bulk queries must select a connection as their top level field.")]
    return BulkQuery(text, document, roots[0])


def _names(fields: list[tuple[FieldNode, Composite]]) -> list[tuple[str, str]]:
    return [
        (node.name.value, (node.alias or node.name).value)
        for node, _ in fields
        if node.name.value != "__typename"
    ]


class _Walker:
    """Visits the selection tree once, counting connections and recording the tree."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.analysis = _Analysis()

    def fields(
        self, selection_set: SelectionSetNode | None, parent: Composite
    ) -> list[tuple[FieldNode, Composite]]:
        """The field nodes of a selection set with fragments expanded, each with its type."""
        found: list[tuple[FieldNode, Composite]] = []
        if selection_set is None:
            return found
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append((selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set, self._narrow(selection, parent)))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                found.extend(self.fields(fragment.selection_set, self._narrow(fragment, parent)))
        return found

    def _narrow(
        self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: Composite
    ) -> Composite:
        condition = fragment.type_condition
        if condition is None:
            return parent
        narrowed = self.schema.get_type(condition.name.value)
        return narrowed if isinstance(narrowed, Composite) else parent

    def walk(
        self,
        selection_set: SelectionSetNode | None,
        parent: Composite,
        depth: int,
        in_list: bool,
        path: tuple[str, ...],
        path_nodes: list[FieldNode],
        out: list[Connection],
    ) -> None:
        """Record the connections under `selection_set` into `out` (the enclosing level)."""
        merged: dict[str, Connection] = {}
        for node, owner in self.fields(selection_set, parent):
            definition = owner.fields.get(node.name.value)
            if definition is None or node.selection_set is None:
                continue
            named = get_named_type(definition.type)
            is_list = _is_list(definition.type)
            key = (node.alias or node.name).value
            if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
                self._connection(node, named, depth, in_list or is_list, (*path, key))
                existing = merged.get(key)
                if existing is not None:
                    existing.field_nodes.append(node)
                    continue
                connection = self._connection_tree(node, named, depth + 1, (*path, key))
                connection.path_nodes = list(path_nodes)
                merged[key] = connection
                out.append(connection)
            elif isinstance(named, Composite):
                self.walk(
                    node.selection_set,
                    named,
                    depth,
                    in_list or is_list,
                    (*path, key),
                    [*path_nodes, node],
                    out,
                )

    def _connection(
        self,
        node: FieldNode,
        connection_type: GraphQLObjectType,
        depth: int,
        in_list: bool,
        path: tuple[str, ...],
    ) -> None:
        analysis = self.analysis
        analysis.connections += 1
        analysis.depth = max(analysis.depth, depth + 1)
        if in_list:
            analysis.within_list = True
        children = {item.name.value for item, _ in self.fields(node.selection_set, connection_type)}
        if "nodes" in children and "edges" not in children:
            analysis.via_nodes.append(node.name.value)

    def _connection_tree(
        self,
        node: FieldNode,
        connection_type: GraphQLObjectType,
        depth: int,
        path: tuple[str, ...],
    ) -> Connection:
        """The connection and, below its `edges { node }`, its nested connections."""
        node_type = _edge_node_type(connection_type)
        connection = Connection(path, node_type.name if node_type else "", depth, [node], [])
        if node_type is None:
            return connection
        for edges, _ in self.fields(node.selection_set, connection_type):
            if edges.name.value != "edges":
                continue
            edge_type = get_named_type(connection_type.fields["edges"].type)
            assert isinstance(edge_type, GraphQLObjectType)
            for inner, _ in self.fields(edges.selection_set, edge_type):
                if inner.name.value != "node" or inner.selection_set is None:
                    continue
                nested: list[Connection] = []
                self.walk(inner.selection_set, node_type, depth, False, (), [], nested)
                if nested and not self._selects_plain_id(inner.selection_set, node_type):
                    self.analysis.without_parent_id.extend(child.path[-1] for child in nested)
                connection.children.extend(nested)
        return connection

    def _selects_plain_id(self, selection_set: SelectionSetNode, parent: Composite) -> bool:
        return any(
            node.name.value == "id" and node.alias is None
            for node, _ in self.fields(selection_set, parent)
        )


def _edge_node_type(connection_type: GraphQLObjectType) -> Composite | None:
    edges = connection_type.fields.get("edges")
    if edges is None:
        return None
    edge_type = get_named_type(edges.type)
    if not isinstance(edge_type, GraphQLObjectType) or "node" not in edge_type.fields:
        return None
    node_type = get_named_type(edge_type.fields["node"].type)
    return node_type if isinstance(node_type, Composite) else None


def _is_list(kind: object) -> bool:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)
