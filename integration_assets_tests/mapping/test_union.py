"""The warehouse tables of an entity are the union of the vendor mapping and every override."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_assets.mapping import MappingError, compile_mapping, load_mapping
from integration_assets.mapping.union import load_table_union
from integration_assets.schema import ColumnType
from integration_assets_tests.mapping.conftest import WriteJson, customer_mapping, order_mapping


@pytest.fixture
def shop_files(write_json: WriteJson) -> WriteJson:
    write_json("shopify/customers.json", customer_mapping())
    write_json("shopify/orders.json", order_mapping())
    return write_json


def test_columns_some_variants_lack_are_nullable_and_rows_are_padded_with_none(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    shop_files(
        "overrides/adds/customers.json",
        {"mappings": [{"source": "note", "target": "note", "type": "string", "required": True}]},
    )
    shop_files(
        "overrides/removes/customers.json", {"mappings": [{"target": "city", "remove": True}]}
    )

    union = load_table_union("shopify", "customers", mappings_dir)["shopify_customers"]

    assert [c.name for c in union.columns] == [
        "id",
        "email",
        "updated_at",
        "total_spent",
        "city",
        "note",
    ]
    assert union.column("note").nullable and union.column("city").nullable
    assert not union.column("id").nullable
    spec = load_mapping("shopify", "customers", "removes", mappings_dir=mappings_dir)
    compiled = compile_mapping(spec, load_table_union("shopify", "customers", mappings_dir))
    (row,) = compiled.map_records([{"id": 1, "city": "Paris", "note": "hi"}]).rows[
        "shopify_customers"
    ]
    assert (row["city"], row["note"]) == (None, None)
    assert compiled.tables[0] == union
    assert "city" not in {c.name for c in compiled.own_tables[0].columns}


def test_a_renamed_table_is_a_union_of_its_own(shop_files: WriteJson, mappings_dir: Path) -> None:
    shop_files(
        "overrides/acme/customers.json",
        {"table": "acme_customers", "mappings": [{"target": "total_spent", "type": "float"}]},
    )

    union = load_table_union("shopify", "customers", mappings_dir)

    assert union["acme_customers"].column("total_spent").type is ColumnType.FLOAT
    assert union["shopify_customers"].column("total_spent").type is ColumnType.DECIMAL


@pytest.mark.parametrize(
    ("entity", "override", "expected"),
    [
        ("customers", {"primary_key": ["email"]}, "primary_key"),
        (
            "orders",
            {"mappings": [{"source": "line_items", "nested": {"parent_key": {"parent_id": "id"}}}]},
            "parent_key",
        ),
        ("orders", {"table": "acme_orders"}, "parent"),
    ],
    ids=["key", "child-parent-key", "child-of-another-parent"],
)
def test_a_key_or_child_shape_change_is_refused_naming_both_files(
    shop_files: WriteJson, mappings_dir: Path, entity: str, override: dict, expected: str
) -> None:
    path = shop_files(f"overrides/acme/{entity}.json", override)

    with pytest.raises(MappingError) as caught:
        load_table_union("shopify", entity, mappings_dir)

    assert str(path) in str(caught.value)
    assert str(mappings_dir / "shopify" / f"{entity}.json") in str(caught.value)
    assert expected in str(caught.value)
