"""The contract between the mapping stage and the load stage: warehouse tables and rows.

A compiled mapping describes its output tables with these types; the load stage creates and
upserts tables from them and knows nothing about vendors or mapping files. It lives at the
package root, not in `mapping/`, so the load stage (and `sync/`, `orchestration/`) depends on
the contract rather than on the mapping stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# The one identifier rule of the project for table, column and schema names: lower case, at
# most 63 characters (Postgres' limit), portable between Postgres and SQLite. Always applied
# with `fullmatch`: `re.match` with a `$` anchor accepts a trailing newline.
IDENTIFIER_REGEX = r"[a-z_][a-z0-9_]{0,62}"
IDENTIFIER_PATTERN = re.compile(IDENTIFIER_REGEX)
MAX_IDENTIFIER_LENGTH = 63


def is_identifier(name: object) -> bool:
    """Whether `name` is, as a whole, a safe lower-case SQL identifier."""
    return isinstance(name, str) and IDENTIFIER_PATTERN.fullmatch(name) is not None


class ColumnType(StrEnum):
    """Warehouse column types a mapping can produce (Python value type in brackets)."""

    STRING = "string"  # str
    INTEGER = "integer"  # int (64-bit)
    FLOAT = "float"  # float
    DECIMAL = "decimal"  # decimal.Decimal
    BOOLEAN = "boolean"  # bool
    DATE = "date"  # datetime.date
    DATETIME = "datetime"  # datetime.datetime, timezone-aware, UTC
    JSON = "json"  # dict | list | scalar, JSON-serialisable


@dataclass(frozen=True)
class ColumnSchema:
    """One column a mapping writes. `nullable=False` for required fields and keys."""

    name: str
    type: ColumnType
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableSchema:
    """One warehouse table a mapping writes.

    `primary_key` are the vendor key columns; the load stage adds `_connection` in front of
    them, so one table holds many connections of the same vendor. A child table (a nested
    list expanded into rows, such as order line items) names its `parent` table and the
    `parent_key` columns that hold the parent's key; when a parent row is replaced, its child
    rows are replaced with it. `source_updated_at` is the column whose value guards upserts
    (an older record never overwrites a newer one).
    """

    name: str
    columns: tuple[ColumnSchema, ...]
    primary_key: tuple[str, ...]
    source_updated_at: str | None = None
    parent: str | None = None
    parent_key: tuple[str, ...] = ()
    description: str = ""

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")


# The load stage's own columns of every warehouse table: `_connection` leads the primary key,
# the others follow the mapped columns. The one definition: the load stage builds its tables
# from it, the mapping refuses column names that clash with it, the Dagster asset metadata
# describes it.
CONNECTION_COLUMN = "_connection"
SOURCE_UPDATED_AT_COLUMN = "_source_updated_at"
SYNCED_AT_COLUMN = "_synced_at"
RUN_ID_COLUMN = "_run_id"
ROW_HASH_COLUMN = "_row_hash"
DELETED_AT_COLUMN = "_deleted_at"
CONNECTION_METADATA = ColumnSchema(
    CONNECTION_COLUMN,
    ColumnType.STRING,
    nullable=False,
    description="Connection (shop/account) the row came from.",
)
TRAILING_METADATA = (
    ColumnSchema(
        SOURCE_UPDATED_AT_COLUMN,
        ColumnType.DATETIME,
        description="Vendor's timestamp guarding the upsert.",
    ),
    ColumnSchema(
        SYNCED_AT_COLUMN,
        ColumnType.DATETIME,
        nullable=False,
        description="When this sync wrote the row.",
    ),
    ColumnSchema(
        RUN_ID_COLUMN,
        ColumnType.STRING,
        nullable=False,
        description="Dagster run that wrote the row.",
    ),
    ColumnSchema(
        ROW_HASH_COLUMN,
        ColumnType.STRING,
        nullable=False,
        description="Hash of the mapped values, to skip no-op updates.",
    ),
    ColumnSchema(
        DELETED_AT_COLUMN,
        ColumnType.DATETIME,
        description="When reconciliation found the record deleted.",
    ),
)
METADATA = (CONNECTION_METADATA, *TRAILING_METADATA)
TRAILING_METADATA_COLUMNS = tuple(column.name for column in TRAILING_METADATA)
METADATA_COLUMNS = tuple(column.name for column in METADATA)

Row = dict[str, Any]

# Key of a child row holding the parent row (the dict itself) it was expanded from. When one
# record arrives twice in a batch, the load keeps one version and must keep that version's
# children; identity is exact where timestamps or positions are not (two versions can share
# a timestamp, and a batch spans pages). It starts with `_`, so it is never a column name.
PARENT_ROW = "_parent_row"


def join_key(values: list[Any]) -> str:
    """A record's primary key values as one text (`|`-joined when composite); the quarantine
    matches rejected records with their later good versions by it."""
    if len(values) == 1:
        return str(values[0])
    return "|".join(str(value) for value in values)


@dataclass(frozen=True)
class RejectedRecord:
    """A raw record the mapping could not turn into rows, with every reason. Never dropped:
    the load stage writes it to the quarantine table."""

    record: dict[str, Any]
    reasons: tuple[str, ...]
    record_key: str | None = None


@dataclass
class MappedBatch:
    """The output of mapping a batch of raw records.

    `rows[table]` holds the rows of each table, parent table first, in source order. Child
    rows carry their parent key columns and, under `PARENT_ROW`, the parent row they belong
    to. Every row of a table has every column of its schema (a column this connection's
    mapping lacks, because only another connection's override has it, holds None).
    """

    rows: dict[str, list[Row]] = field(default_factory=dict)
    rejected: list[RejectedRecord] = field(default_factory=list)
