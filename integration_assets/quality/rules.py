"""The rules of one entity as the gate reads them, compiled from its mapping.

`CompiledMapping.quality_rules` builds these once per run; the gate (`quality/gate.py`)
turns them into Pandera schemas. They are plain values so that the quality stage reads no
mapping file and the mapping stage runs no check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integration_assets.quality.checks import EntityTables
from integration_assets.quality.settings import QualitySettings
from integration_assets.schema import ColumnType


@dataclass(frozen=True)
class FieldRule:
    """Every rule on one column: type and `required` from the mapping, the rest from
    the field's `quality` block."""

    column: str
    type: ColumnType
    required: bool = False
    format: str | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    unique: bool = False
    checks: tuple[str, ...] = ()
    sensitive: bool = False
    """Personal data: its values never appear in a reason."""

    @property
    def has_value_rules(self) -> bool:
        return bool(
            self.required
            or self.format
            or self.min is not None
            or self.max is not None
            or self.pattern
            or self.unique
            or self.checks
        )


@dataclass(frozen=True)
class QualityRules:
    """The rules of an entity: per table (own table first) its field rules, the entity
    checks, the settings, and the key columns that name a record in a report."""

    tables: EntityTables
    fields: dict[str, tuple[FieldRule, ...]]
    primary_keys: dict[str, tuple[str, ...]]
    entity_checks: tuple[str, ...] = ()
    settings: QualitySettings = field(default_factory=QualitySettings)

    @property
    def table(self) -> str:
        return self.tables.table.name
