"""One Shopify app secret signs every shop's deliveries: a delivery is filed only under the
connection of the shop it names."""

from __future__ import annotations

import httpx

from integration_assets.connectors.connections import Connection
from integration_assets_tests.console.helpers import inbox_count, running_console, shopify_delivery

SHOPS = [
    Connection(
        name=name,
        vendor="shopify",
        base_url=f"https://{name}.myshopify.com",
        secrets={"access_token": "SHOP_TOKEN", "webhook_secret": "SHOP_WEBHOOK_SECRET"},
        entities={"orders": "realtime"},
    )
    for name in ("shop-a", "shop-b")
]


def test_a_delivery_naming_another_shop_is_refused_401_and_its_own_is_stored(
    warehouse_url: str,
) -> None:
    with running_console(warehouse_url, connections=SHOPS) as (server, warehouse):
        url = f"{server.url}/webhooks/shopify/shop-a"
        for_b = shopify_delivery({"id": 1}, "orders/create", shop_domain="shop-b.myshopify.com")
        for_a = shopify_delivery({"id": 2}, "orders/create", shop_domain="shop-a.myshopify.com")
        with httpx.Client(timeout=30) as client:
            refused = client.post(url, content=for_b.body, headers=for_b.headers)
            stored = client.post(url, content=for_a.body, headers=for_a.headers)

        assert refused.status_code == 401
        assert "X-Shopify-Shop-Domain" in refused.json()["reason"]
        assert stored.status_code == 200
        assert inbox_count(warehouse) == 1
