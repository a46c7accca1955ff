"""How the GraphQL simulator fails: errors inside 200s, HTTP refusals, faults, deprecations."""

from __future__ import annotations

import httpx
import orjson
import pytest

from integration_assets.sandbox import Sandbox
from integration_assets_tests.sandbox.graphql_helpers import GRAPHQL, graphql

PAGE = "query($after: String) { customers(first: 20, after: $after) { nodes { id verifiedEmail } pageInfo { endCursor } } }"


def test_a_syntax_error_comes_back_inside_a_200_with_its_location(shopify: httpx.Client) -> None:
    response = graphql(shopify, "{ customers(first: 2) { nodes { id }")

    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 37}]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0


def test_an_unknown_field_is_reported_in_shopify_words(shopify: httpx.Client) -> None:
    response = graphql(shopify, "{ customers(first: 2) { nodes { id favouriteColour } } }")

    assert response.status_code == 200
    assert response.json()["errors"] == [
        {
            "message": "Field 'favouriteColour' doesn't exist on type 'Customer'",
            "locations": [{"line": 1, "column": 36}],
            "extensions": {
                "code": "undefinedField",
                "typeName": "Customer",
                "fieldName": "favouriteColour",
            },
        }
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "you must provide one of first or last"),
        (
            "first: 251",
            "The connection can't return more than 250 records. Use `first` to request "
            "250 records or fewer.",
        ),
        ('first: 5, after: "not-a-cursor"', "Invalid cursor: not-a-cursor"),
    ],
)
def test_bad_connection_arguments_are_errors_beside_null_data(
    shopify: httpx.Client, arguments: str, message: str
) -> None:
    field = f"customers({arguments})" if arguments else "customers"
    response = graphql(shopify, f"{{ {field} {{ nodes {{ id }} }} }}")

    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == [message]
    assert body["errors"][0]["path"] == ["customers"]


def test_a_cursor_of_another_sort_is_refused(shopify: httpx.Client) -> None:
    first = graphql(shopify, "{ customers(first: 2) { pageInfo { endCursor } } }").json()
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]

    response = graphql(
        shopify,
        "query($c: String) { customers(first: 2, after: $c, sortKey: UPDATED_AT) { nodes { id } } }",
        {"c": cursor},
    )

    assert response.json()["errors"][0]["message"] == "Invalid cursor for current pagination sort."


def test_a_post_without_query_is_a_400_and_another_method_a_405(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    empty = shopify.post(GRAPHQL, json={"variables": {}})
    not_json = shopify.post(GRAPHQL, content=b"{oops", headers={"Content-Type": "application/json"})
    get = shopify.get(GRAPHQL, params={"query": "{ customers(first: 1) { nodes { id } } }"})

    refusal = {"errors": {"query": "Required parameter missing or invalid"}}
    assert (empty.status_code, empty.json()) == (400, refusal)
    assert (not_json.status_code, not_json.json()) == (400, refusal)
    assert get.status_code == 405
    assert get.headers["Allow"] == "POST"


def test_a_bare_query_with_the_graphql_content_type_is_accepted(shopify: httpx.Client) -> None:
    response = shopify.post(
        GRAPHQL,
        content=b"{ customers(first: 1) { nodes { id } } }",
        headers={"Content-Type": "application/graphql"},
    )

    assert response.status_code == 200
    assert len(response.json()["data"]["customers"]["nodes"]) == 1


def test_injected_5xx_and_timeouts_apply_to_graphql_too(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(error_rate=1.0, error_statuses=[503])

    response = graphql(shopify, PAGE)

    assert response.status_code == 503
    assert response.json() == {"errors": "Service Unavailable"}


def test_an_internal_error_inside_a_200_has_null_data_and_shopify_error_shape(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(graphql_error_rate=1.0)

    response = graphql(shopify, PAGE)

    body = response.json()
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 200
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Internal error. Looks like something went wrong on our end.\n"
            f"Request ID: {request_id} (include this in support requests).",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
    ]
    assert "cost" in body["extensions"]


def test_a_malformed_second_page_is_truncated_once_then_served_whole(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(malformed_page={"entity": "customers", "page": 2, "mode": "once"})
    first = graphql(shopify, PAGE).json()["data"]["customers"]
    variables = {"after": first["pageInfo"]["endCursor"]}

    broken = graphql(shopify, PAGE, variables)
    retried = graphql(shopify, PAGE, variables)

    assert broken.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken.content)
    assert len(retried.json()["data"]["customers"]["nodes"]) == 20


def test_type_drift_turns_verified_email_into_a_string(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(type_drift=1.0)

    nodes = graphql(shopify, PAGE).json()["data"]["customers"]["nodes"]

    assert {node["verifiedEmail"] for node in nodes} <= {"yes", "no"}


def test_duplicate_across_pages_repeats_the_last_record_of_the_page_before(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(duplicate_across_pages=True)
    first = graphql(shopify, PAGE).json()["data"]["customers"]

    second = graphql(shopify, PAGE, {"after": first["pageInfo"]["endCursor"]}).json()

    nodes = second["data"]["customers"]["nodes"]
    assert nodes[0] == first["nodes"][-1]
    assert len(nodes) == 20


def test_deprecated_fields_are_named_in_the_deprecation_header(shopify: httpx.Client) -> None:
    modern = graphql(
        shopify, "{ customers(first: 1) { nodes { defaultEmailAddress { emailAddress } } } }"
    )
    legacy = graphql(shopify, "{ customers(first: 1) { nodes { email phone addresses { id } } } }")

    assert "X-Shopify-API-Deprecated-Reason" not in modern.headers
    assert legacy.headers["X-Shopify-API-Deprecated-Reason"] == (
        "Customer.email, Customer.phone, Customer.addresses"
    )


def test_the_deprecated_reason_switch_marks_rest_and_graphql_answers(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    reason = "https://shopify.dev/docs/api/usage/versioning#deprecation-practices"
    sandbox.shopify.set_faults(deprecated_reason=reason)

    rest = shopify.get("/admin/api/2024-10/customers.json", params={"limit": 1})
    graph = graphql(shopify, "{ customers(first: 1) { nodes { id } } }")
    sandbox.shopify.set_faults(deprecated_reason=None)
    after = graphql(shopify, "{ customers(first: 1) { nodes { id } } }")

    assert rest.headers["X-Shopify-API-Deprecated-Reason"] == reason
    assert graph.headers["X-Shopify-API-Deprecated-Reason"] == reason
    assert "X-Shopify-API-Deprecated-Reason" not in after.headers


def test_search_or_and_unsimulated_sort_keys_are_refused_plainly(shopify: httpx.Client) -> None:
    either = graphql(
        shopify,
        '{ customers(first: 5, query: "id:>5 OR id:<3") { nodes { id } } }',
    )
    by_title = graphql(shopify, "{ products(first: 5, sortKey: TITLE) { nodes { id } } }")

    assert either.json()["errors"][0]["message"] == (
        "The sandbox does not simulate `OR` in search queries; use terms joined by AND."
    )
    assert by_title.json()["errors"][0]["message"] == (
        "The sandbox does not simulate sortKey TITLE; use ID, CREATED_AT or UPDATED_AT."
    )


def test_a_documented_search_field_the_sandbox_cannot_filter_on_is_refused(
    shopify: httpx.Client,
) -> None:
    response = graphql(shopify, '{ customers(first: 5, query: "tag:vip") { nodes { id } } }')

    assert response.json()["errors"][0]["message"] == (
        "The sandbox does not simulate the search field `tag`."
    )


def test_the_graphql_response_format_answers_invalid_documents_with_400(
    shopify: httpx.Client,
) -> None:
    accept = {"Accept": "application/graphql-response+json, application/json"}
    broken = {"query": "{ customers(first: 1) { nodes { nope } } }"}
    fine = {"query": "{ customers(first: 1) { nodes { id } } }"}

    strict = shopify.post("/admin/api/2026-10/graphql", json=broken, headers=accept)
    executed = shopify.post("/admin/api/2026-10/graphql", json=fine, headers=accept)
    classic = shopify.post(GRAPHQL, json=broken, headers=accept)

    assert strict.status_code == 400
    assert strict.headers["Content-Type"].startswith("application/graphql-response+json")
    assert strict.json()["errors"][0]["extensions"]["code"] == "undefinedField"
    assert executed.status_code == 200
    assert executed.headers["Content-Type"].startswith("application/graphql-response+json")
    assert (classic.status_code, classic.headers["Content-Type"]) == (
        200,
        "application/json; charset=utf-8",
    )
