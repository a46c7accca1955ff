"""Simulated Klaviyo API, revision 2026-10-15 (profiles, events)."""

from integration_assets.sandbox.klaviyo.simulator import DEMO_API_KEY, KlaviyoSimulator

__all__ = ["DEMO_API_KEY", "KlaviyoSimulator"]
