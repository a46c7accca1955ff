"""Mapping files are found by vendor and entity, and a broken one says exactly what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration_assets.mapping import MappingError, load_mapping
from integration_assets.mapping.loader import MAPPINGS_ENV_VAR
from integration_assets.schema import ColumnType
from integration_assets_tests.mapping.conftest import WriteJson, customer_mapping, order_mapping


def load_error(mappings_dir: Path, vendor: str = "shopify", entity: str = "customers") -> str:
    with pytest.raises(MappingError) as caught:
        load_mapping(vendor, entity, mappings_dir=mappings_dir)
    return str(caught.value)


def with_field(index: int, **changes: Any) -> dict[str, Any]:
    mapping = customer_mapping()
    mapping["mappings"][index].update(changes)
    return mapping


def test_a_mapping_is_read_from_vendor_and_entity(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", customer_mapping())

    spec = load_mapping("shopify", "customers", mappings_dir=mappings_dir)

    assert spec.table == "shopify_customers"
    assert spec.field("city").source == "default_address.city"
    assert spec.field("total_spent").type is ColumnType.DECIMAL


def test_the_mappings_directory_comes_from_the_environment(
    write_json: WriteJson, mappings_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_json("shopify/orders.json", order_mapping())
    monkeypatch.setenv(MAPPINGS_ENV_VAR, str(mappings_dir))

    assert load_mapping("shopify", "orders").children[0].nested.table == "shopify_order_line_items"


def test_a_missing_mapping_names_the_file_and_lists_the_known_ones(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/orders.json", order_mapping())

    message = load_error(mappings_dir, "shopify", "refunds")

    assert str(mappings_dir / "shopify" / "refunds.json") in message
    assert "known: shopify/orders" in message


def test_invalid_json_is_reported_with_line_and_column(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    text = json.dumps(customer_mapping(), indent=2).replace('"table"', '"table" "x"', 1)
    path = write_json("shopify/customers.json", text)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"table" "x"' in row)

    message = load_error(mappings_dir)

    assert str(path) in message
    assert f"invalid JSON at line {line}, column" in message


def test_a_key_given_twice_is_an_error_not_a_silent_last_wins(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    text = json.dumps(customer_mapping(), indent=2).replace(
        '"type": "decimal"', '"type": "decimal", "type": "string"'
    )
    write_json("shopify/customers.json", text)

    assert "key 'type' appears twice" in load_error(mappings_dir)


def test_an_unknown_type_names_the_field_and_the_allowed_types(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    path = write_json("shopify/customers.json", with_field(3, type="money"))

    message = load_error(mappings_dir)

    assert str(path) in message
    assert "mappings[3] (target 'total_spent').type" in message
    assert "'decimal'" in message and "got 'money'" in message


def test_missing_keys_are_each_named(write_json: WriteJson, mappings_dir: Path) -> None:
    mapping = customer_mapping()
    del mapping["table"]
    del mapping["mappings"][1]["type"]
    write_json("shopify/customers.json", mapping)

    message = load_error(mappings_dir)

    assert "2 problems" in message
    assert "table: Field required" in message
    assert "mappings[1] (target 'email').type: Field required" in message


def test_a_misspelt_key_is_rejected_rather_than_ignored(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", with_field(1, requried=True))

    assert "mappings[1] (target 'email').requried: Extra inputs are not permitted" in load_error(
        mappings_dir
    )


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("_connection", "reserved for metadata columns"),
        ("Email", "not a valid identifier"),
        ("e-mail", "not a valid identifier"),
        ("x" * 64, "not a valid identifier"),
        ("email; drop table x", "not a valid identifier"),
    ],
)
def test_bad_column_names_are_refused_with_the_rule(
    write_json: WriteJson, mappings_dir: Path, target: str, problem: str
) -> None:
    write_json("shopify/customers.json", with_field(1, target=target))

    message = load_error(mappings_dir)

    assert "mappings[1]" in message and ".target" in message
    assert problem in message


@pytest.mark.parametrize("target", ["email\n", "email\r\n", "\nemail"])
def test_a_name_with_a_newline_is_refused_by_the_loader_not_by_generated_code(
    write_json: WriteJson, mappings_dir: Path, target: str
) -> None:
    write_json("shopify/customers.json", with_field(1, target=target))

    message = load_error(mappings_dir)  # a MappingError, never a SyntaxError later

    assert "mappings[1]" in message and ".target" in message
    assert f"{target!r} is not a valid identifier" in message


def test_a_bad_table_name_is_refused(write_json: WriteJson, mappings_dir: Path) -> None:
    write_json("shopify/customers.json", customer_mapping(table="shopify customers"))

    assert "table: 'shopify customers' is not a valid identifier" in load_error(mappings_dir)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("default_address..city", "empty segment"),
        ("addresses.*.city", "wildcards are not supported yet"),
        ("", "must not be empty"),
    ],
)
def test_bad_source_paths_are_refused(
    write_json: WriteJson, mappings_dir: Path, source: str, problem: str
) -> None:
    write_json("shopify/customers.json", with_field(4, source=source))

    message = load_error(mappings_dir)

    assert "mappings[4] (target 'city').source" in message
    assert problem in message


def test_duplicate_targets_are_refused(write_json: WriteJson, mappings_dir: Path) -> None:
    write_json("shopify/customers.json", with_field(4, target="email"))

    assert "table 'shopify_customers': duplicate 'email'" in load_error(mappings_dir)


def test_the_primary_key_must_be_a_mapped_column(write_json: WriteJson, mappings_dir: Path) -> None:
    write_json("shopify/customers.json", customer_mapping(primary_key=["customer_id"]))

    assert "primary_key column 'customer_id' is not a mapped target" in load_error(mappings_dir)


def test_the_upsert_guard_must_be_a_mapped_datetime(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", customer_mapping(source_updated_at="modified"))
    assert "source_updated_at 'modified' is not a mapped target" in load_error(mappings_dir)

    write_json("shopify/customers.json", customer_mapping(source_updated_at="total_spent"))
    assert "must be a datetime column, not decimal" in load_error(mappings_dir)


def test_a_default_must_fit_its_column_type(write_json: WriteJson, mappings_dir: Path) -> None:
    write_json("shopify/customers.json", with_field(3, default="free"))

    message = load_error(mappings_dir)

    assert "mappings[3] (target 'total_spent')" in message
    assert "default of 'total_spent': cannot convert 'free' (str) to decimal" in message


def test_required_with_a_default_is_contradictory(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("shopify/customers.json", with_field(3, required=True, default="0.00"))

    assert "is required and has a default" in load_error(mappings_dir)


def test_a_child_table_must_be_keyed_to_the_parent_primary_key(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    mapping = order_mapping()
    mapping["mappings"][3]["nested"]["parent_key"] = {"order_id": "total_price"}
    write_json("shopify/orders.json", mapping)

    message = load_error(mappings_dir, "shopify", "orders")

    assert "table 'shopify_order_line_items': parent_key must map" in message
    assert "['id']" in message


def test_a_nested_entry_with_a_broken_child_field_is_located_precisely(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    mapping = order_mapping()
    mapping["mappings"][3]["nested"]["mappings"][2]["type"] = "number"
    write_json("shopify/orders.json", mapping)

    message = load_error(mappings_dir, "shopify", "orders")

    assert "mappings[3] (source 'line_items').nested.mappings[2] (target 'price').type" in message


def test_a_file_filed_under_the_wrong_vendor_is_refused(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("klaviyo/customers.json", customer_mapping())

    assert "integration: is 'shopify' but the file is for 'klaviyo'" in load_error(
        mappings_dir, "klaviyo", "customers"
    )


def test_names_that_would_escape_the_mappings_directory_are_refused(mappings_dir: Path) -> None:
    with pytest.raises(MappingError, match="not a valid name"):
        load_mapping("shopify", "../../etc/passwd", mappings_dir=mappings_dir)
    with pytest.raises(MappingError, match="not a valid name"):
        load_mapping("shopify", "customers", connection="../x", mappings_dir=mappings_dir)


@pytest.mark.parametrize("name", ["customers\n", "shop\n"])
def test_names_with_a_trailing_newline_are_refused(mappings_dir: Path, name: str) -> None:
    with pytest.raises(MappingError, match="not a valid name"):
        load_mapping("shopify", name, mappings_dir=mappings_dir)
    with pytest.raises(MappingError, match="not a valid name"):
        load_mapping("shopify", "customers", connection=name, mappings_dir=mappings_dir)
