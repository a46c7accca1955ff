"""The unit of sync: one entity of one connection, with everything needed to move it.

Resolving a target up front (connector spec, entity spec, compiled mapping) means every bad
configuration (unknown vendor or entity, broken mapping file) fails before the vendor is
called, with the error the component raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from integration_assets.connectors import ConnectorSpec, EntitySpec
from integration_assets.connectors.connections import Connection
from integration_assets.mapping.compiler import CompiledMapping, compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.mapping.union import load_table_union


@dataclass(frozen=True)
class SyncTarget:
    """(connection, entity), resolved against its connector spec and mapping."""

    connection: Connection
    entity_name: str
    mappings_dir: Path | None = None

    @cached_property
    def connector(self) -> ConnectorSpec:
        """The spec of the API the connection speaks (`Connection.api`, else the default)."""
        return self.connection.connector

    @cached_property
    def entity(self) -> EntitySpec:
        return self.connector.entity(self.entity_name)

    @cached_property
    def mapping(self) -> CompiledMapping:
        """The connection's own mapping, writing the tables all connections of the vendor
        share (the union of every override, see `mapping.union`): rows are padded to them."""
        vendor = self.connection.vendor
        spec = load_mapping(
            vendor,
            self.entity_name,
            connection=self.connection.name,
            mappings_dir=self.mappings_dir,
        )
        return compile_mapping(spec, load_table_union(vendor, self.entity_name, self.mappings_dir))
