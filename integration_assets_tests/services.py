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
