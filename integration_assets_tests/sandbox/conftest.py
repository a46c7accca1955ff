"""One running sandbox for the whole test session, put back to its initial state per test.

Starting uvicorn twice per test would dominate the run time; resetting is instant because the
data is generated, not stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integration_assets.sandbox import Sandbox, run_sandbox

SIZES = {"customers": 300, "orders": 120, "products": 40, "profiles": 250, "events": 450}
KLAVIYO_REVISION = "2026-10-15"


@pytest.fixture(scope="session")
def _running_sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=7, sizes=SIZES, rate_limits=False) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_running_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox with initial data, no faults, no rate limits and an empty log."""
    for simulator in (_running_sandbox.shopify, _running_sandbox.klaviyo):
        simulator.reset()
        simulator.set_faults(rate_limits=False)
        simulator.reset_stats()
    return _running_sandbox


@pytest.fixture
def shopify(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the Shopify simulator, authenticated."""
    headers = {"X-Shopify-Access-Token": sandbox.shopify.access_token}
    with httpx.Client(base_url=sandbox.shopify_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def klaviyo(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the Klaviyo simulator, with key and revision."""
    headers = {
        "Authorization": f"Klaviyo-API-Key {sandbox.klaviyo.api_key}",
        "revision": KLAVIYO_REVISION,
    }
    with httpx.Client(base_url=sandbox.klaviyo_url, headers=headers, timeout=10) as client:
        yield client
