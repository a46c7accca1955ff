"""`integration-assets serve`: refuses what it cannot serve, and serves what it can."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from integration_assets.cli import main
from integration_assets_tests.console.helpers import SHOP_SECRET, shopify_delivery

CONNECTIONS_YAML = """
connections:
  - name: shop
    vendor: shopify
    base_url: http://127.0.0.1:1
    secrets: {access_token: SHOP_TOKEN, webhook_secret: SHOP_WEBHOOK_SECRET}
    entities: {orders: realtime}
"""


@pytest.fixture
def connections_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS_YAML)
    monkeypatch.setenv("INTEGRATION_CONNECTIONS", str(path))
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    return path


def test_serve_refuses_a_public_host_without_the_explicit_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--allow-non-loopback" in capsys.readouterr().err


def test_serve_refuses_to_start_when_a_webhook_secret_is_unset(
    connections_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SHOP_WEBHOOK_SECRET", raising=False)

    assert main(["serve", "--port", "0"]) == 2
    assert "SHOP_WEBHOOK_SECRET" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_accepts_a_signed_webhook_on_loopback(connections_file: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SHOP_WEBHOOK_SECRET": SHOP_SECRET}
    command = [sys.executable, "-m", "integration_assets.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        delivery = shopify_delivery({"id": 8}, "orders/create")
        url = f"http://127.0.0.1:{port}/webhooks/shopify/shop"
        with httpx.Client(timeout=10, transport=httpx.HTTPTransport(retries=20)) as client:
            answer = client.post(url, content=delivery.body, headers=delivery.headers)
        assert answer.status_code == 200
        assert answer.json() == {"status": "stored", "events": 1, "new": 1}
    finally:
        process.terminate()
        process.wait(timeout=10)
