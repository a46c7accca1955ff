"""Shopify 2024-10 Customer resources, generated from (seed, index, version).

Customers are what big benchmark walks page through, so this builder sticks to cheap
operations: precomputed pools and tag strings, one draw for the stable bits and one for the
bits that change with each version (state, tags, note, spend, consent, second address).
The email carries the index, which keeps emails unique as Shopify requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integration_assets.sandbox import names
from integration_assets.sandbox.ids import child_id
from integration_assets.sandbox.rand import draw, salt
from integration_assets.sandbox.shopify.formats import CURRENCY, PLACES, postal_code, slug

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.catalog import ShopifyCatalog

_FIRST, _LAST, _DOMAINS = names.FIRST_NAMES, names.LAST_NAMES, names.EMAIL_DOMAINS
_FIRST_COUNT, _LAST_COUNT, _DOMAIN_COUNT = len(_FIRST), len(_LAST), len(_DOMAINS)
_FIRST_SLUGS = tuple(slug(name) for name in names.FIRST_NAMES)
_LAST_SLUGS = tuple(slug(name).replace("-", "") for name in names.LAST_NAMES)
_CUSTOMER_STATES = ("enabled", "disabled", "invited", "declined")
_CONSENT_STATES = ("subscribed", "not_subscribed", "unsubscribed", "pending")
_NOTES = tuple(f"Prefers {color.lower()} gift wrap." for color in names.COLORS)
_CUSTOMER_TAG_TEXT = tuple(
    tuple(
        ", ".join(
            sorted(
                {
                    names.CUSTOMER_TAGS[(code >> (4 * n)) % len(names.CUSTOMER_TAGS)]
                    for n in range(count)
                }
            )
        )
        for code in range(4096)
    )
    for count in range(4)
)
"""Tag strings by (how many, which): Shopify returns tags sorted and comma-joined."""


class CustomerBuilder:
    """Builds the customers of one shop."""

    def __init__(self, shop: ShopifyCatalog, seed: int) -> None:
        self.shop = shop
        self._key = salt(seed, "customer")
        self._version_key = salt(seed, "customer.version")

    def build(self, index: int, version: int, created: int, updated: int) -> dict[str, Any]:
        """A Customer resource (the hot path of big walks: kept to cheap operations)."""
        bits = draw(self._key, index)
        vbits = draw(self._version_key, index, version)
        customer_id = self.shop.customer_ids.id_of(index)
        first_pick, last_pick = bits % _FIRST_COUNT, (bits >> 8) % _LAST_COUNT
        first, last = _FIRST[first_pick], _LAST[last_pick]
        phone = None
        if (bits >> 26) % 4:
            phone = f"+1{200 + (bits >> 28) % 700}{index % 10_000_000:07d}"
        iso = self.shop.clock.iso
        updated_text = iso(updated)
        orders_count = (vbits >> 4) % 12
        spent = orders_count * (1500 + (vbits >> 8) % 18000)
        orders_base = self.shop.stores["orders"].base_count
        last_order = (bits >> 3) % orders_base if orders_count and orders_base else None
        default = self._address(index, 0, bits >> 32, first, last, customer_id, phone, True)
        addresses = [default]
        if (bits >> 34) % 5 == 0:
            addresses.append(
                self._address(index, 1, vbits >> 32, first, last, customer_id, None, False)
            )
        consent = _CONSENT_STATES[(vbits >> 18) % 4]
        return {
            "id": customer_id,
            "email": f"{_FIRST_SLUGS[first_pick]}.{_LAST_SLUGS[last_pick]}.{index}@{_DOMAINS[(bits >> 16) % _DOMAIN_COUNT]}",
            "created_at": iso(created),
            "updated_at": updated_text,
            "first_name": first,
            "last_name": last,
            "orders_count": orders_count,
            "state": _CUSTOMER_STATES[(vbits >> 2) % 4],
            "total_spent": f"{spent // 100}.{spent % 100:02d}",
            "last_order_id": None if last_order is None else self.shop.order_ids.id_of(last_order),
            "note": None if (vbits >> 20) % 4 else _NOTES[(vbits >> 22) % len(_NOTES)],
            "verified_email": (bits >> 38) % 10 != 0,
            "multipass_identifier": None,
            "tax_exempt": (bits >> 42) % 30 == 0,
            "tags": _CUSTOMER_TAG_TEXT[(vbits >> 24) % 4][(vbits >> 26) & 4095],
            "last_order_name": None if last_order is None else f"#{1001 + last_order}",
            "currency": CURRENCY,
            "phone": phone,
            "addresses": addresses,
            "tax_exemptions": [],
            "email_marketing_consent": {
                "state": consent,
                "opt_in_level": "single_opt_in" if consent == "subscribed" else None,
                "consent_updated_at": None if consent == "not_subscribed" else updated_text,
            },
            "sms_marketing_consent": None
            if phone is None
            else {
                "state": "not_subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": None,
                "consent_collected_from": "OTHER",
            },
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "default_address": dict(default),
        }

    def _address(
        self,
        index: int,
        position: int,
        bits: int,
        first: str,
        last: str,
        customer_id: int,
        phone: str | None,
        default: bool,
    ) -> dict[str, Any]:
        """One of the customer's addresses; its id derives from the customer's index."""
        place = PLACES[bits % len(PLACES)]
        company = (
            names.COMPANIES[(bits >> 6) % len(names.COMPANIES)] if (bits >> 10) % 6 == 0 else None
        )
        extra = (bits >> 13) % 4
        return {
            "id": child_id(8_100_000_000_000, index, position, 4),
            "customer_id": customer_id,
            "first_name": first,
            "last_name": last,
            "company": company,
            "address1": f"{1 + (bits >> 16) % 9899} {names.STREETS[(bits >> 30) % len(names.STREETS)]}",
            "address2": ""
            if extra < 2
            else f"Apt {1 + (bits >> 36) % 40}"
            if extra == 2
            else "Suite 200",
            "city": place.city,
            "province": place.province,
            "country": place.country,
            "zip": postal_code(place, bits >> 24),
            "phone": phone,
            "name": f"{first} {last}",
            "province_code": place.province_code,
            "country_code": place.country_code,
            "country_name": place.country,
            "default": default,
        }
