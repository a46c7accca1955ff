"""Stories of the fault switches: each breaks the wire in one way and never breaks the truth."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from integration_assets.sandbox import Sandbox
from integration_assets_tests.sandbox.helpers import klaviyo_records, shopify_records

CUSTOMERS = "/admin/api/2024-10/customers.json"


def _walk_with_retries(client: httpx.Client, url: str) -> tuple[list[int], list[int]]:
    """Follow Link headers, repeating any failed request; returns (ids, statuses seen)."""
    ids: list[int] = []
    statuses: list[int] = []
    while url:
        response = client.get(url)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            continue
        ids.extend(customer["id"] for customer in response.json()["customers"])
        url = response.links.get("next", {}).get("url")
    return ids, statuses


def test_server_errors_come_at_the_configured_rate_and_retrying_loses_nothing(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(error_rate=0.4)

    ids, statuses = _walk_with_retries(shopify, f"{CUSTOMERS}?limit=20")

    failures = [status for status in statuses if status >= 500]
    assert set(failures) <= {500, 502, 503} and len(failures) >= 3
    assert ids == [customer["id"] for customer in sandbox.shopify.records("customers")]
    assert sandbox.shopify.stats().count("customers.json", status=502) == failures.count(502)


def test_the_same_fault_seed_fails_the_same_requests(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(error_rate=0.5, seed=3)
    first = [shopify.get(CUSTOMERS).status_code for _ in range(12)]
    sandbox.shopify.set_faults(error_rate=0.5, seed=3)
    second = [shopify.get(CUSTOMERS).status_code for _ in range(12)]

    assert first == second and 200 in first and any(status >= 500 for status in first)


def test_a_stalled_answer_times_the_client_out_and_a_retry_succeeds(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(timeout_rate=1.0, timeout_seconds=0.4)

    with pytest.raises(httpx.ReadTimeout):
        shopify.get(CUSTOMERS, timeout=0.1)
    sandbox.shopify.set_faults(timeout_rate=0.0)
    assert shopify.get(CUSTOMERS).status_code == 200

    deadline = time.monotonic() + 5
    while sandbox.shopify.stats().total < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the stalled answer is still logged once it is finally given
    assert sandbox.shopify.stats().count(CUSTOMERS) == 2


def test_a_malformed_page_once_is_truncated_json_with_200_then_served_whole(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.set_faults(malformed_page={"entity": "customers", "page": 2, "mode": "once"})
    first = shopify.get(CUSTOMERS, params={"limit": 100})
    second_url = first.links["next"]["url"]

    broken = shopify.get(second_url)
    retried = shopify.get(second_url)

    assert broken.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(broken.content)
    assert len(retried.json()["customers"]) == 100


def test_a_malformed_page_always_stays_broken(sandbox: Sandbox, shopify: httpx.Client) -> None:
    sandbox.shopify.set_faults(malformed_page={"entity": "customers", "page": 1, "mode": "always"})

    for _ in range(3):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(shopify.get(CUSTOMERS).content)


def test_duplicates_across_pages_repeat_the_last_record_first(
    sandbox: Sandbox, shopify: httpx.Client, klaviyo: httpx.Client
) -> None:
    sandbox.shopify.set_faults(duplicate_across_pages=True)
    sandbox.klaviyo.set_faults(duplicate_across_pages=True)

    served = [customer["id"] for customer in shopify_records(shopify, "customers", {"limit": 50})]
    profiles = [p["id"] for p in klaviyo_records(klaviyo, "profiles", {"page[size]": 100})]

    truth = [customer["id"] for customer in sandbox.shopify.records("customers")]
    assert len(served) > len(truth) and sorted(set(served)) == truth
    assert served[49] == served[50]
    assert len(profiles) > 250 and len(set(profiles)) == 250 and profiles[99] == profiles[100]


def test_type_drift_changes_a_fields_json_type(
    sandbox: Sandbox, shopify: httpx.Client, klaviyo: httpx.Client
) -> None:
    sandbox.shopify.set_faults(type_drift=1.0)
    sandbox.klaviyo.set_faults(type_drift=0.5)

    customers = shopify.get(CUSTOMERS).json()["customers"]
    orders = shopify.get("/admin/api/2024-10/orders.json", params={"status": "any"}).json()[
        "orders"
    ]
    events = klaviyo.get("/api/events/").json()["data"]

    assert {customer["verified_email"] for customer in customers} <= {"yes", "no"}
    assert all(isinstance(order["total_price"], float) for order in orders)
    kinds = {type(event["attributes"]["timestamp"]) for event in events}
    assert kinds == {int, str}
    truth = next(sandbox.shopify.records("customers"))
    assert isinstance(truth["verified_email"], bool)


def test_faults_advance_and_stats_are_driven_over_http(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    control = httpx.Client(base_url=sandbox.shopify_url)

    switched = control.post("/_sandbox/faults", json={"error_rate": 1.0, "error_statuses": [503]})
    failed = shopify.get(CUSTOMERS)
    cleared = control.delete("/_sandbox/faults")
    advanced = control.post(
        "/_sandbox/advance", json={"seconds": 60, "updated_fraction": 0.1, "created": 2}
    )
    stats = control.get("/_sandbox/stats").json()
    refused = control.post("/_sandbox/faults", json={"no_such_switch": True})
    control.post("/_sandbox/reset-stats")

    assert switched.json()["error_rate"] == 1.0 and failed.status_code == 503
    assert cleared.json()["error_rate"] == 0.0
    assert advanced.json()["entities"]["customers"] == {"created": 2, "updated": 30, "deleted": 0}
    assert sandbox.shopify.count("customers") == 302
    assert stats["by_status"] == {"503": 1}
    assert stats["requests"][0]["path"] == CUSTOMERS
    assert refused.status_code == 400
    assert sandbox.shopify.stats().total == 0
    control.close()
