"""JSON encoding and row hashing shared by the load stage.

One encoder for every JSON value the load stage writes (JSON columns, quarantine records,
hash input) so that the same value always gives the same bytes: orjson for speed, decimals
written as exact JSON numbers instead of being rounded through float.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

_HASH_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
ROW_HASH_BYTES = 16


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(str(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_decimal(value: Decimal) -> str:
    """The one text of a number, whatever its scale: `12.30`, `12.3` and `1.23E+1` are all
    `12.3`; `0.00` and `-0` are `0`. Exact (no rounding to a context precision)."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _hash_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(canonical_decimal(value))
    return _default(value)


def dumps_json(value: Any) -> bytes:
    """Serialise a JSON column value, sorted keys, so equal documents give equal bytes."""
    return orjson.dumps(value, default=_default, option=_HASH_OPTIONS)


def dumps_json_str(value: Any) -> str:
    """`dumps_json` as text, for drivers and SQL text columns that want `str`."""
    return orjson.dumps(value, default=_default, option=_HASH_OPTIONS).decode()


def loads_json(data: str | bytes) -> Any:
    """Parse JSON written by `dumps_json` (or any other JSON)."""
    return orjson.loads(data)


def row_hash(values: Sequence[Any]) -> str:
    """Stable 16-byte hex digest of a row's mapped values, in a fixed column order.

    The caller passes the values in sorted column-name order, so reordering columns in a
    mapping does not change the hash; changing any value (or adding a column) does. The hash
    tells an identical replay (skip) from a corrected one (update) at the same source
    timestamp.

    Equal values hash equal, however the vendor wrote them: decimals by their canonical text
    (Shopify's REST API writes `597.00` where GraphQL writes `597.0`), datetimes as UTC
    instants (the load stage converts them before hashing; orjson writes the offset, so the
    same instant with another offset would otherwise differ). A connection that switches API
    therefore rewrites no unchanged row.
    """
    payload = orjson.dumps(values, default=_hash_default, option=_HASH_OPTIONS)
    return hashlib.blake2b(payload, digest_size=ROW_HASH_BYTES).hexdigest()
