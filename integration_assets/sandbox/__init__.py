"""Local simulators of the vendors' public APIs: a faithful stranger for the demo and the tests.

Each simulator speaks one vendor's real wire protocol over real HTTP on 127.0.0.1 (paths,
headers, auth, pagination, filters, rate-limit headers and 429s, error bodies), so the extract
client cannot tell it from the vendor. Data is generated lazily and deterministically from a
seed: record *i* is rebuilt from (seed, i, version) when asked for, so a million records cost
no memory and any page costs O(page size + log n).

Running them
------------
    from integration_assets.sandbox import run_sandbox

    with run_sandbox(seed=7, sizes={"customers": 300, "orders": 120, "products": 40,
                                    "profiles": 250, "events": 400}, rate_limits=False) as sb:
        sb.shopify_url        # "http://127.0.0.1:<port>"  (Shopify Admin REST 2024-10 and
                              #  GraphQL Admin 2026-10 at POST /admin/api/2026-10/graphql.json)
        sb.klaviyo_url        # "http://127.0.0.1:<port>"  (Klaviyo API revision 2024-10-15)
        sb.shopify.access_token   # expected X-Shopify-Access-Token ("shpat_demo_token")
        sb.klaviyo.api_key        # expected Klaviyo-API-Key ("pk_demo_key")

`run_sandbox(seed=7, sizes=None, rate_limits=True, shopify_token="shpat_demo_token",
klaviyo_key="pk_demo_key", host="127.0.0.1", shopify_port=0, klaviyo_port=0, process=False)`
yields a `Sandbox(shopify, klaviyo, shopify_url, klaviyo_url)`; port 0 picks a free port. The
servers run in daemon threads; `process=True` runs them in a child process instead (their own
interpreter lock and core, pages rendered ahead of the client) and hands back
`RemoteSimulator` controls with the same methods: use it for throughput benchmarks.
`serve_forever(host="127.0.0.1", shopify_port=8701, klaviyo_port=8702, seed=7, sizes=None,
rate_limits=True, shopify_token=…, klaviyo_key=…)` serves both until Ctrl-C (the CLI's
`integration-assets sandbox`). Only loopback addresses are accepted. A simulator can also be
built alone (`ShopifySimulator(seed, sizes, rate_limits, access_token, shop, timezone)`,
`KlaviyoSimulator(seed, sizes, rate_limits, api_key, limits={"profiles": (75, 700)})`) and
served with `SimulatorServer(simulator, port=0).start()` / `.stop()`, or mounted as the ASGI
app `simulator.app`.

Default sizes: customers 1000, orders 2000, products 200, profiles 1000, events 5000.

The remote control (both simulators)
------------------------------------
    sim.advance(seconds=3600, updated_fraction=0.01, created=0, deleted=0) -> AdvanceReport
        Moves the simulator's clock (starts at 2024-10-01T12:00:00Z) and changes data: a
        fraction of live records gets a new version (new updated_at inside the elapsed
        interval, some fields changed), `created` records get the next ids, `deleted` vanish
        from lists and counts (no tombstones). Every vendor answer carries an HTTP `Date` on
        this clock, as a vendor's servers stamp theirs with their own. `created`/`deleted` are an int for every entity
        or a mapping such as {"events": 500}. Klaviyo events are append-only: only created.
    klaviyo.send_event(at) -> int           an event arriving now that its sender dated `at`
        (epoch seconds, future or past): `datetime`/`timestamp` and the time filters use `at`
        (in-process sandboxes only).
    sim.records(entity) -> Iterator[dict]   every current record in id order, exactly as the
        API serves it, children nested; faults never apply (this is the truth).
    sim.count(entity) -> int                 live records.
    sim.set_faults(**switches) -> FaultSettings; sim.clear_faults(); sim.fault_settings
    sim.stats() -> RequestStats              .total, .by_path, .by_status, .requests (each
        LoggedRequest(method, path, params, status)), .count(path=None, status=None) where
        path matches exactly or as a suffix ("customers.json").
    sim.reset_stats(); sim.reset()           (reset = initial data, clock, faults, limits, log)
    sim.vendor_id(entity, index)             the vendor's id of record `index`.
    sim.store(entity)                        the bookkeeping (indices, versions, deletions).

Fault switches (`FaultSettings`; deterministic from the fault seed, numbering restarts when
the switches change; a failed or stalled request never consumes data, because pages are
keyed by cursor):
    error_rate (0-1) with error_statuses (default 500, 502, 503; 502 comes as an HTML page),
    timeout_rate (0-1) with timeout_seconds (the answer comes after an asyncio.sleep),
    malformed_page={"entity": "customers", "page": 2, "mode": "once"|"always"} (that page
        number of a walk is served as truncated JSON with status 200),
    duplicate_across_pages (the last record of a page comes again first on the next page),
    type_drift (0-1, fraction of records: Shopify customers' verified_email becomes "yes"/"no",
        orders' total_price a number, variants' price a number; Klaviyo profiles'
        location.latitude a string, events' timestamp a string),
    rate_limits (Shopify leaky bucket 40 deep draining 2/s; Shopify GraphQL cost bucket
        2000 points restoring 100/s, `ShopifySimulator(graphql_limits=CostLimits(…))`;
        Klaviyo burst/steady windows),
    graphql_error_rate (0-1: Shopify GraphQL answers 200 with data null and an
        INTERNAL_SERVER_ERROR), graphql_throttled_rate (0-1: THROTTLED whatever the bucket
        holds), deprecated_reason (a URL: every Shopify answer, REST and GraphQL, carries
        `X-Shopify-API-Deprecated-Reason` with it),
    bulk_failure={"error_code": "INTERNAL_SERVER_ERROR"|"TIMEOUT"|"ACCESS_DENIED",
        "after_objects": 100} (Shopify bulk queries started meanwhile end FAILED with that
        errorCode after that many lines, which `partialDataUrl` serves),
    bulk_download_cut={"after_bytes": 1024, "mode": "once"|"always"} (bulk result downloads
        drop the connection after that many bytes of a declared Content-Length).

Shopify GraphQL (`shopify.graphql`) is a second view of the same records as REST: same ids
(as global ids), instants, amounts, states (as enums) and tags (as lists). Connections page the
store by signed (sort value, id) cursors; `query:` takes Shopify's search syntax
(created_at, updated_at, id, orders' status); every answer has `extensions.cost`. Other
features add schema with `simulator.graphql.extend(SchemaExtension(…))` and run documents with
`shopify.graphql.execute(simulator, document, variables, unbounded=True)`.

Shopify bulk query operations (`shopify.bulk`): `bulkOperationRunQuery` (up to five running
per shop), `bulkOperation(id:)`, `bulkOperations`, `currentBulkOperation`,
`bulkOperationCancel`; each runs in a thread over a snapshot of the shop taken at its start
and streams JSONL (`__parentId` child lines) to a temporary file, downloadable without a
token at a signed `url` that expires seven simulated days after the end. Tests hold and
release runners with `shopify.bulk.pause(after_objects=0)` / `.resume()`, pace them with
`.objects_per_second`, and await them with `.wait_for(id, ["COMPLETED"])`; over HTTP,
`GET|POST /_sandbox/bulk`.

HTTP controls on each simulator (not logged, not limited, not faulted):
    GET /_sandbox/info, GET /_sandbox/stats[?log=0], POST /_sandbox/reset-stats,
    GET|POST|DELETE /_sandbox/faults (POST body: the switches as JSON),
    POST /_sandbox/advance (body: the advance() arguments as JSON), POST /_sandbox/reset,
    GET|POST /_sandbox/bulk (Shopify: bulk operations, runner pause and pace).

The vendors' behaviour, including their traps, is described in `shopify.app` and
`klaviyo.app`.
"""

from integration_assets.sandbox.faults import FaultSettings, MalformedPage
from integration_assets.sandbox.klaviyo import DEMO_API_KEY, KlaviyoSimulator
from integration_assets.sandbox.remote import RemoteSimulator
from integration_assets.sandbox.requestlog import LoggedRequest, RequestStats
from integration_assets.sandbox.server import (
    DEFAULT_KLAVIYO_PORT,
    DEFAULT_SHOPIFY_PORT,
    Sandbox,
    SimulatorServer,
    build_simulators,
    run_sandbox,
    serve_forever,
)
from integration_assets.sandbox.shopify import DEMO_ACCESS_TOKEN, ShopifySimulator
from integration_assets.sandbox.simulator import AdvanceReport, Simulator

__all__ = [
    "DEFAULT_KLAVIYO_PORT",
    "DEFAULT_SHOPIFY_PORT",
    "DEMO_ACCESS_TOKEN",
    "DEMO_API_KEY",
    "AdvanceReport",
    "FaultSettings",
    "KlaviyoSimulator",
    "LoggedRequest",
    "MalformedPage",
    "RemoteSimulator",
    "RequestStats",
    "Sandbox",
    "ShopifySimulator",
    "Simulator",
    "SimulatorServer",
    "build_simulators",
    "run_sandbox",
    "serve_forever",
]
