"""Stories of the generated data: deterministic, lazy, consistent with what the API serves."""

from __future__ import annotations

import random

import httpx

from integration_assets.sandbox import ShopifySimulator, SimulatorServer
from integration_assets.sandbox.store import EntityStore, Order, Predicate, Selection, Window
from integration_assets_tests.sandbox.helpers import shopify_records

SIZES = {"customers": 50, "orders": 40, "products": 10}


def test_the_same_seed_builds_the_same_shop_and_another_seed_another() -> None:
    first, second, other = (ShopifySimulator(seed=seed, sizes=SIZES) for seed in (7, 7, 8))
    for simulator in (first, second, other):
        simulator.advance(updated_fraction=0.2, created=3, deleted=2)

    for entity in ("customers", "orders", "products"):
        assert list(first.records(entity)) == list(second.records(entity))
        assert list(first.records(entity)) != list(other.records(entity))


def test_what_the_api_serves_is_the_truth_records_returns(sandbox, shopify: httpx.Client) -> None:
    sandbox.shopify.advance(updated_fraction=0.1, created=5, deleted=4)

    for entity in ("customers", "orders", "products"):
        served = shopify_records(shopify, entity, {"limit": 250, "status": "any"})
        assert served == list(sandbox.shopify.records(entity))


def test_an_update_changes_fields_and_keeps_child_ids() -> None:
    simulator = ShopifySimulator(seed=7, sizes=SIZES)
    before = {order["id"]: order for order in simulator.records("orders")}

    report = simulator.advance(updated_fraction=0.5)

    after = {order["id"]: order for order in simulator.records("orders")}
    for index in report.updated["orders"]:
        order_id = simulator.vendor_id("orders", index)
        old, new = before[order_id], after[order_id]
        assert new["updated_at"] != old["updated_at"] and new["created_at"] == old["created_at"]
        assert [line["id"] for line in new["line_items"]] == [
            line["id"] for line in old["line_items"]
        ]
    changed = [
        index
        for index in report.updated["orders"]
        if before[simulator.vendor_id("orders", index)]
        != after[simulator.vendor_id("orders", index)]
    ]
    assert len(changed) == len(report.updated["orders"])


def test_a_million_customer_shop_serves_its_last_page_and_counts_without_walking() -> None:
    simulator = ShopifySimulator(sizes={"customers": 1_000_000, "orders": 10, "products": 5})
    simulator.advance(updated_fraction=0.001, created=10, deleted=10)
    server = SimulatorServer(simulator).start()
    headers = {"X-Shopify-Access-Token": simulator.access_token}
    try:
        with httpx.Client(base_url=server.url, headers=headers) as client:
            near_end = simulator.vendor_id("customers", 999_900)
            tail = client.get(
                "/admin/api/2024-10/customers.json", params={"since_id": near_end, "limit": 250}
            )
            count = client.get("/admin/api/2024-10/customers/count.json")
            recent = client.get(
                "/admin/api/2024-10/customers.json",
                params={"updated_at_min": "2024-10-01T12:00:00Z", "limit": 250},
            )
    finally:
        server.stop()

    assert tail.json()["customers"][-1]["id"] == simulator.vendor_id("customers", 1_000_009)
    assert "Link" not in tail.headers
    assert count.json() == {"count": 1_000_000}
    assert len(recent.json()["customers"]) == 250
    assert 'rel="next"' in recent.headers["Link"]


class _EveryThird(Predicate):
    key = "every-third"

    def matches(self, index: int, version: int) -> bool:
        return (index + version) % 3 != 0

    def count_base(self, start: int, stop: int) -> int | None:
        return sum(1 for index in range(start, stop) if index % 3)


def test_the_store_agrees_with_brute_force_after_random_changes() -> None:
    rng = random.Random(11)
    for _ in range(25):
        store = EntityStore("things", rng.randrange(0, 150), 1_700_000_000)
        for _ in range(rng.randrange(0, 4)):
            start = store.last_created_at() + 1
            store.mutate(
                random.Random(rng.random()),
                start,
                start + rng.randrange(1, 4000),
                updated=rng.randrange(0, 30),
                created=rng.randrange(0, 30),
                deleted=rng.randrange(0, 15),
            )
        live = [index for index in range(store.total) if store.exists(index)]
        stamps = [store.updated_at(index) for index in live] + [
            store.created_at(index) for index in live
        ]
        for _ in range(15):
            selection = Selection(
                created=_window(rng, stamps) if rng.random() < 0.4 else Window(),
                updated=_window(rng, stamps) if rng.random() < 0.7 else Window(),
                predicates=(_EveryThird(),) if rng.random() < 0.4 else (),
            )
            expected = [
                index
                for index in live
                if selection.created.contains(store.created_at(index))
                and selection.updated.contains(store.updated_at(index))
                and selection.matches(index, store.version(index))
            ]
            assert store.count(selection) == len(expected)
            for order in Order:
                for descending in (False, True):
                    page_size = rng.randrange(1, 6)
                    assert _paged(store, selection, order, descending, page_size) == _in_order(
                        store, expected, order, descending
                    )


def _in_order(store: EntityStore, indices: list[int], order: Order, descending: bool) -> list[int]:
    if order is Order.INDEX:
        return sorted(indices, reverse=descending)
    return sorted(indices, key=lambda index: (store.updated_at(index), index), reverse=descending)


def _window(rng: random.Random, stamps: list[int]) -> Window:
    choices = [*stamps, None]
    return Window(rng.choice(choices), rng.random() < 0.5, rng.choice(choices), rng.random() < 0.5)


def _paged(
    store: EntityStore, selection: Selection, order: Order, descending: bool, size: int
) -> list[int]:
    served: list[int] = []
    after = None
    while True:
        rows = store.select(selection, order, descending, after, size)
        served.extend(row.index for row in rows)
        if len(rows) < size:
            return served
        after = rows[-1].key
