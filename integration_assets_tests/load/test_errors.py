"""Database errors name what broke (table, column, constraint, SQLSTATE), never a row value.

Each test makes the database refuse a row that carries an email, on both backends, and looks
for the email in everything an error shows: its message, its `orig`, and every exception
chained to it (Dagster serializes the causes too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from integration_assets.load import Warehouse, upsert_batch
from integration_assets.schema import MappedBatch, RejectedRecord
from integration_assets_tests.load.samples import CUSTOMERS, customer

EMAIL = "ada.lovelace@example.com"


def shown(error: BaseException) -> Iterator[str]:
    """Every text an error displays: message, `orig`, and the displayed chain."""
    seen: BaseException | None = error
    while seen is not None:
        yield str(seen)
        yield repr(seen)
        yield str(getattr(seen, "orig", ""))
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


def load(warehouse: Warehouse, rows: list[dict], **extra: object) -> None:
    upsert_batch(
        warehouse,
        [CUSTOMERS],
        MappedBatch(rows={"customers": rows}, **extra),  # type: ignore[arg-type]
        connection="shop",
        entity="customers",
        run_id="r1",
        cursor="c",
        save_cursor=True,
    )


def refuse(warehouse: Warehouse, rows: list[dict], **extra: object) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        load(warehouse, rows, **extra)
    for displayed in shown(caught.value):
        assert EMAIL not in displayed
    return caught.value


def test_a_not_null_violation_names_table_and_column_not_the_row(customers_wh: Warehouse) -> None:
    rows = [customer(1, email=EMAIL, updated_at=None)]
    rejected = [RejectedRecord(record={"id": 9, "email": EMAIL}, reasons=("bad",))]

    error = refuse(customers_wh, rows, rejected=rejected)

    assert isinstance(error, IntegrityError)
    message = str(error)
    assert "customers" in message and "updated_at" in message
    if customers_wh.dialect == "postgresql":
        assert "SQLSTATE 23502" in message and "Failing row" not in message
        assert error.orig.sqlstate == "23502"  # type: ignore[union-attr]


def test_a_check_violation_names_the_constraint_not_the_row(customers_wh: Warehouse) -> None:
    with customers_wh.begin() as conn:
        if customers_wh.dialect == "postgresql":
            conn.execute(
                text("ALTER TABLE customers ADD CONSTRAINT no_emails CHECK (email NOT LIKE '%@%')")
            )
        else:  # SQLite cannot add a CHECK to a table; a trigger refuses the same rows
            conn.execute(
                text(
                    "CREATE TRIGGER no_emails BEFORE INSERT ON customers "
                    "WHEN NEW.email LIKE '%@%' BEGIN SELECT RAISE(ABORT, 'no_emails'); END"
                )
            )

    error = refuse(customers_wh, [customer(1, email=EMAIL)])

    assert isinstance(error, IntegrityError)
    message = str(error)
    assert "no_emails" in message and "customers" in message
    assert "parameters" not in message.lower() or "hidden" in message.lower()


def test_a_unique_violation_names_the_key_column_not_its_value(customers_wh: Warehouse) -> None:
    with customers_wh.begin() as conn:
        conn.execute(text("CREATE UNIQUE INDEX customers_email_key ON customers (email)"))

    error = refuse(customers_wh, [customer(1, email=EMAIL), customer(2, email=EMAIL)])

    assert isinstance(error, IntegrityError)
    message = str(error)
    assert "customers" in message
    if customers_wh.dialect == "postgresql":
        assert "customers_email_key" in message and "SQLSTATE 23505" in message
        assert "Key (" not in message
    else:
        assert "customers.email" in message


def test_a_value_the_column_type_refuses_is_not_quoted(customers_wh: Warehouse) -> None:
    if customers_wh.dialect == "sqlite":
        pytest.skip("SQLite stores any value in any column")

    error = refuse(customers_wh, [customer(1, total_spent=EMAIL)])

    assert isinstance(error, DataError)
    message = str(error)
    assert "invalid input syntax for type numeric: (value not shown)" in message
    assert "SQLSTATE 22P02" in message and "customers" in message


def test_the_engine_hides_statement_parameters(customers_wh: Warehouse) -> None:
    with pytest.raises(DBAPIError) as caught, customers_wh.begin() as conn:
        conn.execute(text("SELECT CAST(:value AS integer) FROM no_such_table"), {"value": EMAIL})

    assert all(EMAIL not in displayed for displayed in shown(caught.value))
