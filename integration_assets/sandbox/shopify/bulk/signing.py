"""Signed, expiring download URLs, the way Shopify hands out bulk results.

Shopify's `url` / `partialDataUrl` point at Google Cloud Storage with a signature in the query
string (`GoogleAccessId`, `Expires`, `Signature`): the download needs no Shopify access token,
anyone holding the URL can read the file, and it stops working when it expires (seven days
after the operation finished, per the BulkOperation reference). The sandbox signs with an HMAC
of a per-simulator random key over the path and the expiry, and checks expiry against the
simulator's clock, so a test moves time with `advance` instead of waiting a week.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from enum import Enum
from urllib.parse import urlencode

ACCESS_ID = "bulk-operations@sandbox-shopify.iam.gserviceaccount.com"
URL_LIFETIME = 7 * 86400


class Verdict(Enum):
    """What the storage answers for a signed URL."""

    VALID = "valid"
    BAD_SIGNATURE = "bad signature"
    EXPIRED = "expired"


class UrlSigner:
    """Signs and checks download paths with one secret key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def query(self, path: str, expires: int) -> str:
        """The query string that makes `path` downloadable until `expires` (epoch seconds)."""
        return urlencode(
            {
                "GoogleAccessId": ACCESS_ID,
                "Expires": expires,
                "Signature": self._sign(path, expires),
            }
        )

    def check(self, path: str, expires: str | None, signature: str | None, now: int) -> Verdict:
        """Whether a request for `path` with these parameters may read the file at `now`.

        The signature is checked first: an altered `Expires` is a bad signature, not a
        longer life.
        """
        if not expires or not signature or not expires.isdigit():
            return Verdict.BAD_SIGNATURE
        expected = self._sign(path, int(expires))
        if not hmac.compare_digest(expected, signature):
            return Verdict.BAD_SIGNATURE
        if now > int(expires):
            return Verdict.EXPIRED
        return Verdict.VALID

    def _sign(self, path: str, expires: int) -> str:
        digest = hmac.new(self._key, f"GET\n{expires}\n{path}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
