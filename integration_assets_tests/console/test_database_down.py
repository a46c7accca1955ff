"""When the inbox cannot store a delivery the vendor is asked to retry (503), and the retry
is stored once the database is back."""

from __future__ import annotations

import httpx
import psycopg

from integration_assets_tests.console.helpers import (
    inbox_count,
    running_console,
    shopify_delivery,
)


def _allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


def test_a_delivery_arriving_while_postgres_refuses_connections_gets_503_then_200_on_retry(
    postgres_admin_url: str, postgres_url: str
) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    delivery = shopify_delivery({"id": 12}, "orders/create")
    with running_console(postgres_url) as (server, warehouse), httpx.Client(timeout=30) as client:
        url = f"{server.url}/webhooks/shopify/shop"
        assert (
            client.post(
                url,
                content=shopify_delivery({"id": 1}).body,
                headers=shopify_delivery({"id": 1}).headers,
            ).status_code
            == 200
        )
        _allow_connections(postgres_admin_url, database, False)
        try:
            down = client.post(url, content=delivery.body, headers=delivery.headers)
        finally:
            _allow_connections(postgres_admin_url, database, True)
        retried = client.post(url, content=delivery.body, headers=delivery.headers)

        assert down.status_code == 503
        assert down.json()["status"] == "retry"
        assert retried.status_code == 200
        assert retried.json()["new"] == 1
        assert inbox_count(warehouse) == 2
