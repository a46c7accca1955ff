"""Simulated Shopify Admin REST API (every supported version) and GraphQL Admin API (one shop,
one set of records: customers, orders, products)."""

from integration_assets.sandbox.shopify.simulator import DEMO_ACCESS_TOKEN, ShopifySimulator

__all__ = ["DEMO_ACCESS_TOKEN", "ShopifySimulator"]
