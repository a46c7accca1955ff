"""The demo's wiring: its flags, the demo-only values it fills in, and the sandbox's changes
reaching a real console on loopback as signed webhooks for the realtime entities."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_assets.cli import main
from integration_assets.connectors.connections import Connection, load_connections
from integration_assets.console import build_app
from integration_assets.console.auth import TOKEN_ENV
from integration_assets.console.server import ConsoleServer
from integration_assets.demo import (
    DEMO_CONSOLE_TOKEN,
    ChangeFeed,
    advance_once,
    catch_up_clock,
    set_demo_environment,
    subscribe,
    subscriptions,
)
from integration_assets.load.inbox import inbox_depth
from integration_assets.load.warehouse import Warehouse
from integration_assets.sandbox import Sandbox, run_sandbox

CONNECTIONS_YAML = """
connections:
  - name: shop
    vendor: shopify
    base_url: {shopify_url}
    secrets: {{access_token: DEMO_TEST_SHOP_TOKEN, webhook_secret: DEMO_TEST_SHOP_HOOKS}}
    entities: {{customers: realtime, orders: realtime, products: daily}}
  - name: klaviyo
    vendor: klaviyo
    base_url: {klaviyo_url}
    secrets: {{api_key: DEMO_TEST_KLAVIYO_KEY, webhook_secret: DEMO_TEST_KLAVIYO_HOOKS}}
    entities: {{profiles: 15m, events: realtime}}
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sizes = {"customers": 40, "orders": 40, "products": 10, "profiles": 40, "events": 40}
    with run_sandbox(seed=3, sizes=sizes) as running:
        yield running
        running.shopify.set_webhooks([])
        running.klaviyo.set_webhooks([])


@pytest.fixture
def connections(tmp_path: Path, sandbox: Sandbox) -> list[Connection]:
    path = tmp_path / "connections.yaml"
    path.write_text(
        CONNECTIONS_YAML.format(shopify_url=sandbox.shopify_url, klaviyo_url=sandbox.klaviyo_url)
    )
    return load_connections(path)


def test_demo_help_lists_the_console_and_change_feed_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])

    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for flag in ("--console-port", "--change-every", "--no-changes", "--no-first-sync"):
        assert flag in shown


def test_demo_values_fill_only_unset_variables(connections: list[Connection]) -> None:
    environ = {"DEMO_TEST_SHOP_HOOKS": "the-operators-own-secret"}

    chosen = set_demo_environment(connections, environ)

    assert environ["DEMO_TEST_SHOP_HOOKS"] == "the-operators-own-secret"
    assert "DEMO_TEST_SHOP_HOOKS" not in chosen
    assert chosen[TOKEN_ENV] == DEMO_CONSOLE_TOKEN
    assert set(chosen) == {
        TOKEN_ENV,
        "DEMO_TEST_SHOP_TOKEN",
        "DEMO_TEST_KLAVIYO_KEY",
        "DEMO_TEST_KLAVIYO_HOOKS",
    }
    assert all(environ[name] == value for name, value in chosen.items())


def test_only_realtime_entities_with_a_webhook_secret_are_subscribed(
    connections: list[Connection],
) -> None:
    environ = {"DEMO_TEST_SHOP_HOOKS": "shop-secret"}  # Klaviyo's secret is unset

    shop = subscriptions(connections, "shopify", "http://127.0.0.1:9/", environ)
    klaviyo = subscriptions(connections, "klaviyo", "http://127.0.0.1:9/", environ)

    assert [(s.topic, s.address) for s in shop] == [
        ("customers/*", "http://127.0.0.1:9/webhooks/shopify/shop"),
        ("orders/*", "http://127.0.0.1:9/webhooks/shopify/shop"),
    ]
    assert {s.secret for s in shop} == {"shop-secret"}
    assert klaviyo == []


def test_a_feed_step_sends_signed_webhooks_the_console_accepts(
    sandbox: Sandbox, connections: list[Connection], sqlite_url: str
) -> None:
    environ: dict[str, str] = {}
    set_demo_environment(connections, environ)
    warehouse = Warehouse.from_url(sqlite_url)
    try:
        with ConsoleServer(build_app(warehouse, connections, environ=environ)) as console:
            assert subscribe(sandbox, connections, console.url, environ) == 3
            feed = ChangeFeed({"shopify": sandbox.shopify, "klaviyo": sandbox.klaviyo}, 15)

            assert feed.step() is True

            for simulator in (sandbox.shopify, sandbox.klaviyo):
                sender = simulator.webhook_sender
                assert sender is not None and sender.wait_idle(timeout=60)
                assert sender.deliveries
                assert all(delivery.delivered for delivery in sender.deliveries)
            pending = inbox_depth(warehouse)
        assert pending[("shop", "customers")] > 0
        assert pending[("shop", "orders")] > 0
        assert pending[("klaviyo", "events")] > 0
        assert not any(entity in {"products", "profiles"} for _, entity in pending)
    finally:
        warehouse.dispose()


def test_a_busy_instance_holds_the_feed_back(sandbox: Sandbox) -> None:
    feed = ChangeFeed({"shopify": sandbox.shopify}, 15, busy=lambda: True)
    before = sandbox.shopify.count("customers")

    assert feed.step() is False

    assert (feed.steps, feed.skipped) == (0, 1)
    assert sandbox.shopify.count("customers") == before


def test_the_clock_catches_up_to_now_without_changing_a_record(sandbox: Sandbox) -> None:
    before = list(sandbox.shopify.records("customers"))
    now = time.time()

    catch_up_clock(sandbox.shopify, now)

    assert sandbox.shopify.clock == pytest.approx(now, abs=1)
    assert list(sandbox.shopify.records("customers")) == before


def test_a_feed_step_keeps_the_simulator_clock_with_ours(sandbox: Sandbox) -> None:
    now = time.time()
    catch_up_clock(sandbox.shopify, now)

    report = advance_once({"shopify": sandbox.shopify}, now + 30)["shopify"]

    assert len(report.created["customers"]) == 2
    assert len(report.deleted["customers"]) == 1
    assert sandbox.shopify.clock == pytest.approx(now + 30, abs=1)
