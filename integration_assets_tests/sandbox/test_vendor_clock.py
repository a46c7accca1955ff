"""The simulators' clock as a client meets it: a `Date` on every answer, sender-dated events."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

from integration_assets.sandbox import Sandbox
from integration_assets.sandbox.timefmt import utc_iso
from integration_assets_tests.sandbox.helpers import klaviyo_records

CUSTOMERS = "/admin/api/2024-10/customers.json"


def _date(response: httpx.Response) -> int:
    (value,) = response.headers.get_list("Date")  # one Date: the simulator's, not uvicorn's
    return int(parsedate_to_datetime(value).timestamp())


def test_every_answer_is_dated_on_the_simulated_clock(
    sandbox: Sandbox, shopify: httpx.Client, klaviyo: httpx.Client
) -> None:
    assert _date(shopify.get(CUSTOMERS)) == sandbox.shopify.clock
    assert _date(httpx.get(sandbox.shopify_url + CUSTOMERS)) == sandbox.shopify.clock  # a 401
    sandbox.shopify.advance(seconds=3600)
    assert _date(shopify.get(CUSTOMERS)) == sandbox.shopify.clock
    assert _date(klaviyo.get("/api/events/")) == sandbox.klaviyo.clock


def test_an_event_carries_the_time_its_sender_gave_and_filters_use_it(
    sandbox: Sandbox, klaviyo: httpx.Client
) -> None:
    simulator = sandbox.klaviyo
    now = simulator.clock
    future = simulator.send_event(now + 30 * 86400)
    past = simulator.send_event(now - 3600)
    ids = {simulator.vendor_id("events", index): index for index in (future, past)}

    def listed(filter_: str) -> set[int]:
        records = klaviyo_records(klaviyo, "events", {"filter": filter_})
        return {ids[r["id"]] for r in records if r["id"] in ids}

    truth = {r["id"]: r for r in simulator.records("events") if r["id"] in ids}
    by_index = {ids[key]: record["attributes"] for key, record in truth.items()}
    assert by_index[future]["datetime"] == utc_iso(now + 30 * 86400)
    assert by_index[past]["timestamp"] == now - 3600
    assert listed(f"greater-than(datetime,{utc_iso(now + 86400)})") == {future}
    assert listed(f"greater-than(datetime,{utc_iso(now - 60)})") == {future}
    assert listed(f"greater-than(datetime,{utc_iso(now - 7200)})") == {future, past}
    assert listed(f"less-than(datetime,{utc_iso(now)})") == {past}
