"""Shopify 2024-10 Product resources with their variants, options and images.

The REST product endpoints are deprecated since 2024-04 (they still answer, with a
deprecation header). Variant prices move with product versions; orders price their line items
at version 0, the price when they were sold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integration_assets.sandbox import names
from integration_assets.sandbox.ids import child_id
from integration_assets.sandbox.rand import draw, salt
from integration_assets.sandbox.shopify.formats import money, slug

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.catalog import ShopifyCatalog

_APPAREL = {"Shirts", "Sweaters", "Outerwear", "Shoes"}
VARIANT_ID_BASE = 44_000_000_000_000


def sku(title: str, index: int, position: int) -> str:
    """The SKU of a variant, as products and order line items show it."""
    return f"{slug(title)[:12].upper()}-{index}-{position + 1}"


class ProductBuilder:
    """Builds the products of one shop, and the product facts orders need."""

    def __init__(self, shop: ShopifyCatalog, seed: int) -> None:
        self.shop = shop
        self._key = salt(seed, "product")
        self._version_key = salt(seed, "product.version")

    def shape(self, index: int) -> tuple[int, str, str, list[tuple[str, str | None]]]:
        """(bits, title, product_type, [(option1, option2) per variant]) of a product."""
        bits = draw(self._key, index)
        adjective = names.PRODUCT_ADJECTIVES[bits % len(names.PRODUCT_ADJECTIVES)]
        material = names.PRODUCT_MATERIALS[(bits >> 5) % len(names.PRODUCT_MATERIALS)]
        noun, product_type = names.PRODUCT_NOUNS[(bits >> 10) % len(names.PRODUCT_NOUNS)]
        if product_type in _APPAREL:
            size_start = (bits >> 14) % 2
            sizes = names.SIZES[size_start : size_start + 3 + (bits >> 15) % 2]
            colors = [names.COLORS[(bits >> 17) % len(names.COLORS)]]
            if (bits >> 20) % 3 == 0:
                colors.append(names.COLORS[((bits >> 17) + 1) % len(names.COLORS)])
            combos: list[tuple[str, str | None]] = [
                (size, color) for color in colors for size in sizes
            ][:8]
        else:
            combos = [("Default Title", None)]
        return bits, f"{adjective} {material} {noun}", product_type, combos

    def vendor(self, index: int) -> str:
        """The product's vendor (line items repeat it)."""
        return names.VENDORS[(draw(self._key, index) >> 24) % len(names.VENDORS)]

    def variant_price_cents(self, index: int, position: int, version: int = 0) -> int:
        """Price of a variant; line items of orders use version 0 (the price when sold)."""
        bits = draw(self._key, index)
        base = (12 + (bits >> 22) % 140) * 100 + (99 if (bits >> 30) % 2 else 0)
        if version:
            base += ((draw(self._version_key, index, version) % 21) - 10) * 100
            base = max(base, 500)
        return base + 200 * (position % 5 == 4)

    def build(self, index: int, version: int, created: int, updated: int) -> dict[str, Any]:
        """A Product resource with its variants, options and images."""
        bits, title, product_type, combos = self.shape(index)
        vbits = draw(self._version_key, index, version)
        product_id = self.shop.product_ids.id_of(index)
        handle = f"{slug(title)}-{index}"
        vendor = self.vendor(index)
        created_text, updated_text = self.shop.clock.iso(created), self.shop.clock.iso(updated)
        status = "active"
        state_pick = (vbits if version else bits >> 44) % 20
        if state_pick == 0:
            status = "archived"
        elif state_pick < 3:
            status = "draft"
        tag_bits = vbits >> 8
        tags = sorted(
            {
                names.PRODUCT_TAGS[(tag_bits >> (3 * n)) % len(names.PRODUCT_TAGS)]
                for n in range(tag_bits % 3)
            }
        )
        variants = []
        for position, (option1, option2) in enumerate(combos):
            price = self.variant_price_cents(index, position, version)
            on_sale = (vbits >> (20 + position)) % 4 == 0
            quantity = (draw(self._version_key, index * 8 + position, version) % 120) - 5
            variant_id = child_id(VARIANT_ID_BASE, index, position)
            variants.append(
                {
                    "id": variant_id,
                    "product_id": product_id,
                    "title": option1 if option2 is None else f"{option1} / {option2}",
                    "price": money(price),
                    "position": position + 1,
                    "inventory_policy": "deny",
                    "compare_at_price": money(price + 1000) if on_sale else None,
                    "option1": option1,
                    "option2": option2,
                    "option3": None,
                    "created_at": created_text,
                    "updated_at": updated_text,
                    "taxable": True,
                    "barcode": f"{(bits >> 8) % 10**8:08d}{position:04d}"
                    if (bits >> 40) % 3
                    else None,
                    "fulfillment_service": "manual",
                    "grams": 100 + (bits >> 12) % 900,
                    "inventory_management": "shopify",
                    "requires_shipping": True,
                    "sku": sku(title, index, position),
                    "weight": round((100 + (bits >> 12) % 900) / 1000, 2),
                    "weight_unit": "kg",
                    "inventory_item_id": child_id(46_000_000_000_000, index, position),
                    "inventory_quantity": quantity,
                    "old_inventory_quantity": quantity,
                    "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
                    "image_id": None,
                }
            )
        options = [
            {
                "id": child_id(10_000_000_000_000, index, 0, 4),
                "product_id": product_id,
                "name": "Size" if combos[0][1] is not None else "Title",
                "position": 1,
                "values": list(dict.fromkeys(combo[0] for combo in combos)),
            }
        ]
        if combos[0][1] is not None:
            options.append(
                {
                    "id": child_id(10_000_000_000_000, index, 1, 4),
                    "product_id": product_id,
                    "name": "Color",
                    "position": 2,
                    "values": list(dict.fromkeys(combo[1] for combo in combos)),
                }
            )
        images = [
            {
                "id": child_id(31_000_000_000_000, index, position, 4),
                "alt": None if position else title,
                "position": position + 1,
                "product_id": product_id,
                "created_at": created_text,
                "updated_at": updated_text,
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{child_id(31_000_000_000_000, index, position, 4)}",
                "width": 2048,
                "height": 2048,
                "src": f"https://cdn.shopify.com/s/files/1/0000/0001/products/{handle}-{position + 1}.jpg?v={created}",
                "variant_ids": [],
            }
            for position in range((bits >> 46) % 4)
        ]
        return {
            "id": product_id,
            "title": title,
            "body_html": f"<p>The {title.lower()}: made by {vendor}, built to last.</p>",
            "vendor": vendor,
            "product_type": product_type,
            "created_at": created_text,
            "handle": handle,
            "updated_at": updated_text,
            "published_at": None if status == "draft" else created_text,
            "template_suffix": None if (bits >> 50) % 4 else "",
            "published_scope": "global",
            "tags": ", ".join(tags),
            "status": status,
            "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
            "variants": variants,
            "options": options,
            "images": images,
            "image": dict(images[0]) if images else None,
        }
