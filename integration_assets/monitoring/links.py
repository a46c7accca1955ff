"""Where a run is shown: the Dagster UI's run page.

The console's "sync now" talks to the webserver's GraphQL endpoint (`DAGSTER_GRAPHQL_URL`);
the UI lives at the same address without `/graphql`, unless `DAGSTER_UI_URL` says otherwise
(a proxy that serves the UI under another name). Runs launched in-process are recorded in
the same Dagster instance, so the same link shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

DEFAULT_GRAPHQL_URL = "http://127.0.0.1:3000/graphql"


def dagster_ui_url(environ: Mapping[str, str] | None = None) -> str:
    """The Dagster UI's base URL, without a trailing slash."""
    env = os.environ if environ is None else environ
    if env.get("DAGSTER_UI_URL"):
        return env["DAGSTER_UI_URL"].rstrip("/")
    graphql = env.get("DAGSTER_GRAPHQL_URL") or DEFAULT_GRAPHQL_URL
    return graphql.rstrip("/").removesuffix("/graphql")


def run_url(base: str, run_id: str) -> str:
    """The UI page of run `run_id`."""
    return f"{base}/runs/{quote(run_id, safe='')}"
