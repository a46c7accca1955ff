"""The GraphQL view of a shop's records: the REST record, respelled the way GraphQL spells it.

GraphQL is a second view of the same rows, so every object here is derived from the record
the REST API serves for the same (index, version): ids become global ids
(`gid://shopify/Customer/123`), shop-zone timestamps become UTC `…Z` instants, REST's
lower-case states become GraphQL enums (`paid` → `PAID`), comma-joined tags become lists, and
`*_set` money pairs become `MoneyBag`s. Deriving instead of generating twice is what keeps a
REST listing and a GraphQL listing of the same shop in agreement.

Links to other records (an order's customer, a line item's product) are callables, which
graphql-core's default resolver calls only when a query selects them: a record that nobody
asks about is never built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integration_assets.sandbox.shopify.formats import money
from integration_assets.sandbox.store import Row
from integration_assets.sandbox.timefmt import naive_iso

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

View = dict[str, Any]

TYPENAMES = {"customers": "Customer", "orders": "Order", "products": "Product"}
ENTITIES = {typename: entity for entity, typename in TYPENAMES.items()}
_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?$")
_FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}


def gid(typename: str, number: int) -> str:
    """Shopify's global id of a record."""
    return f"gid://shopify/{typename}/{number}"


def parse_gid(value: str) -> tuple[str, int] | None:
    """(type name, numeric id) of a global id, or None when it is not one."""
    match = _GID.match(value)
    if match is None:
        return None
    return match["type"], int(match["id"])


def utc(text: str | None) -> str | None:
    """A REST timestamp (shop zone with offset) as GraphQL's UTC DateTime: the same instant."""
    if text is None:
        return None
    return naive_iso(int(datetime.fromisoformat(text).timestamp())) + "Z"


def enum(value: str | None) -> str | None:
    """REST's lower-case state as GraphQL's enum value (`partially_refunded` → `PARTIALLY_REFUNDED`)."""
    return None if value is None else value.upper()


def tag_list(tags: str) -> list[str]:
    """REST's comma-joined tag string as GraphQL's list."""
    return [tag.strip() for tag in tags.split(",") if tag.strip()]


def money_v2(amount: str, currency: str) -> View:
    """A MoneyV2."""
    return {"amount": amount, "currencyCode": currency}


def money_bag(money_set: dict[str, dict[str, str]]) -> View:
    """REST's `*_set` as a MoneyBag."""
    shop, presentment = money_set["shop_money"], money_set["presentment_money"]
    return {
        "shopMoney": money_v2(shop["amount"], shop["currency_code"]),
        "presentmentMoney": money_v2(presentment["amount"], presentment["currency_code"]),
    }


def page_of(items: list[View]) -> Callable[..., View]:
    """A nested connection (line items, variants, addresses) over an in-memory list."""

    def resolve(info: Any, **arguments: Any) -> View:
        from integration_assets.sandbox.shopify.graphql.connections import list_connection

        return list_connection(items, info, **arguments)

    return resolve


class Views:
    """Builds the GraphQL objects of one simulated shop from its REST records."""

    def __init__(self, simulator: ShopifySimulator) -> None:
        self.simulator = simulator

    # --- looking records up ------------------------------------------------------------

    def by_index(self, entity: str, index: int) -> View | None:
        """The current object of record `index`, or None when it does not exist (any more)."""
        store = self.simulator.store(entity)
        if not store.exists(index):
            return None
        if entity == "orders" and not self.simulator.order_readable(index):
            return None
        return self.from_row(
            entity, Row(index, index, store.version(index), store.updated_at(index))
        )

    def by_id(self, entity: str, number: int | None) -> View | None:
        """The current object with REST id `number`, or None."""
        if number is None:
            return None
        index = self.simulator.catalog.id_spaces[entity].index_of(number)
        return None if index is None else self.by_index(entity, index)

    def by_gid(self, value: str, typename: str | None = None) -> View | None:
        """The object a global id names (of `typename` when given), or None."""
        parsed = parse_gid(value)
        if parsed is None:
            return None
        kind, number = parsed
        if typename is not None and kind != typename:
            return None
        if kind in ENTITIES:
            return self.by_id(ENTITIES[kind], number)
        if kind == "ProductVariant":
            return self._variant_by_id(number)
        lookup = self.simulator.graphql.node_lookups.get(kind)
        return None if lookup is None else lookup(self.simulator, number)

    def from_row(self, entity: str, row: Row) -> View:
        """The object of one selected row."""
        record = self.simulator.render(entity, row)
        builder = {"customers": self.customer, "orders": self.order, "products": self.product}
        return builder[entity](record)

    # --- the three objects ---------------------------------------------------------------

    def customer(self, record: dict[str, Any]) -> View:
        """A Customer from the REST customer."""
        email, phone = record["email"], record["phone"]
        consent = record["email_marketing_consent"]
        sms = record["sms_marketing_consent"]
        first, last = record["first_name"], record["last_name"]
        addresses = [self._customer_address(address) for address in record["addresses"]]
        default = record["default_address"]
        last_order_id = record["last_order_id"]
        view: View = {
            "__typename": "Customer",
            "id": record["admin_graphql_api_id"],
            "legacyResourceId": str(record["id"]),
            "firstName": first,
            "lastName": last,
            "displayName": " ".join(part for part in (first, last) if part) or email or phone,
            "email": email,
            "phone": phone,
            "defaultEmailAddress": None
            if email is None
            else {
                "emailAddress": email,
                "marketingState": enum(consent["state"]),
                "marketingOptInLevel": enum(consent["opt_in_level"]),
                "marketingUpdatedAt": utc(consent["consent_updated_at"]),
                "validFormat": "@" in email,
            },
            "defaultPhoneNumber": None
            if phone is None
            else {
                "phoneNumber": phone,
                "marketingState": enum(sms["state"]) if sms else "NOT_SUBSCRIBED",
                "marketingOptInLevel": enum(sms["opt_in_level"]) if sms else None,
                "marketingUpdatedAt": utc(sms["consent_updated_at"]) if sms else None,
                "marketingCollectedFrom": sms["consent_collected_from"] if sms else None,
            },
            "emailMarketingConsent": {
                "marketingState": enum(consent["state"]),
                "marketingOptInLevel": enum(consent["opt_in_level"]),
                "consentUpdatedAt": utc(consent["consent_updated_at"]),
            },
            "smsMarketingConsent": None
            if sms is None
            else {
                "marketingState": enum(sms["state"]),
                "marketingOptInLevel": enum(sms["opt_in_level"]),
                "consentUpdatedAt": utc(sms["consent_updated_at"]),
                "consentCollectedFrom": sms["consent_collected_from"],
            },
            "state": enum(record["state"]),
            "verifiedEmail": record["verified_email"],
            "validEmailAddress": email is not None and "@" in email,
            "dataSaleOptOut": False,
            "taxExempt": record["tax_exempt"],
            "taxExemptions": [enum(item) for item in record["tax_exemptions"]],
            "tags": tag_list(record["tags"]),
            "note": record["note"],
            "locale": "en",
            "multipassIdentifier": record["multipass_identifier"],
            "numberOfOrders": str(record["orders_count"]),
            "amountSpent": money_v2(record["total_spent"], record["currency"]),
            "canDelete": record["orders_count"] == 0,
            "lastOrder": lambda info, **_: self.by_id("orders", last_order_id),
            "createdAt": utc(record["created_at"]),
            "updatedAt": utc(record["updated_at"]),
            "defaultAddress": None if default is None else self._customer_address(default),
            "addresses": lambda info, first=None, **_: (
                addresses[:first] if first is not None else addresses
            ),
            "addressesV2": page_of(addresses),
        }
        return view

    def order(self, record: dict[str, Any]) -> View:
        """An Order from the REST order."""
        order_id = record["id"]
        customer = record["customer"]
        customer_id = None if customer is None else customer["id"]
        lines = [self._line_item(line) for line in record["line_items"]]
        currency = record["currency"]
        return {
            "__typename": "Order",
            "id": record["admin_graphql_api_id"],
            "legacyResourceId": str(order_id),
            "name": record["name"],
            "number": record["order_number"],
            "email": record["email"],
            "phone": record["phone"],
            "confirmationNumber": record["confirmation_number"],
            "customer": lambda info, **_: self.by_id("customers", customer_id),
            "displayFinancialStatus": enum(record["financial_status"]),
            "displayFulfillmentStatus": _FULFILLMENT.get(
                record["fulfillment_status"], "UNFULFILLED"
            ),
            "currencyCode": currency,
            "presentmentCurrencyCode": record["presentment_currency"],
            "subtotalPriceSet": money_bag(record["subtotal_price_set"]),
            "totalPriceSet": money_bag(record["total_price_set"]),
            "totalTaxSet": money_bag(record["total_tax_set"]),
            "totalDiscountsSet": money_bag(record["total_discounts_set"]),
            "totalShippingPriceSet": money_bag(record["total_shipping_price_set"]),
            "currentSubtotalPriceSet": _same_money(record["current_subtotal_price"], currency),
            "currentTotalPriceSet": _same_money(record["current_total_price"], currency),
            "currentTotalTaxSet": _same_money(record["current_total_tax"], currency),
            "currentTotalDiscountsSet": _same_money(record["current_total_discounts"], currency),
            "totalOutstandingSet": _same_money(record["total_outstanding"], currency),
            "totalTipReceivedSet": _same_money(record["total_tip_received"], currency),
            "confirmed": record["confirmed"],
            "customerAcceptsMarketing": record["buyer_accepts_marketing"],
            "customerLocale": record["customer_locale"],
            "discountCodes": [code["code"] for code in record["discount_codes"]],
            "paymentGatewayNames": list(record["payment_gateway_names"]),
            "sourceIdentifier": record["source_identifier"],
            "customAttributes": _attributes(record["note_attributes"]),
            "subtotalLineItemsQuantity": sum(line["quantity"] for line in record["line_items"]),
            "taxLines": [
                {
                    "title": tax["title"],
                    "rate": tax["rate"],
                    "ratePercentage": round(tax["rate"] * 100, 4),
                    "priceSet": money_bag(tax["price_set"]),
                }
                for tax in record["tax_lines"]
            ],
            "shippingLines": page_of(
                [
                    {
                        "id": gid("ShippingLine", line["id"]),
                        "title": line["title"],
                        "code": line["code"],
                        "source": line["source"],
                        "originalPriceSet": money_bag(line["price_set"]),
                    }
                    for line in record["shipping_lines"]
                ]
            ),
            "tags": tag_list(record["tags"]),
            "note": record["note"],
            "cancelReason": enum(record["cancel_reason"]),
            "closed": record["closed_at"] is not None,
            "createdAt": utc(record["created_at"]),
            "updatedAt": utc(record["updated_at"]),
            "processedAt": utc(record["processed_at"]),
            "closedAt": utc(record["closed_at"]),
            "cancelledAt": utc(record["cancelled_at"]),
            "sourceName": record["source_name"],
            "taxesIncluded": record["taxes_included"],
            "test": record["test"],
            "totalWeight": str(record["total_weight"]),
            "billingAddress": self._order_address(record["billing_address"], order_id, 1),
            "shippingAddress": self._order_address(record["shipping_address"], order_id, 2),
            "lineItems": page_of(lines),
        }

    def product(self, record: dict[str, Any]) -> View:
        """A Product from the REST product, its variants nested."""
        view: View = {
            "__typename": "Product",
            "id": record["admin_graphql_api_id"],
            "legacyResourceId": str(record["id"]),
            "title": record["title"],
            "vendor": record["vendor"],
            "productType": record["product_type"],
            "handle": record["handle"],
            "status": enum(record["status"]),
            "tags": tag_list(record["tags"]),
            "descriptionHtml": record["body_html"],
            "templateSuffix": record["template_suffix"],
            "createdAt": utc(record["created_at"]),
            "updatedAt": utc(record["updated_at"]),
            "publishedAt": utc(record["published_at"]),
            "variantsCount": {"count": len(record["variants"]), "precision": "EXACT"},
        }
        options = [
            {
                "__typename": "ProductOption",
                "id": gid("ProductOption", option["id"]),
                "name": option["name"],
                "position": option["position"],
                "values": option["values"],
            }
            for option in record["options"]
        ]
        view["options"] = lambda info, first=None, **_: options[:first] if first else options
        names = [option["name"] for option in record["options"]]
        variants = [
            self._variant(variant, names, record["title"], view) for variant in record["variants"]
        ]
        view["variants"] = page_of(variants)
        view["_variants"] = variants
        return view

    # --- children ------------------------------------------------------------------------

    def _variant(
        self, record: dict[str, Any], option_names: list[str], title: str, product: View
    ) -> View:
        values = [record["option1"], record["option2"], record["option3"]]
        selected = [
            {"name": name, "value": value}
            for name, value in zip(option_names, values, strict=False)
            if value is not None
        ]
        item_id = record["inventory_item_id"]
        return {
            "__typename": "ProductVariant",
            "id": record["admin_graphql_api_id"],
            "legacyResourceId": str(record["id"]),
            "title": record["title"],
            "displayName": f"{title} - {record['title']}",
            "sku": record["sku"],
            "barcode": record["barcode"],
            "price": record["price"],
            "compareAtPrice": record["compare_at_price"],
            "position": record["position"],
            "selectedOptions": selected,
            "inventoryItem": {
                "__typename": "InventoryItem",
                "id": gid("InventoryItem", item_id),
                "legacyResourceId": str(item_id),
                "sku": record["sku"],
                "tracked": record["inventory_management"] == "shopify",
                "requiresShipping": record["requires_shipping"],
            },
            "inventoryQuantity": record["inventory_quantity"],
            "inventoryPolicy": enum(record["inventory_policy"]),
            "taxable": record["taxable"],
            "createdAt": utc(record["created_at"]),
            "updatedAt": utc(record["updated_at"]),
            "product": product,
        }

    def _variant_by_id(self, variant_id: int) -> View | None:
        from integration_assets.sandbox.shopify.products import VARIANT_ID_BASE

        product_index, position = divmod(variant_id - VARIANT_ID_BASE, 8)
        if product_index < 0:
            return None
        product = self.by_index("products", product_index)
        if product is None:
            return None
        variants = product["_variants"]
        return variants[position] if position < len(variants) else None

    def _line_item(self, record: dict[str, Any]) -> View:
        product_id, variant_id = record["product_id"], record["variant_id"]
        return {
            "__typename": "LineItem",
            "id": record["admin_graphql_api_id"],
            "name": record["name"],
            "title": record["title"],
            "variantTitle": record["variant_title"],
            "sku": record["sku"],
            "vendor": record["vendor"],
            "quantity": record["quantity"],
            "currentQuantity": record["quantity"],
            "requiresShipping": record["requires_shipping"],
            "taxable": record["taxable"],
            "originalUnitPriceSet": money_bag(record["price_set"]),
            "totalDiscountSet": money_bag(record["total_discount_set"]),
            "originalTotalSet": _times(record["price_set"], record["quantity"]),
            "discountedTotalSet": _times(
                record["price_set"], record["quantity"], record["total_discount_set"]
            ),
            "unfulfilledQuantity": record["fulfillable_quantity"],
            "isGiftCard": record["gift_card"],
            "customAttributes": _attributes(record["properties"]),
            "product": lambda info, **_: self.by_id("products", product_id),
            "variant": lambda info, **_: (
                None if variant_id is None else self._variant_by_id(variant_id)
            ),
        }

    @staticmethod
    def _customer_address(record: dict[str, Any]) -> View:
        view = _address(record)
        view["id"] = f"gid://shopify/MailingAddress/{record['id']}?model_name=CustomerAddress"
        return view

    @staticmethod
    def _order_address(record: dict[str, Any] | None, order_id: int, slot: int) -> View | None:
        if record is None:
            return None
        view = _address(record)
        view["id"] = f"gid://shopify/MailingAddress/{order_id * 10 + slot}?model_name=Address"
        return view


def _address(record: dict[str, Any]) -> View:
    return {
        "__typename": "MailingAddress",
        "address1": record["address1"],
        "address2": record["address2"],
        "city": record["city"],
        "company": record["company"],
        "country": record["country"],
        "countryCodeV2": record["country_code"],
        "firstName": record["first_name"],
        "lastName": record["last_name"],
        "name": record["name"],
        "phone": record["phone"],
        "province": record["province"],
        "provinceCode": record["province_code"],
        "zip": record["zip"],
        "formattedArea": ", ".join(
            part
            for part in (
                " ".join(p for p in (record["city"], record["province_code"]) if p),
                record["country"],
            )
            if part
        ),
    }


def _attributes(pairs: list[dict[str, Any]]) -> list[View]:
    """REST's `note_attributes` / `properties` ({name, value}) as GraphQL Attributes."""
    return [{"key": pair["name"], "value": pair.get("value")} for pair in pairs]


def _times(
    unit: dict[str, dict[str, str]], quantity: int, less: dict[str, dict[str, str]] | None = None
) -> View:
    """A MoneyBag of `unit` times `quantity` (minus `less`), computed in cents, not floats."""

    def cents(text: str) -> int:
        whole, _, fraction = text.partition(".")
        sign = -1 if whole.startswith("-") else 1
        return sign * (abs(int(whole)) * 100 + int((fraction + "00")[:2]))

    def amount(key: str) -> View:
        value = cents(unit[key]["amount"]) * quantity
        if less is not None:
            value -= cents(less[key]["amount"])
        return money_v2(money(value), unit[key]["currency_code"])

    return {"shopMoney": amount("shop_money"), "presentmentMoney": amount("presentment_money")}


def _same_money(amount: str, currency: str) -> View:
    money = money_v2(amount, currency)
    return {"shopMoney": money, "presentmentMoney": dict(money)}
