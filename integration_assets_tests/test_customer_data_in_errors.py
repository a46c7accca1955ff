"""A row the database refuses fails the sync without its values reaching Dagster or the CLI.

The warehouse table gets a rule by hand that every customer with an email breaks (a CHECK
constraint on Postgres; SQLite cannot add one to a table, so a trigger); then a real sync
runs, through Dagster and through the `integration-assets` command. The failure must name the
table and the rule, and no customer's email may appear in any event of Dagster's log (errors
and their chained causes included) nor in anything the command prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from integration_assets.load.tables import ensure_tables
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import MAPPINGS, deploy, write_connections
from integration_assets_tests.test_cli import cli

RULE = "shopify_customers_no_email"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes={"customers": 40}, rate_limits=False) as running:
        yield running


def forbid_emails(warehouse_url: str) -> None:
    """Create the customers table and a rule that refuses every row with an email."""
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        ensure_tables(
            warehouse,
            compile_mapping(load_mapping("shopify", "customers", mappings_dir=MAPPINGS)).tables,
        )
        with warehouse.begin() as conn:
            if warehouse.dialect == "postgresql":
                conn.execute(
                    text(
                        f"ALTER TABLE shopify_customers ADD CONSTRAINT {RULE} "
                        "CHECK (email NOT LIKE '%@%')"
                    )
                )
            else:
                conn.execute(
                    text(
                        f"CREATE TRIGGER {RULE} BEFORE INSERT ON shopify_customers "
                        f"WHEN NEW.email LIKE '%@%' BEGIN SELECT RAISE(ABORT, '{RULE}'); END"
                    )
                )
    finally:
        warehouse.dispose()


def emails(sandbox: Sandbox) -> set[str]:
    found = {str(r["email"]) for r in sandbox.shopify.records("customers") if r.get("email")}
    assert found, "the sandbox has no emails: the test would prove nothing"
    return found


def test_dagster_logs_name_the_rule_but_no_email(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deploy(tmp_path, sandbox, warehouse_url, monkeypatch)
    forbid_emails(warehouse_url)

    result = deployment.sync("shopify", "customers", raise_on_error=False)

    assert not result.success
    message = run_failure_message(result)
    assert "IntegrityError" in message and RULE in message and "shopify_customers" in message
    logged = [repr(entry) for entry in deployment.instance.all_logs(result.run_id)]
    assert any(RULE in entry for entry in logged)  # the failure (and its causes) are in there
    leaked = {email for email in emails(sandbox) if any(email in entry for entry in logged)}
    assert not leaked, f"{len(leaked)} emails in Dagster's event log"


def test_the_command_line_names_the_rule_but_no_email(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str
) -> None:
    forbid_emails(warehouse_url)
    env = {
        "PATH": "/usr/bin:/bin",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "WAREHOUSE_URL": warehouse_url,
        "INTEGRATION_CONNECTIONS": str(write_connections(tmp_path, sandbox)),
        "INTEGRATION_MAPPINGS": str(MAPPINGS),
        "IA_TEST_SHOP_TOKEN": sandbox.shopify.access_token,
        "IA_TEST_KLAVIYO_KEY": sandbox.klaviyo.api_key,
    }

    result = cli(["sync", "shopify/customers", "--connection", "test-shop"], env)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert RULE in result.stdout and "IntegrityError" in result.stdout
    leaked = {email for email in emails(sandbox) if email in output}
    assert not leaked, f"{len(leaked)} emails in the command's output"
