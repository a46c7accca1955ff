"""Shopify's small formats: money strings, money sets, places and postal codes, slugs.

Shared by the customer, order and product builders so every resource spells them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration_assets.sandbox import names

CURRENCY = "USD"


def slug(text: str) -> str:
    """A handle-like ASCII slug ("Léa Müller" → "lea-muller")."""
    folded = names.ascii_fold(text).lower()
    return "".join(char if char.isalnum() else "-" for char in folded).strip("-")


def base36(value: int, width: int) -> str:
    """`width` upper-case base-36 digits of `value` (confirmation numbers look like this)."""
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit])
    return "".join(digits)


def money(cents: int) -> str:
    """Shopify's decimal string for an amount in cents."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def money_set(cents: int) -> dict[str, dict[str, str]]:
    """Shopify's `*_set` pair of shop and presentment money (one currency here)."""
    amount = {"amount": money(cents), "currency_code": CURRENCY}
    return {"shop_money": amount, "presentment_money": dict(amount)}


@dataclass(frozen=True)
class Place:
    """A city with what an address needs."""

    city: str
    province: str
    province_code: str
    country: str
    country_code: str
    zip_prefix: str
    area_code: str
    timezone: str
    latitude: float
    longitude: float


PLACES = tuple(Place(*row) for row in names.CITIES)


def postal_code(place: Place, bits: int) -> str:
    """A postal code in the country's own shape (US 5 digits, Canada "M5V 2T6" …)."""
    code = place.country_code
    if code == "US":
        return f"{place.zip_prefix}{bits % 100:02d}"
    if code == "CA":
        return f"{place.zip_prefix} {bits % 10}{'ABCEGHJKLMNPRSTVXY'[bits % 18]}{(bits >> 5) % 10}"
    if code == "GB":
        return f"{place.zip_prefix} {1 + bits % 9}BB"
    if code == "AU":
        return f"{place.zip_prefix}{bits % 10}"
    return f"{place.zip_prefix}{bits % 100:02d}"
