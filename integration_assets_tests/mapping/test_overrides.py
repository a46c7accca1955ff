"""A connection's override changes only what it names; everything else stays the vendor's."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_assets.mapping import MappingError, load_mapping
from integration_assets.schema import ColumnType
from integration_assets_tests.mapping.conftest import WriteJson, customer_mapping, order_mapping


@pytest.fixture
def shop_files(write_json: WriteJson) -> WriteJson:
    write_json("shopify/customers.json", customer_mapping())
    write_json("shopify/orders.json", order_mapping())
    return write_json


def targets(mappings_dir: Path, entity: str = "customers") -> list[str]:
    spec = load_mapping("shopify", entity, connection="acme", mappings_dir=mappings_dir)
    return [field.target for field in spec.fields]


def test_without_an_override_file_the_vendor_mapping_is_used(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    with_connection = load_mapping("shopify", "customers", "acme", mappings_dir=mappings_dir)
    without = load_mapping("shopify", "customers", mappings_dir=mappings_dir)

    assert with_connection == without


def test_patching_a_field_changes_only_the_attributes_given(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    shop_files(
        "overrides/acme/customers.json",
        {"mappings": [{"target": "total_spent", "type": "float", "required": True}]},
    )

    spec = load_mapping("shopify", "customers", "acme", mappings_dir=mappings_dir)

    patched = spec.field("total_spent")
    assert (patched.source, patched.type, patched.required) == (
        "total_spent",
        ColumnType.FLOAT,
        True,
    )
    assert spec.field("email") == load_mapping(
        "shopify", "customers", mappings_dir=mappings_dir
    ).field("email")


def test_an_override_adds_and_removes_fields(shop_files: WriteJson, mappings_dir: Path) -> None:
    shop_files(
        "overrides/acme/customers.json",
        {
            "mappings": [
                {"source": "note", "target": "note", "type": "string"},
                {"target": "city", "remove": True},
            ]
        },
    )

    assert targets(mappings_dir) == ["id", "email", "updated_at", "total_spent", "note"]


def test_top_level_keys_replace_the_vendor_value(shop_files: WriteJson, mappings_dir: Path) -> None:
    shop_files("overrides/acme/customers.json", {"table": "acme_customers"})

    spec = load_mapping("shopify", "customers", "acme", mappings_dir=mappings_dir)

    assert spec.table == "acme_customers"
    assert [field.target for field in spec.fields] == [
        "id",
        "email",
        "updated_at",
        "total_spent",
        "city",
    ]


def test_an_override_patches_a_child_table_by_its_source(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    shop_files(
        "overrides/acme/orders.json",
        {
            "mappings": [
                {
                    "source": "line_items",
                    "nested": {
                        "table": "acme_line_items",
                        "mappings": [
                            {"target": "sku", "remove": True},
                            {"source": "quantity", "target": "quantity", "type": "integer"},
                        ],
                    },
                }
            ]
        },
    )

    child = load_mapping("shopify", "orders", "acme", mappings_dir=mappings_dir).children[0].nested

    assert child.table == "acme_line_items"
    assert child.parent_key == {"order_id": "id"}
    assert [field.target for field in child.mappings] == ["id", "price", "quantity"]


def test_an_override_can_drop_a_child_table(shop_files: WriteJson, mappings_dir: Path) -> None:
    shop_files(
        "overrides/acme/orders.json", {"mappings": [{"source": "line_items", "remove": True}]}
    )

    assert load_mapping("shopify", "orders", "acme", mappings_dir=mappings_dir).children == ()


def test_removing_a_field_the_vendor_mapping_lacks_is_an_error(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    path = shop_files(
        "overrides/acme/customers.json", {"mappings": [{"target": "zip", "remove": True}]}
    )

    with pytest.raises(MappingError) as caught:
        targets(mappings_dir)

    assert str(path) in str(caught.value)
    assert "mappings[0]: removes field 'zip', which the base lacks" in str(caught.value)


def test_an_override_cannot_move_a_mapping_to_another_vendor(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    shop_files("overrides/acme/customers.json", {"integration": "klaviyo"})

    with pytest.raises(MappingError, match="an override cannot change integration"):
        targets(mappings_dir)


def test_an_override_that_breaks_the_mapping_is_blamed_with_the_entry_it_added(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    path = shop_files(
        "overrides/acme/customers.json",
        {"mappings": [{"target": "loyalty_tier", "type": "string"}]},
    )

    with pytest.raises(MappingError) as caught:
        targets(mappings_dir)

    message = str(caught.value)
    assert message.startswith(
        f"{path} (applied to {path.parents[2] / 'shopify' / 'customers.json'})"
    )
    assert "mappings[5] (target 'loyalty_tier').source: Field required" in message


def test_an_override_entry_without_target_or_source_is_explained(
    shop_files: WriteJson, mappings_dir: Path
) -> None:
    shop_files("overrides/acme/customers.json", {"mappings": [{"type": "string"}]})

    with pytest.raises(MappingError, match=r"mappings\[0\]: needs 'target'"):
        targets(mappings_dir)
