"""A vendor may offer several APIs, each one spec (data); the registry picks by (vendor, api),
and a spec that mixes request shapes is refused when it is written, not when it is used."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from integration_assets.connectors import CONNECTORS, apis_of, default_api, get_connector
from integration_assets.connectors.spec import RateLimitSpec

GRAPHQL = get_connector("shopify", "graphql")


def test_shopify_speaks_graphql_by_default_and_rest_on_request() -> None:
    assert apis_of("shopify") == ("graphql", "rest") and default_api("shopify") == "graphql"
    assert get_connector("shopify") is GRAPHQL is CONNECTORS["shopify"]
    assert get_connector("shopify", "rest").request == "get"
    assert apis_of("klaviyo") == ("rest",) and get_connector("klaviyo").api_id == "rest"
    # Both APIs list the same entities: one asset per vendor entity, whatever the API.
    rest = get_connector("shopify", "rest")
    assert [e.name for e in GRAPHQL.entities] == [e.name for e in rest.entities]


def test_an_api_a_vendor_lacks_is_named_with_the_ones_it_has() -> None:
    with pytest.raises(KeyError, match=r"shopify has no API 'soap' \(known: graphql, rest\)"):
        get_connector("shopify", "soap")
    with pytest.raises(KeyError, match="unknown vendor 'shopfy'"):
        get_connector("shopfy")


def test_a_graphql_entity_without_its_query_is_refused() -> None:
    orders = GRAPHQL.entity("orders").model_copy(update={"query": None})
    with pytest.raises(ValidationError, match="shopify/orders: a graphql entity needs `query`"):
        GRAPHQL.model_validate({**GRAPHQL.model_dump(), "entities": [orders.model_dump()]})


def test_graphql_settings_on_a_get_connector_are_refused() -> None:
    rest = get_connector("shopify", "rest")
    with pytest.raises(ValidationError, match="GraphQL settings on a GET connector"):
        rest.model_validate({**rest.model_dump(), "graphql": {"path": "graphql.json"}})


def test_cost_settings_need_a_cost_budget() -> None:
    with pytest.raises(ValidationError, match="need unit='cost'"):
        RateLimitSpec(capacity=40, refill_per_second=2.0, max_request_cost=1000)
