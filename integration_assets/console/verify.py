"""Is this delivery from the vendor, and recent? Signature first, then the timestamp.

Both checks follow the vendor's `WebhookSpec`. The MAC is compared with
`hmac.compare_digest` on the decoded bytes, so the time taken does not tell an attacker how
much of a guess was right. Nothing here logs or returns the secret or the expected MAC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta

from starlette.datastructures import Headers

from integration_assets.connectors.webhooks import WebhookSpec
from integration_assets.timestamps import TimestampError, instant_from_iso, parse_http_date


class Refused(Exception):
    """The delivery is refused with `status`; `reason` is safe to log and to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _decode(value: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_signature(spec: WebhookSpec, headers: Headers, body: bytes, secret: bytes) -> None:
    """Refused(401) unless the signature header holds the MAC of what the vendor signs."""
    signature = spec.signature
    sent = headers.get(signature.header)
    if not sent:
        raise Refused(401, f"missing {signature.header}")
    message = body
    if signature.covers_timestamp:
        timestamp = headers.get(spec.timestamp.header)
        if not timestamp:
            raise Refused(401, f"missing {spec.timestamp.header}")
        message = body + timestamp.encode()
    expected = hmac.new(secret, message, hashlib.sha256).digest()
    received = _decode(sent.strip(), signature.encoding)
    if received is None or not hmac.compare_digest(expected, received):
        raise Refused(401, "invalid signature")


def _parse(value: str, format_: str) -> datetime | None:
    """The instant in `value`. An HTTP date is what Klaviyo's docs show; ISO 8601 with an
    offset is accepted too, since integrators quote both spellings for that header."""
    if format_ == "http_date" and (when := parse_http_date(value)) is not None:
        return when
    try:
        return instant_from_iso(value)
    except TimestampError:
        return None


def check_timestamp(
    spec: WebhookSpec, headers: Headers, now: datetime, tolerance_seconds: int
) -> datetime:
    """The delivery's timestamp, or Refused(401) when missing, unreadable or out of range.

    Allowed: from `tolerance` in the future (clocks differ) to `tolerance` in the past, plus
    the vendor's retry window when the timestamp is the change's and repeats on retries.
    """
    stamp = spec.timestamp
    raw = headers.get(stamp.header)
    if not raw:
        raise Refused(401, f"missing {stamp.header}")
    when = _parse(raw, stamp.format)
    if when is None:
        raise Refused(401, f"unreadable {stamp.header}")
    tolerance = timedelta(seconds=tolerance_seconds)
    oldest = now - tolerance - timedelta(seconds=stamp.retry_window_seconds)
    if when < oldest:
        raise Refused(401, f"stale delivery ({stamp.header} too old)")
    if when > now + tolerance:
        raise Refused(401, f"{stamp.header} is in the future")
    return when
