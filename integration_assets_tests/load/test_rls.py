"""Row level security on the real Postgres: a role like Supabase's `anon` reads nothing.

The sync runs as an ordinary owner role (no superuser, no BYPASSRLS), as on Supabase; a
second role without BYPASSRLS gets SELECT on the tables, as `anon` has through Supabase's
default grants, and must read 0 rows while the owner still reads everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from integration_assets.load import Warehouse, ensure_bookkeeping, ensure_tables, upsert_batch
from integration_assets.schema import MappedBatch
from integration_assets_tests.load.samples import CUSTOMERS, customer


@dataclass(frozen=True)
class Roles:
    owner: str
    reader: str
    owner_url: str
    admin_url: str


@pytest.fixture
def roles(postgres_url: str) -> Iterator[Roles]:
    """A login role that syncs (owner) and a reader role, both without BYPASSRLS; dropped after."""
    suffix = uuid.uuid4().hex[:10]
    owner, reader = f"ia_owner_{suffix}", f"ia_reader_{suffix}"
    database = make_url(postgres_url).database
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{owner}" LOGIN NOSUPERUSER NOBYPASSRLS')
        admin.execute(f'CREATE ROLE "{reader}" NOLOGIN NOSUPERUSER NOBYPASSRLS')
        admin.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{owner}"')
        admin.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{owner}"')
    owner_url = make_url(postgres_url).set(username=owner).render_as_string(hide_password=False)
    try:
        yield Roles(owner, reader, owner_url, postgres_url)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{owner}", "{reader}"')
            admin.execute(f'DROP ROLE "{owner}"')
            admin.execute(f'DROP ROLE "{reader}"')


def count_as(roles: Roles, role: str | None, table: str) -> int:
    with psycopg.connect(roles.admin_url) as conn:
        if role is not None:
            conn.execute(f'SET ROLE "{role}"')
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def rls_flags(roles: Roles, table: str) -> tuple[bool, bool]:
    with psycopg.connect(roles.admin_url) as conn:
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
            (table,),
        ).fetchone()
        assert row is not None
        return bool(row[0]), bool(row[1])


def test_a_role_without_bypassrls_reads_nothing_while_the_owner_reads_everything(
    roles: Roles,
) -> None:
    warehouse = Warehouse.from_url(roles.owner_url)
    try:
        ensure_bookkeeping(warehouse)
        ensure_tables(warehouse, [CUSTOMERS])
        upsert_batch(
            warehouse,
            [CUSTOMERS],
            MappedBatch(rows={"customers": [customer(1), customer(2)]}),
            connection="shop",
            entity="customers",
            run_id="r1",
            cursor="c1",
            save_cursor=True,
        )
        with psycopg.connect(roles.admin_url, autocommit=True) as admin:
            admin.execute(f'GRANT USAGE ON SCHEMA public, integration TO "{roles.reader}"')
            admin.execute(
                f'GRANT SELECT ON public.customers, integration.sync_state TO "{roles.reader}"'
            )

        assert count_as(roles, roles.reader, "public.customers") == 0
        assert count_as(roles, roles.reader, "integration.sync_state") == 0
        assert count_as(roles, roles.owner, "public.customers") == 2
        with warehouse.read() as conn:  # the sync's own role, through its own engine
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 2
        for table in (
            "public.customers",
            "integration.sync_state",
            "integration.landing_pages",
            "integration.quarantine",
        ):
            assert rls_flags(roles, table) == (True, False), table  # enabled, not forced
    finally:
        warehouse.dispose()


def test_an_existing_table_without_rls_gets_it_on_the_next_run(roles: Roles) -> None:
    warehouse = Warehouse.from_url(roles.owner_url)
    try:
        ensure_tables(warehouse, [CUSTOMERS])
        with psycopg.connect(roles.owner_url, autocommit=True) as owner:
            owner.execute("ALTER TABLE public.customers DISABLE ROW LEVEL SECURITY")
        assert rls_flags(roles, "public.customers") == (False, False)

        changes = ensure_tables(warehouse, [CUSTOMERS])

        assert not changes.changed
        assert rls_flags(roles, "public.customers") == (True, False)
    finally:
        warehouse.dispose()


def test_a_table_owned_by_another_role_is_left_alone_not_failed(roles: Roles) -> None:
    warehouse = Warehouse.from_url(roles.owner_url)
    try:
        ensure_tables(warehouse, [CUSTOMERS])
        with psycopg.connect(roles.admin_url, autocommit=True) as admin:
            admin.execute("ALTER TABLE public.customers OWNER TO postgres")
            admin.execute("ALTER TABLE public.customers DISABLE ROW LEVEL SECURITY")
            admin.execute(f'GRANT ALL ON public.customers TO "{roles.owner}"')

        ensure_tables(warehouse, [CUSTOMERS])  # no ALTER attempted: only the owner may

        assert rls_flags(roles, "public.customers") == (False, False)
    finally:
        warehouse.dispose()
