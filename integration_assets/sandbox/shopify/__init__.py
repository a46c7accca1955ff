"""Simulated Shopify Admin REST API 2024-10 and GraphQL Admin API 2026-10 (one shop, one set of
records: customers, orders, products)."""

from integration_assets.sandbox.shopify.simulator import DEMO_ACCESS_TOKEN, ShopifySimulator

__all__ = ["DEMO_ACCESS_TOKEN", "ShopifySimulator"]
