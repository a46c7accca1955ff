"""Shopify 2024-10 Order resources with line items, customer, addresses and money sets.

Line items point at real products and variants of the same shop and are priced at the
variants' version-0 prices, so `total_price == subtotal - discounts + tax + shipping` and the
line prices add up. The embedded `customer` is the customer's *current* version (or null when
that customer is gone), so an order's body can change without its `updated_at` moving, as on
Shopify.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integration_assets.sandbox.ids import child_id
from integration_assets.sandbox.rand import draw, salt
from integration_assets.sandbox.shopify.formats import (
    CURRENCY,
    PLACES,
    base36,
    money,
    money_set,
)
from integration_assets.sandbox.shopify.products import VARIANT_ID_BASE
from integration_assets.sandbox.shopify.products import sku as variant_sku
from integration_assets.sandbox.store import Predicate

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.catalog import ShopifyCatalog

_STATUS_PERIOD = 20
_STATUS_STEP = 7919
"""Order state of version-0 orders is periodic in the index so status counts are arithmetic."""


class OrderState(Predicate):
    """The `status` filter of orders.json: open, closed, cancelled or any.

    open = neither closed nor cancelled; closed = has `closed_at` (cancelled orders are closed
    too); cancelled = has `cancelled_at`. Shopify's default is `open`, which silently hides
    every closed and cancelled order from a sync that forgets `status=any`.
    """

    ACCEPTS = {"open": ("open",), "closed": ("closed", "cancelled"), "cancelled": ("cancelled",)}

    def __init__(self, orders: OrderBuilder, status: str) -> None:
        self.orders = orders
        self.status = status
        self.key = ("order-status", status)
        self._accepted = self.ACCEPTS[status]

    def matches(self, index: int, version: int) -> bool:
        """Whether the order's state at that version passes the filter."""
        return self.orders.state(index, version) in self._accepted

    def count_base(self, start: int, stop: int) -> int | None:
        """Version-0 states repeat every 20 indices, so this is arithmetic plus a remainder."""
        orders = self.orders
        hits = [orders.state(position, 0) in self._accepted for position in range(_STATUS_PERIOD)]
        total = stop - start
        full, remainder = divmod(total, _STATUS_PERIOD)
        count = full * sum(hits)
        for index in range(start, start + remainder):
            if hits[index % _STATUS_PERIOD]:
                count += 1
        return count


class OrderBuilder:
    """Builds the orders of one shop."""

    def __init__(self, shop: ShopifyCatalog, seed: int) -> None:
        self.shop = shop
        self._key = salt(seed, "order")
        self._version_key = salt(seed, "order.version")
        self._line_key = salt(seed, "order.line")
        self._status_shift = seed % _STATUS_PERIOD

    def state(self, index: int, version: int) -> str:
        """open, closed or cancelled; updated orders are more often closed."""
        if version == 0:
            pick = (index * _STATUS_STEP + self._status_shift) % _STATUS_PERIOD
            closed_below = 5
        else:
            pick = draw(self._version_key, index, version) % _STATUS_PERIOD
            closed_below = 10
        if pick < 2:
            return "cancelled"
        return "closed" if pick < closed_below else "open"

    def build(self, index: int, version: int, created: int, updated: int) -> dict[str, Any]:
        """An Order resource with its line items, customer and addresses."""
        bits = draw(self._key, index)
        vbits = draw(self._version_key, index, version)
        order_id = self.shop.order_ids.id_of(index)
        state = self.state(index, version)
        created_text, updated_text = self.shop.clock.iso(created), self.shop.clock.iso(updated)
        customer = self._order_customer(bits)
        email = customer["email"] if customer else f"guest.{index}@example.com"
        lines, subtotal = self._line_items(index, bits)
        discount = subtotal // 10 if (bits >> 40) % 5 == 0 else 0
        taxable = subtotal - discount
        tax = (taxable * 825 + 5000) // 10000
        shipping = 0 if subtotal >= 7500 else 695
        total = taxable + tax + shipping
        address = self._order_address(customer, bits >> 20)
        financial = self._financial_status(state, vbits)
        fulfillment = None
        if state == "closed":
            fulfillment = "fulfilled"
        elif state == "open" and (vbits >> 6) % 3 == 0:
            fulfillment = "partial"
        ended = updated_text if state != "open" else None
        refunded = total if financial in ("refunded", "voided") else 0
        tags = []
        if (vbits >> 14) % 7 == 0:
            tags.append("gift")
        if (bits >> 16) % 11 == 0:
            tags.append("wholesale")
        return {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "app_id": 580111,
            "browser_ip": f"203.0.113.{bits % 254 + 1}" if (bits >> 9) % 3 else None,
            "buyer_accepts_marketing": (bits >> 11) % 2 == 0,
            "cancel_reason": ("customer", "inventory", "fraud", "declined", "other")[
                (vbits >> 9) % 5
            ]
            if state == "cancelled"
            else None,
            "cancelled_at": ended if state == "cancelled" else None,
            "cart_token": None,
            "checkout_id": child_id(28_000_000_000_000, index, 0, 1),
            "checkout_token": f"{draw(self._key, index, 7):016x}",
            "closed_at": ended,
            "confirmation_number": base36(draw(self._key, index, 9), 9),
            "confirmed": True,
            "contact_email": email,
            "created_at": created_text,
            "currency": CURRENCY,
            "current_subtotal_price": money(0 if refunded else taxable),
            "current_total_discounts": money(discount),
            "current_total_price": money(total - refunded),
            "current_total_tax": money(0 if refunded else tax),
            "customer_locale": "en",
            "discount_codes": [
                {"code": "WELCOME10", "amount": money(discount), "type": "percentage"}
            ]
            if discount
            else [],
            "email": email,
            "estimated_taxes": False,
            "financial_status": financial,
            "fulfillment_status": fulfillment,
            "landing_site": "/" if (bits >> 12) % 2 else None,
            "name": f"#{1001 + index}",
            "note": None if (vbits >> 12) % 5 else "Please leave at the back door.",
            "note_attributes": [],
            "number": 1 + index,
            "order_number": 1001 + index,
            "order_status_url": f"https://{self.shop.shop_domain}/orders/{draw(self._key, index, 3):032x}/authenticate",
            "payment_gateway_names": ["shopify_payments"],
            "phone": None,
            "presentment_currency": CURRENCY,
            "processed_at": created_text,
            "reference": None,
            "referring_site": None if (bits >> 13) % 3 else "https://www.google.com/",
            "source_identifier": None,
            "source_name": ("web", "pos", "shopify_draft_order")[(bits >> 14) % 3],
            "subtotal_price": money(taxable),
            "subtotal_price_set": money_set(taxable),
            "tags": ", ".join(tags),
            "tax_exempt": False,
            "tax_lines": [
                {
                    "price": money(tax),
                    "rate": 0.0825,
                    "title": "Sales Tax",
                    "price_set": money_set(tax),
                }
            ]
            if tax
            else [],
            "taxes_included": False,
            "test": False,
            "token": f"{draw(self._key, index, 5):032x}",
            "total_discounts": money(discount),
            "total_discounts_set": money_set(discount),
            "total_line_items_price": money(subtotal),
            "total_line_items_price_set": money_set(subtotal),
            "total_outstanding": "0.00",
            "total_price": money(total),
            "total_price_set": money_set(total),
            "total_shipping_price_set": money_set(shipping),
            "total_tax": money(tax),
            "total_tax_set": money_set(tax),
            "total_tip_received": "0.00",
            "total_weight": 200 * len(lines),
            "updated_at": updated_text,
            "user_id": None,
            "billing_address": address,
            "customer": customer,
            "discount_applications": [],
            "fulfillments": [],
            "line_items": lines,
            "payment_terms": None,
            "refunds": [],
            "shipping_address": dict(address) if address else None,
            "shipping_lines": [
                {
                    "id": child_id(4_500_000_000_000, index, 0, 1),
                    "code": "Standard",
                    "price": money(shipping),
                    "price_set": money_set(shipping),
                    "source": "shopify",
                    "title": "Standard Shipping",
                }
            ],
        }

    @staticmethod
    def _financial_status(state: str, vbits: int) -> str:
        if state == "cancelled":
            return ("refunded", "voided")[vbits % 2]
        return (
            "paid",
            "paid",
            "paid",
            "paid",
            "paid",
            "partially_refunded",
            "pending",
            "authorized",
        )[vbits % 8]

    def _order_customer(self, bits: int) -> dict[str, Any] | None:
        """The order's customer as Shopify embeds it, from the customer's current version."""
        store = self.shop.stores["customers"]
        if not store.base_count or (bits >> 17) % 25 == 0:
            return None
        index = (bits >> 24) % store.base_count
        if not store.exists(index):
            return None
        full = self.shop.customers.build(
            index, store.version(index), store.created_at(index), store.updated_at(index)
        )
        return {key: full[key] for key in _ORDER_CUSTOMER_FIELDS}

    def _order_address(self, customer: dict[str, Any] | None, bits: int) -> dict[str, Any] | None:
        if customer is None:
            return None
        source = customer["default_address"]
        place = PLACES[bits % len(PLACES)]
        return {
            "first_name": source["first_name"],
            "address1": source["address1"],
            "phone": source["phone"],
            "city": source["city"],
            "zip": source["zip"],
            "province": source["province"],
            "country": source["country"],
            "last_name": source["last_name"],
            "address2": source["address2"],
            "company": source["company"],
            "latitude": place.latitude if source["city"] == place.city else None,
            "longitude": place.longitude if source["city"] == place.city else None,
            "name": source["name"],
            "country_code": source["country_code"],
            "province_code": source["province_code"],
        }

    def _line_items(self, index: int, bits: int) -> tuple[list[dict[str, Any]], int]:
        """Line items priced at the variants' version-0 prices, and their subtotal in cents."""
        products = self.shop.stores["products"].base_count
        lines = []
        subtotal = 0
        for position in range(1 + bits % 4):
            line_bits = draw(self._line_key, index, position)
            quantity = 1 + (line_bits >> 40) % 3
            line_id = child_id(14_000_000_000_000, index, position)
            if products:
                product_index = line_bits % products
                _, title, _, combos = self.shop.products.shape(product_index)
                variant = (line_bits >> 20) % len(combos)
                option1, option2 = combos[variant]
                variant_title = None if option2 is None else f"{option1} / {option2}"
                price = self.shop.products.variant_price_cents(product_index, variant)
                product_id: int | None = self.shop.product_ids.id_of(product_index)
                variant_id: int | None = child_id(VARIANT_ID_BASE, product_index, variant)
                sku = variant_sku(title, product_index, variant)
                vendor = self.shop.products.vendor(product_index)
            else:
                title, variant_title, price = "Custom item", None, 1000 + line_bits % 5000
                product_id = variant_id = None
                sku, vendor = None, None
            subtotal += price * quantity
            lines.append(
                {
                    "id": line_id,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                    "fulfillable_quantity": quantity,
                    "fulfillment_service": "manual",
                    "fulfillment_status": None,
                    "gift_card": False,
                    "grams": 200,
                    "name": title if variant_title is None else f"{title} - {variant_title}",
                    "price": money(price),
                    "price_set": money_set(price),
                    "product_exists": product_id is not None,
                    "product_id": product_id,
                    "properties": [],
                    "quantity": quantity,
                    "requires_shipping": True,
                    "sku": sku,
                    "taxable": True,
                    "title": title,
                    "total_discount": "0.00",
                    "total_discount_set": money_set(0),
                    "variant_id": variant_id,
                    "variant_inventory_management": "shopify",
                    "variant_title": variant_title,
                    "vendor": vendor,
                    "tax_lines": [],
                    "duties": [],
                    "discount_allocations": [],
                }
            )
        return lines, subtotal


_ORDER_CUSTOMER_FIELDS = (
    "id",
    "email",
    "created_at",
    "updated_at",
    "first_name",
    "last_name",
    "state",
    "note",
    "verified_email",
    "multipass_identifier",
    "tax_exempt",
    "phone",
    "email_marketing_consent",
    "sms_marketing_consent",
    "tags",
    "currency",
    "tax_exemptions",
    "admin_graphql_api_id",
    "default_address",
)
