"""Vendor-looking ids that still map back to the record index in O(1).

Shopify ids are large integers that grow over time but are not contiguous; here
`id = base + index * stride + jitter(index)`, strictly increasing with the index, so
`since_id` and `ids=` become index arithmetic. Child ids (line items, variants, addresses)
derive from the parent index, so they are stable across versions and never collide.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration_assets.sandbox.rand import draw

STRIDE = 4096


@dataclass(frozen=True)
class IdSpace:
    """Ids of one entity: `base + i * STRIDE + jitter`, jitter drawn from `key`."""

    base: int
    key: int

    def id_of(self, index: int) -> int:
        """The vendor id of record `index`."""
        return self.base + index * STRIDE + draw(self.key, index) % STRIDE

    def index_of(self, vendor_id: int) -> int | None:
        """The index whose id is exactly `vendor_id`, or None."""
        index = (vendor_id - self.base) // STRIDE
        if index < 0 or self.id_of(index) != vendor_id:
            return None
        return index

    def first_index_above(self, vendor_id: int) -> int:
        """The first index whose id is greater than `vendor_id` (for `since_id`)."""
        index = (vendor_id - self.base) // STRIDE
        if index < 0:
            return 0
        return index if self.id_of(index) > vendor_id else index + 1


def child_id(base: int, parent_index: int, position: int, slots: int = 8) -> int:
    """A stable id for the `position`-th child of a parent record."""
    return base + parent_index * slots + position
