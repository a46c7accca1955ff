"""Everything needed to build one simulated shop's records: ids, clock, the three builders.

Shapes follow the REST Admin API 2024-10 reference: money as decimal strings ("123.45"),
timestamps in the shop's zone with its offset, tags as one comma-separated string, nullable
fields that really are null for some records, children nested with ids derived from the
parent. Bits drawn with a builder's version-0 key never change; bits drawn with its version key
change when `advance` gives a record a new version, which is what makes an update visible.
"""

from __future__ import annotations

from typing import Any

from integration_assets.sandbox.ids import IdSpace
from integration_assets.sandbox.rand import salt
from integration_assets.sandbox.shopify.customers import CustomerBuilder
from integration_assets.sandbox.shopify.orders import OrderBuilder
from integration_assets.sandbox.shopify.products import ProductBuilder
from integration_assets.sandbox.store import EntityStore
from integration_assets.sandbox.timefmt import ShopClock


class ShopifyCatalog:
    """Builds the records of one simulated shop."""

    def __init__(
        self,
        seed: int,
        stores: dict[str, EntityStore],
        clock: ShopClock,
        shop_domain: str = "sandbox-shop.myshopify.com",
    ) -> None:
        self.stores = stores
        self.clock = clock
        self.shop_domain = shop_domain
        self.customer_ids = IdSpace(6_500_000_000_000, salt(seed, "customer.id"))
        self.order_ids = IdSpace(5_600_000_000_000, salt(seed, "order.id"))
        self.product_ids = IdSpace(8_900_000_000_000, salt(seed, "product.id"))
        self.id_spaces = {
            "customers": self.customer_ids,
            "orders": self.order_ids,
            "products": self.product_ids,
        }
        self.customers = CustomerBuilder(self, seed)
        self.products = ProductBuilder(self, seed)
        self.orders = OrderBuilder(self, seed)
        self._builders = {
            "customers": self.customers.build,
            "orders": self.orders.build,
            "products": self.products.build,
        }

    def build(
        self, entity: str, index: int, version: int, created: int, updated: int
    ) -> dict[str, Any]:
        """The record of `entity` at that index and version, as Shopify serves it."""
        return self._builders[entity](index, version, created, updated)
