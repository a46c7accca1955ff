"""How a raw value is shown inside an error message without leaking personal data.

Rejection reasons end up in the quarantine table, logs and the console; they must say what was
wrong with a value while never printing an email address or phone number in full. Containers
are summarised rather than printed because they may hold anything.
"""

from __future__ import annotations

import re
from typing import Any

_MAX_SHOWN = 40
_SENSITIVE_NAME_PARTS = ("email", "phone")
_LOOKS_LIKE_EMAIL = re.compile(r"@")
# Applied with `fullmatch` to the stripped text (a `$` anchor with `match` would accept only a
# trailing newline; any surrounding whitespace around a phone number still makes it one).
_LOOKS_LIKE_PHONE = re.compile(r"\+?[0-9 ()./-]{7,}")


def is_sensitive_name(*names: str) -> bool:
    """Whether a field called any of `names` holds personal contact data."""
    return any(part in name.lower() for name in names for part in _SENSITIVE_NAME_PARTS)


PERSONAL_NAME_PARTS = (
    "first_name",
    "last_name",
    "firstname",
    "lastname",
    "full_name",
    "middle_name",
    "address",
    "street",
    "zip",
    "postal",
    "city",
    "company",
    "note",
    "birth",
    "latitude",
    "longitude",
)
"""Field names (or parts) whose values are a person's name, whereabouts or free text."""


def is_personal_name(name: str) -> bool:
    """Whether a field or column called `name` holds personal data: contact data
    (`is_sensitive_name`) or a name, place or free text (`PERSONAL_NAME_PARTS`). A name has
    no shape to detect, so the field's name is all there is to go by."""
    lowered = name.lower()
    return is_sensitive_name(lowered) or any(part in lowered for part in PERSONAL_NAME_PARTS)


def _mask(text: str) -> str:
    if len(text) <= 2:
        return "***"
    return f"{text[0]}***{text[-1]}"


def mask_text(text: str) -> str:
    """`text` as is, or masked when it looks like an email address or phone number."""
    if _LOOKS_LIKE_EMAIL.search(text) or _LOOKS_LIKE_PHONE.fullmatch(text.strip()):
        return _mask(text)
    return text


def describe_value(value: Any, sensitive: bool = False) -> str:
    """`'abc' (str)`, `4.5 (float)`, `a dict (3 keys)`; masked when personal data is possible."""
    kind = type(value).__name__
    if isinstance(value, dict):
        return f"a dict ({len(value)} keys)"
    if isinstance(value, list | tuple):
        return f"a {kind} ({len(value)} items)"
    if isinstance(value, str):
        if (
            sensitive
            or _LOOKS_LIKE_EMAIL.search(value)
            or _LOOKS_LIKE_PHONE.fullmatch(value.strip())
        ):
            return f"{_mask(value)!r} (str, masked)"
        shown = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…"
        return f"{shown!r} ({kind})"
    if sensitive:
        return f"*** ({kind}, masked)"
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "…"
    return f"{text} ({kind})"
