"""GraphQL answers the simulator does not give, staged by a scripted loopback server: a vendor
handing back the cursor it was just given (a loop of POSTs) and a nested connection that says
it has more but gives no cursor to read it from."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.extract import (
    AuthenticationError,
    ExtractError,
    ExtractSettings,
    PageStream,
    UnlimitedLimiter,
)
from integration_assets_tests.extract.loopback import FakeTime, Scripted, ScriptedApp, serve

GRAPHQL = get_connector("shopify")
TOKEN = "shpat_TOPSECRET_0123456789"


def answer(nodes: list[dict[str, Any]], cursor: str | None, key: str = "customers") -> Scripted:
    page_info = {"hasNextPage": cursor is not None, "endCursor": cursor}
    body = {"data": {key: {"nodes": nodes, "pageInfo": page_info}}}
    return Scripted(body=orjson.dumps(body), headers={"Content-Type": "application/json"})


def stream(base_url: str, entity: str = "customers") -> PageStream:
    time = FakeTime()
    return PageStream(
        GRAPHQL,
        entity,
        Connection(
            name="demo-shop",
            vendor="shopify",
            base_url=base_url,
            secrets={"access_token": "DEMO_SHOP_TOKEN"},
            entities={entity: "hourly"},
        ),
        settings=ExtractSettings(),
        secrets={"access_token": TOKEN},
        limiter=UnlimitedLimiter(),
        sleep=time.sleep,
        clock=time.clock,
    )


def test_a_cursor_handed_back_twice_is_a_loop_of_posts_refused_before_sending() -> None:
    app = ScriptedApp(
        [
            answer([{"id": "gid://shopify/Customer/1"}], "c1"),
            answer([{"id": "gid://shopify/Customer/2"}], "c1"),
        ]
    )
    with serve(app) as base, pytest.raises(ExtractError) as error:
        list(stream(base))

    assert "pagination loop after page 2" in str(error.value)
    assert "on POST" in str(error.value) and TOKEN not in str(error.value)
    assert len(app.seen) == 2
    assert all(seen.path == "/admin/api/2026-10/graphql.json" for seen in app.seen)


def test_a_nested_connection_with_more_but_no_cursor_fails_the_page() -> None:
    order = {
        "id": "gid://shopify/Order/9",
        "lineItems": {
            "nodes": [{"id": "l1"}],
            "pageInfo": {"hasNextPage": True, "endCursor": None},
        },
    }
    app = ScriptedApp([answer([order], None, key="orders")])
    with serve(app) as base, pytest.raises(ExtractError) as error:
        list(stream(base, "orders"))

    message = str(error.value)
    assert "page 1 cannot be landed whole" in message
    assert "record 'gid://shopify/Order/9': its 'lineItems' says it has a next page" in message
    assert len(app.seen) == 1


def test_a_missing_scope_is_an_authentication_error_naming_the_scope_hint() -> None:
    """Shopify answers a query touching data the token's scopes do not cover with
    ACCESS_DENIED inside a 200 (the simulator grants every scope, so it is staged here)."""
    denied = {
        "errors": [
            {
                "message": "Access denied for customers field. Required access: `read_customers`"
                " access scope.",
                "extensions": {"code": "ACCESS_DENIED"},
            }
        ],
        "data": None,
    }
    app = ScriptedApp([Scripted(body=orjson.dumps(denied))])
    with serve(app) as base, pytest.raises(AuthenticationError) as error:
        list(stream(base))

    message = str(error.value)
    assert "permission denied to query 'Sync'" in message
    assert "ACCESS_DENIED: Access denied for customers field" in message
    assert "DEMO_SHOP_TOKEN" in message and "scopes" in message and TOKEN not in message
    assert len(app.seen) == 1  # not retried


def test_a_record_deleted_before_its_follow_up_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The follow-up for an order's further line items finds no order (`node: null`): it was
    deleted since the page was served. Keeping it cut short would store a wrong order; it is
    left out of the page (and of the landed body), and reconciliation sees the deletion."""
    cut = {
        "id": "gid://shopify/Order/9",
        "lineItems": {"nodes": [{"id": "l1"}], "pageInfo": {"hasNextPage": True, "endCursor": "x"}},
    }
    whole = {
        "id": "gid://shopify/Order/10",
        "lineItems": {
            "nodes": [{"id": "l2"}],
            "pageInfo": {"hasNextPage": False, "endCursor": "y"},
        },
    }
    app = ScriptedApp(
        [
            answer([cut, whole], None, key="orders"),
            Scripted(body=orjson.dumps({"data": {"node": None}})),
        ]
    )
    with serve(app) as base, caplog.at_level("WARNING", logger="integration_assets.extract"):
        walk = stream(base, "orders")
        pages = list(walk)

    assert [record["id"] for record in pages[0].records] == ["gid://shopify/Order/10"]
    assert pages[0].records[0]["lineItems"] == [{"id": "l2"}]
    assert b"Order/9" not in pages[0].body
    assert walk.stats.records == 1 and walk.stats.requests == 2
    assert "1 record(s) vanished while their nested connections were read" in caplog.text
    assert "gid://shopify/Order/9" in caplog.text
