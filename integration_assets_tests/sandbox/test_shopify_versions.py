"""Stories of the Shopify simulator's API versions, told over real HTTP: which version a
request names, which one answers, and what Shopify says about deprecations."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from integration_assets.sandbox import Sandbox
from integration_assets.sandbox.shopify.versions import served_version, supported_versions

ON = date(2026, 11, 30)


@pytest.fixture
def dated(sandbox: Sandbox) -> Sandbox:
    """The shared sandbox with its API calendar fixed to 2026-11-30."""
    sandbox.shopify.api_date = ON
    return sandbox


def test_a_supported_version_is_served_as_asked_and_named_in_the_answer(
    dated: Sandbox, shopify: httpx.Client
) -> None:
    for version in ("2026-01", "2026-10"):
        response = shopify.get(f"/admin/api/{version}/customers.json", params={"limit": 1})

        assert response.status_code == 200
        assert response.headers["X-Shopify-API-Version"] == version


def test_a_retired_version_falls_forward_to_the_oldest_supported_one(
    dated: Sandbox, shopify: httpx.Client
) -> None:
    """2025-10 stopped being supported on 2026-10-01: Shopify answers with 2026-01 instead."""
    response = shopify.get("/admin/api/2025-10/customers.json", params={"limit": 1})

    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == "2026-01"
    assert response.json()["customers"]


def test_the_release_candidate_is_served_but_later_quarters_and_odd_months_are_not_found(
    dated: Sandbox, shopify: httpx.Client
) -> None:
    candidate = shopify.get("/admin/api/2027-01/customers.json")
    too_early = shopify.get("/admin/api/2027-04/customers.json")
    off_quarter = shopify.get("/admin/api/2026-11/customers.json")
    unversioned = shopify.get("/admin/api/latest-ish/customers.json")

    assert candidate.headers["X-Shopify-API-Version"] == "2027-01"
    for response in (too_early, off_quarter, unversioned):
        assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


def test_products_answers_carry_their_deprecation_with_the_served_version(
    dated: Sandbox, shopify: httpx.Client
) -> None:
    products = shopify.get("/admin/api/2026-10/products.json", params={"limit": 1})
    customers = shopify.get("/admin/api/2026-10/customers.json", params={"limit": 1})

    assert products.headers["X-Shopify-API-Deprecated-Reason"] == (
        "https://shopify.dev/docs/api/admin-rest/2026-10/resources/product"
    )
    assert "X-Shopify-API-Deprecated-Reason" not in customers.headers


def test_a_set_deprecated_reason_goes_out_on_every_answer_until_reset(
    dated: Sandbox, shopify: httpx.Client
) -> None:
    reason = "https://shopify.dev/changelog/some-deprecation"
    dated.shopify.deprecated_reason = reason

    flagged = shopify.get("/admin/api/2026-10/customers.json", params={"limit": 1})
    dated.shopify.reset()
    clean = shopify.get("/admin/api/2026-10/customers.json", params={"limit": 1})

    assert flagged.headers["X-Shopify-API-Deprecated-Reason"] == reason
    assert "X-Shopify-API-Deprecated-Reason" not in clean.headers


def test_supported_versions_move_with_the_calendar() -> None:
    assert supported_versions(date(2026, 9, 30)) == ["2025-10", "2026-01", "2026-04", "2026-07"]
    assert supported_versions(date(2026, 10, 1)) == ["2026-01", "2026-04", "2026-07", "2026-10"]
    assert served_version("2019-04", date(2026, 10, 1)) == "2026-01"
