"""A console that cannot serve as configured says so at start, naming the variable to set."""

from __future__ import annotations

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.console import ConsoleConfigError, ConsoleSettings, build_app
from integration_assets.console.server import ConsoleServer, check_host
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.helpers import CONNECTIONS


def test_a_connection_naming_an_unset_webhook_secret_stops_the_start(sqlite_url: str) -> None:
    with pytest.raises(ConsoleConfigError) as error:
        build_app(Warehouse.from_url(sqlite_url), CONNECTIONS, environ={"SHOP_WEBHOOK_SECRET": "s"})

    assert "KLAVIYO_WEBHOOK_SECRET" in str(error.value)
    assert "'klav'" in str(error.value)


def test_the_secret_value_never_appears_in_the_receivers_repr() -> None:
    from integration_assets.console.secrets import webhook_receivers

    receivers = webhook_receivers(
        CONNECTIONS, {"SHOP_WEBHOOK_SECRET": "s3cr3t-value", "KLAVIYO_WEBHOOK_SECRET": "k"}
    )

    assert "s3cr3t-value" not in repr(receivers)
    assert sorted(receivers) == ["klav", "shop"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_the_console_refuses_to_bind_beyond_loopback_unless_allowed(host: str) -> None:
    with pytest.raises(ConsoleConfigError, match="--allow-non-loopback"):
        check_host(host)
    check_host(host, allow_non_loopback=True)


def test_the_test_server_binds_loopback_only(sqlite_url: str) -> None:
    app = build_app(Warehouse.from_url(sqlite_url), [])
    with pytest.raises(ConsoleConfigError):
        ConsoleServer(app, host="0.0.0.0")


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ConsoleConfigError):
        ConsoleSettings(max_body_bytes=0)
    with pytest.raises(ConsoleConfigError):
        ConsoleSettings(timestamp_tolerance_seconds=-1)


def test_a_sync_does_not_need_the_webhook_secret_in_its_environment() -> None:
    [shop] = [c for c in CONNECTIONS if c.name == "shop"]

    assert shop.resolve_secrets({"SHOP_TOKEN": "t"}, only=("access_token",)) == {
        "access_token": "t"
    }


def test_a_webhook_topic_naming_an_unknown_entity_is_a_spec_error() -> None:
    from pydantic import ValidationError

    from integration_assets.connectors import get_connector
    from integration_assets.connectors.webhooks import WebhookTopic

    shopify = get_connector("shopify")
    assert shopify.webhooks is not None
    broken = shopify.webhooks.model_copy(
        update={"topics": (WebhookTopic(topic="carts/create", entity="carts", kind="upsert"),)}
    )
    with pytest.raises(ValidationError, match="unknown entity 'carts'"):
        type(shopify).model_validate({**shopify.model_dump(), "webhooks": broken.model_dump()})


def test_connections_validate_with_a_webhook_secret_beside_the_api_secrets() -> None:
    connection = Connection(
        name="shop",
        vendor="shopify",
        base_url="http://127.0.0.1:1",
        secrets={"access_token": "A", "webhook_secret": "SHOP_WEBHOOK_SECRET"},
        entities={"orders": "realtime"},
    )
    connection.validate_against_connector()
