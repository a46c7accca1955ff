"""Which vendor API a connection's records come from, when the connection does not say.

Shopify offers its Admin API as GraphQL and (legacy) REST; the records differ in shape, so
each API has its own mapping file (`mappings/shopify/<api>/<entity>.json`) while both write
the same tables. A connection names its API (`Connection.api`); when it does not, the
vendor's default applies, and that default must be the same for the extract stage and the
mapping stage, or records of one API would meet the mapping of the other. So it is decided in
ONE place, the connector registry (`connectors.DEFAULT_APIS`), and read here.
"""

from __future__ import annotations

from integration_assets.connectors import apis_of
from integration_assets.connectors import default_api as _registry_default


def default_api(vendor: str) -> str | None:
    """The API a connection of `vendor` uses when it names none (the connector registry's
    default); None for a vendor the registry does not know (mapping files of their own)."""
    if not apis_of(vendor):
        return None
    return _registry_default(vendor)
