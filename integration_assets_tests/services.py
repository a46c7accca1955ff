"""What a test does when a service it needs (Postgres, Redis) is not running.

Locally it skips, so a laptop without Redis can still run the rest; under `CI=true` it fails,
so CI can never go green without having exercised the service.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def service_unavailable(problem: str) -> NoReturn:
    """Skip the test, or fail it under `CI=true`, explaining which service is missing."""
    if in_ci():
        pytest.fail(f"{problem} (CI=true: tests that need it must run, not skip)")
    pytest.skip(problem)


def xdist_worker_number() -> int:
    """0 outside pytest-xdist, else this worker's number (`gw3` -> 3)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def redis_test_url(base_db: int) -> str:
    """`TEST_REDIS_URL`, else the local Redis at database `base_db`, one database further per
    pytest-xdist worker (wrapping within Redis's default 16), so tests that use fixed keys
    do not share them with a test running at the same time in another worker."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        return configured
    return f"redis://127.0.0.1:6379/{(base_db + xdist_worker_number()) % 16}"
