"""How pending inbox events are grouped into runs: per (connection, entity), by id range,
bounded in size, and never past an event that no run can take without saying so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration_assets.load.inbox import StoredEvent
from integration_assets.sync.webhooks import plan_runs, run_entity

VENDORS = {"shop": "shopify", "klav": "klaviyo"}


def event(
    id: int,
    topic: str = "customers/update",
    entity: str | None = "customers",
    kind: str | None = "upsert",
    connection: str = "shop",
    vendor: str = "shopify",
) -> StoredEvent:
    return StoredEvent(
        id=id,
        connection=connection,
        vendor=vendor,
        topic=topic,
        entity=entity,
        kind=kind,
        record_id=str(id),
        delivery_id=f"d{id}",
        event_id=None,
        api_version=None,
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
        triggered_at=None,
        status="pending",
        processed_at=None,
        body=b"{}",
    )


def test_events_of_one_connection_and_entity_share_one_run_named_by_their_id_range() -> None:
    events = [
        event(3),
        event(4, "orders/updated", "orders"),
        event(7),
        event(9, "event:klaviyo.opened_email", "events", connection="klav", vendor="klaviyo"),
    ]

    plan = plan_runs(events, 2, VENDORS)

    assert [(g.connection, g.entity, g.first_id, g.last_id, g.events) for g in plan.groups] == [
        ("shop", "customers", 3, 7, 2),
        ("shop", "orders", 4, 4, 1),
        ("klav", "events", 9, 9, 1),
    ]
    assert plan.groups[0].run_key == "webhooks:shop:customers:3-7"
    assert plan.cursor == 9 and plan.unrouted == ()


def test_a_burst_is_cut_into_runs_of_at_most_the_limit() -> None:
    events = [event(n) for n in range(1, 1001)]

    plan = plan_runs(events, 0, VENDORS, max_events_per_run=300)

    assert [(g.first_id, g.last_id) for g in plan.groups] == [
        (1, 300),
        (301, 600),
        (601, 900),
        (901, 1000),
    ]
    assert plan.cursor == 1000


def test_shop_redact_goes_to_the_person_entity_and_unknown_events_are_reported() -> None:
    events = [
        event(1, "shop/redact", None, "redact"),
        event(2, "app/uninstalled", None, None),
        event(3, connection="gone-shop"),
    ]

    plan = plan_runs(events, 0, VENDORS)

    assert run_entity("shopify", None, "redact") == "customers"
    assert [(g.entity, g.first_id) for g in plan.groups] == [("customers", 1)]
    assert plan.unrouted == (2, 3)
    assert plan.cursor == 3, "the cursor passes events no run can take (they stay pending)"


def test_nothing_pending_keeps_the_cursor_and_a_bad_limit_is_refused() -> None:
    assert plan_runs([], 41, VENDORS).cursor == 41
    with pytest.raises(ValueError, match="at least 1"):
        plan_runs([], 0, VENDORS, max_events_per_run=0)
