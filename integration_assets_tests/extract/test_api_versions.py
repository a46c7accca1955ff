"""The API version a walk asks for, and what the vendor says back about versions, against the
Shopify simulator over real HTTP.

The version comes from the connection (its `api_version`, else the connector's default) and
reaches the request path; the vendor's version signals (a deprecation reason, a served version
other than the requested one) and the version's own schedule become warnings in the stream's
stats, each once, without secrets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.extract import ExtractSettings, PageStream
from integration_assets.extract.stream import request_headers
from integration_assets.sandbox import Sandbox, run_sandbox

SHOPIFY = get_connector("shopify", "rest")
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 120, "products": 30}, rate_limits=False) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The module's sandbox, reset, with its API calendar on 2026-11-30."""
    sandbox.shopify.reset()
    sandbox.shopify.api_date = TODAY
    return sandbox


def shop(sb: Sandbox, api_version: str | None = None) -> Connection:
    return Connection(
        name=f"shop-{uuid.uuid4().hex[:8]}",
        vendor="shopify",
        base_url=sb.shopify_url,
        secrets={"access_token": "SANDBOX_SHOP_TOKEN"},
        entities={"customers": "hourly", "products": "daily"},
        api_version=api_version,
    )


def walk(
    sb: Sandbox, connection: Connection, entity: str = "customers", page_size: int = 50
) -> PageStream:
    stream = PageStream(
        SHOPIFY,
        entity,
        connection,
        settings=ExtractSettings(page_size=page_size, today=TODAY),
        secrets={"access_token": sb.shopify.access_token},
    )
    for _ in stream:
        pass
    return stream


def requested_paths(sb: Sandbox) -> set[str]:
    return {request.path for request in sb.shopify.stats().requests}


def test_the_connectors_default_version_is_requested_and_served(sb: Sandbox) -> None:
    stream = walk(sb, shop(sb))

    assert requested_paths(sb) == {"/admin/api/2026-10/customers.json"}
    assert stream.stats.pages == 3
    assert stream.stats.served_version == "2026-10"
    assert stream.stats.warnings == []


def test_a_connections_own_api_version_goes_into_every_request(sb: Sandbox) -> None:
    stream = walk(sb, shop(sb, api_version="2026-07"))

    assert requested_paths(sb) == {"/admin/api/2026-07/customers.json"}
    assert stream.api_version == "2026-07"
    assert stream.stats.served_version == "2026-07"
    assert stream.stats.warnings == []


def test_a_retired_version_is_answered_with_another_and_both_facts_are_warnings(
    sb: Sandbox,
) -> None:
    connection = shop(sb, api_version="2025-10")

    stream = walk(sb, connection)

    assert requested_paths(sb) == {"/admin/api/2025-10/customers.json"}
    assert stream.stats.served_version == "2026-01"
    assert stream.stats.warnings == [
        "shopify API version 2025-10 was retired on 2026-10-01; Shopify answers with its "
        "oldest supported version, 2026-01; move to 2026-10",
        "shopify served API version 2026-01 instead of the requested 2025-10 (it answers "
        "versions it no longer supports with its oldest supported one): move the connection "
        "to a supported version",
    ]


def test_a_deprecation_reason_on_every_page_is_one_warning(sb: Sandbox) -> None:
    stream = walk(sb, shop(sb), entity="products", page_size=10)

    assert stream.stats.pages == 3
    assert sb.shopify.stats().count("products.json", 200) == 3
    assert stream.stats.warnings == [
        "shopify flagged products requests as deprecated (X-Shopify-API-Deprecated-Reason: "
        "https://shopify.dev/docs/api/admin-rest/2026-10/resources/product)"
    ]


def test_a_deprecation_reason_is_shown_without_secrets(sb: Sandbox) -> None:
    token = sb.shopify.access_token
    sb.shopify.deprecated_reason = (
        f"https://shopify.dev/changelog/x?access_token={token} sent with {token}"
    )

    stream = walk(sb, shop(sb))

    (warning,) = stream.stats.warnings
    assert token not in warning
    assert warning == (
        "shopify flagged customers requests as deprecated (X-Shopify-API-Deprecated-Reason: "
        "https://shopify.dev/changelog/x?access_token=*** sent with ***)"
    )


def test_the_version_travels_in_the_header_for_a_vendor_that_wants_it_there() -> None:
    klaviyo = get_connector("klaviyo")

    pinned = request_headers(klaviyo, {"api_key": "pk_x"}, "ua/1", "2026-07-15")
    default = request_headers(klaviyo, {"api_key": "pk_x"}, "ua/1")

    assert pinned["revision"] == "2026-07-15"
    assert default["revision"] == klaviyo.version
    assert pinned["Authorization"] == "Klaviyo-API-Key pk_x"
