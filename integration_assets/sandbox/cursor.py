"""Opaque, tamper-evident page tokens (Shopify's `page_info`, Klaviyo's `page[cursor]`).

A token is base64url(signature + JSON). It carries the position of the last record served and,
for Shopify, the original filters, which is why Shopify refuses other filters beside it. Signing
makes an edited or truncated token fail loudly with a 400 instead of silently serving another
page, as the vendors do.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

_SIGNATURE_BYTES = 8


class InvalidCursor(ValueError):
    """The token was not issued by this simulator or was altered."""


class CursorCodec:
    """Encodes and decodes page tokens with a per-simulator secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(secret.encode()).digest()

    def encode(self, payload: dict[str, Any]) -> str:
        """Serialise and sign a cursor payload."""
        body = orjson.dumps(payload)
        signature = hashlib.blake2b(body, key=self._key, digest_size=_SIGNATURE_BYTES).digest()
        return base64.urlsafe_b64encode(signature + body).rstrip(b"=").decode()

    def decode(self, token: str) -> dict[str, Any]:
        """Verify and parse a token; raises InvalidCursor on anything but our own tokens."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError) as error:
            raise InvalidCursor(token) from error
        signature, body = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        expected = hashlib.blake2b(body, key=self._key, digest_size=_SIGNATURE_BYTES).digest()
        if not body or signature != expected:
            raise InvalidCursor(token)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InvalidCursor(token) from error
        if not isinstance(payload, dict):
            raise InvalidCursor(token)
        return payload
