"""Each bad request is refused with its status, stored nowhere, and never echoes a secret."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integration_assets.console import ConsoleSettings
from integration_assets.console.server import ConsoleServer
from integration_assets.load.warehouse import Warehouse
from integration_assets_tests.console.helpers import (
    KLAVIYO_SECRET,
    SHOP_SECRET,
    Signed,
    inbox_count,
    klaviyo_delivery,
    klaviyo_event,
    running_console,
    shopify_delivery,
)

Console = tuple[ConsoleServer, Warehouse]


def _post(
    client: httpx.Client, server: ConsoleServer, path: str, delivery: Signed
) -> httpx.Response:
    return client.post(f"{server.url}{path}", content=delivery.body, headers=delivery.headers)


def _assert_refused(answer: httpx.Response, status: int, warehouse: Warehouse) -> None:
    assert answer.status_code == status
    assert SHOP_SECRET not in answer.text and KLAVIYO_SECRET not in answer.text
    assert inbox_count(warehouse) == 0


def test_an_unsigned_delivery_is_refused_401(console: Console, client: httpx.Client) -> None:
    server, warehouse = console
    delivery = shopify_delivery({"id": 1})
    del delivery.headers["X-Shopify-Hmac-Sha256"]

    answer = _post(client, server, "/webhooks/shopify/shop", delivery)

    _assert_refused(answer, 401, warehouse)
    assert "X-Shopify-Hmac-Sha256" in answer.json()["reason"]


def test_a_delivery_signed_with_another_secret_is_refused_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = shopify_delivery({"id": 1}, secret="not-the-client-secret")

    _assert_refused(_post(client, server, "/webhooks/shopify/shop", delivery), 401, warehouse)


def test_a_body_changed_after_signing_is_refused_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    signed = klaviyo_delivery([klaviyo_event("EV1")])
    tampered = Signed(signed.body.replace(b"EV1", b"EV9"), signed.headers)

    _assert_refused(_post(client, server, "/webhooks/klaviyo/klav", tampered), 401, warehouse)


def test_a_klaviyo_signature_that_leaves_out_the_timestamp_is_refused_401(
    console: Console, client: httpx.Client
) -> None:
    import hashlib
    import hmac

    server, warehouse = console
    delivery = klaviyo_delivery([klaviyo_event("EV1")])
    body_only = hmac.new(KLAVIYO_SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    delivery.headers["Klaviyo-Signature"] = body_only

    _assert_refused(_post(client, server, "/webhooks/klaviyo/klav", delivery), 401, warehouse)


def test_a_klaviyo_delivery_whose_webhook_id_header_differs_from_the_body_is_refused_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = klaviyo_delivery([klaviyo_event("EV1")], header_hook_id="01SOMEOTHERHOOK")

    answer = _post(client, server, "/webhooks/klaviyo/klav", delivery)

    _assert_refused(answer, 401, warehouse)
    assert "Klaviyo-Webhook-Id" in answer.json()["reason"]


def test_a_klaviyo_delivery_sent_more_than_the_tolerance_ago_is_stale_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    delivery = klaviyo_delivery(
        [klaviyo_event("EV1")], sent_at=datetime.now(UTC) - timedelta(minutes=6)
    )

    answer = _post(client, server, "/webhooks/klaviyo/klav", delivery)

    _assert_refused(answer, 401, warehouse)
    assert "stale" in answer.json()["reason"]


def test_a_shopify_retry_hours_after_the_change_is_accepted_within_the_retry_window(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    retry = shopify_delivery({"id": 3}, triggered_at=datetime.now(UTC) - timedelta(hours=3))

    assert _post(client, server, "/webhooks/shopify/shop", retry).status_code == 200
    assert inbox_count(warehouse) == 1


def test_a_shopify_delivery_triggered_beyond_the_retry_window_is_stale_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    stale = shopify_delivery({"id": 3}, triggered_at=datetime.now(UTC) - timedelta(hours=5))

    _assert_refused(_post(client, server, "/webhooks/shopify/shop", stale), 401, warehouse)


def test_a_delivery_dated_in_the_future_beyond_the_tolerance_is_refused_401(
    console: Console, client: httpx.Client
) -> None:
    server, warehouse = console
    future = shopify_delivery({"id": 3}, triggered_at=datetime.now(UTC) + timedelta(minutes=10))

    answer = _post(client, server, "/webhooks/shopify/shop", future)

    _assert_refused(answer, 401, warehouse)
    assert "future" in answer.json()["reason"]


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/shopify/no-such-connection",
        "/webhooks/shopify/quiet-shop",  # a connection without a webhook secret
        "/webhooks/klaviyo/shop",  # a Shopify connection on the Klaviyo path
    ],
)
def test_a_delivery_to_a_connection_that_takes_no_webhooks_is_refused_404(
    console: Console, client: httpx.Client, path: str
) -> None:
    server, warehouse = console

    answer = _post(client, server, path, shopify_delivery({"id": 1}))

    _assert_refused(answer, 404, warehouse)
    assert answer.json()["reason"] == "no webhook endpoint here"


def test_a_signed_body_that_is_not_json_is_refused_400(
    console: Console, client: httpx.Client
) -> None:
    import base64
    import hashlib
    import hmac

    server, warehouse = console
    delivery = shopify_delivery({"id": 1})
    body = b"not json"
    mac = base64.b64encode(hmac.new(SHOP_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    bad = Signed(body, {**delivery.headers, "X-Shopify-Hmac-Sha256": mac})

    _assert_refused(_post(client, server, "/webhooks/shopify/shop", bad), 400, warehouse)


def _raw_exchange(url: str, head: bytes, first_bytes: bytes) -> bytes:
    """Send `head` and a little of a body, never the rest; return what the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + first_bytes)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_an_oversized_declared_body_is_refused_413_before_it_is_sent(warehouse_url: str) -> None:
    with running_console(warehouse_url, ConsoleSettings(max_body_bytes=1024)) as (
        server,
        warehouse,
    ):
        head = (
            b"POST /webhooks/shopify/shop HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
        )
        # Ten megabytes announced, a hundred bytes sent: the answer comes anyway.
        answer = _raw_exchange(server.url, head, b"{" * 100)

        assert answer.startswith(b"HTTP/1.1 413")
        assert inbox_count(warehouse) == 0


def test_an_oversized_chunked_body_is_refused_413_once_it_passes_the_limit(
    warehouse_url: str,
) -> None:
    with running_console(warehouse_url, ConsoleSettings(max_body_bytes=1024)) as (
        server,
        warehouse,
    ):
        head = (
            b"POST /webhooks/shopify/shop HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # 2 KiB in one chunk and no final chunk: the body never ends, the answer still comes.
        answer = _raw_exchange(server.url, head, b"800\r\n" + b"x" * 2048 + b"\r\n")

        assert answer.startswith(b"HTTP/1.1 413")
        assert inbox_count(warehouse) == 0
