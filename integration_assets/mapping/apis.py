"""Which vendor API a connection's records come from, when the connection does not say.

Shopify offers its Admin API as GraphQL and (legacy) REST; the records differ in shape, so
each API has its own mapping file (`mappings/shopify/<api>/<entity>.json`) while both write
the same tables. A connection names its API; when it does not, the vendor's default applies,
and that default must be the same for the extract stage and the mapping stage, or records of
one API would meet the mapping of the other. So it is decided in ONE place: this function is
that place for the mapping layer, and it is meant to return the connector registry's default
(the registry keyed by (vendor, api) that the extract work adds) once that registry exists.

Until then the extract stage speaks REST only, so REST is Shopify's default here: a default
of GraphQL would map today's REST records with the GraphQL mapping. A vendor with a single
API (Klaviyo) has no default: its files sit directly in `mappings/<vendor>/`.
"""

from __future__ import annotations

# Point at the connector registry's default API per vendor when it lands (it makes Shopify's
# default graphql).
_DEFAULT_APIS: dict[str, str] = {"shopify": "rest"}


def default_api(vendor: str) -> str | None:
    """The API a connection of `vendor` uses when it names none; None for single-API vendors."""
    return _DEFAULT_APIS.get(vendor)
