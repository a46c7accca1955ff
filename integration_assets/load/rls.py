"""Row level security on every table the project creates (Postgres only).

Supabase serves every table of the `public` schema through its REST API to anyone holding the
project's public `anon` key, unless row level security is on. The synced tables hold customer
data, so each one gets `ENABLE ROW LEVEL SECURITY` and no policy: roles without BYPASSRLS
(`anon`, `authenticated`) read nothing, while the table's owner (the role that syncs) and
BYPASSRLS roles (`service_role`, `postgres` on Supabase) read and write as before. RLS is not
FORCEd, which would bind the owner too. An app that should read through the REST API gets a
policy from the user, e.g. `CREATE POLICY read_all ON public.shopify_customers FOR SELECT TO
authenticated USING (true);`.

`ALTER TABLE` takes an ACCESS EXCLUSIVE lock, so the flag is read first and only tables
without it are altered: a routine run locks nothing. A table someone else owns is left alone
with a warning (only its owner may change it, and it is theirs to secure).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, Table, text

logger = logging.getLogger(__name__)


def enable_row_level_security(connection: Connection, tables: Iterable[Table]) -> list[str]:
    """Turn RLS on for the `tables` that lack it; returns the names of those changed.

    A no-op on SQLite. Runs in `connection`'s transaction (the caller's DDL lock).
    """
    if connection.dialect.name != "postgresql":
        return []
    preparer = connection.dialect.identifier_preparer
    changed: list[str] = []
    for table in tables:
        qualified = preparer.format_table(table)
        row = connection.execute(
            text(
                "SELECT c.relrowsecurity, pg_has_role(c.relowner, 'USAGE') FROM pg_class c "
                "WHERE c.oid = to_regclass(:table)"
            ),
            {"table": qualified},
        ).one_or_none()
        if row is None or row[0]:
            continue
        if not row[1]:
            logger.warning(
                "table %s has row level security off and belongs to another role; "
                "its owner should run ALTER TABLE %s ENABLE ROW LEVEL SECURITY",
                qualified,
                qualified,
            )
            continue
        connection.execute(text(f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY"))
        changed.append(table.fullname)
    return changed
