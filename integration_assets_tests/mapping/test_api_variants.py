"""A vendor with several APIs has one mapping per API; a connection gets its API's file, the
API variants must describe identical tables, and an override written for one API is refused
for a connection of another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration_assets.mapping import MappingError, available_mappings, load_mapping
from integration_assets.mapping.apis import default_api
from integration_assets.mapping.loader import mapping_apis, mapping_path
from integration_assets.mapping.union import load_table_union, mapping_variants
from integration_assets_tests.mapping.conftest import WriteJson, customer_mapping, order_mapping


def graphql_customers(**changes: Any) -> dict[str, Any]:
    """The conftest's customer mapping as the GraphQL API would feed it."""
    mapping = customer_mapping(api="graphql")
    mapping["mappings"] = [
        {"source": "id", "target": "id", "type": "integer", "transform": "gid_numeric_id"},
        {"source": "defaultEmailAddress.emailAddress", "target": "email", "type": "string"},
        {"source": "updatedAt", "target": "updated_at", "type": "datetime"},
        {"source": "amountSpent.amount", "target": "total_spent", "type": "decimal"},
        {"source": "defaultAddress.city", "target": "city", "type": "string"},
    ]
    mapping.update(changes)
    return mapping


@pytest.fixture
def two_apis(write_json: WriteJson) -> WriteJson:
    write_json("shopify/rest/customers.json", customer_mapping(api="rest"))
    write_json("shopify/graphql/customers.json", graphql_customers())
    return write_json


def test_a_connection_gets_the_mapping_of_its_api(two_apis: WriteJson, mappings_dir: Path) -> None:
    rest = load_mapping("shopify", "customers", mappings_dir=mappings_dir, api="rest")
    graphql = load_mapping("shopify", "customers", mappings_dir=mappings_dir, api="graphql")

    assert (rest.api, rest.field("email").source) == ("rest", "email")
    assert (graphql.api, graphql.field("email").source) == (
        "graphql",
        "defaultEmailAddress.emailAddress",
    )


def test_without_an_api_the_vendor_default_applies(two_apis: WriteJson, mappings_dir: Path) -> None:
    spec = load_mapping("shopify", "customers", mappings_dir=mappings_dir)

    assert spec.api == default_api("shopify")
    assert mapping_path("shopify", "customers", mappings_dir) == (
        mappings_dir / "shopify" / str(default_api("shopify")) / "customers.json"
    )


def test_a_single_api_vendor_keeps_one_file_whatever_the_api(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    write_json("klaviyo/customers.json", customer_mapping(integration="klaviyo"))

    assert mapping_path("klaviyo", "customers", mappings_dir, api="rest") == (
        mappings_dir / "klaviyo" / "customers.json"
    )
    assert load_mapping("klaviyo", "customers", mappings_dir=mappings_dir, api="rest").api is None
    assert mapping_apis("klaviyo", "customers", mappings_dir) == (None,)


def test_every_api_variant_is_listed_default_first(two_apis: WriteJson, mappings_dir: Path) -> None:
    two_apis("shopify/rest/orders.json", customer_mapping(api="rest", entity="orders"))

    assert available_mappings(mappings_dir) == [("shopify", "customers"), ("shopify", "orders")]
    apis = mapping_apis("shopify", "customers", mappings_dir)
    assert set(apis) == {"graphql", "rest"} and apis[0] == default_api("shopify")
    assert mapping_apis("shopify", "orders", mappings_dir) == ("rest",)


def test_an_api_without_a_file_is_named_with_the_files_there_are(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping("shopify", "customers", mappings_dir=mappings_dir, api="soap")

    assert "no mapping for shopify/soap/customers (known: shopify/graphql/customers, " in str(
        caught.value
    )


def test_a_file_left_beside_the_api_folders_is_an_error(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    stray = two_apis("shopify/customers.json", customer_mapping())

    with pytest.raises(MappingError) as caught:
        available_mappings(mappings_dir)

    assert caught.value.file == stray
    assert "keeps its mappings in API folders (graphql, rest)" in str(caught.value)


def test_a_file_must_be_for_the_api_of_its_folder(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    path = write_json("shopify/graphql/customers.json", customer_mapping(api="rest"))

    with pytest.raises(MappingError) as caught:
        load_mapping("shopify", "customers", mappings_dir=mappings_dir, api="graphql")

    assert caught.value.file == path
    assert "api: is 'rest' but the file is in the 'graphql' API folder" in str(caught.value)


def test_api_variants_with_the_same_tables_make_one_union(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    variants = mapping_variants("shopify", "customers", mappings_dir)
    union = load_table_union("shopify", "customers", mappings_dir)

    assert len(variants) == 2
    assert variants[0].tables == variants[1].tables
    assert [c.name for c in union["shopify_customers"].columns] == [
        "id",
        "email",
        "updated_at",
        "total_spent",
        "city",
    ]


@pytest.mark.parametrize(
    ("change", "differences"),
    [
        (
            {"target": "total_spent", "type": "float"},
            ["column 'total_spent' is", "float", "decimal"],
        ),
        ({"target": "email", "required": True}, ["column 'email' is", "string NOT NULL"]),
        ({"target": "city", "remove": True}, ["columns ['city'] are"]),
    ],
)
def test_api_variants_that_describe_different_tables_are_refused_naming_both_files(
    write_json: WriteJson, mappings_dir: Path, change: dict[str, Any], differences: list[str]
) -> None:
    rest = write_json("shopify/rest/customers.json", customer_mapping(api="rest"))
    mapping = graphql_customers()
    fields = [f for f in mapping["mappings"] if f["target"] != change["target"]]
    if not change.get("remove"):
        original = next(f for f in mapping["mappings"] if f["target"] == change["target"])
        fields.insert(mapping["mappings"].index(original), {**original, **change})
    graphql = write_json("shopify/graphql/customers.json", {**mapping, "mappings": fields})

    with pytest.raises(MappingError) as caught:
        load_table_union("shopify", "customers", mappings_dir)

    message = str(caught.value)
    assert str(graphql) in message and str(rest) in message
    assert all(difference in message for difference in differences), message
    assert "must describe identical tables" in message


def test_an_override_applies_to_the_api_of_the_connection(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    two_apis("overrides/acme/customers.json", {"mappings": [{"target": "city", "remove": True}]})

    for api in ("rest", "graphql"):
        spec = load_mapping("shopify", "customers", "acme", mappings_dir, api=api)
        assert spec.api == api
        assert "city" not in [f.target for f in spec.fields]


def test_an_override_for_one_api_is_refused_for_a_connection_of_another(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    override = two_apis(
        "overrides/acme/customers.json",
        {"api": "rest", "mappings": [{"source": "note", "target": "note", "type": "string"}]},
    )

    rest = load_mapping("shopify", "customers", "acme", mappings_dir, api="rest")
    with pytest.raises(MappingError) as caught:
        load_mapping("shopify", "customers", "acme", mappings_dir, api="graphql")

    assert rest.field("note").source == "note"
    assert caught.value.file == override
    assert (
        "api: this override is for the 'rest' API of shopify, but connection 'acme' uses the "
        "'graphql' API" in str(caught.value)
    )


def test_the_union_applies_an_override_to_the_api_it_declares(
    two_apis: WriteJson, mappings_dir: Path
) -> None:
    two_apis(
        "overrides/acme/customers.json",
        {
            "api": "graphql",
            "mappings": [{"source": "locale", "target": "locale", "type": "string"}],
        },
    )

    variants = mapping_variants("shopify", "customers", mappings_dir)
    union = load_table_union("shopify", "customers", mappings_dir)["shopify_customers"]

    assert variants[-1].file == mappings_dir / "overrides" / "acme" / "customers.json"
    assert union.column("locale").nullable


def test_an_override_without_api_written_for_rest_still_shapes_the_shared_tables(
    write_json: WriteJson, mappings_dir: Path
) -> None:
    """An override from before the GraphQL mapping names REST fields and says no API: the
    tables take its shape from the API mapping it fits; its connection, on REST, loads it, and
    a GraphQL connection with it is refused naming the override."""
    write_json("shopify/rest/orders.json", {**order_mapping(), "api": "rest"})
    graphql = order_mapping()
    graphql["api"] = "graphql"
    graphql["mappings"][-1]["source"] = "lineItems"
    write_json("shopify/graphql/orders.json", graphql)
    override = write_json(
        "overrides/acme/orders.json",
        {
            "mappings": [
                {
                    "source": "line_items",
                    "nested": {"mappings": [{"target": "sku", "remove": True}]},
                }
            ]
        },
    )

    union = load_table_union("shopify", "orders", mappings_dir)
    rest = load_mapping("shopify", "orders", "acme", mappings_dir, api="rest")
    with pytest.raises(MappingError) as caught:
        load_mapping("shopify", "orders", "acme", mappings_dir, api="graphql")

    assert union["shopify_order_line_items"].column("sku").nullable
    assert "sku" not in [f.target for f in rest.children[0].nested.mappings]
    assert caught.value.file == override
    assert "the connection uses the 'graphql' API, so the override's source paths must be" in (
        str(caught.value)
    )
