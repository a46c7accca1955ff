"""Accepted webhooks per second: a burst from another process into the console on loopback.

The console (`integration_assets.console`, uvicorn, one process) stores into a real
warehouse; a separate sender process pre-signs every delivery (Shopify's scheme: base64
HMAC-SHA256 of the raw body), then fires them all with a bounded number in flight and
times from the first request to the last answer. Afterwards the inbox is counted: every
delivery must have been answered 200 and stored exactly once (target: > 1,000/s, none lost).

    .venv/bin/python bench/webhook_accept.py [count] [concurrency] [backend]
    # defaults: 5000 32 both; backend is sqlite, postgres or both
    BENCH_POSTGRES_URL=postgresql://…  (default: postgresql://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psycopg

from integration_assets.connectors.connections import Connection
from integration_assets.console import build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.load.inbox import inbox_depth
from integration_assets.load.warehouse import Warehouse

TARGET_PER_SECOND = 1000
SECRET = "bench-shopify-client-secret"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONNECTION = Connection(
    name="bench-shop",
    vendor="shopify",
    base_url="http://127.0.0.1:1",
    secrets={"access_token": "BENCH_TOKEN", "webhook_secret": "BENCH_WEBHOOK_SECRET"},
    entities={"orders": "realtime"},
)


def _signed(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": n, "name": f"#{1000 + n}", "total_price": "19.99"}).encode()
    mac = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": mac,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
    }
    return body, headers


async def _connection_worker(
    host: str,
    port: int,
    path: str,
    jobs: list[tuple[bytes, dict[str, str]]],
    statuses: dict[int, int],
) -> None:
    """One keep-alive HTTP/1.1 connection sending requests one after another.

    A few lines of asyncio instead of an HTTP client library: the benchmark measures the
    console, and a general-purpose client costs more CPU per request than the console does.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while jobs:
            body, headers = jobs.pop()
            lines = [
                f"POST {path} HTTP/1.1",
                f"Host: {host}:{port}",
                f"Content-Length: {len(body)}",
            ]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _fire(url: str, count: int, concurrency: int) -> tuple[float, dict[int, int]]:
    split = urlsplit(url)
    assert split.hostname is not None and split.port is not None
    jobs = [_signed(n) for n in range(count)]
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection_worker(split.hostname, split.port, split.path, jobs, statuses)
            for _ in range(concurrency)
        )
    )
    return time.perf_counter() - started, statuses


def _sender(url: str, count: int, concurrency: int, results: multiprocessing.Queue) -> None:
    results.put(asyncio.run(_fire(url, count, concurrency)))


def run(warehouse_url: str, count: int, concurrency: int) -> tuple[float, int]:
    """(accepted per second, rows stored) for one backend."""
    warehouse = Warehouse.from_url(warehouse_url)
    app = build_app(warehouse, [CONNECTION], environ={"BENCH_WEBHOOK_SECRET": SECRET})
    with ConsoleServer(app) as server:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        url = f"{server.url}/webhooks/shopify/{CONNECTION.name}"
        sender = context.Process(target=_sender, args=(url, count, concurrency, results))
        sender.start()
        elapsed, statuses = results.get()
        sender.join()
    stored = sum(inbox_depth(warehouse).values())
    warehouse.dispose()
    if statuses != {200: count}:
        raise SystemExit(f"not every delivery was accepted: {statuses}")
    return count / elapsed, stored


def _postgres_database() -> tuple[str, str]:
    name = f"bench_webhooks_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, f"{ADMIN_URL.rpartition('/')[0]}/{name}"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    backend = sys.argv[3] if len(sys.argv) > 3 else "both"
    failed = False
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            rate, stored = run(f"sqlite:///{directory}/bench.db", count, concurrency)
        print(f"sqlite:   {rate:8.0f} accepted webhooks/s, {stored}/{count} stored")
        failed |= stored != count or rate < TARGET_PER_SECOND
    if backend in ("postgres", "both"):
        name, url = _postgres_database()
        try:
            rate, stored = run(url, count, concurrency)
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"postgres: {rate:8.0f} accepted webhooks/s, {stored}/{count} stored")
        failed |= stored != count or rate < TARGET_PER_SECOND
    print(f"target: > {TARGET_PER_SECOND}/s with none lost: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
