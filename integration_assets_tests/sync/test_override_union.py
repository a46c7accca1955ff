"""Two connections of one vendor share a table while their overrides differ.

Real sandbox over HTTP, real warehouse (both backends): one Klaviyo connection's override adds
a custom property column, the other's removes a field; both sync repeatedly while the vendor
changes, and each connection's rows must equal the vendor's records through its own mapping,
with NULL in the columns its mapping lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from integration_assets.connectors.connections import get_connection
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.errors import MappingError
from integration_assets.mapping.loader import load_mapping
from integration_assets.mapping.union import load_table_union
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sync.steps import run_extract, run_load
from integration_assets.sync.target import SyncTarget
from integration_assets_tests.oracle import expected_tables
from integration_assets_tests.orchestration.harness import METADATA_COLUMNS
from integration_assets_tests.sync.test_replay_from_landing import copy_mappings_with_override

ADDS, REMOVES = "klaviyo-adds", "klaviyo-removes"
TABLE = "klaviyo_profiles"
ADD_LOYALTY_TIER = {
    "mappings": [
        {
            "source": "attributes.properties.Loyalty Tier",
            "target": "loyalty_tier",
            "type": "string",
            "description": "Custom profile property 'Loyalty Tier'.",
        }
    ]
}
REMOVE_LOCALE = {"mappings": [{"target": "locale", "remove": True}]}
CONNECTIONS = """
connections:
  - name: {adds}
    vendor: klaviyo
    base_url: {url}
    secrets: {{api_key: IA_TEST_KLAVIYO_KEY}}
    entities: {{profiles: 15m}}
  - name: {removes}
    vendor: klaviyo
    base_url: {url}
    secrets: {{api_key: IA_TEST_KLAVIYO_KEY}}
    entities: {{profiles: 15m}}
"""


@pytest.fixture
def sandbox() -> Any:
    with run_sandbox(seed=11, sizes={"profiles": 180}, rate_limits=False) as running:
        yield running


def write_override(mappings: Path, connection: str, override: dict[str, Any]) -> None:
    path = mappings / "overrides" / connection / "profiles.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(override))


class Shops:
    """Two Klaviyo connections on one sandbox account, one warehouse."""

    def __init__(self, tmp_path: Path, sandbox: Sandbox, warehouse_url: str) -> None:
        self.sandbox = sandbox
        self.mappings = copy_mappings_with_override(tmp_path, None)
        self.connections = tmp_path / "connections.yaml"
        self.connections.write_text(
            CONNECTIONS.format(adds=ADDS, removes=REMOVES, url=sandbox.klaviyo_url)
        )
        self.warehouse = Warehouse.from_url(warehouse_url)
        self.runs = 0

    def sync(self, connection: str, *, full_refresh: bool = False) -> Any:
        self.runs += 1
        run_id = f"run-{self.runs}"
        target = SyncTarget(get_connection(connection, self.connections), "profiles", self.mappings)
        extracted = run_extract(target, self.warehouse, run_id=run_id, full_refresh=full_refresh)
        return run_load(target, self.warehouse, extracted, run_id=run_id)

    def columns(self) -> set[str]:
        with self.warehouse.engine.connect() as conn:
            found = {c["name"] for c in inspect(conn).get_columns(TABLE)}
        return found - METADATA_COLUMNS

    def expected(self, connection: str, columns: set[str]) -> dict[tuple, dict]:
        """The vendor's records through the connection's own mapping, NULL elsewhere."""
        spec = load_mapping("klaviyo", "profiles", connection, mappings_dir=self.mappings)
        rows = expected_tables(spec, self.sandbox.klaviyo.records("profiles"))[TABLE]
        return {key: {c: row.get(c) for c in columns} for key, row in rows.items()}

    def actual(self, connection: str) -> dict[tuple, dict]:
        table = build_table(load_table_union("klaviyo", "profiles", self.mappings)[TABLE])
        with self.warehouse.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c._connection == connection))
            return {
                (row["id"],): {k: v for k, v in row.items() if k not in METADATA_COLUMNS}
                for row in rows.mappings()
            }

    def assert_matches_vendor(self, connection: str, columns: set[str]) -> None:
        expected, actual = self.expected(connection, columns), self.actual(connection)
        assert expected, "the sandbox has no profiles: the comparison would prove nothing"
        assert actual.keys() == expected.keys()
        for key, row in expected.items():
            assert actual[key] == row, f"{connection} {key} differs"


def test_two_connections_with_different_overrides_share_the_table_and_both_match(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_KLAVIYO_KEY", sandbox.klaviyo.api_key)
    shops = Shops(tmp_path, sandbox, warehouse_url)
    base = {
        f.target for f in load_mapping("klaviyo", "profiles", mappings_dir=shops.mappings).fields
    }
    union = base | {"loyalty_tier"}
    try:
        # The removing connection first syncs the vendor mapping: its locale is filled.
        shops.sync(REMOVES)
        write_override(shops.mappings, ADDS, ADD_LOYALTY_TIER)
        shops.sync(ADDS)
        assert shops.columns() == union
        shops.assert_matches_vendor(ADDS, union)
        assert any(row["loyalty_tier"] for row in shops.actual(ADDS).values())
        assert all(row["loyalty_tier"] is None for row in shops.actual(REMOVES).values())
        assert any(row["locale"] for row in shops.actual(REMOVES).values())

        # Then it drops locale: a full refresh rewrites every row with NULL, none stays stale.
        write_override(shops.mappings, REMOVES, REMOVE_LOCALE)
        refreshed = shops.sync(REMOVES, full_refresh=True)
        assert refreshed.upsert[TABLE].updated == sandbox.klaviyo.count("profiles")
        shops.assert_matches_vendor(REMOVES, union)
        assert all(row["locale"] is None for row in shops.actual(REMOVES).values())

        for round_ in range(3):
            sandbox.klaviyo.advance(seconds=3600, updated_fraction=0.1, created={"profiles": 4})
            first, second = (ADDS, REMOVES) if round_ % 2 else (REMOVES, ADDS)
            shops.sync(first)
            shops.sync(second)
            assert shops.columns() == union
            shops.assert_matches_vendor(ADDS, union)
            shops.assert_matches_vendor(REMOVES, union)
    finally:
        shops.warehouse.dispose()


def test_a_sync_refuses_overrides_that_disagree_before_touching_the_database(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_KLAVIYO_KEY", sandbox.klaviyo.api_key)
    shops = Shops(tmp_path, sandbox, warehouse_url)
    write_override(shops.mappings, ADDS, ADD_LOYALTY_TIER)
    as_number = {"mappings": [{**ADD_LOYALTY_TIER["mappings"][0], "type": "integer"}]}
    write_override(shops.mappings, REMOVES, as_number)
    try:
        with pytest.raises(MappingError) as caught:
            shops.sync(ADDS)
        with shops.warehouse.engine.connect() as conn:
            assert not inspect(conn).has_table(TABLE)
    finally:
        shops.warehouse.dispose()
    message = str(caught.value)
    assert str(shops.mappings / "overrides" / ADDS / "profiles.json") in message
    assert str(shops.mappings / "overrides" / REMOVES / "profiles.json") in message
    assert "'loyalty_tier'" in message
