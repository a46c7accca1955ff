"""One simulated Shopify shop: its data, its access token, its rate-limit bucket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.applications import Starlette

from integration_assets.sandbox.ratelimit import LeakyBucket
from integration_assets.sandbox.shopify.app import ShopifyApp
from integration_assets.sandbox.shopify.bulk.api import bulk_extension
from integration_assets.sandbox.shopify.bulk.operations import BulkOperations
from integration_assets.sandbox.shopify.catalog import ShopifyCatalog
from integration_assets.sandbox.shopify.graphql.executor import Executor
from integration_assets.sandbox.shopify.graphql.throttle import CostBucket, CostLimits
from integration_assets.sandbox.simulator import DEFAULT_START, Simulator
from integration_assets.sandbox.store import Row, Window
from integration_assets.sandbox.timefmt import ShopClock

DEMO_ACCESS_TOKEN = "shpat_demo_token"
ORDERS_WITHOUT_READ_ALL_ORDERS = 60 * 86400
"""How far back an app without the read_all_orders scope sees orders (Shopify: 60 days)."""


class ShopifySimulator(Simulator):
    """One shop served as Admin REST 2024-10 and GraphQL Admin 2026-10 (see `shopify.app`).

    `graphql_limits` is the GraphQL cost bucket of each access token (default: the Standard
    plan's 2000 points restoring at 100 points/second). `read_all_orders=False` is an app
    without that scope: as Shopify documents, only the last 60 days' orders (by creation) are
    accessible, in REST and GraphQL alike.
    """

    vendor: ClassVar[str] = "shopify"
    entities: ClassVar[tuple[str, ...]] = ("customers", "orders", "products")
    default_sizes: ClassVar[Mapping[str, int]] = {
        "customers": 1000,
        "orders": 2000,
        "products": 200,
    }
    history: ClassVar[Mapping[str, int]] = {"orders": 2 * 365 * 86400}

    def __init__(
        self,
        seed: int = 7,
        sizes: Mapping[str, int] | None = None,
        rate_limits: bool = True,
        access_token: str = DEMO_ACCESS_TOKEN,
        shop: str = "sandbox-shop",
        timezone: str = "America/New_York",
        start: int = DEFAULT_START,
        graphql_limits: CostLimits | None = None,
        read_all_orders: bool = True,
    ) -> None:
        self.read_all_orders = read_all_orders
        self.access_token = access_token
        self.cost_limits = graphql_limits or CostLimits()
        self.graphql = Executor()
        self.graphql.extend(bulk_extension())
        self._bulk: BulkOperations | None = None
        self.shop = shop
        self.shop_clock = ShopClock(timezone)
        super().__init__(seed=seed, sizes=sizes, rate_limits=rate_limits, start=start)

    @property
    def default_public_url(self) -> str:
        """The shop's real-looking admin host."""
        return f"https://{self.shop}.myshopify.com"

    def _build_state(self) -> None:
        super()._build_state()
        self.catalog = ShopifyCatalog(
            self.seed, self.stores, self.shop_clock, f"{self.shop}.myshopify.com"
        )
        if self._bulk is not None:
            self._bulk.close()
        self._bulk = BulkOperations(
            clock=lambda: self.clock,
            faults=lambda: self.fault_settings.bulk_failure,
            base_url=lambda: self.public_url,
        )

    @property
    def bulk(self) -> BulkOperations:
        """The shop's bulk operations (`shopify.bulk`); a reset cancels and forgets them."""
        assert self._bulk is not None
        return self._bulk

    def _reset_limiters(self) -> None:
        self._buckets: dict[str, LeakyBucket] = {}
        self._cost_buckets: dict[str, CostBucket] = {}

    def bucket(self, token: str) -> LeakyBucket:
        """The leaky bucket of one access token (Shopify limits per app and shop)."""
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = LeakyBucket(capacity=40, leak_per_second=2.0)
        return bucket

    def orders_window(self) -> Window:
        """Creation times of the orders this app may read (all, or the last 60 days)."""
        if self.read_all_orders:
            return Window()
        return Window(low=self.clock - ORDERS_WITHOUT_READ_ALL_ORDERS)

    def order_readable(self, index: int) -> bool:
        """Whether the app may read order `index` (see `orders_window`)."""
        return self.orders_window().contains(self.store("orders").created_at(index))

    def cost_bucket(self, token: str) -> CostBucket:
        """The GraphQL cost bucket of one access token (Shopify limits per app and shop)."""
        bucket = self._cost_buckets.get(token)
        if bucket is None:
            bucket = self._cost_buckets[token] = CostBucket(self.cost_limits)
        return bucket

    def render(self, entity: str, row: Row) -> dict[str, Any]:
        """The record as Shopify serves it."""
        created = self.store(entity).created_at(row.index)
        return self.catalog.build(entity, row.index, row.version, created, row.updated)

    def vendor_id(self, entity: str, index: int) -> int:
        """The Shopify id of record `index` (handy in tests)."""
        return self.catalog.id_spaces[entity].id_of(index)

    def build_app(self) -> Starlette:
        """The Shopify ASGI app."""
        return ShopifyApp(self).build()
