"""Compiled mappings turn raw records into rows, and reject a bad record whole with every reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from integration_assets.mapping import MappingSpec, compile_mapping
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.mapping.converters import CONVERTERS
from integration_assets.mapping.errors import MappingBugError
from integration_assets.schema import PARENT_ROW, ColumnSchema, ColumnType
from integration_assets_tests.mapping.conftest import customer_mapping, order_mapping


def compiled(mapping: dict[str, Any]) -> CompiledMapping:
    return compile_mapping(MappingSpec.model_validate(mapping))


def order(order_id: Any = 450789469, **changes: Any) -> dict[str, Any]:
    record = {
        "id": order_id,
        "updated_at": "2024-03-01T10:15:00-05:00",
        "total_price": "398.00",
        "line_items": [
            {"id": 466157049, "sku": "IPOD2008GREEN", "price": "199.00"},
            {"id": 518995019, "sku": "IPOD2008RED", "price": "199.00"},
        ],
    }
    record.update(changes)
    return record


def test_the_parent_table_describes_keys_and_required_columns_as_not_null() -> None:
    mapping = customer_mapping()
    mapping["mappings"][2]["required"] = True

    table = compiled(mapping).table

    assert table.name == "shopify_customers"
    assert table.primary_key == ("id",)
    assert table.source_updated_at == "updated_at"
    assert table.column("id") == ColumnSchema("id", ColumnType.INTEGER, nullable=False)
    assert not table.column("updated_at").nullable
    assert table.column("email").nullable


def test_a_child_table_is_keyed_to_its_parent_and_has_no_upsert_guard_of_its_own() -> None:
    parent, child = compiled(order_mapping()).tables

    assert child.name == "shopify_order_line_items"
    assert (child.parent, child.parent_key, child.source_updated_at) == (
        parent.name,
        ("order_id",),
        None,
    )
    assert [column.name for column in child.columns] == ["order_id", "id", "sku", "price"]
    assert child.column("order_id").type is ColumnType.INTEGER
    assert not child.column("order_id").nullable


def test_an_order_becomes_one_order_row_and_one_row_per_line_item_keyed_to_it() -> None:
    batch = compiled(order_mapping()).map_records([order(), order(2, line_items=[])])

    assert batch.rejected == []
    assert batch.rows["shopify_orders"] == [
        {
            "id": 450789469,
            "updated_at": datetime(2024, 3, 1, 15, 15, tzinfo=UTC),
            "total_price": Decimal("398.00"),
        },
        {
            "id": 2,
            "updated_at": datetime(2024, 3, 1, 15, 15, tzinfo=UTC),
            "total_price": Decimal("398.00"),
        },
    ]
    first_order = batch.rows["shopify_orders"][0]
    assert batch.rows["shopify_order_line_items"] == [
        {
            "order_id": 450789469,
            "id": 466157049,
            "sku": "IPOD2008GREEN",
            "price": Decimal("199.00"),
            PARENT_ROW: first_order,
        },
        {
            "order_id": 450789469,
            "id": 518995019,
            "sku": "IPOD2008RED",
            "price": Decimal("199.00"),
            PARENT_ROW: first_order,
        },
    ]
    assert all(row[PARENT_ROW] is first_order for row in batch.rows["shopify_order_line_items"])


def test_a_record_with_three_bad_fields_is_rejected_with_three_reasons() -> None:
    record = {
        "id": "C-1",
        "email": "bob.norman@mail.example.com",
        "updated_at": "yesterday",
        "total_spent": "abc",
    }

    batch = compiled(customer_mapping()).map_records([record])

    assert batch.rows["shopify_customers"] == []
    (rejected,) = batch.rejected
    assert rejected.record is record
    assert rejected.reasons == (
        "shopify_customers.id: cannot convert 'C-1' (str) to integer",
        "shopify_customers.updated_at: cannot convert 'yesterday' (str) to datetime: "
        "not an ISO 8601 timestamp",
        "shopify_customers.total_spent: cannot convert 'abc' (str) to decimal",
    )


def test_one_bad_line_item_rejects_the_whole_order_and_none_of_its_rows() -> None:
    bad = order(7)
    bad["line_items"][1]["price"] = "free"

    batch = compiled(order_mapping()).map_records([order(6), bad, order(8)])

    assert [row["id"] for row in batch.rows["shopify_orders"]] == [6, 8]
    assert {row["order_id"] for row in batch.rows["shopify_order_line_items"]} == {6, 8}
    (rejected,) = batch.rejected
    assert rejected.record_key == "7"
    assert rejected.reasons == (
        "shopify_order_line_items.price (source line_items[1].price): "
        "cannot convert 'free' (str) to decimal",
    )


def test_child_items_that_are_not_objects_or_a_list_that_is_not_a_list_are_reasons() -> None:
    batch = compiled(order_mapping()).map_records(
        [order(1, line_items=[{"id": 1, "price": "1"}, "oops"]), order(2, line_items={"id": 3})]
    )

    assert [r.reasons for r in batch.rejected] == [
        (
            "shopify_order_line_items (source line_items[1]): expected a JSON object, got 'oops' (str)",
        ),
        ("shopify_order_line_items (source line_items): expected a list, got a dict (1 keys)",),
    ]


def test_a_record_that_is_not_an_object_is_rejected_without_stopping_the_batch() -> None:
    batch = compiled(customer_mapping()).map_records(
        [["not", "a", "record"], None, {"id": 1, "updated_at": "2024-03-01T00:00:00Z"}]
    )

    assert [row["id"] for row in batch.rows["shopify_customers"]] == [1]
    assert [r.record for r in batch.rejected] == [
        {"value": ["not", "a", "record"]},
        {"value": None},
    ]
    assert batch.rejected[0].reasons == (
        "shopify_customers: expected a JSON object, got a list (3 items)",
    )


def test_a_missing_required_field_is_a_reason_and_a_missing_optional_one_is_null() -> None:
    mapping = customer_mapping()
    mapping["mappings"][2]["required"] = True

    batch = compiled(mapping).map_records(
        [{"id": 1}, {"id": 2, "updated_at": "2024-03-01T00:00:00Z"}]
    )

    assert batch.rejected[0].reasons == ("shopify_customers.updated_at: required field missing",)
    assert batch.rows["shopify_customers"][0]["email"] is None
    assert batch.rows["shopify_customers"][0]["city"] is None


def test_a_missing_primary_key_is_always_a_reason() -> None:
    batch = compiled(customer_mapping()).map_records([{"email": "x"}])

    assert batch.rejected[0].reasons == ("shopify_customers.id: required field missing",)
    assert batch.rejected[0].record_key is None


def test_a_default_fills_missing_and_null_values_converted_to_the_column_type() -> None:
    mapping = customer_mapping()
    mapping["mappings"][3]["default"] = "0.00"

    rows = compiled(mapping).map_records([{"id": 1}, {"id": 2, "total_spent": None}]).rows

    assert [row["total_spent"] for row in rows["shopify_customers"]] == [Decimal("0.00")] * 2


def test_dotted_paths_and_list_indexes_reach_into_nested_objects() -> None:
    mapping = customer_mapping()
    mapping["mappings"].append(
        {"source": "addresses.1.zip", "target": "second_zip", "type": "string"}
    )
    record = {
        "id": 1,
        "default_address": {"city": "Louisville"},
        "addresses": [{"zip": "40202"}, {"zip": "K2P 1L4"}],
    }

    rows = compiled(mapping).map_records([record, {"id": 2, "addresses": []}]).rows

    first, second = rows["shopify_customers"]
    assert (first["city"], first["second_zip"]) == ("Louisville", "K2P 1L4")
    assert (second["city"], second["second_zip"]) == (None, None)


def test_a_nested_object_that_turned_into_a_scalar_is_a_schema_conflict() -> None:
    batch = compiled(customer_mapping()).map_records([{"id": 1, "default_address": "Louisville"}])

    assert batch.rejected[0].reasons == (
        "shopify_customers.city (source default_address.city): "
        "default_address is a str, expected an object or list",
    )


def test_emails_in_a_rejected_field_are_masked_in_the_reason() -> None:
    batch = compiled(customer_mapping()).map_records([{"id": 1, "email": 15005550006}])

    (reason,) = batch.rejected[0].reasons
    assert reason.startswith("shopify_customers.email: cannot convert ***")
    assert "15005550006" not in reason


def test_the_fast_paths_refuse_what_the_converters_refuse() -> None:
    mapping = customer_mapping()
    mapping["mappings"].append({"source": "verified", "target": "verified", "type": "boolean"})

    batch = compiled(mapping).map_records(
        [{"id": True}, {"id": 2**63}, {"id": 3, "verified": 1}, {"id": 4, "email": 5}]
    )

    assert batch.rows["shopify_customers"] == []
    assert len(batch.rejected) == 4


def test_record_key_reads_the_converted_primary_key_or_none() -> None:
    mapping = compiled(customer_mapping())

    assert mapping.record_key({"id": "42"}) == "42"
    assert mapping.record_key({"id": "x"}) is None
    assert mapping.record_key({}) is None
    assert mapping.record_key("not a record") is None


def test_a_json_default_is_a_fresh_value_in_every_row() -> None:
    mapping = customer_mapping()
    mapping["mappings"].append(
        {"source": "properties", "target": "properties", "type": "json", "default": {}}
    )

    first, second = compiled(mapping).map_records([{"id": 1}, {"id": 2}]).rows["shopify_customers"]
    first["properties"]["vip"] = True

    assert second["properties"] == {}


def _buggy(value: Any) -> Any:
    return {"known": 1}[value]  # a converter with a bug: KeyError on every value


@pytest.mark.parametrize(
    ("parent_price", "where"),
    [
        ("SECRET", ("shopify_orders", "total_price", "total_price")),
        (None, ("shopify_order_line_items", "price", "line_items[].price")),
    ],
)
def test_a_bug_in_mapping_code_fails_loudly_instead_of_quarantining(
    monkeypatch: pytest.MonkeyPatch, parent_price: str | None, where: tuple[str, str, str]
) -> None:
    monkeypatch.setitem(CONVERTERS, ColumnType.DECIMAL, _buggy)
    mapping = compiled(order_mapping())
    record = order(total_price=parent_price, line_items=[{"id": 1, "price": "SECRET"}])
    with pytest.raises(MappingBugError) as raised:
        mapping.map_records([record])
    error = raised.value
    assert (error.table, error.column, error.source) == where
    assert isinstance(error.__cause__, KeyError)
    assert "SECRET" not in str(error)
    assert "KeyError" in str(error) and "not bad data" in str(error)


def test_bad_values_are_still_quarantined_not_treated_as_bugs() -> None:
    batch = compiled(order_mapping()).map_records([order(total_price="abc")])
    assert batch.rows["shopify_orders"] == [] and len(batch.rejected) == 1
