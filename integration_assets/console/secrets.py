"""Which connections take webhooks, and their secrets, read once from the environment.

A connection takes webhooks when `connections.yaml` names an environment variable for its
`webhook_secret` (`secrets: {webhook_secret: SHOP_WEBHOOK_SECRET}`); the secret is optional
until then. A connection that names one whose variable is unset stops the console at start,
with an error naming the variable: serving would answer every delivery with an error and
the vendor would end up dropping the subscription.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.connectors.webhooks import WebhookSpec
from integration_assets.console.settings import ConsoleConfigError

WEBHOOK_SECRET = "webhook_secret"


@dataclass(frozen=True)
class WebhookReceiver:
    """One connection ready to receive: its vendor's webhook spec and its secret."""

    connection: str
    vendor: str
    spec: WebhookSpec
    secret: bytes = field(repr=False)
    shop_domain: str | None = None
    """The account host deliveries must name (see `WebhookSpec.shop_domain_header`)."""


def _shop_domain(spec: WebhookSpec, connection: Connection) -> str | None:
    host = urlsplit(connection.base_url or "").hostname
    suffix = spec.shop_domain_suffix
    if host and suffix and spec.shop_domain_header and host.endswith(suffix):
        return host
    return None


def webhook_receivers(
    connections: Sequence[Connection], environ: Mapping[str, str] | None = None
) -> dict[str, WebhookReceiver]:
    """Receivers by connection name, for the connections that name a webhook secret."""
    env = os.environ if environ is None else environ
    receivers: dict[str, WebhookReceiver] = {}
    for connection in connections:
        env_var = connection.secrets.get(WEBHOOK_SECRET)
        if env_var is None:
            continue
        spec = get_connector(connection.vendor).webhooks
        if spec is None:
            raise ConsoleConfigError(
                f"connection {connection.name!r} names a {WEBHOOK_SECRET} but "
                f"{connection.vendor} webhooks are not supported"
            )
        value = env.get(env_var)
        if not value:
            raise ConsoleConfigError(
                f"connection {connection.name!r}: environment variable {env_var} "
                f"(the {connection.vendor} {WEBHOOK_SECRET}) is not set"
            )
        receivers[connection.name] = WebhookReceiver(
            connection.name, connection.vendor, spec, value.encode(), _shop_domain(spec, connection)
        )
    return receivers
