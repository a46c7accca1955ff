"""Stories of the asynchronous export client against the sandbox's Shopify bulk operations.

Everything is real: the client posts its control documents through the GraphQL transport
to the simulator over loopback HTTP, the simulator runs the bulk query in a thread and
serves the JSONL file at a signed URL, and the client downloads and reassembles it. The
runner's pace is held with `bulk.pause()` and awaited with `bulk.wait_for`, so no story
races the runner or sleeps on the clock.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection, RateLimitOverride
from integration_assets.extract import PageStream
from integration_assets.extract.errors import ExtractError
from integration_assets.extract.export import ExportResume, ExportStream, parse_resume_token
from integration_assets.extract.export_operation import (
    ExportDeadlineError,
    ExportError,
    ExportRefusedError,
    GraphQLAnswer,
)
from integration_assets.extract.graphql import GraphQLClient
from integration_assets.extract.page import Page
from integration_assets.extract.records import flatten_connections, records_from_body
from integration_assets.extract.settings import ExtractSettings
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.extract.loopback import FakeTime
from integration_assets_tests.sandbox.bulk_helpers import cancel, started

SPEC = get_connector("shopify", "graphql")
SIZES = {"customers": 2500, "orders": 400, "products": 60}
ROOMY = RateLimitOverride(capacity=1_000_000, refill_per_second=1_000_000.0)
"""Our cost budget never holds a story up: the sandbox's own bucket is off here."""
SETTINGS = ExtractSettings(
    export_poll_interval_seconds=0.02, backoff_base=0.0, backoff_cap=0.0, max_attempts=4
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=5, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture(autouse=True)
def behaving(sandbox: Sandbox) -> Iterator[None]:
    """Each story starts with no faults and the runner free, and leaves nothing running."""
    yield
    bulk = sandbox.shopify.bulk
    bulk.resume()
    sandbox.shopify.clear_faults()
    for operation in bulk.all():
        if operation.status.value in ("CREATED", "RUNNING"):
            bulk.cancel(operation.gid)
            bulk.wait_for(operation.gid, ["CANCELED", "COMPLETED", "FAILED"])


@pytest.fixture
def shopify(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Another client of the same shop (another app process, or a crashed sync's leftovers)."""
    headers = {"X-Shopify-Access-Token": sandbox.shopify.access_token}
    with httpx.Client(base_url=sandbox.shopify_url, headers=headers) as client:
        yield client


def _connection(sandbox: Sandbox) -> Connection:
    return Connection(
        name="shop",
        vendor="shopify",
        api="graphql",
        base_url=sandbox.shopify_url,
        secrets={"access_token": "IA_TEST_SHOP_TOKEN"},
        entities={"customers": "hourly", "orders": "hourly", "products": "daily"},
        rate_limit=ROOMY,
    )


class Exporting:
    """An `ExportStream` wired to the GraphQL transport of the sandbox's shop."""

    def __init__(self, sandbox: Sandbox, entity: str, **options: Any) -> None:
        connection = _connection(sandbox)
        settings = options.pop("settings", SETTINGS)
        secrets = {"access_token": sandbox.shopify.access_token}
        self.graphql = GraphQLClient(
            SPEC, connection, purpose=entity, settings=settings, secrets=secrets
        )
        self.calls: list[str] = []
        self.stream = ExportStream(
            SPEC,
            entity,
            connection,
            call=self._call,
            endpoint=self.graphql.endpoint,
            settings=settings,
            **options,
        )

    def _call(self, document: str, variables: dict[str, Any]) -> GraphQLAnswer:
        self.calls.append(document.split("(", 1)[0].split("{", 1)[0].strip())
        return GraphQLAnswer(self.graphql.execute(document, variables)["data"], {})

    def pages(self) -> list[Page]:
        try:
            return list(self.stream)
        finally:
            self.graphql.close()


def _records(pages: list[Page]) -> list[dict[str, Any]]:
    return [record for page in pages for record in page.records]


def _paginated(sandbox: Sandbox, entity: str) -> list[dict[str, Any]]:
    secrets = {"access_token": sandbox.shopify.access_token}
    stream = PageStream(SPEC, entity, _connection(sandbox), secrets=secrets, settings=SETTINGS)
    return [flatten_connections(record) for page in stream for record in page.records]


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed = {record["id"]: record for record in records}
    assert len(keyed) == len(records), "a record came twice"
    return keyed


def _ours(sandbox: Sandbox, stream: ExportStream, after: int = 0) -> list[Any]:
    """The sandbox's operations of this stream's query, numbered above `after`."""
    wanted = " ".join(stream.query.split())
    return [
        op
        for op in sandbox.shopify.bulk.all()
        if op.number > after and " ".join(op.query.split()) == wanted
    ]


def _last_operation(sandbox: Sandbox) -> int:
    return max((op.number for op in sandbox.shopify.bulk.all()), default=0)


def test_a_customers_export_holds_every_customer_as_the_paginated_walk_reads_it(
    sandbox: Sandbox,
) -> None:
    run = Exporting(sandbox, "customers")
    pages = run.pages()

    exported = _by_id(_records(pages))
    assert len(exported) == sandbox.shopify.count("customers") == SIZES["customers"]
    assert exported == _by_id(_paginated(sandbox, "customers"))
    # Page 1 names the operation; pages of at most 250 records follow; the last says so.
    assert pages[0].records == [] and pages[0].next_url == f"export:{run.stream.operation.id}#0:0"
    assert all(len(page.records) <= 250 for page in pages)
    assert [page.last for page in pages] == [False] * (len(pages) - 1) + [True]
    assert [page.number for page in pages] == list(range(1, len(pages) + 1))
    assert run.stream.walk_started_at is not None


@pytest.mark.parametrize(
    ("entity", "children"), [("orders", "lineItems"), ("products", "variants")]
)
def test_records_come_with_their_children_as_plain_lists_like_a_paginated_record(
    sandbox: Sandbox, entity: str, children: str
) -> None:
    pages = Exporting(sandbox, entity).pages()

    exported = _by_id(_records(pages))
    assert exported == _by_id(_paginated(sandbox, entity))
    assert len(exported) == SIZES[entity]
    assert all(isinstance(record[children], list) for record in exported.values())
    assert sum(len(record[children]) for record in exported.values()) > len(exported)


def test_a_landed_page_body_parses_back_to_the_same_records_and_keeps_no_signature(
    sandbox: Sandbox,
) -> None:
    pages = Exporting(sandbox, "products").pages()

    for page in pages:
        again = records_from_body(page.body, "data.products.nodes", connections=True)
        assert again == page.records
    data_page = pages[1]
    assert data_page.url.endswith("-final.jsonl")
    assert "?" not in data_page.url and "Signature" not in data_page.url


def test_a_download_cut_mid_file_goes_on_where_it_broke_with_no_record_twice(
    sandbox: Sandbox,
) -> None:
    sandbox.shopify.set_faults(bulk_download_cut={"after_bytes": 150_000, "mode": "once"})
    run = Exporting(sandbox, "customers")

    pages = run.pages()

    assert _by_id(_records(pages)) == _by_id(_paginated(sandbox, "customers"))
    assert run.stream.stats.retries == 1
    assert run.stream.stats.connection_errors == 1


def test_a_download_cut_every_time_gives_up_loudly_instead_of_ending_short(
    sandbox: Sandbox,
) -> None:
    sandbox.shopify.set_faults(bulk_download_cut={"after_bytes": 0, "mode": "always"})
    run = Exporting(sandbox, "customers")
    yielded: list[Page] = []

    with pytest.raises(ExtractError) as raised:
        for page in run.stream:
            yielded.append(page)

    assert "gave up downloading the export file after 4 attempts" in str(raised.value)
    assert "Signature" not in str(raised.value)
    assert not yielded[-1].last  # no page claims the walk is complete


def test_a_failed_operation_is_an_error_with_its_code_and_its_partial_file_is_not_read(
    sandbox: Sandbox,
) -> None:
    sandbox.shopify.set_faults(
        bulk_failure={"error_code": "INTERNAL_SERVER_ERROR", "after_objects": 300}
    )
    run = Exporting(sandbox, "customers")
    yielded: list[Page] = []

    with pytest.raises(ExportError) as raised:
        for page in run.stream:
            yielded.append(page)

    assert raised.value.error_code == "INTERNAL_SERVER_ERROR"
    message = str(raised.value)
    assert "ended FAILED with error code INTERNAL_SERVER_ERROR" in message
    assert "partial file, which is not loaded" in message
    assert [len(page.records) for page in yielded] == [0]  # only the marker page
    assert not [path for path in sandbox.shopify.stats().by_path if path.endswith("-partial.jsonl")]
    assert run.stream.operation is not None and run.stream.operation.partial_url  # it existed


def test_ctrl_c_while_the_export_runs_cancels_it_at_the_vendor(sandbox: Sandbox) -> None:
    sandbox.shopify.bulk.pause()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    run = Exporting(sandbox, "orders", sleep=interrupted)

    with pytest.raises(KeyboardInterrupt):
        run.pages()

    operation = run.stream.operation
    assert operation is not None
    assert sandbox.shopify.bulk.wait_for(operation.id, ["CANCELED"]).status.value == "CANCELED"
    assert run.calls[-1] == "mutation CancelExport"


def test_an_export_past_its_deadline_is_canceled_and_says_so(sandbox: Sandbox) -> None:
    sandbox.shopify.bulk.pause()
    time = FakeTime()
    settings = ExtractSettings(export_poll_interval_seconds=1.0, export_deadline_seconds=10.0)
    run = Exporting(sandbox, "orders", settings=settings, sleep=time.sleep, clock=time.clock)

    with pytest.raises(ExportDeadlineError) as raised:
        run.pages()

    operation_id = run.stream.operation.id
    assert sandbox.shopify.bulk.wait_for(operation_id, ["CANCELED"]).status.value == "CANCELED"
    assert "the export's deadline passed" in str(raised.value)
    assert sum(time.sleeps) <= 10.0


def test_a_consumer_that_stops_after_the_start_cancels_the_running_export(
    sandbox: Sandbox,
) -> None:
    sandbox.shopify.bulk.pause()
    run = Exporting(sandbox, "products")
    stream = iter(run.stream)
    marker = next(stream)

    run.stream.close()  # e.g. the step failed while landing the marker page

    operation_id = parse_resume_token(marker.next_url).operation_id
    assert sandbox.shopify.bulk.wait_for(operation_id, ["CANCELED"]).status.value == "CANCELED"


def test_a_start_refused_for_the_concurrency_limit_waits_then_runs(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    bulk = sandbox.shopify.bulk
    bulk.pause()
    before = _last_operation(sandbox)
    others = [started(shopify, "{ products { edges { node { id } } } }") for _ in range(5)]
    waits: list[float] = []

    def room_appears(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # another app's export ends while we wait
            cancel(shopify, others[0])
            bulk.wait_for(others[0], ["CANCELED"])
            bulk.resume()

    run = Exporting(sandbox, "customers", sleep=room_appears)
    pages = run.pages()

    assert run.calls.count("mutation StartExport") == 3  # refused, refused, accepted
    assert len(_ours(sandbox, run.stream, after=before)) == 1
    assert len(_records(pages)) == SIZES["customers"]


def test_a_running_export_of_the_same_query_is_adopted_not_started_twice(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    # A sync that crashed (no chance to cancel) left its export running.
    bulk = sandbox.shopify.bulk
    bulk.pause()
    before = _last_operation(sandbox)
    probe = Exporting(sandbox, "orders")
    left_running = started(shopify, probe.stream.query, group=True)
    bulk.resume()

    run = Exporting(sandbox, "orders")
    pages = run.pages()

    assert run.stream.operation.id == left_running
    assert "mutation StartExport" not in run.calls
    assert len(_ours(sandbox, run.stream, after=before)) == 1
    assert len(_records(pages)) == SIZES["orders"]


def test_a_retried_export_goes_on_from_the_last_landed_page_of_the_same_operation(
    sandbox: Sandbox,
) -> None:
    settings = ExtractSettings(export_poll_interval_seconds=0.02, export_page_records=100)
    first = Exporting(sandbox, "customers", settings=settings).pages()
    landed = first[:6]  # the first attempt landed the marker and five pages, then died
    resume = parse_resume_token(landed[-1].next_url)
    assert resume is not None and resume.offset > 0

    retry = Exporting(
        sandbox, "customers", settings=settings, resume=resume, first_page=len(landed) + 1
    )
    rest = retry.pages()

    assert "mutation StartExport" not in retry.calls
    assert [page.number for page in rest] == list(range(7, 7 + len(rest)))
    assert _records(landed) + _records(rest) == _records(first)


def test_a_resumed_read_whose_objects_do_not_add_up_to_the_vendors_count_fails(
    sandbox: Sandbox,
) -> None:
    settings = ExtractSettings(export_poll_interval_seconds=0.02, export_page_records=100)
    first = Exporting(sandbox, "customers", settings=settings).pages()
    resume = parse_resume_token(first[3].next_url)
    assert resume is not None and resume.objects == 300
    lost_count = ExportResume(resume.operation_id, resume.offset, objects=250)

    with pytest.raises(ExportError, match="it has 2450 objects, the vendor counted 2500"):
        Exporting(sandbox, "customers", settings=settings, resume=lost_count).pages()


def test_a_retry_whose_operation_was_canceled_starts_a_new_one_from_page_one(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    sandbox.shopify.bulk.pause()
    canceled = started(shopify, "{ customers { edges { node { id } } } }", group=True)
    cancel(shopify, canceled)
    sandbox.shopify.bulk.wait_for(canceled, ["CANCELED"])
    sandbox.shopify.bulk.resume()
    forgotten: list[str] = []

    run = Exporting(
        sandbox,
        "customers",
        resume=ExportResume(canceled, 0),
        first_page=2,
        on_restart=lambda: forgotten.append("landed pages"),
    )
    pages = run.pages()

    assert forgotten == ["landed pages"]
    assert run.stream.restarted
    assert run.stream.operation.id != canceled
    assert pages[0].number == 1 and pages[0].records == []
    assert len(_records(pages)) == SIZES["customers"]


def _peak_while_reading(
    sandbox: Sandbox, shopify: httpx.Client, since: datetime | None = None
) -> tuple[int, int]:
    """(peak traced bytes while downloading and reassembling a customers export, its size)."""
    query = Exporting(sandbox, "customers", since=since).stream.query
    operation_id = started(shopify, query, group=True)
    done = sandbox.shopify.bulk.wait_for(operation_id, ["COMPLETED"])
    assert done.file_size is not None
    settings = ExtractSettings(export_poll_interval_seconds=0.02, export_page_records=20)
    resume = ExportResume(operation_id, 0)
    # Read once untraced: the first download of a process imports and pools what it needs.
    Exporting(sandbox, "customers", settings=settings, resume=resume).pages()
    reading = Exporting(sandbox, "customers", settings=settings, resume=resume)
    records = 0
    tracemalloc.start()
    try:
        for page in reading.stream:
            records += len(page.records)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        reading.graphql.close()
    assert records == done.root_object_count
    return peak, done.file_size


def test_reading_an_export_holds_a_page_of_records_not_the_file(
    sandbox: Sandbox, shopify: httpx.Client
) -> None:
    stamps = sorted(record["updated_at"] for record in sandbox.shopify.records("customers"))
    recent = datetime.fromisoformat(stamps[len(stamps) * 4 // 5])

    small_peak, small_size = _peak_while_reading(sandbox, shopify, since=recent)
    large_peak, large_size = _peak_while_reading(sandbox, shopify)

    assert large_size > 4 * small_size > 0
    # Four times the file, not four times the memory: what grows is what was held.
    assert large_peak - small_peak < (large_size - small_size) / 4


def test_an_export_the_shop_denies_is_refused_for_good(sandbox: Sandbox) -> None:
    sandbox.shopify.set_faults(bulk_failure={"error_code": "ACCESS_DENIED", "after_objects": 0})

    with pytest.raises(ExportRefusedError) as raised:
        Exporting(sandbox, "orders").pages()

    assert raised.value.error_code == "ACCESS_DENIED"
    assert "lacks an access scope" in str(raised.value)


def test_a_query_the_vendor_will_not_run_in_bulk_is_refused_with_its_message(
    sandbox: Sandbox,
) -> None:
    entity = SPEC.entity("products").model_copy(
        update={"export_query": '{ node(id: "gid://shopify/Product/1") { id } }'}
    )
    spec = SPEC.model_copy(
        update={"entities": tuple(e if e.name != "products" else entity for e in SPEC.entities)}
    )
    connection = _connection(sandbox)
    secrets = {"access_token": sandbox.shopify.access_token}
    with GraphQLClient(spec, connection, purpose="products", secrets=secrets) as graphql:
        stream = ExportStream(
            spec,
            "products",
            connection,
            call=lambda document, variables: GraphQLAnswer(
                graphql.execute(document, variables)["data"], {}
            ),
            endpoint=graphql.endpoint,
            settings=SETTINGS,
        )
        with pytest.raises(ExportRefusedError) as raised:
            list(stream)

    assert "the vendor refused to start the export" in str(raised.value)
    assert stream.operation is None  # nothing was started, so nothing to cancel
