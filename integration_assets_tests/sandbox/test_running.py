"""Stories of how the sandbox runs: threads, a child process, pages rendered ahead."""

from __future__ import annotations

import httpx
import pytest

from integration_assets.sandbox import ShopifySimulator, SimulatorServer, run_sandbox
from integration_assets.sandbox.timefmt import utc_iso
from integration_assets_tests.sandbox.helpers import klaviyo_records, shopify_records

SMALL = {"customers": 120, "orders": 30, "products": 10, "profiles": 60, "events": 80}


def test_a_sandbox_in_a_child_process_is_driven_like_a_local_one() -> None:
    with run_sandbox(seed=5, sizes=SMALL, rate_limits=False, process=True) as sandbox:
        shop = httpx.Client(
            base_url=sandbox.shopify_url,
            headers={"X-Shopify-Access-Token": sandbox.shopify.access_token},
        )
        klaviyo = httpx.Client(
            base_url=sandbox.klaviyo_url,
            headers={
                "Authorization": f"Klaviyo-API-Key {sandbox.klaviyo.api_key}",
                "revision": "2026-10-15",
            },
        )
        since = utc_iso(sandbox.shopify.clock)
        first_walk = shopify_records(shop, "customers", {"limit": 50})
        report = sandbox.shopify.advance(updated_fraction=0.1, created=2)
        changed = shopify_records(shop, "customers", {"updated_at_min": since})
        sandbox.shopify.set_faults(error_rate=1.0, error_statuses=[500])
        failed = shop.get("/admin/api/2024-10/customers.json")
        sandbox.shopify.clear_faults()
        stats = sandbox.shopify.stats()
        profiles = klaviyo_records(klaviyo, "profiles", {"page[size]": 25})
        truth_customers = list(sandbox.shopify.records("customers"))
        truth_profiles = list(sandbox.klaviyo.records("profiles"))
        shop.close()
        klaviyo.close()

    changed_ids = {
        sandbox.shopify.vendor_id("customers", index)
        for index in {*report.updated["customers"], *report.created["customers"]}
    }
    assert len(first_walk) == 120 and len(changed_ids) == 14
    assert changed == [customer for customer in truth_customers if customer["id"] in changed_ids]
    assert failed.status_code == 500
    assert stats.count("customers.json", status=200) == 4 and stats.count(status=500) == 1
    assert profiles == truth_profiles


SMALL_SHOPIFY = {key: SMALL[key] for key in ("customers", "orders", "products")}


def test_pages_rendered_ahead_are_reused_only_for_the_same_state() -> None:
    simulator = ShopifySimulator(seed=3, sizes=SMALL_SHOPIFY)
    simulator.set_faults(rate_limits=False)
    simulator.prefetch = True
    server = SimulatorServer(simulator).start()
    headers = {"X-Shopify-Access-Token": simulator.access_token}
    try:
        with httpx.Client(base_url=server.url, headers=headers) as client:
            walked = shopify_records(client, "customers", {"limit": 25})
            first = client.get("/admin/api/2024-10/customers.json", params={"limit": 25})
            simulator.advance(updated_fraction=1.0)
            second = client.get(first.links["next"]["url"]).json()["customers"]
    finally:
        server.stop()

    truth = list(simulator.records("customers"))
    assert [customer["id"] for customer in walked] == [customer["id"] for customer in truth]
    assert second == truth[25:50]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_the_sandbox_refuses_to_listen_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"), run_sandbox(host=host):
        pass
