"""The Klaviyo connector on revision 2026-10-15, against the simulator over real HTTP.

What changed since 2024-10-15 that a sync can see: events come 1,000 a page because Get Events
takes `page[size]` since 2026-01-15, and a revision that has retired fails with an error naming
it instead of being answered silently as another revision.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from integration_assets.connectors import ConnectorSpec, get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.extract import ExtractError, PageStream
from integration_assets.sandbox import Sandbox, run_sandbox

SIZES = {"customers": 1, "orders": 1, "products": 1, "profiles": 30, "events": 2500}
KLAVIYO = get_connector("klaviyo")
OPT_OUT = "X-Klaviyo-Revision-Fall-Forward-Opt-Out"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=3, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.klaviyo.reset()
    sandbox.klaviyo.reset_stats()
    return sandbox


def stream(sb: Sandbox, entity: str, spec: ConnectorSpec = KLAVIYO) -> PageStream:
    connection = Connection(
        name="klaviyo-revision",
        vendor="klaviyo",
        base_url=sb.klaviyo_url,
        secrets={"api_key": "SANDBOX_KLAVIYO_KEY"},
        entities={entity: "hourly"},
    )
    return PageStream(
        spec,
        entity,
        connection,
        secrets={"api_key": sb.klaviyo.api_key},
        sleep=lambda seconds: None,
        rng=random.Random(1),
    )


def pinned_to(revision: str, *, opt_out: bool) -> ConnectorSpec:
    headers = {name: value for name, value in KLAVIYO.headers.items() if name != OPT_OUT}
    headers["revision"] = revision
    if opt_out:
        headers[OPT_OUT] = "1"
    return KLAVIYO.model_copy(update={"headers": headers})


def test_events_are_read_1000_a_page(sb: Sandbox) -> None:
    pages = [len(page.records) for page in stream(sb, "events")]

    assert pages == [1000, 1000, 500]
    first = sb.klaviyo.stats().requests[0]
    assert (first.path, first.params["page[size]"]) == ("/api/events/", "1000")


def test_a_connector_pinned_to_a_retired_revision_fails_with_an_error_naming_it(
    sb: Sandbox,
) -> None:
    with pytest.raises(ExtractError) as raised:
        list(stream(sb, "profiles", pinned_to("2024-10-15", opt_out=True)))

    error = raised.value
    assert (error.status, error.attempts) == (410, 1)
    assert "request refused" in str(error)
    assert "HTTP 410: gone: Revision 2024-10-15 was retired on 2026-10-15" in str(error)
    assert sb.klaviyo.api_key not in str(error)
    assert sb.klaviyo.stats().count(status=410) == 1  # not retried: it cannot succeed


def test_without_the_opt_out_a_retired_revision_is_silently_served_as_another(
    sb: Sandbox,
) -> None:
    # Why the connector sends the opt-out header: here 2024-10-15 falls forward to 2025-01-15,
    # which ignores page[size] for events, and the sync goes on as if nothing had happened.
    pages = [
        len(page.records) for page in stream(sb, "events", pinned_to("2024-10-15", opt_out=False))
    ]

    assert pages == [200] * 12 + [100]
