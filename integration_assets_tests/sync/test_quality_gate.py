"""The quality gate of a sync: bad records go to the quarantine with every reason and never to
the warehouse; a sync under its threshold publishes nothing in any batch and leaves the cursor
where it was; an override tightens or relaxes the rules; a fixed rule lets a replay load what
the gate kept out."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from integration_assets.connectors.connections import get_connection
from integration_assets.extract import ExtractSettings
from integration_assets.load.bookkeeping import bookkeeping
from integration_assets.load.inbox import InboxEvent, ensure_inbox, store_events
from integration_assets.load.landing import LandingStore
from integration_assets.load.state import STATUS_FAILED, SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.gate import QualityGateError
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.schema import Row
from integration_assets.sync.quarantine import replay_quarantine
from integration_assets.sync.steps import ExtractResult, SyncSettings, run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets.sync.webhooks import run_webhook_extract, run_webhook_load
from integration_assets_tests.orchestration.harness import KLAVIYO, MAPPINGS, SHOP
from integration_assets_tests.sync.landed import SHOP as LANDED_SHOP
from integration_assets_tests.sync.landed import land, raw_customer, shop_target
from integration_assets_tests.sync.test_replay_from_landing import copy_mappings_with_override

T = "2024-05-01T10:00:00Z"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sizes = {"customers": 120, "orders": 60, "products": 20, "profiles": 60, "events": 60}
    with run_sandbox(seed=11, sizes=sizes, rate_limits=False) as running:
        yield running


def quarantine(warehouse: Warehouse) -> list[dict[str, Any]]:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        return [dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()]


def stored_ids(warehouse: Warehouse, target: SyncTarget) -> set[Any]:
    table = build_table(target.mapping.table)
    with warehouse.read() as conn:
        return set(conn.execute(select(table.c.id)).scalars())


def count(warehouse: Warehouse, target: SyncTarget) -> int:
    table = build_table(target.mapping.table)
    with warehouse.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def with_override(tmp_path: Path, override: dict[str, Any]) -> Path:
    """The shipped mappings with an override of customers for the hand-landed shop."""
    mappings = copy_mappings_with_override(tmp_path / "m", None)
    path = mappings / "overrides" / LANDED_SHOP / "customers.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(override))
    return mappings


def good(count: int) -> list[dict[str, Any]]:
    return [raw_customer(n, T, phone=f"+1415555{n:04d}") for n in range(1, count + 1)]


def land_pages(warehouse: Warehouse, run_id: str, pages: Sequence[list[dict[str, Any]]]) -> Any:
    """`pages` landed as pages 1, 2, … of `run_id`."""
    extracted = land(warehouse, run_id, [])
    store = LandingStore(warehouse)
    for number, records in enumerate(pages, start=1):
        body = json.dumps({"customers": records}).encode()
        store.write_page(run_id, LANDED_SHOP, "customers", number, None, body, len(records))
    return ExtractResult(
        **{
            **extracted.__dict__,
            "pages": len(pages),
            "records": sum(len(page) for page in pages),
        }
    )


def test_the_shipped_rules_pass_every_sandbox_record_of_every_entity(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    settings = SyncSettings(batch_records=25)
    for name, entities in (
        (SHOP, ("customers", "orders", "products")),
        (KLAVIYO, ("profiles", "events")),
    ):
        for entity in entities:
            target = SyncTarget(get_connection(name, connections), entity, MAPPINGS)
            extracted = run_extract(target, warehouse, run_id=f"{entity}-1", settings=settings)
            loaded = run_load(target, warehouse, extracted, run_id=f"{entity}-1", settings=settings)
            assert loaded.quality is not None
            assert loaded.quality.records == extracted.records > 0
            assert loaded.quality.failures == () and loaded.quality.pass_rate == 1.0
    assert quarantine(warehouse) == []


def test_malformed_values_are_quarantined_raw_with_every_reason_and_never_loaded(
    warehouse: Warehouse,
) -> None:
    target = shop_target()
    bad_email = raw_customer(901, T, email="nobody-at-example.com", phone="+14155550901")
    bad_both = raw_customer(
        902, T, phone="(415) 555-0902", currency="usd", created_at="2024-06-01T00:00:00Z"
    )
    records = [*good(40), bad_email, bad_both]

    loaded = run_load(target, warehouse, land(warehouse, "r1", records), run_id="r1")

    assert stored_ids(warehouse, target) == set(range(1, 41))
    assert loaded.upsert.quarantined == 2
    report = loaded.quality
    assert report is not None and (report.records, report.passed) == (42, 40)
    rows = {row["record_key"]: row for row in quarantine(warehouse)}
    assert rows["901"]["record"] == bad_email  # the raw record, as landed
    assert rows["901"]["reasons"] == [
        "shopify_customers.email: email (validity) failed: not an email address (one @, a "
        "dotted domain, no spaces), got 'n***m' (str, masked)"
    ]
    reasons = "\n".join(rows["902"]["reasons"])
    assert len(rows["902"]["reasons"]) == 3
    assert "shopify_customers.phone: e164 (validity)" in reasons
    assert "shopify_customers.currency: iso_currency (validity)" in reasons
    assert "shopify_customers: updated_after_created (consistency)" in reasons
    assert "555" not in reasons  # the phone number never shows in clear


def test_drifted_types_fail_the_gate_of_a_multi_batch_sync_which_publishes_nothing(
    sandbox: Sandbox, connections: Path, warehouse: Warehouse
) -> None:
    target = SyncTarget(get_connection(SHOP, connections), "customers", MAPPINGS)
    settings = SyncSettings(batch_records=30, extract=ExtractSettings(page_size=30))
    sandbox.shopify.set_faults(type_drift=0.2)
    profiled: list[int] = []
    try:
        extracted = run_extract(target, warehouse, run_id="drift", settings=settings)
        with pytest.raises(QualityGateError) as raised:
            run_load(
                target,
                warehouse,
                extracted,
                run_id="drift",
                settings=settings,
                on_valid_rows=lambda rows: profiled.append(len(rows)),
            )
    finally:
        sandbox.shopify.clear_faults()

    report = raised.value.report
    assert len(profiled) == 4  # one call per validated batch of 30
    assert sum(profiled) == report.passed < report.records == extracted.records == 120
    message = str(raised.value)
    assert f"pass rate {report.pass_rate:.2%}" in message and "threshold 95.00%" in message
    assert "type on verified_email (validity)" in message and "@" not in message
    assert count(warehouse, target) == 0  # no batch published
    state = SyncStateStore(warehouse).get(SHOP, "customers")
    assert state is not None and state.cursor is None and state.last_status == STATUS_FAILED
    rows = quarantine(warehouse)  # kept although the gate failed
    assert len(rows) == report.records - report.passed
    assert all("verified_email" in row["reasons"][0] for row in rows)


def test_a_long_sync_that_passes_skips_exactly_its_failing_records(warehouse: Warehouse) -> None:
    target = shop_target()
    records = good(60)
    records[33]["email"] = "broken"  # one bad record in the fourth batch of ten
    pages = [records[start : start + 5] for start in range(0, 60, 5)]
    extracted = land_pages(warehouse, "long", pages)
    valid: list[Row] = []

    loaded = run_load(
        target,
        warehouse,
        extracted,
        run_id="long",
        settings=SyncSettings(batch_records=10),
        on_valid_rows=valid.extend,
    )

    assert loaded.batches == 6 and loaded.upsert.quarantined == 1
    assert stored_ids(warehouse, target) == set(range(1, 61)) - {34}
    assert [row["record_key"] for row in quarantine(warehouse)] == ["34"]
    assert len(valid) == 59 and loaded.quality is not None and loaded.quality.passed == 59


def test_relaxing_a_rule_in_an_override_lets_a_replay_load_what_the_gate_kept_out(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    local = [raw_customer(n, T, phone="415-555-0100") for n in (901, 902)]
    run_load(shop_target(), warehouse, land(warehouse, "r1", [*good(40), *local]), run_id="r1")
    assert len(quarantine(warehouse)) == 2

    relaxed = with_override(tmp_path, {"mappings": [{"target": "phone", "quality": None}]})
    result = replay_quarantine(shop_target(mappings=relaxed), warehouse)

    assert (result.replayed, result.still_failing) == (2, 0)
    assert {901, 902} <= stored_ids(warehouse, shop_target())
    assert {row["resolution"] for row in quarantine(warehouse)} == {"replayed"}


def test_a_replay_keeps_records_that_still_break_a_rule_open_with_its_reasons(
    warehouse: Warehouse,
) -> None:
    local = [raw_customer(901, T, phone="415-555-0100")]
    run_load(shop_target(), warehouse, land(warehouse, "r1", [*good(40), *local]), run_id="r1")

    result = replay_quarantine(shop_target(), warehouse)

    assert (result.replayed, result.still_failing) == (0, 1)
    (row,) = quarantine(warehouse)
    assert row["resolved_at"] is None and "e164 (validity)" in row["reasons"][0]
    assert 901 not in stored_ids(warehouse, shop_target())


def test_an_override_tightening_threshold_and_max_takes_effect(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    strict = with_override(
        tmp_path,
        {
            "quality": {"threshold": 1.0},
            "mappings": [{"target": "total_spent", "quality": {"max": 100}}],
        },
    )
    target = shop_target(mappings=strict)
    records = [*good(40), raw_customer(901, T, total_spent="500.00")]

    with pytest.raises(QualityGateError) as raised:
        run_load(target, warehouse, land(warehouse, "r1", records), run_id="r1")

    assert raised.value.report.threshold == 1.0 and raised.value.report.passed == 40
    assert "range on total_spent (accuracy) x1 e.g. 901" in str(raised.value)
    assert count(warehouse, target) == 0
    (row,) = quarantine(warehouse)
    assert row["reasons"] == [
        "shopify_customers.total_spent: range (accuracy) failed: outside [0, 100], "
        "got Decimal('500.00') (Decimal)"
    ]


def test_a_webhook_delivery_breaking_a_rule_is_quarantined_and_the_others_load(
    warehouse: Warehouse,
) -> None:
    """Order payloads carry the whole record (customer payloads are re-read by id, see
    `sync/webhooks.py`), so these two load from the inbox as they are."""
    ensure_inbox(warehouse)
    bodies = [
        {"id": 41, "email": "ada@example.com", "created_at": T, "updated_at": T},
        {"id": 42, "email": "ada-at-example", "created_at": T, "updated_at": T},
    ]
    store_events(
        warehouse,
        [
            InboxEvent(
                connection=LANDED_SHOP,
                vendor="shopify",
                topic="orders/updated",
                delivery_id=f"delivery-{body['id']}",
                body=orjson.dumps(body),
                entity="orders",
                kind="upsert",
                record_id=str(body["id"]),
            )
            for body in bodies
        ],
    )
    target = shop_target("orders")
    extracted = run_webhook_extract(target, warehouse, run_id="hook", first_id=1, last_id=10**9)

    loaded = run_webhook_load(target, warehouse, extracted, run_id="hook")

    assert stored_ids(warehouse, target) == {41}
    assert loaded.quality is not None and (loaded.quality.records, loaded.quality.passed) == (2, 1)
    (row,) = quarantine(warehouse)
    assert row["record"] == bodies[1] and "email (validity)" in row["reasons"][0]


LATER = "2024-05-01T11:00:00Z"


@pytest.mark.parametrize("batch_records", [100, 10], ids=["one batch", "many batches"])
def test_a_records_newer_version_failing_stays_quarantined_though_an_older_one_passed(
    warehouse: Warehouse, batch_records: int
) -> None:
    """Customer 7 was changed during the extract: read at 10:00 with a good e-mail and again
    at 11:00 with a broken one. The older version loading must not resolve the newer one's
    quarantine row as superseded, or the 11:00 change is neither loaded nor open in the
    quarantine, and the cursor has moved past it."""
    records = good(40)
    newer = raw_customer(7, LATER, email="seven-at-example", phone="+14155550007")
    pages = [records[start : start + 5] for start in range(0, 40, 5)] + [[newer]]
    extracted = land_pages(warehouse, "twice", pages)

    run_load(
        shop_target(),
        warehouse,
        extracted,
        run_id="twice",
        settings=SyncSettings(batch_records=batch_records),
    )

    (row,) = quarantine(warehouse)
    assert row["record_key"] == "7" and row["record"] == newer
    assert row["resolved_at"] is None  # still open: a fixed mapping's replay will load it
    assert set(range(1, 41)) - {7} <= stored_ids(warehouse, shop_target())


def test_an_address_phone_typed_as_people_type_it_is_no_reason_to_quarantine(
    warehouse: Warehouse,
) -> None:
    """Shopify normalises a customer's own `phone` to E.164, but an address's `phone` is
    free text as typed at checkout (its API reference shows "555-625-1199"): a rule asking
    E.164 of it would quarantine most customers of a real shop and stop its syncs."""
    records = good(20)
    for n, record in enumerate(records, start=1):
        phone = ("555-625-1199", "(613) 555-0123", "0176 1234567", "+1 613-555-1212")[n % 4]
        record["default_address"] = {"id": 100 + n, "country_code": "US", "phone": phone}

    loaded = run_load(shop_target(), warehouse, land(warehouse, "r1", records), run_id="r1")

    assert loaded.quality is not None and loaded.quality.failures == ()
    assert stored_ids(warehouse, shop_target()) == set(range(1, 21))
    assert quarantine(warehouse) == []


def raw_order(id: int, **fields: Any) -> dict[str, Any]:
    """A Shopify REST order as the API serves it (what the mapping and its rules read)."""
    return {
        "id": id,
        "order_number": 1000 + id,
        "created_at": T,
        "updated_at": T,
        "email": f"buyer{id}@example.com",
        "phone": None,
        "currency": "USD",
        "subtotal_price": "20.00",
        "total_price": "20.00",
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"}},
        "line_items": [{"id": 10 * id, "price": "10.00", "quantity": 2, "total_discount": "0.00"}],
        **fields,
    }


def test_a_point_of_sale_order_with_no_email_loads(warehouse: Warehouse) -> None:
    """An order rung up in a shop without asking for an e-mail comes back from Shopify's REST
    API with `"email": ""`: nothing to validate, not a malformed address."""
    records = [*(raw_order(n) for n in range(1, 10)), raw_order(10, email="", phone="")]
    target = shop_target("orders")

    loaded = run_load(target, warehouse, land(warehouse, "r1", records, "orders"), run_id="r1")

    assert loaded.quality is not None and loaded.quality.failures == ()
    assert stored_ids(warehouse, target) == set(range(1, 11))
    assert quarantine(warehouse) == []


def test_customers_without_an_email_share_no_email(warehouse: Warehouse) -> None:
    records = good(20)
    for record in records[:3]:
        record["email"] = ""

    loaded = run_load(shop_target(), warehouse, land(warehouse, "r1", records), run_id="r1")

    assert loaded.quality is not None and loaded.quality.failures == ()
    assert stored_ids(warehouse, shop_target()) == set(range(1, 21))


def test_a_tax_inclusive_shops_orders_load(warehouse: Warehouse) -> None:
    """A shop whose 20.00 of lines already hold their 3.19 of VAT (Shopify's
    `taxes_included`): its total is 20.00, and that is right."""
    records = [raw_order(n, total_tax="3.19", taxes_included=True) for n in range(1, 21)]
    target = shop_target("orders")

    loaded = run_load(target, warehouse, land(warehouse, "r1", records, "orders"), run_id="r1")

    assert loaded.quality is not None and loaded.quality.failures == ()
    assert stored_ids(warehouse, target) == set(range(1, 21))


def test_a_rule_on_a_personal_column_never_shows_its_value_in_the_reason(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    """An override asks city names to start with a capital: the reason says so, and which
    column, but a city (like a name or a zip code) is personal data and shows masked."""
    capitalised = with_override(
        tmp_path,
        {"mappings": [{"target": "default_address_city", "quality": {"pattern": "[A-Z].*"}}]},
    )
    records = good(40)
    records[0]["default_address"] = {"id": 501, "city": "springfield", "country_code": "US"}

    run_load(
        shop_target(mappings=capitalised), warehouse, land(warehouse, "r1", records), run_id="r1"
    )

    (row,) = quarantine(warehouse)
    (reason,) = row["reasons"]
    assert reason.startswith("shopify_customers.default_address_city: pattern (validity) failed")
    assert "springfield" not in reason and "masked" in reason
