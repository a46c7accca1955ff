"""Runs of one shop share its rate budget through Redis (`REDIS_URL`), as runs in separate
processes do in production: what one run spent, the next run waits for. Real Redis at
127.0.0.1:6379 (override with `TEST_REDIS_URL`); the shop's budget is made tiny (one request
per 10 s) so that one request is enough to show it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from integration_assets.extract.rate_limit import DEFAULT_REDIS_PREFIX, forget_local_buckets
from integration_assets.sandbox import Sandbox
from integration_assets_tests.orchestration.harness import SHOP, Deployment, deploy
from integration_assets_tests.services import redis_test_url

REDIS_URL = redis_test_url(9)  # a database per xdist worker: BUCKET is a fixed key
BUCKET = f"{DEFAULT_REDIS_PREFIX}:shopify:{SHOP}"
TINY_BUDGET = "    rate_limit: {capacity: 2, refill_per_second: 0.1}\n"


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    client.delete(BUCKET)
    yield client
    client.delete(BUCKET)


def tiny_budget_deployment(
    tmp_path: Path, sandbox: Sandbox, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    deployment = deploy(tmp_path, sandbox, sqlite_url, monkeypatch)
    text = deployment.connections_path.read_text()
    marker = "    timeout_seconds: 1.0\n"
    deployment.connections_path.write_text(text.replace(marker, marker + TINY_BUDGET, 1))
    return deployment


def wait_of(deployment: Deployment) -> float:
    """Seconds the products sync of the shop waited for its rate budget."""
    result = deployment.sync("shopify", "products")
    return float(
        deployment.materialization(result, "shopify", "products")["rate_limit_wait_seconds"]
    )


def test_a_run_waits_for_the_budget_an_earlier_run_spent(
    tmp_path: Path,
    sandbox: Sandbox,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    shared_redis: redis.Redis,
) -> None:
    deployment = tiny_budget_deployment(tmp_path, sandbox, sqlite_url, monkeypatch)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)

    assert wait_of(deployment) == 0.0  # one page: the first request of an empty bucket
    assert shared_redis.exists(BUCKET)
    forget_local_buckets()  # the next run starts as a new process would

    assert wait_of(deployment) > 0.0


def test_without_redis_a_new_process_starts_with_a_full_budget(
    tmp_path: Path, sandbox: Sandbox, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = tiny_budget_deployment(tmp_path, sandbox, sqlite_url, monkeypatch)

    assert wait_of(deployment) == 0.0
    forget_local_buckets()

    assert wait_of(deployment) == 0.0
