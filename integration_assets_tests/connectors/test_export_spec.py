"""The Shopify bulk export as data: it reads exactly what the paginated walk reads.

A mapping reads one record shape whichever walk landed it, so the export query of an entity
must select the same fields as its listing query, with connections written the bulk way
(no `first`, no `pageInfo`), and every nested connection must have a child type declared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse
from pydantic import ValidationError

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import ConnectionsFileError, load_connections
from integration_assets.connectors.spec import ExportSpec

SPEC = get_connector("shopify", "graphql")


def _shape(selection: SelectionSetNode | None) -> dict[str, Any]:
    """Field name -> its sub-shape; a connection becomes the shape of its node, marked."""
    shape: dict[str, Any] = {}
    for field in selection.selections if selection else ():
        assert isinstance(field, FieldNode)
        inner = (
            {f.name.value: f for f in field.selection_set.selections} if field.selection_set else {}
        )
        if "edges" in inner or "nodes" in inner:
            if "nodes" in inner:
                node = inner["nodes"].selection_set
            else:
                [edge_node] = inner["edges"].selection_set.selections
                node = edge_node.selection_set
            shape[field.name.value] = ("connection", _shape(node))
        else:
            shape[field.name.value] = _shape(field.selection_set)
    return shape


def _root(document: str) -> tuple[str, Any, FieldNode]:
    [operation] = parse(document).definitions
    assert isinstance(operation, OperationDefinitionNode)
    [root] = operation.selection_set.selections
    assert isinstance(root, FieldNode)
    name, (kind, shape) = next(iter(_shape(operation.selection_set).items()))
    assert kind == "connection"
    return name, shape, root


@pytest.mark.parametrize("entity", [entity.name for entity in SPEC.entities])
def test_the_export_query_selects_what_the_listing_selects(entity: str) -> None:
    spec = SPEC.entity(entity)
    assert spec.query is not None and spec.export_query is not None

    listed = _root(spec.query)
    exported = _root(spec.export_query.replace("{since_filter}", ""))

    assert exported[:2] == listed[:2]
    assert "pageInfo" not in spec.export_query and "first:" not in spec.export_query


@pytest.mark.parametrize("entity", [entity.name for entity in SPEC.entities])
def test_every_nested_connection_of_an_export_has_its_child_type_declared(entity: str) -> None:
    spec = SPEC.entity(entity)
    _, shape, _ = _root(spec.export_query.replace("{since_filter}", ""))
    nested = {name for name, value in shape.items() if isinstance(value, tuple)}
    assert nested == set(spec.export_children.values())
    # ... and the nested connections the paginated walk completes are the same ones.
    assert nested == {connection.field for connection in spec.nested_connections}


def test_the_incremental_export_filters_like_the_listing() -> None:
    customers = SPEC.entity("customers")
    assert customers.export_since_filter is not None and customers.incremental is not None
    listing_filter = customers.incremental.params["query"]
    assert listing_filter in customers.export_since_filter


def test_an_export_spec_refuses_ungrouped_files_and_contradictory_statuses() -> None:
    assert SPEC.export is not None
    fields = SPEC.export.model_dump()
    with pytest.raises(ValidationError, match="ungrouped export files"):
        ExportSpec(**{**fields, "grouped": False})
    with pytest.raises(ValidationError, match="both completed and failed"):
        ExportSpec(**{**fields, "failed_statuses": ("FAILED", "COMPLETED")})


def test_bulk_always_on_an_api_without_an_export_is_refused_when_the_file_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(
        "connections:\n"
        "  - name: old-shop\n"
        "    vendor: shopify\n"
        "    api: rest\n"
        "    base_url: https://old-shop.myshopify.com\n"
        "    secrets: {access_token: OLD_SHOP_TOKEN}\n"
        "    entities: {customers: hourly}\n"
        "    bulk: always\n"
    )
    with pytest.raises(ConnectionsFileError, match="sets bulk: always, but shopify \\(rest\\)"):
        load_connections(path)


def test_bulk_takes_only_the_three_documented_values(tmp_path: Path) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(
        "connections:\n"
        "  - name: shop\n"
        "    vendor: shopify\n"
        "    base_url: https://shop.myshopify.com\n"
        "    secrets: {access_token: SHOP_TOKEN}\n"
        "    entities: {customers: hourly}\n"
        "    bulk: sometimes\n"
    )
    with pytest.raises(ConnectionsFileError, match="bulk: Input should be 'auto', 'never' or"):
        load_connections(path)
