"""A raw quarantined record as the console shows it: its shape intact, personal data masked.

The quarantine keeps the vendor's record as it came, so a person can see why it failed; the
page must still never print who it is about. On top of `mapping.masking` (any string that
looks like an email address or phone number, and fields named like `email` or `phone`),
every string under a field naming a person or a place (first/last name, address, street,
zip, city, company, note) is masked, whatever it looks like: a name has no shape to detect.
Numbers, booleans and ids stay, so the record still explains its rejection.
"""

from __future__ import annotations

from typing import Any

from integration_assets.mapping.masking import is_personal_name, mask_text
from integration_assets.sync.failure import mask_personal

PERSON_ENTITIES = ("customers", "profiles")
"""Entities whose records are a person: their bare `name` field is the person's name."""


def is_personal_field(name: str, entity: str) -> bool:
    """Whether a field called `name` holds personal data (see the module doc)."""
    if is_personal_name(name):
        return True
    return entity in PERSON_ENTITIES and name.lower() in ("name", "title")


def _mask_string(text: str) -> str:
    if len(text) <= 2:
        return "***"
    return f"{text[0]}***{text[-1]}"


def mask_record(value: Any, entity: str, personal: bool = False) -> Any:
    """`value` (a raw record or part of one) with its personal values masked.

    `personal` is true below a personal field: every string and number there is masked
    (a house number or a zip code stored as an integer is as personal as a street).
    """
    if isinstance(value, dict):
        return {
            key: mask_record(item, entity, personal or is_personal_field(str(key), entity))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_record(item, entity, personal) for item in value]
    if isinstance(value, str):
        if personal:
            return _mask_string(value)
        return mask_personal(mask_text(value))
    if personal and isinstance(value, int | float) and not isinstance(value, bool):
        return "***"
    return value
