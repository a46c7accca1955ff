"""Signed cookies: a small JSON payload, base64url, and an HMAC-SHA256 of it.

Used for the login session (which also holds the session's CSRF token) and the one-shot
flash message. Nothing secret goes in a payload (it is signed, not encrypted); a payload
carries its own expiry, so a stolen old cookie stops working even if the browser keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks payloads with `secret`; `purpose` keeps one kind of cookie from being
    replayed as another (a flash cookie is not a session)."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def sign(self, payload: dict[str, Any], max_age_seconds: int) -> str:
        body = _b64(json.dumps({**payload, "exp": int(time.time()) + max_age_seconds}).encode())
        return f"{body}.{self._mac(body)}"

    def load(self, value: str | None) -> dict[str, Any] | None:
        """The payload, or None when missing, forged, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
            return None
        return payload if payload["exp"] > time.time() else None
