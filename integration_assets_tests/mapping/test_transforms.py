"""Field transforms and enum maps: what they make of good values, and bad values quarantined
with a reason that names the transform (never a `MappingBugError`)."""

from __future__ import annotations

from typing import Any

import pytest

from integration_assets.mapping import MappingError, MappingSpec, compile_mapping, validate_mapping
from integration_assets.mapping.compiler import CompiledMapping
from integration_assets.schema import MappedBatch


def spec(*fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "integration": "shopify",
        "entity": "customers",
        "table": "customers",
        "primary_key": ["id"],
        "mappings": [
            {"source": "id", "target": "id", "type": "integer", "transform": "gid_numeric_id"},
            *fields,
        ],
    }


def compiled(*fields: dict[str, Any]) -> CompiledMapping:
    return compile_mapping(MappingSpec.model_validate(spec(*fields)))


def one(mapping: CompiledMapping, **record: Any) -> MappedBatch:
    return mapping.map_records([{"id": "gid://shopify/Customer/7", **record}])


def reasons(batch: MappedBatch) -> tuple[str, ...]:
    assert not batch.rows["customers"]
    (rejected,) = batch.rejected
    return rejected.reasons


@pytest.mark.parametrize(
    ("gid", "number"),
    [
        ("gid://shopify/Customer/207119551", 207119551),
        ("gid://shopify/MailingAddress/42?model_name=CustomerAddress", 42),
        ("gid://shopify/InventoryLevel/123?inventory_item_id=456", 123),
    ],
)
def test_gid_numeric_id_takes_the_number_at_the_end_of_a_global_id(gid: str, number: int) -> None:
    batch = compiled().map_records([{"id": gid}])

    assert batch.rows["customers"] == [{"id": number}]


@pytest.mark.parametrize(
    "bad", ["207119551", "gid://shopify/Customer/abc", "gid://shopify/Customer/", 207119551]
)
def test_something_that_is_not_a_numeric_global_id_is_quarantined_with_the_reason(
    bad: Any,
) -> None:
    batch = compiled().map_records([{"id": bad}])

    (reason,) = reasons(batch)
    assert reason.startswith(
        "customers.id: gid_numeric_id: expected a global id ending in a number"
    )
    assert batch.rejected[0].record_key is None  # the key itself is what failed


def test_a_global_id_beyond_64_bits_is_refused_not_wrapped() -> None:
    batch = compiled().map_records([{"id": f"gid://shopify/Customer/{2**63}"}])

    assert "gid_numeric_id" in reasons(batch)[0]


def test_lowercase_and_join_give_rest_spellings_and_refuse_other_shapes() -> None:
    mapping = compiled(
        {"source": "state", "target": "state", "type": "string", "transform": "lowercase"},
        {"source": "tags", "target": "tags", "type": "string", "transform": "join"},
    )

    good = one(mapping, state="ENABLED", tags=["Léon", "Noël"])
    bad = one(mapping, state=5, tags=["vip", 7])

    assert good.rows["customers"] == [{"id": 7, "state": "enabled", "tags": "Léon, Noël"}]
    assert reasons(bad) == (
        "customers.state: lowercase: expected a string, got 5 (int)",
        "customers.tags: join: expected a list of strings, got a list (2 items)",
    )


def test_a_missing_value_skips_the_transform_and_takes_the_default() -> None:
    mapping = compiled(
        {"source": "tags", "target": "tags", "type": "string", "transform": "join", "default": ""}
    )

    assert one(mapping).rows["customers"] == [{"id": 7, "tags": ""}]


def test_transforms_apply_in_order() -> None:
    mapping = compiled(
        {
            "source": "tags",
            "target": "tags",
            "type": "string",
            "transform": ["join", "lowercase"],
        }
    )

    assert one(mapping, tags=["VIP", "Wholesale"]).rows["customers"][0]["tags"] == (
        "vip, wholesale"
    )


def status_field(unknown: str) -> dict[str, Any]:
    return {
        "source": "status",
        "target": "status",
        "type": "string",
        "enum": {"values": {"FULFILLED": "fulfilled", "UNFULFILLED": None}, "unknown": unknown},
    }


def test_an_enum_maps_listed_values_including_to_null() -> None:
    mapping = compiled(status_field("error"))

    assert one(mapping, status="FULFILLED").rows["customers"][0]["status"] == "fulfilled"
    assert one(mapping, status="UNFULFILLED").rows["customers"][0]["status"] is None


def test_an_unknown_enum_value_is_quarantined_keeps_or_becomes_null_by_policy() -> None:
    error = one(compiled(status_field("error")), status="TELEPORTED")
    keep = one(compiled(status_field("keep")), status="TELEPORTED")
    null = one(compiled(status_field("null")), status="TELEPORTED")

    assert reasons(error) == (
        "customers.status: enum: expected one of FULFILLED, UNFULFILLED, got 'TELEPORTED' (str)",
    )
    assert error.rejected[0].record_key == "7"
    assert keep.rows["customers"][0]["status"] == "TELEPORTED"
    assert null.rows["customers"][0]["status"] is None


def test_a_non_string_enum_input_is_unknown_and_kept_values_still_convert() -> None:
    batch = one(compiled(status_field("keep")), status=3)

    assert reasons(batch) == (
        "customers.status: cannot convert 3 (int) to string: only JSON "
        "strings become string columns",
    )


def test_the_enum_policy_defaults_to_error() -> None:
    field = status_field("error")
    del field["enum"]["unknown"]

    assert "expected one of" in reasons(one(compiled(field), status="X"))[0]


def test_an_enum_of_a_required_field_that_maps_to_null_is_a_missing_value() -> None:
    field = {**status_field("error"), "required": True}

    assert reasons(one(compiled(field), status="UNFULFILLED")) == (
        "customers.status: required field missing",
    )


def test_a_sourceless_column_is_always_null() -> None:
    mapping = compiled(
        {"source": None, "target": "published_scope", "type": "string", "description": "gone"}
    )

    assert one(mapping, published_scope="web").rows["customers"] == [
        {"id": 7, "published_scope": None}
    ]
    assert mapping.table.column("published_scope").nullable


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        (
            {"source": "a", "target": "a", "type": "string", "transform": "shout"},
            "unknown transform 'shout' (known: gid_numeric_id, join, lowercase)",
        ),
        (
            {"source": "a", "target": "a", "type": "string", "transform": "gid_numeric_id"},
            "transform 'gid_numeric_id' gives integer values; column 'a' is string",
        ),
        (
            {
                "source": "a",
                "target": "a",
                "type": "integer",
                "enum": {"values": {"ONE": "one"}},
            },
            "enum value of 'ONE' for 'a': cannot convert 'one' (str) to integer",
        ),
        (
            {"source": "a", "target": "a", "type": "string", "enum": {"values": {}}},
            "at least 1 item",
        ),
        (
            {
                "source": "a",
                "target": "a",
                "type": "string",
                "enum": {"values": {"A": "a"}, "unknown": "ignore"},
            },
            "'error', 'keep' or 'null'",
        ),
        (
            {"source": None, "target": "a", "type": "string", "required": True},
            "field 'a' has no source (always NULL), so it cannot have required",
        ),
        ({"target": "a", "type": "string"}, "Field required"),
    ],
)
def test_a_file_with_a_broken_transform_or_enum_is_refused_when_loaded(
    field: dict[str, Any], problem: str
) -> None:
    with pytest.raises(MappingError) as caught:
        validate_mapping(spec(field), "customers.json")

    assert "mappings[1] (target 'a')" in str(caught.value)
    assert problem in str(caught.value)


def test_a_key_column_needs_a_source() -> None:
    mapping = spec()
    mapping["mappings"][0] = {"source": None, "target": "id", "type": "integer"}

    with pytest.raises(MappingError, match="'id' cannot be a key: it has no source"):
        validate_mapping(mapping, "customers.json")


ODD_VALUES: list[Any] = [
    True,
    1.5,
    -3,
    "",
    "gid://",
    {"id": 1},
    [],
    [None],
    [["a"]],
    "ß" * 3,
    "gid://shopify/Customer/1?x=\n",
]


@pytest.mark.parametrize("name", ["gid_numeric_id", "lowercase", "join"])
def test_no_json_value_makes_a_transform_fail_the_run(name: str) -> None:
    column_type = "integer" if name == "gid_numeric_id" else "string"
    mapping = compiled({"source": "v", "target": "v", "type": column_type, "transform": name})

    batch = mapping.map_records([{"id": "gid://shopify/Customer/1", "v": v} for v in ODD_VALUES])

    assert len(batch.rows["customers"]) + len(batch.rejected) == len(ODD_VALUES)
    assert all(r.reasons[0].startswith("customers.v: ") for r in batch.rejected)
