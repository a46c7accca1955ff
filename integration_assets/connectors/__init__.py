"""Declarative vendor specs and the connections that use them.

`CONNECTORS` is the registry: a new vendor is one module defining a `ConnectorSpec` and one
line here.
"""

from integration_assets.connectors.klaviyo import KLAVIYO
from integration_assets.connectors.shopify import SHOPIFY
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec

CONNECTORS: dict[str, ConnectorSpec] = {spec.vendor: spec for spec in (SHOPIFY, KLAVIYO)}


def get_connector(vendor: str) -> ConnectorSpec:
    """The spec for `vendor`, or a KeyError naming the vendors we know."""
    try:
        return CONNECTORS[vendor]
    except KeyError:
        raise KeyError(
            f"unknown vendor {vendor!r} (known: {', '.join(sorted(CONNECTORS))})"
        ) from None


__all__ = ["CONNECTORS", "ConnectorSpec", "EntitySpec", "get_connector"]
