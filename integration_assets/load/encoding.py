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
    """
    payload = orjson.dumps(values, default=_default, option=_HASH_OPTIONS)
    return hashlib.blake2b(payload, digest_size=ROW_HASH_BYTES).hexdigest()
