"""The connections file: what a user writes, and the errors they see when it is wrong."""

from pathlib import Path

import pytest

from integration_assets.connectors.connections import (
    ConnectionsFileError,
    MissingSecretError,
    get_connection,
    load_connections,
)

GOOD = """
connections:
  - name: demo-shop
    vendor: shopify
    base_url: https://demo-shop.myshopify.com/
    secrets: {access_token: SHOPIFY_DEMO_SHOP_TOKEN}
    entities: {customers: hourly, orders: 15m, products: daily}
  - name: demo-klaviyo
    vendor: klaviyo
    secrets: {api_key: KLAVIYO_DEMO_API_KEY}
    entities: {profiles: 15m, events: realtime}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(text)
    return path


def test_the_documented_shape_parses_with_vendor_defaults(tmp_path: Path) -> None:
    shop, klaviyo = load_connections(write(tmp_path, GOOD))

    assert shop.connector.api_id == "graphql"
    assert shop.api_base_url == "https://demo-shop.myshopify.com/admin/api/2026-10"
    assert shop.entities["orders"] == "15m"
    assert klaviyo.api_base_url == "https://a.klaviyo.com/api"
    assert klaviyo.connector.api_id == "rest"


def test_a_shopify_connection_may_stay_on_the_legacy_rest_api(tmp_path: Path) -> None:
    text = GOOD.replace("    vendor: shopify\n", "    vendor: shopify\n    api: rest\n")
    shop, _ = load_connections(write(tmp_path, text))

    assert shop.connector.request == "get"
    assert shop.api_base_url == "https://demo-shop.myshopify.com/admin/api/2024-10"


def test_an_api_the_vendor_does_not_offer_is_named_with_the_choices(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("    vendor: klaviyo\n", "    vendor: klaviyo\n    api: graphql\n")
    )

    with pytest.raises(ConnectionsFileError) as error:
        load_connections(path)

    assert "klaviyo has no API 'graphql' (choose one of: rest; default rest)" in str(error.value)


def test_the_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTEGRATION_CONNECTIONS", str(write(tmp_path, GOOD)))

    assert get_connection("demo-klaviyo").vendor == "klaviyo"


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD.replace("vendor: shopify", "vendor: shopfy"), "unknown vendor 'shopfy'"),
        (GOOD.replace("orders: 15m", "refunds: 15m"), "shopify has no entity 'refunds'"),
        (GOOD.replace("hourly", "weekly"), "entities.customers"),
        (GOOD.replace("SHOPIFY_DEMO_SHOP_TOKEN", "shpat_0123456789abcdef"), "never hold the value"),
        (
            GOOD.replace("{access_token: SHOPIFY_DEMO_SHOP_TOKEN}", "{}"),
            "lacks secrets ['access_token']",
        ),
        (GOOD.replace("name: demo-klaviyo", "name: demo-shop"), "duplicate connection names"),
        (GOOD + "  - [unclosed", "not valid YAML"),
    ],
)
def test_a_broken_file_names_the_problem(tmp_path: Path, broken: str, message: str) -> None:
    path = write(tmp_path, broken)

    with pytest.raises(ConnectionsFileError) as error:
        load_connections(path)

    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_secret_value_typed_into_the_file_is_not_echoed_back(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("SHOPIFY_DEMO_SHOP_TOKEN", "shpat_0123456789abcdef"))

    with pytest.raises(ConnectionsFileError) as error:
        load_connections(path)

    assert "0123456789abcdef" not in str(error.value)


def test_a_missing_file_says_how_to_point_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(ConnectionsFileError, match="INTEGRATION_CONNECTIONS"):
        load_connections(tmp_path / "nope.yaml")


def test_secrets_are_read_from_the_named_variable_and_the_error_names_only_the_variable(
    tmp_path: Path,
) -> None:
    shop = load_connections(write(tmp_path, GOOD))[0]

    assert shop.resolve_secrets({"SHOPIFY_DEMO_SHOP_TOKEN": "shpat_x"}) == {
        "access_token": "shpat_x"
    }
    with pytest.raises(MissingSecretError, match="SHOPIFY_DEMO_SHOP_TOKEN"):
        shop.resolve_secrets({})


def test_plain_http_off_loopback_is_refused_and_the_error_says_how_to_opt_in(
    tmp_path: Path,
) -> None:
    insecure = GOOD.replace("https://demo-shop.myshopify.com/", "http://demo-shop.myshopify.com")
    path = write(tmp_path, insecure)

    with pytest.raises(ConnectionsFileError) as error:
        load_connections(path)

    message = str(error.value)
    assert "connections.0" in message and "http://demo-shop.myshopify.com:80" in message
    assert "allow_insecure_http: true" in message


def test_plain_http_off_loopback_is_accepted_when_the_connection_opts_in(tmp_path: Path) -> None:
    insecure = GOOD.replace(
        "base_url: https://demo-shop.myshopify.com/",
        "base_url: http://10.0.0.5:8080\n    allow_insecure_http: true",
    )

    shop, _ = load_connections(write(tmp_path, insecure))

    assert shop.api_base_url.startswith("http://10.0.0.5:8080/") and shop.allow_insecure_http


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8701", "http://127.5.6.7", "http://localhost:9000", "http://[::1]:8701"],
)
def test_plain_http_on_loopback_is_accepted(tmp_path: Path, base_url: str) -> None:
    path = write(tmp_path, GOOD.replace("https://demo-shop.myshopify.com/", base_url))

    shop, _ = load_connections(path)

    assert shop.base_url == base_url


@pytest.mark.parametrize(
    "base_url", ["http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://[::2]"]
)
def test_hosts_that_only_look_like_loopback_are_not(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(ConnectionsFileError, match="allow_insecure_http"):
        load_connections(
            write(tmp_path, GOOD.replace("https://demo-shop.myshopify.com/", base_url))
        )
