"""Counts of what an upsert did, per table, addable across batches."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableCounts:
    """What happened to one table's rows in one or more batches.

    - `inserted`: new keys (for child tables: rows written for a changed parent).
    - `updated`: existing rows overwritten (newer, or same timestamp with new content).
    - `unchanged`: stale (older than stored) or identical rows; for child tables, rows whose
      parent was unchanged.
    - `deleted`: child rows removed because their parent changed (replaced by the new ones).
    - `duplicates`: rows dropped because the same key came again later in the batch.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    duplicates: int = 0

    def __add__(self, other: TableCounts) -> TableCounts:
        return TableCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
            self.duplicates + other.duplicates,
        )

    @property
    def written(self) -> int:
        return self.inserted + self.updated


@dataclass(frozen=True)
class UpsertResult:
    """Per-table counts and quarantined records of one or more `upsert_batch` calls."""

    tables: dict[str, TableCounts] = field(default_factory=dict)
    quarantined: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        tables = dict(self.tables)
        for name, counts in other.tables.items():
            tables[name] = tables.get(name, TableCounts()) + counts
        return UpsertResult(tables, self.quarantined + other.quarantined)

    def __getitem__(self, table: str) -> TableCounts:
        return self.tables.get(table, TableCounts())

    @property
    def inserted(self) -> int:
        return sum(counts.inserted for counts in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(counts.updated for counts in self.tables.values())

    @property
    def unchanged(self) -> int:
        return sum(counts.unchanged for counts in self.tables.values())
