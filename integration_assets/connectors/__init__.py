"""Declarative vendor specs and the connections that use them.

The registry is keyed by (vendor, api): a vendor may offer several APIs (Shopify: the GraphQL
Admin API and the legacy REST one), each one `ConnectorSpec`, and a connection chooses with
`api:` (default: the vendor's entry in `DEFAULT_APIS`, else its only API). A new vendor is one
module defining a `ConnectorSpec` and one entry in `_SPECS`.
"""

from integration_assets.connectors.klaviyo import KLAVIYO
from integration_assets.connectors.shopify import SHOPIFY
from integration_assets.connectors.shopify_graphql import SHOPIFY_GRAPHQL
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec

_SPECS: tuple[ConnectorSpec, ...] = (SHOPIFY_GRAPHQL, SHOPIFY, KLAVIYO)

DEFAULT_APIS: dict[str, str] = {"shopify": "graphql"}
"""The API a connection of the vendor uses when it names none (vendors with one API: that)."""

CONNECTOR_APIS: dict[tuple[str, str], ConnectorSpec] = {
    (spec.vendor, spec.api_id): spec for spec in _SPECS
}


def apis_of(vendor: str) -> tuple[str, ...]:
    """The APIs `vendor` offers, its default first; empty for an unknown vendor."""
    apis = [api for known, api in CONNECTOR_APIS if known == vendor]
    default = DEFAULT_APIS.get(vendor)
    return tuple(sorted(apis, key=lambda api: api != default))


def default_api(vendor: str) -> str:
    """The API a connection of `vendor` speaks when it names none; KeyError if unknown."""
    apis = apis_of(vendor)
    if not apis:
        raise KeyError(f"unknown vendor {vendor!r} (known: {', '.join(sorted(CONNECTORS))})")
    return apis[0]


CONNECTORS: dict[str, ConnectorSpec] = {
    vendor: CONNECTOR_APIS[vendor, default_api(vendor)]
    for vendor in dict.fromkeys(spec.vendor for spec in _SPECS)
}
"""Each vendor's default spec. Every API of a vendor lists the same entities, so this is
what iterates assets and mapping checks (one asset per vendor entity, whatever the API)."""


def get_connector(vendor: str, api: str | None = None) -> ConnectorSpec:
    """The spec of `vendor`'s `api` (None: its default), or a KeyError naming what exists."""
    if vendor not in CONNECTORS:
        raise KeyError(f"unknown vendor {vendor!r} (known: {', '.join(sorted(CONNECTORS))})")
    chosen = api or default_api(vendor)
    try:
        return CONNECTOR_APIS[vendor, chosen]
    except KeyError:
        raise KeyError(
            f"{vendor} has no API {chosen!r} (known: {', '.join(apis_of(vendor))})"
        ) from None


__all__ = [
    "CONNECTORS",
    "CONNECTOR_APIS",
    "DEFAULT_APIS",
    "ConnectorSpec",
    "EntitySpec",
    "apis_of",
    "default_api",
    "get_connector",
]
