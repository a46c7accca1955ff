"""Column types that behave the same on Postgres and SQLite.

Each type picks its storage per dialect (`load_dialect_impl`) so one `Table` definition works
on both backends:

- `UtcDateTime`: `timestamptz` on Postgres; on SQLite fixed-width ISO-8601 text in UTC
  (`2024-01-02T03:04:05.000000+00:00`), which sorts and compares correctly as text, so the
  upsert guard's `>` works in SQL. Values must be timezone-aware; they come back aware, in
  UTC (Postgres would otherwise hand them back in the session's time zone, and a
  transaction-mode pooler forbids setting it per session).
- `ExactDecimal`: `numeric` without fixed precision on Postgres; on SQLite text, because a
  NUMERIC column there converts `1.10` to the float `1.1`.
- `JsonDocument`: `jsonb` on Postgres; on SQLite text. SQLAlchemy's SQLite JSON type declares
  `JSON`, which has NUMERIC affinity and turns the scalar document `1.0` into a REAL.

The SQLite declared type names (`TIMESTAMP_TEXT`, `DECIMAL_TEXT`, `JSON_TEXT`) contain `TEXT`,
giving TEXT affinity, and are distinct, so schema drift between them can be detected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Double, Numeric, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from integration_assets.load.encoding import dumps_json_str, loads_json
from integration_assets.schema import ColumnType
from integration_assets.timestamps import TimestampError, instant_from_iso


class SqliteDeclaredText(UserDefinedType[Any]):
    """A SQLite column declared with a custom name that still has TEXT affinity."""

    cache_ok = True

    def __init__(self, declared: str) -> None:
        if "TEXT" not in declared or "INT" in declared:
            raise ValueError(f"{declared!r} would not get TEXT affinity in SQLite")
        self.declared = declared

    def get_col_spec(self, **_: Any) -> str:
        return self.declared


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached a timestamp column."""


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse naive ones (their instant is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"datetime {value.isoformat()} has no time zone; the load stage stores instants "
            "and needs timezone-aware values (the mapping converts vendor timestamps to UTC)"
        )
    return value.astimezone(UTC)


def utc_iso(value: datetime) -> str:
    """The SQLite storage form: UTC, microseconds always present, so text order = time order."""
    return to_utc(value).isoformat(timespec="microseconds")


def parse_utc_iso(text: str) -> datetime:
    """Parse stored ISO text (written by `utc_iso`, so always with an offset) to aware UTC.

    Text without an offset was not written by the load stage; by the project's one rule
    (`integration_assets/timestamps.py`) its instant is unknown, so reading it fails.
    """
    try:
        return instant_from_iso(text)
    except TimestampError as exc:
        raise ValueError(
            f"stored timestamp {text!r}: {exc.reason}; the load stage always stores an offset"
        ) from None


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware instant; see the module docstring."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SqliteDeclaredText("TIMESTAMP_TEXT"))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return utc_iso(value)
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_utc_iso(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal that round-trips exactly on both backends; see the module docstring."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SqliteDeclaredText("DECIMAL_TEXT"))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return str(value if isinstance(value, Decimal) else Decimal(str(value)))
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value))


class JsonDocument(TypeDecorator[Any]):
    """A JSON document; Python `None` is SQL NULL on both backends."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SqliteDeclaredText("JSON_TEXT"))
        return dialect.type_descriptor(postgresql.JSONB(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return dumps_json_str(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, (str, bytes)) and dialect.name == "sqlite":
            return loads_json(value)
        return value


def column_type(kind: ColumnType) -> TypeEngine[Any]:
    """The SQLAlchemy type for a mapping column type."""
    match kind:
        case ColumnType.STRING:
            return Text()
        case ColumnType.INTEGER:
            return BigInteger()
        case ColumnType.FLOAT:
            return Double()
        case ColumnType.DECIMAL:
            return ExactDecimal()
        case ColumnType.BOOLEAN:
            return Boolean()
        case ColumnType.DATE:
            return Date()
        case ColumnType.DATETIME:
            return UtcDateTime()
        case ColumnType.JSON:
            return JsonDocument()
    raise ValueError(f"unknown column type {kind!r}")


__all__ = [
    "ExactDecimal",
    "JsonDocument",
    "NaiveDatetimeError",
    "SqliteDeclaredText",
    "UtcDateTime",
    "column_type",
    "parse_utc_iso",
    "to_utc",
    "utc_iso",
]
