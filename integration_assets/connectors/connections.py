"""Connections: the accounts a deployment syncs, read from `connections.yaml`.

A connection names one account of one vendor (a Shopify shop, a Klaviyo account), where its
API lives, which environment variables hold its secrets, and how often each entity syncs.
The file holds env var *names* only; values are read at run time and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from integration_assets.connectors import apis_of, get_connector
from integration_assets.connectors.origin import describe_origin, is_loopback_host
from integration_assets.connectors.spec import ConnectorSpec
from integration_assets.retry_budget import DEFAULT_BUDGET

Cadence = Literal["realtime", "15m", "hourly", "daily", "manual"]
CONNECTIONS_ENV_VAR = "INTEGRATION_CONNECTIONS"
DEFAULT_CONNECTIONS_FILE = "connections.yaml"


class ConnectionsFileError(ValueError):
    """connections.yaml is missing, malformed or inconsistent with the connector specs."""


class MissingSecretError(RuntimeError):
    """An environment variable a connection needs is not set. The message names the variable."""


class RateLimitOverride(BaseModel):
    """A bigger (or smaller) budget than the vendor's default, in the unit of the API the
    connection speaks: requests for REST (Shopify Plus: 400 @ 20/s), cost points for
    Shopify GraphQL (Plus: restore 1000 points/s)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capacity: int = Field(gt=0)
    refill_per_second: float = Field(gt=0)


class Connection(BaseModel):
    """One configured account of one vendor.

    The incremental window: each sync asks for records changed since the saved cursor minus
    `lookback_seconds`, re-reading a little to catch records the vendor indexed late. The
    cursor rule that makes this safe: the saved cursor is the newest record timestamp the
    walk saw, but never later than the moment the walk began on the vendor's clock (the
    `Date` header of its first answer) less `clock_skew_seconds`. A record that changes while
    a long walk goes on, on a page already read, therefore changed after the saved cursor and
    is asked for again next time, however long the walk took compared to the lookback; and a
    record dated in the future (a Klaviyo event's `datetime` comes from the sender) cannot
    carry the cursor past now. `clock_skew_seconds` covers how far the vendor's `Date` and
    the times it writes into records may disagree (several servers, each with its clock).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    vendor: str
    base_url: str | None = None
    secrets: dict[str, str] = Field(default_factory=dict)
    entities: dict[str, Cadence]
    timeout_seconds: float = Field(default=DEFAULT_BUDGET.request_timeout_seconds, gt=0)
    lookback_seconds: int = Field(default=300, ge=0)
    clock_skew_seconds: int = Field(default=60, ge=0)
    bulk: Literal["auto", "never", "always"] = "auto"
    """When to read through the vendor's asynchronous export (Shopify bulk operations), for
    entities that have one: `auto` for a first sync (no cursor yet) and a full refresh, the
    paginated walk otherwise; `never` always pages; `always` exports every sync (an
    incremental one filtered by the cursor when the entity's export can be)."""
    rate_limit: RateLimitOverride | None = None
    allow_insecure_http: bool = False
    """Permit an `http://` base_url off loopback (credentials then cross the network in clear)."""
    api_version: str | None = None
    """Pin this connection to another API version than the connector's default (checked
    against the vendor's version format; `integration-assets doctor` reports its lifecycle)."""

    @field_validator("api_version", mode="before")
    @classmethod
    def _dates_are_versions(cls, value: object) -> object:
        """YAML reads an unquoted `2026-10-15` as a date; Klaviyo revisions look just so."""
        return value.isoformat() if isinstance(value, date) else value

    api: str | None = None
    """Which of the vendor's APIs to speak (Shopify: `graphql`, or the legacy `rest`); None
    means the vendor's default (see `connectors.DEFAULT_APIS`)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _https_off_loopback(self) -> Connection:
        """Plain HTTP would send the token in clear: only to this machine, unless opted in."""
        if self.base_url is None or not self.base_url.startswith("http://"):
            return self
        if self.allow_insecure_http or is_loopback_host(urlsplit(self.base_url).hostname or ""):
            return self
        raise ValueError(
            f"base_url {describe_origin(self.base_url)} uses plain http:// to a host that is not "
            "this machine, which would send the credentials unencrypted: use https://, or set "
            "`allow_insecure_http: true` on the connection if you really mean it"
        )

    @field_validator("secrets")
    @classmethod
    def _env_var_names(cls, value: dict[str, str]) -> dict[str, str]:
        for secret, env_var in value.items():
            if not env_var.replace("_", "").isalnum() or env_var.upper() != env_var:
                raise ValueError(
                    f"secret {secret!r} must name an environment variable (UPPER_SNAKE_CASE), "
                    "never hold the value itself"
                )
        return value

    def validate_against_connector(self) -> None:
        """Check vendor, API, entities and secrets against the vendor's spec."""
        apis = apis_of(self.vendor)
        if self.api is not None and apis and self.api not in apis:
            raise ValueError(
                f"connection {self.name!r}: {self.vendor} has no API {self.api!r} "
                f"(choose one of: {', '.join(apis)}; default {apis[0]})"
            )
        spec = self.connector
        for entity in self.entities:
            spec.entity(entity)
        missing = [s for s in spec.auth.secrets if s not in self.secrets]
        if missing:
            raise ValueError(
                f"connection {self.name!r} lacks secrets {missing} required by {self.vendor}"
            )
        if self.base_url is None and spec.default_base_url is None:
            raise ValueError(f"connection {self.name!r} needs a base_url for {self.vendor}")
        if self.api_version is not None:
            if spec.version_policy is None:
                raise ValueError(
                    f"connection {self.name!r}: {self.vendor} has no API versions to choose from"
                )
            try:
                spec.version_policy.check_format(self.api_version)
            except ValueError as exc:
                raise ValueError(f"connection {self.name!r}: api_version {exc}") from None
        if self.bulk == "always":
            without = [e for e in self.entities if spec.entity(e).export_query is None]
            if spec.export is None or without:
                raise ValueError(
                    f"connection {self.name!r} sets bulk: always, but {self.vendor} "
                    f"({spec.api_id}) has no asynchronous export for "
                    f"{', '.join(without or list(self.entities))}; use bulk: auto"
                )

    @property
    def effective_api_version(self) -> str | None:
        """The API version this connection speaks: its own `api_version`, else the spec's."""
        return self.api_version or self.connector.version

    @property
    def connector(self) -> ConnectorSpec:
        """The spec of the API this connection speaks (its `api`, else the vendor's default)."""
        return get_connector(self.vendor, self.api)

    @property
    def api_base_url(self) -> str:
        """Where this connection's API lives, including the vendor's API prefix."""
        return self.api_base_url_for(self.connector)

    def api_base_url_for(self, spec: ConnectorSpec) -> str:
        """Where `spec`'s API lives for this connection (its host, the spec's prefix)."""
        base = self.base_url or spec.default_base_url
        assert base is not None  # guaranteed by validate_against_connector
        return base.rstrip("/") + spec.versioned(spec.api_prefix, self.effective_api_version)

    def resolve_secrets(
        self, environ: dict[str, str] | None = None, *, only: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Read each secret (or those in `only`) from its environment variable; the error names
        the variable only. A sync asks `only` for its API credentials, so a secret another part
        needs (the console's `webhook_secret`) need not be set where syncs run."""
        env = os.environ if environ is None else environ
        wanted = None if only is None else set(only)
        values: dict[str, str] = {}
        for secret, env_var in self.secrets.items():
            if wanted is not None and secret not in wanted:
                continue
            value = env.get(env_var)
            if not value:
                raise MissingSecretError(
                    f"connection {self.name!r}: environment variable {env_var} "
                    f"(the {self.vendor} {secret}) is not set"
                )
            values[secret] = value
        return values


class ConnectionsFile(BaseModel):
    """The whole `connections.yaml`."""

    model_config = ConfigDict(extra="forbid")

    connections: list[Connection]

    @field_validator("connections")
    @classmethod
    def _unique_and_known(cls, value: list[Connection]) -> list[Connection]:
        names = [c.name for c in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate connection names: {duplicates}")
        for connection in value:
            connection.validate_against_connector()
        return value


def connections_path() -> Path:
    """`$INTEGRATION_CONNECTIONS` if set, else `connections.yaml` in the working directory."""
    return Path(os.environ.get(CONNECTIONS_ENV_VAR) or DEFAULT_CONNECTIONS_FILE)


def load_connections(path: Path | str | None = None) -> list[Connection]:
    """Parse and validate the connections file, with an error that names the file and field."""
    file = Path(path) if path is not None else connections_path()
    try:
        raw = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise ConnectionsFileError(
            f"connections file {file} not found (set {CONNECTIONS_ENV_VAR} to point elsewhere)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConnectionsFileError(f"{file} is not valid YAML: {exc}") from None
    try:
        return ConnectionsFile.model_validate(raw or {}).connections
    except ValidationError as exc:
        # Pydantic echoes offending input by default; a mistyped secret value must not be.
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise ConnectionsFileError(f"{file} is invalid:\n{problems}") from None
    except (KeyError, ValueError) as exc:
        raise ConnectionsFileError(f"{file} is invalid: {exc}") from None


def get_connection(name: str, path: Path | str | None = None) -> Connection:
    """The connection called `name`."""
    connections = load_connections(path)
    for connection in connections:
        if connection.name == name:
            return connection
    known = ", ".join(c.name for c in connections)
    raise ConnectionsFileError(
        f"no connection {name!r} in {path or connections_path()} (known: {known})"
    )
