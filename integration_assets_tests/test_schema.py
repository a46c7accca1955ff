"""The shared contract of the mapping and load stages: identifier rule and metadata columns."""

from __future__ import annotations

import pytest

from integration_assets.load.identifiers import InvalidIdentifierError, validate_identifier
from integration_assets.load.tables import build_table, column_order
from integration_assets.mapping.spec import check_identifier
from integration_assets.orchestration.assets import column_schema
from integration_assets.schema import (
    METADATA,
    METADATA_COLUMNS,
    ColumnSchema,
    ColumnType,
    TableSchema,
    is_identifier,
)

TABLE = TableSchema(
    name="things",
    columns=(ColumnSchema("id", ColumnType.INTEGER, nullable=False),),
    primary_key=("id",),
)


@pytest.mark.parametrize("name", ["orders", "_x", "a" * 63, "line_items_2"])
def test_identifiers_the_rule_accepts(name: str) -> None:
    assert is_identifier(name)
    assert validate_identifier(name) == name


@pytest.mark.parametrize("name", ["orders\n", "Orders", "1st", "a" * 64, "a-b", "", None])
def test_identifiers_the_rule_refuses_as_a_whole(name: object) -> None:
    assert not is_identifier(name)


def test_load_and_mapping_refuse_a_trailing_newline_alike() -> None:
    with pytest.raises(InvalidIdentifierError):
        validate_identifier("orders\n")
    with pytest.raises(ValueError, match="not a valid identifier"):
        check_identifier("orders\n")


def test_the_warehouse_table_has_every_metadata_column_with_its_type() -> None:
    table = build_table(TABLE)
    assert column_order(TABLE) == (METADATA_COLUMNS[0], "id", *METADATA_COLUMNS[1:])
    assert [c.name for c in table.columns] == list(column_order(TABLE))
    for column in METADATA:
        assert table.c[column.name].nullable == (column.nullable and column.name != "_connection")


def test_the_dagster_column_schema_describes_every_metadata_column() -> None:
    described = {c.name: c for c in column_schema(TABLE).columns}
    for column in METADATA:
        assert described[column.name].type == column.type.value
        assert described[column.name].description == column.description
    with pytest.raises(ValueError, match="reserved for metadata columns"):
        check_identifier(METADATA_COLUMNS[-1])
