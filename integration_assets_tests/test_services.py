"""A missing Redis skips its tests locally but fails them under `CI=true`, like Postgres."""

from __future__ import annotations

import os
import subprocess
import sys

from integration_assets_tests.orchestration.harness import REPO

REDIS_TEST = (
    "integration_assets_tests/extract/test_rate_limit.py"
    "::test_redis_bucket_is_shared_by_two_limiter_instances"
)


def _run_redis_test(ci: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CI": ci,
        # Port 1: nothing listens there, so the test sees Redis as missing.
        "TEST_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", REDIS_TEST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_redis_fails_the_redis_tests_under_ci() -> None:
    result = _run_redis_test("true")

    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout or "1 failed" in result.stdout, result.stdout
    assert "Redis at redis://127.0.0.1:1/0 is unreachable" in result.stdout
    assert "CI=true" in result.stdout


def test_missing_redis_skips_the_redis_tests_locally() -> None:
    result = _run_redis_test("")

    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout, result.stdout
