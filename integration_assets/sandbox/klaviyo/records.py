"""Klaviyo revision 2026-10-15 profiles and events as JSON:API resource objects.

Profile ids are ULIDs (26 Crockford base32 characters) whose time part is the creation time,
so they sort like the records; the low 40 bits of the random part carry the record index
(scrambled by an invertible multiply), which makes `equals(id,"…")` an O(1) lookup. Event ids
are 11 base62 characters built the same way.
Times are UTC (`2024-03-01T15:15:00+00:00`); events also carry `timestamp` as epoch seconds.

Every identifier a filter may test for equality (email, phone number, external id, the
event's profile) is built so that the matching indices can be computed rather than searched.
"""

from __future__ import annotations

import math
from typing import Any

from integration_assets.sandbox import names
from integration_assets.sandbox.rand import draw, salt
from integration_assets.sandbox.store import EntityStore
from integration_assets.sandbox.timefmt import utc_iso

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_CROCKFORD_VALUES = {char: value for value, char in enumerate(_CROCKFORD)}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUES = {char: value for value, char in enumerate(_BASE62)}
_INDEX_BITS = 40
_INDEX_MASK = (1 << _INDEX_BITS) - 1
_SCRAMBLE = 0x5DEECE66D
_UNSCRAMBLE = pow(_SCRAMBLE, -1, 1 << _INDEX_BITS)
"""An odd multiplier and its inverse modulo 2^40: ids hide the index yet give it back."""
_PHONE_SPAN = 10_000_000
_EXTERNAL_BASE = 6_500_000_000_000

METRICS = (
    # (name, integration, weight)
    ("Placed Order", "Shopify", 2),
    ("Ordered Product", "Shopify", 2),
    ("Viewed Product", "Shopify", 5),
    ("Active on Site", "API", 4),
    ("Received Email", "Klaviyo", 6),
    ("Opened Email", "Klaviyo", 4),
    ("Clicked Email", "Klaviyo", 2),
)
_METRIC_WHEEL = tuple(position for position, metric in enumerate(METRICS) for _ in range(metric[2]))


def ulid(milliseconds: int, randomness: int) -> str:
    """A ULID string from a 48-bit time and 80 random bits."""
    value = (milliseconds << 80) | randomness
    return "".join(_PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10))


def ulid_value(text: str) -> int | None:
    """The 128-bit integer of a ULID string, or None when it is not one."""
    if len(text) != 26:
        return None
    value = 0
    for char in text.upper():
        digit = _CROCKFORD_VALUES.get(char)
        if digit is None:
            return None
        value = value * 32 + digit
    return value


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(_BASE62[digit])
    return "".join(reversed(chars))


def _base62_value(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _BASE62_VALUES.get(char)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


def _uuid(bits_high: int, bits_low: int) -> str:
    text = f"{bits_high:016x}{bits_low:016x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"


def _ascii(text: str) -> str:
    return "".join(char for char in names.ascii_fold(text).lower() if char.isalnum())


_FIRST_ASCII = tuple(_ascii(name) for name in names.FIRST_NAMES)
_LAST_ASCII = tuple(_ascii(name) for name in names.LAST_NAMES)


class KlaviyoCatalog:
    """Builds the resource objects of one simulated Klaviyo account."""

    def __init__(self, seed: int, stores: dict[str, EntityStore]) -> None:
        self.stores = stores
        self._profile = salt(seed, "profile")
        self._profile_v = salt(seed, "profile.version")
        self._event = salt(seed, "event")
        self._id_mask = salt(seed, "ids") & _INDEX_MASK
        self.metric_ids = tuple(
            _base62(draw(salt(seed, "metric"), position) % 62**6, 6)
            for position in range(len(METRICS))
        )
        profiles = max(stores["profiles"].base_count, 1)
        self._event_stride = _coprime_near(profiles, 7919 + seed % 1000)
        self._event_offset = draw(self._event, 0, 1) % profiles
        self._event_inverse = pow(self._event_stride, -1, profiles) if profiles > 1 else 0

    # --- ids ------------------------------------------------------------------------------

    def profile_id(self, index: int) -> str:
        """The ULID of profile `index`."""
        created = self.stores["profiles"].created_at(index)
        hidden = self._hide(index)
        random_part = ((draw(self._profile, index, 99) & _INDEX_MASK) << _INDEX_BITS) | hidden
        return ulid(created * 1000, random_part)

    def profile_index(self, profile_id: str) -> int | None:
        """The index of a profile id, or None when no such profile id was ever issued."""
        value = ulid_value(profile_id)
        if value is None:
            return None
        index = self._reveal(value & _INDEX_MASK)
        store = self.stores["profiles"]
        if index >= store.total or self.profile_id(index) != profile_id.upper():
            return None
        return index

    def _hide(self, index: int) -> int:
        return ((index * _SCRAMBLE) & _INDEX_MASK) ^ self._id_mask

    def _reveal(self, hidden: int) -> int:
        return ((hidden ^ self._id_mask) * _UNSCRAMBLE) & _INDEX_MASK

    def event_id(self, index: int) -> str:
        """The id of event `index`."""
        return _base62(
            ((draw(self._event, index, 99) & 0xFFFFFF) << _INDEX_BITS) | self._hide(index), 11
        )

    def event_index(self, event_id: str) -> int | None:
        """The index of an event id, or None."""
        value = _base62_value(event_id)
        if value is None or len(event_id) != 11:
            return None
        index = self._reveal(value & _INDEX_MASK)
        if index >= self.stores["events"].total or self.event_id(index) != event_id:
            return None
        return index

    def event_profile(self, index: int) -> int:
        """The profile an event belongs to: a permutation, so its inverse is arithmetic."""
        profiles = max(self.stores["profiles"].base_count, 1)
        return (index * self._event_stride + self._event_offset) % profiles

    def events_of_profile(self, profile: int) -> range:
        """Indices of the events of profile `profile` (an arithmetic progression)."""
        profiles = max(self.stores["profiles"].base_count, 1)
        if profile >= profiles:
            return range(0)
        first = ((profile - self._event_offset) * self._event_inverse) % profiles
        return range(first, self.stores["events"].total, profiles)

    def email(self, index: int) -> str | None:
        """The profile's email; it carries the index so equality filters are a lookup."""
        bits = draw(self._profile, index)
        if bits % 20 == 0:
            return None
        first, last = (
            _FIRST_ASCII[(bits >> 5) % len(_FIRST_ASCII)],
            _LAST_ASCII[(bits >> 12) % len(_LAST_ASCII)],
        )
        domain = names.EMAIL_DOMAINS[(bits >> 18) % len(names.EMAIL_DOMAINS)]
        return f"{first}.{last}.{index}@{domain}"

    def phone(self, index: int) -> str | None:
        """E.164 phone number or None; the last seven digits are the index modulo 10^7."""
        bits = draw(self._profile, index)
        if bits % 20 and (bits >> 22) % 5 < 2:
            return None
        return f"+1{200 + (bits >> 25) % 700:03d}{index % _PHONE_SPAN:07d}"

    def external_id(self, index: int) -> str | None:
        """The id in the merchant's own system (here a Shopify-like customer id) or None."""
        bits = draw(self._profile, index)
        return None if (bits >> 34) % 10 < 7 else str(_EXTERNAL_BASE + index)

    def indices_for(self, field: str, value: str) -> list[int]:
        """Candidate indices of profiles whose `field` may equal `value` (verify by rendering)."""
        if field == "email":
            local = value.split("@", 1)[0]
            tail = local.rsplit(".", 1)[-1]
            return [int(tail)] if tail.isdigit() else []
        if field == "phone_number":
            digits = value[-7:]
            if not digits.isdigit():
                return []
            return list(range(int(digits), self.stores["profiles"].total, _PHONE_SPAN))
        if field == "external_id":
            return (
                [int(value) - _EXTERNAL_BASE]
                if value.isdigit() and int(value) >= _EXTERNAL_BASE
                else []
            )
        return []

    # --- resources ------------------------------------------------------------------------

    def profile(
        self, index: int, version: int, created: int, updated: int, base_url: str
    ) -> dict[str, Any]:
        """A `profile` resource object."""
        bits = draw(self._profile, index)
        vbits = draw(self._profile_v, index, version)
        profile_id = self.profile_id(index)
        first = names.FIRST_NAMES[(bits >> 5) % len(names.FIRST_NAMES)]
        last = names.LAST_NAMES[(bits >> 12) % len(names.LAST_NAMES)]
        named = (bits >> 40) % 10 != 0
        place = names.CITIES[
            ((vbits >> 30) if version and vbits % 4 == 0 else bits >> 44) % len(names.CITIES)
        ]
        located = (bits >> 50) % 7 != 0
        last_event = None if (vbits >> 8) % 5 == 0 else updated - (vbits >> 12) % 86400
        url = f"{base_url}/api/profiles/{profile_id}/"
        return {
            "type": "profile",
            "id": profile_id,
            "attributes": {
                "email": self.email(index),
                "phone_number": self.phone(index),
                "external_id": self.external_id(index),
                "first_name": first if named else None,
                "last_name": last if named else None,
                "organization": names.COMPANIES[(vbits >> 16) % len(names.COMPANIES)]
                if (vbits >> 20) % 5 == 0
                else None,
                "locale": names.LOCALES[(bits >> 28) % len(names.LOCALES)],
                "title": names.JOB_TITLES[(vbits >> 22) % len(names.JOB_TITLES)]
                if (vbits >> 26) % 3 == 0
                else None,
                "image": f"https://images.example.com/avatars/{profile_id.lower()}.png"
                if (bits >> 31) % 8 == 0
                else None,
                "created": utc_iso(created),
                "updated": utc_iso(updated),
                "last_event_date": utc_iso(max(created, last_event))
                if last_event is not None
                else None,
                "location": {
                    "address1": f"{1 + (bits >> 52) % 999} {names.STREETS[(bits >> 33) % len(names.STREETS)]}"
                    if located
                    else None,
                    "address2": None,
                    "city": place[0] if located else None,
                    "country": place[3] if located else None,
                    "latitude": place[8] if located else None,
                    "longitude": place[9] if located else None,
                    "region": place[1] if located else None,
                    "zip": f"{place[5]}{(bits >> 36) % 100:02d}" if located else None,
                    "timezone": place[7] if located else None,
                    "ip": f"198.51.100.{(bits >> 56) % 254 + 1}" if located else None,
                },
                "properties": {
                    "$source": "Shopify",
                    "Accepts Marketing": (vbits >> 27) % 2 == 0,
                    "Loyalty Tier": ("bronze", "silver", "gold", "platinum")[(vbits >> 28) % 4],
                    "Shopify Tags": [names.CUSTOMER_TAGS[(vbits >> 32) % len(names.CUSTOMER_TAGS)]]
                    if (vbits >> 36) % 3 == 0
                    else [],
                },
            },
            "relationships": {
                "lists": {
                    "links": {"self": f"{url}relationships/lists/", "related": f"{url}lists/"}
                },
                "segments": {
                    "links": {"self": f"{url}relationships/segments/", "related": f"{url}segments/"}
                },
                # Since 2025-01-15 (push tokens) and 2026-07-15 (conversations, plural).
                "push-tokens": {
                    "links": {
                        "self": f"{url}relationships/push-tokens/",
                        "related": f"{url}push-tokens/",
                    }
                },
                "conversations": {
                    "links": {
                        "self": f"{url}relationships/conversations/",
                        "related": f"{url}conversations/",
                    }
                },
            },
            "links": {"self": url},
        }

    def event(self, index: int, created: int, base_url: str) -> dict[str, Any]:
        """An `event` resource object (events never change once created)."""
        bits = draw(self._event, index)
        event_id = self.event_id(index)
        metric = _METRIC_WHEEL[bits % len(_METRIC_WHEEL)]
        profile_id = (
            self.profile_id(self.event_profile(index)) if self.stores["profiles"].total else None
        )
        url = f"{base_url}/api/events/{event_id}/"
        return {
            "type": "event",
            "id": event_id,
            "attributes": {
                "timestamp": created,
                "event_properties": self._event_properties(metric, index, bits),
                "datetime": utc_iso(created),
                "uuid": _uuid(draw(self._event, index, 1), draw(self._event, index, 2)),
            },
            "relationships": {
                "profile": {
                    "data": {"type": "profile", "id": profile_id} if profile_id else None,
                    "links": {"self": f"{url}relationships/profile/", "related": f"{url}profile/"},
                },
                "metric": {
                    "data": {"type": "metric", "id": self.metric_ids[metric]},
                    "links": {"self": f"{url}relationships/metric/", "related": f"{url}metric/"},
                },
            },
            "links": {"self": url},
        }

    def metric_of(self, index: int) -> str:
        """The metric id of event `index` (for `equals(metric_id,…)`)."""
        return self.metric_ids[_METRIC_WHEEL[draw(self._event, index) % len(_METRIC_WHEEL)]]

    @staticmethod
    def _event_properties(metric: int, index: int, bits: int) -> dict[str, Any]:
        name = METRICS[metric][0]
        product = names.PRODUCT_NOUNS[(bits >> 8) % len(names.PRODUCT_NOUNS)][0]
        price = round(10 + (bits >> 16) % 19000 / 100, 2)
        if name in ("Placed Order", "Ordered Product"):
            quantity = 1 + (bits >> 32) % 3
            return {
                "$event_id": str(1001 + (bits >> 36) % 100000),
                "$value": round(price * quantity, 2),
                "ItemNames": [product],
                "Items": [{"ProductName": product, "Quantity": quantity, "ItemPrice": price}],
                "Discount Codes": ["WELCOME10"] if (bits >> 40) % 5 == 0 else [],
            }
        if name == "Viewed Product":
            return {
                "ProductName": product,
                "ProductID": str(8_900_000_000_000 + (bits >> 20) % 10**9),
                "Price": price,
                "URL": f"https://sandbox-shop.example/products/{product.lower().replace(' ', '-')}",
                "$value": price,
            }
        if name == "Active on Site":
            return {
                "page": f"https://sandbox-shop.example/{('', 'collections/all', 'cart', 'pages/about')[(bits >> 24) % 4]}",
                "$use_ip": True,
                "os": ("iOS", "Android", "Windows", "macOS")[(bits >> 26) % 4],
                "browser": ("Safari", "Chrome", "Firefox", "Edge")[(bits >> 28) % 4],
            }
        return {
            "Campaign Name": f"Newsletter #{1 + (bits >> 24) % 120}",
            "Subject": (
                "New arrivals are here",
                "Last chance: 20% off",
                "We miss you",
                "Your weekly picks",
            )[(bits >> 32) % 4],
            "$message": _base62(bits >> 8, 6),
            "Email Domain": names.EMAIL_DOMAINS[(bits >> 40) % len(names.EMAIL_DOMAINS)],
            "Client Type": ("Desktop", "Mobile", "Webmail")[(bits >> 44) % 3],
            "$event_id": f"{index}",
        }


def _coprime_near(modulus: int, start: int) -> int:
    """The first number from `start` up that shares no factor with `modulus`."""
    candidate = start
    while math.gcd(candidate, modulus) != 1:
        candidate += 1
    return candidate
