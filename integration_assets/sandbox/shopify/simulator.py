"""One simulated Shopify shop: its data, its access token, its rate-limit bucket."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from starlette.applications import Starlette

from integration_assets.sandbox.ratelimit import LeakyBucket
from integration_assets.sandbox.shopify.app import ShopifyApp
from integration_assets.sandbox.shopify.bulk.api import bulk_extension
from integration_assets.sandbox.shopify.bulk.operations import BulkOperations
from integration_assets.sandbox.shopify.catalog import ShopifyCatalog
from integration_assets.sandbox.shopify.graphql.executor import Executor
from integration_assets.sandbox.shopify.graphql.throttle import CostBucket, CostLimits
from integration_assets.sandbox.shopify.webhooks import compliance_deliveries, shopify_deliveries
from integration_assets.sandbox.simulator import DEFAULT_START, AdvanceReport, Simulator
from integration_assets.sandbox.store import Row, Window
from integration_assets.sandbox.timefmt import ShopClock
from integration_assets.sandbox.webhooks import Delivery

DEMO_ACCESS_TOKEN = "shpat_demo_token"
ORDERS_WITHOUT_READ_ALL_ORDERS = 60 * 86400
"""How far back an app without the read_all_orders scope sees orders (Shopify: 60 days)."""


class ShopifySimulator(Simulator):
    """Shopify Admin REST API for one shop (see `shopify.app` for the wire details).

    `api_date` is the day that decides which API versions exist (supported, release
    candidate, fallen forward from); None follows the real calendar. `deprecated_reason`,
    when set, goes out as `X-Shopify-API-Deprecated-Reason` on every answer, as when a
    client uses a deprecated field or version. Both are plain attributes a test may change.

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
        api_date: date | None = None,
        deprecated_reason: str | None = None,
        graphql_limits: CostLimits | None = None,
        read_all_orders: bool = True,
    ) -> None:
        self.read_all_orders = read_all_orders
        self.access_token = access_token
        self.api_date = api_date
        self.deprecated_reason = deprecated_reason
        self._initial_versioning = (api_date, deprecated_reason)
        self.cost_limits = graphql_limits or CostLimits()
        self.graphql = Executor()
        self.graphql.extend(bulk_extension())
        self._bulk: BulkOperations | None = None
        self.shop = shop
        self.shop_clock = ShopClock(timezone)
        super().__init__(seed=seed, sizes=sizes, rate_limits=rate_limits, start=start)

    def reset(self) -> None:
        """Back to the initial state, including the API date and deprecation reason."""
        with self.lock:
            super().reset()
            self.api_date, self.deprecated_reason = self._initial_versioning

    def api_day(self) -> date:
        """The day API versions are judged on: `api_date`, else today (UTC)."""
        return self.api_date or datetime.now(UTC).date()

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

    def _webhook_deliveries(self, report: AdvanceReport) -> list[Delivery]:
        """Deliveries of this vendor's documented shape (see `shopify.webhooks`)."""
        assert self.webhook_sender is not None
        return shopify_deliveries(self, report, self.subscriptions, self.webhook_sender.clock())

    SHOP_ID = 548380009
    """The shop's id in compliance payloads (any stable number: the docs give no format)."""

    def request_redaction(self, customer_index: int | None = None) -> list[Delivery]:
        """Send `customers/redact` for customer `customer_index` (its email, phone and the
        ids of its orders), or `shop/redact` when None, to the subscriptions of the topic.
        Returns the deliveries (already submitted)."""
        assert self.webhook_sender is not None, "set_webhooks first"
        payload: dict[str, Any] = {
            "shop_id": self.SHOP_ID,
            "shop_domain": f"{self.shop}.myshopify.com",
        }
        topic = "shop/redact"
        if customer_index is not None:
            topic = "customers/redact"
            customer_id = self.vendor_id("customers", customer_index)
            store = self.store("customers")
            row = Row(
                customer_index,
                customer_index,
                store.version(customer_index),
                store.updated_at(customer_index),
            )
            customer = self.render("customers", row)
            orders = [
                order["id"]
                for order in self.records("orders")
                if (order.get("customer") or {}).get("id") == customer_id
            ]
            payload |= {
                "customer": {
                    "id": customer_id,
                    "email": customer.get("email"),
                    "phone": customer.get("phone"),
                },
                "orders_to_redact": orders,
            }
        deliveries = compliance_deliveries(
            self, topic, payload, self.subscriptions, self.webhook_sender.clock()
        )
        self.webhook_sender.submit(deliveries)
        return deliveries

    def build_app(self) -> Starlette:
        """The Shopify ASGI app."""
        return ShopifyApp(self).build()
