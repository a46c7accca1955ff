"""Fixtures shared by every test: real warehouses (SQLite and the local Postgres).

Each test that asks for `warehouse_url` runs twice, once per backend, against a database of
its own that is dropped afterwards. Postgres is the machine's real server at 127.0.0.1:5432
(override with `TEST_POSTGRES_URL`); when it is unreachable the Postgres half is skipped
locally but fails under `CI=true`, so CI can never go green without having tested Postgres.

The suite runs in parallel (`make test`: pytest-xdist workers, each its own process), so
nothing here is shared between tests: databases get unique names, files live under
`tmp_path`, and `DAGSTER_HOME` points at a directory of this process's own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from integration_assets.extract.rate_limit import forget_local_buckets

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"Postgres at {ADMIN_URL} is unreachable: {exc}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The admin URL of the real Postgres; fails the run in CI when it is missing."""
    problem = _postgres_unavailable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem} (CI=true: Postgres tests must run, not skip)")
        pytest.skip(problem)
    return ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty Postgres database for one test, dropped afterwards."""
    name = f"ia_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite warehouse file for one test."""
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """A fresh warehouse, once on SQLite and once on the real Postgres."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session", autouse=True)
def own_dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`DAGSTER_HOME` of this test process, so a Dagster instance opened from the environment
    never lands in the repository's `.dagster_home` (which `make` exports), shared by every
    xdist worker. Tests that need a particular home still set their own (`monkeypatch`)."""
    home = tmp_path_factory.mktemp("dagster_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def fresh_rate_budgets() -> None:
    """Each test starts with the in-process rate budgets a new process would have."""
    forget_local_buckets()
