"""Errors no retry can fix fail at once, as a `Failure` that forbids retries, naming the cause."""

from __future__ import annotations

import pytest
from dagster import Failure

from integration_assets.load.pg_session import WarehouseTimeoutConfigError
from integration_assets.orchestration.failures import fail_fast_on_permanent_errors
from integration_assets.sync.reconcile import ReconcileRefused


@pytest.mark.parametrize(
    "error",
    [
        ReconcileRefused("shopify/customers: 90 of 100 live rows are missing"),
        WarehouseTimeoutConfigError("WAREHOUSE_STATEMENT_TIMEOUT_SECONDS is not a number"),
    ],
)
def test_an_error_no_retry_can_fix_forbids_retries(error: Exception) -> None:
    with pytest.raises(Failure) as caught, fail_fast_on_permanent_errors():
        raise error
    assert caught.value.allow_retries is False
    assert caught.value.description == f"{type(error).__name__}: {error}"


def test_a_transient_error_is_left_to_the_retry_policy() -> None:
    with pytest.raises(ConnectionResetError), fail_fast_on_permanent_errors():
        raise ConnectionResetError("the warehouse went away")
