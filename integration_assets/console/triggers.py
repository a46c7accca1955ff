""" "Sync now": launch a real Dagster run of one connection's partition, without blocking.

Two ways, chosen when the console starts (`integration-assets serve --trigger`):

- `graphql` (the default when `DAGSTER_GRAPHQL_URL` is set): ask the Dagster webserver to
  launch the vendor's `<vendor>_sync` job for the connection's partition, every entity of
  the connection selected, through its GraphQL API (`DagsterGraphQLClient`). The run goes
  through the instance's run queue and launcher like any run launched from the UI, tagged
  like scheduled runs so one connection never runs twice at once. The console waits only
  for the launch (a few hundred ms), in a worker thread.
- `in-process` (the default otherwise): run the sync in a background thread of the console
  with the CLI's sync function (`cli.materialize`), one Dagster run in the same instance
  (`$DAGSTER_HOME`), so it is in the UI's run history too. The page is answered at once; a
  second click while that connection's sync runs is refused rather than queued.

Either way the outcome shows on the status page: `running` while it runs, then the result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from integration_assets.connectors.connections import Connection

logger = logging.getLogger(__name__)

TRIGGER_TAG = "integration/trigger"


class LaunchRefused(Exception):
    """The sync was not launched; the message says why and is shown to the person."""


class Launcher(Protocol):
    """Launches a sync of every entity of a connection; returns a sentence for the page."""

    mode: str

    def launch(self, connection: Connection) -> str: ...


class InProcessLauncher:
    """Runs `sync(connection)` in a daemon thread; one at a time per connection."""

    mode = "in this console's process"

    def __init__(self, sync: Callable[[Connection], Any] | None = None) -> None:
        self._sync = sync or materialize_connection
        self._busy: set[str] = set()
        self._guard = threading.Lock()

    def launch(self, connection: Connection) -> str:
        with self._guard:
            if connection.name in self._busy:
                raise LaunchRefused(f"a sync of {connection.name} started here is still running")
            self._busy.add(connection.name)
        thread = threading.Thread(
            target=self._run, args=(connection,), name=f"sync-now-{connection.name}", daemon=True
        )
        thread.start()
        return f"Sync of {connection.name} started ({', '.join(connection.entities)})."

    def busy(self) -> set[str]:
        with self._guard:
            return set(self._busy)

    def _run(self, connection: Connection) -> None:
        try:
            self._sync(connection)
        except Exception:  # its state says failed already when the sync itself failed
            logger.exception("sync now of %s failed to run", connection.name)
        finally:
            with self._guard:
                self._busy.discard(connection.name)


def materialize_connection(connection: Connection) -> bool:
    """Every entity of `connection` in one Dagster run of this process; True on success."""
    from dagster import DagsterInstance

    from integration_assets.cli import _ensure_dagster_home, materialize
    from integration_assets.orchestration.definitions_factory import build_definitions

    _ensure_dagster_home()
    job = build_definitions().resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        result = materialize(
            instance,
            job,
            connection.vendor,
            list(connection.entities),
            connection.name,
            trigger="console",
        )
    return bool(result.success)


_ADD_PARTITION = """
mutation AddPartition($name: String!, $key: String!, $repo: RepositorySelector!) {
  addDynamicPartition(partitionsDefName: $name, partitionKey: $key, repositorySelector: $repo) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


class GraphQLLauncher:
    """Launches `<vendor>_sync` for the connection's partition through the webserver."""

    mode = "on the Dagster webserver"

    def __init__(self, url: str, timeout_seconds: int = 15) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"DAGSTER_GRAPHQL_URL must be an http(s) URL, got {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port
        self._https = parts.scheme == "https"
        self._prefix = parts.path.rstrip("/").removesuffix("/graphql")
        self._timeout = timeout_seconds

    def _client(self) -> Any:
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient(
            self._host,
            port_number=self._port,
            use_https=self._https,
            timeout=self._timeout,
            path_prefix=self._prefix,
        )

    def _why(self, exc: Exception) -> str:
        """One line: unreachable, or the client's first line (no such job, bad config...).

        The client's full text quotes the query and its variables: nothing secret, but long.
        """
        from gql.transport.exceptions import TransportConnectionFailed
        from requests.exceptions import ConnectionError as RequestsConnectionError

        if isinstance(exc.__cause__, TransportConnectionFailed | RequestsConnectionError):
            return f"the webserver at {self.url} is unreachable"
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__

    def launch(self, connection: Connection) -> str:
        from dagster import AssetKey
        from dagster_graphql import DagsterGraphQLClientError

        from integration_assets.orchestration.partitions import connection_partitions
        from integration_assets.orchestration.schedules import run_tags

        job = f"{connection.vendor}_sync"
        entities = list(connection.entities)
        try:
            client = self._client()
            (where, *_) = client._get_repo_locations_and_names_with_pipeline(job) or [None]
            if where is None:
                raise LaunchRefused(f"the Dagster webserver at {self.url} has no job {job}")
            repo = {
                "repositoryLocationName": where.repository_location_name,
                "repositoryName": where.repository_name,
            }
            client._execute(
                _ADD_PARTITION,
                {
                    "name": connection_partitions(connection.vendor).name,
                    "key": connection.name,
                    "repo": repo,
                },
            )  # already there: a DuplicateDynamicPartitionError answer, which is fine
            run_id = client.submit_job_execution(
                job,
                repository_location_name=where.repository_location_name,
                repository_name=where.repository_name,
                tags={
                    "dagster/partition": connection.name,
                    **run_tags(connection.name, entities),
                    TRIGGER_TAG: "console",
                },
                asset_selection=[AssetKey([connection.vendor, entity]) for entity in entities],
            )
        except DagsterGraphQLClientError as exc:
            raise LaunchRefused(f"Dagster did not launch the sync: {self._why(exc)}") from None
        return f"Run {run_id} of {connection.name} launched on Dagster ({', '.join(entities)})."
