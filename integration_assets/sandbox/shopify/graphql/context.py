"""What one GraphQL execution carries besides the document: the shop, the mode, what it served.

Resolvers find the simulator here (`info.context.simulator`), and leave behind what the HTTP
layer needs after execution: the search warnings Shopify reports in `extensions.search`, and
which records and pages were served (for the type-drift and malformed-page faults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integration_assets.sandbox.shopify.graphql.views import Views

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator


@dataclass
class Context:
    """The per-execution state resolvers share."""

    simulator: ShopifySimulator
    unbounded: bool = False
    """Bulk operations: connections ignore `first`/`last` and the 250 cap and stream every match."""
    views: Views = field(init=False)
    search: list[dict[str, Any]] = field(default_factory=list)
    pages: list[tuple[str, int]] = field(default_factory=list)
    """(entity, page number of its walk) for each top-level connection page served."""

    def __post_init__(self) -> None:
        self.views = Views(self.simulator)
