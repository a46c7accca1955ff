"""The GraphQL paths of `sync_throughput.py`: paginated GraphQL and bulk operations.

Why this exists: a Shopify connection now reads through the GraphQL Admin API, by pages
(`bulk: never`, and every incremental sync) or through a bulk operation (first syncs and full
refreshes). Each path is measured as the REST one is: our `[shopify, customers]` asset beside
the fastest honest hand-written way to do the same, in fresh processes, in the same run.

The server is not what is measured. The sandbox executes every GraphQL query with graphql-core
and writes bulk files at about 1,500 objects/s, so both paths go through
`prerendered_server.py` in recording mode: one untimed pass against the sandbox records every
answer (pages by their `after` cursor; the bulk start, poll and file, its signed URL rewritten
to point at the recorder), then the recorder replays them from memory in its own process and
the report checks that nothing was forwarded. What is left to measure is our client: for bulk,
start -> poll -> download -> reassemble -> land -> map -> load. The sandbox's own time to
write the file (the operation's `createdAt` to `completedAt`) is the vendor's part, reported
beside it as the sandbox's figure, not ours.

Ceilings: paginated GraphQL: (a) a bare extract (httpx POSTs on one keep-alive connection,
read each body, find `endCursor` by a byte search, no JSON parsing) and (c) a bare pipeline
(the same POSTs, orjson, a hand mapping of the GraphQL fields with gid -> int, binary COPY +
upsert). Bulk: (a) a bare download of the same file and (c) a bare pipeline (download, orjson
per line, the same hand mapping, COPY + upsert); the bare side skips the control calls, whose
cost is one start and one poll.

With limits on: a paginated sync of a number of customers picked so the published cost limit
(bucket 2,000 points, 100 restored per second, each page asking for the cost
`extract/graphql_cost.py` computes) allows about 75 s, against the time that limit allows; and
a bulk full refresh against the real sandbox with its limits on, end to end, generation
included, beside the generation alone.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import psycopg
import sync_throughput as st
from prerendered_server import PrerenderedServer, serve_prerendered

GRAPHQL_CONNECTION = "bench-shop-graphql"
BULK_CONNECTION = "bench-shop-bulk"
GRAPHQL_LIMITED_CONNECTION = "bench-shop-graphql-limited"
BARE_GRAPHQL_TABLE = "bare_graphql_customers"
BARE_BULK_TABLE = "bare_bulk_customers"
# Shopify's published cost limit (Standard plan): a 2,000-point bucket restored at 100/s.
COST_BUCKET, COST_RESTORE_PER_SECOND = 2_000.0, 100.0
LIMITED_TARGET_SECONDS = 75.0
MIN_BULK_RATIO_TO_BARE = 0.50
MAX_GRAPHQL_LIMITED_RATIO = 1.10


# --- the bare side ----------------------------------------------------------------------------


def _gid(value: str | None) -> int | None:
    """`gid://shopify/Customer/123` (or `…/MailingAddress/7?model_name=…`) -> 123."""
    if value is None:
        return None
    return int(value.rpartition("/")[2].partition("?")[0])


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def map_graphql_customer(r: dict[str, Any]) -> st.Row:
    """The 30 columns of `shopify_customers` from a GraphQL Customer, written by hand."""
    email = r.get("defaultEmailAddress") or {}
    phone = r.get("defaultPhoneNumber") or {}
    spent = r.get("amountSpent") or {}
    last_order = r.get("lastOrder") or {}
    address = r.get("defaultAddress") or {}
    tags = r.get("tags")
    orders = r.get("numberOfOrders")
    return (
        _gid(r["id"]),
        email.get("emailAddress"),
        r.get("firstName"),
        r.get("lastName"),
        phone.get("phoneNumber"),
        _lower(r.get("state")),
        r.get("verifiedEmail"),
        r.get("taxExempt"),
        None if tags is None else ", ".join(tags),
        spent.get("currencyCode"),
        r.get("note"),
        None if orders is None else int(orders),
        st._decimal(spent.get("amount")),
        _gid(last_order.get("id")),
        st._utc(r.get("createdAt")),
        st._utc(r["updatedAt"]),
        _lower(email.get("marketingState")),
        _lower(email.get("marketingOptInLevel")),
        st._utc(email.get("marketingUpdatedAt")),
        _lower(phone.get("marketingState")),
        _gid(address.get("id")),
        address.get("company"),
        address.get("address1"),
        address.get("address2"),
        address.get("city"),
        address.get("province"),
        address.get("provinceCode"),
        address.get("countryCodeV2"),
        address.get("zip"),
        address.get("phone"),
    )


_END_CURSOR = b'"endCursor":'


def end_cursor(body: bytes) -> str | None:
    """The page's `endCursor` when `hasNextPage` is true: a byte search, no JSON parsing."""
    at = body.rfind(_END_CURSOR)
    if at < 0 or b'"hasNextPage":true' not in body[max(0, at - 200) : at + 400]:
        return None
    start = at + len(_END_CURSOR)
    if body[start : start + 1] != b'"':
        return None
    return body[start + 1 : body.index(b'"', start + 1)].decode()


def post_pages(config: dict[str, Any]) -> Iterator[bytes]:
    """Every page body of the customers listing: POST, read, follow `endCursor`."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {
        "X-Shopify-Access-Token": config["token"],
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    variables = dict(config["variables"])
    url = config["server_url"] + config["graphql_path"]
    with httpx.Client(http1=True, headers=headers, limits=limits, timeout=60) as client:
        while True:
            body = orjson.dumps({"query": config["document"], "variables": variables})
            response = client.post(url, content=body)
            response.raise_for_status()
            yield response.content
            cursor = end_cursor(response.content)
            if cursor is None:
                return
            variables["after"] = cursor


def download_lines(config: dict[str, Any]) -> Iterator[bytes]:
    """The bulk file's lines as they arrive, on one connection."""
    with (
        httpx.Client(http1=True, timeout=600) as client,
        client.stream("GET", config["file_url"]) as response,
    ):
        response.raise_for_status()
        pending = b""
        for chunk in response.iter_raw():
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            yield from lines
        if pending:
            yield pending


def _bare_loop(config: dict[str, Any], table: str, rows: Iterator[st.Row]) -> dict[str, Any]:
    """Map and COPY + upsert every `batch_records`: the loop both bare pipelines share."""
    batch_records = config["batch_records"]
    records = 0
    with psycopg.connect(config["db_url"], autocommit=True) as conn:
        st.create_bare_table(conn, table)
        cpu, started = st.cpu_seconds(), time.perf_counter()
        pending: list[st.Row] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= batch_records:
                st.bare_upsert(conn, table, pending)
                records += len(pending)
                pending = []
        if pending:
            st.bare_upsert(conn, table, pending)
            records += len(pending)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": st.cpu_seconds() - cpu, "records": records}


def _timed_bytes(chunks: Iterator[bytes]) -> dict[str, Any]:
    cpu, started = st.cpu_seconds(), time.perf_counter()
    count = size = 0
    for chunk in chunks:
        count += 1
        size += len(chunk)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": st.cpu_seconds() - cpu,
        "pages": count,
        "bytes": size,
    }


def phase_graphql_extract(config: dict[str, Any]) -> dict[str, Any]:
    """(a) POST every page, read its body, follow `endCursor`; no JSON parsing."""
    return _timed_bytes(post_pages(config))


def phase_graphql_pipeline(config: dict[str, Any]) -> dict[str, Any]:
    """(c) POST, orjson, hand mapping, COPY + upsert."""
    rows = (
        map_graphql_customer(node)
        for body in post_pages(config)
        for node in orjson.loads(body)["data"]["customers"]["nodes"]
    )
    return _bare_loop(config, BARE_GRAPHQL_TABLE, rows)


def phase_bulk_download(config: dict[str, Any]) -> dict[str, Any]:
    """(a) Download the bulk file, split it into lines; no JSON parsing."""
    return _timed_bytes(download_lines(config))


def phase_bulk_pipeline(config: dict[str, Any]) -> dict[str, Any]:
    """(c) Download, orjson per line, hand mapping, COPY + upsert."""
    rows = (map_graphql_customer(orjson.loads(line)) for line in download_lines(config) if line)
    return _bare_loop(config, BARE_BULK_TABLE, rows)


PHASES = {
    "graphql-extract": phase_graphql_extract,
    "graphql-pipeline": phase_graphql_pipeline,
    "bulk-download": phase_bulk_download,
    "bulk-pipeline": phase_bulk_pipeline,
}


# --- the conductor ------------------------------------------------------------------------------


def write_connections(directory: Path, name: str, url: str, bulk: str) -> Path:
    """A GraphQL connections file for one shop (`bulk: never|always`)."""
    path = directory / f"{name}-{urlsplit(url).port}.yaml"
    path.write_text(
        "connections:\n"
        f"  - name: {name}\n"
        "    vendor: shopify\n"
        "    api: graphql\n"
        f"    bulk: {bulk}\n"
        f"    base_url: {url}\n"
        f"    secrets: {{access_token: {st.TOKEN_ENV_VAR}}}\n"
        "    entities: {customers: hourly}\n"
    )
    return path


def first_page() -> tuple[str, str, dict[str, Any], float]:
    """Our full sync's first GraphQL page, as the product builds it: path, document,
    variables and the requested cost `extract/graphql_cost.py` puts on it."""
    from integration_assets.connectors.shopify_graphql import SHOPIFY_GRAPHQL
    from integration_assets.extract.graphql import first_graphql_request
    from integration_assets.extract.settings import ExtractSettings
    from integration_assets.extract.stream import page_size_for

    entity = SHOPIFY_GRAPHQL.entity("customers")
    request = first_graphql_request(
        SHOPIFY_GRAPHQL,
        entity,
        "http://shop" + SHOPIFY_GRAPHQL.versioned(SHOPIFY_GRAPHQL.api_prefix),
        since_text=None,
        page_size=page_size_for(SHOPIFY_GRAPHQL, entity, ExtractSettings()),
        explicit_page_size=False,
    )
    assert request.document is not None and request.cost is not None
    return urlsplit(request.url).path, request.document, dict(request.variables), request.cost


def config_for(
    args: Any, db_url: str, url: str, token: str, workdir: Path, name: str, bulk: str, pacing: bool
) -> dict[str, Any]:
    path, document, variables, _ = first_page()
    return {
        "db_url": db_url,
        "server_url": url,
        "token": token,
        "batch_records": args.batch,
        "connections_path": str(write_connections(workdir, name, url, bulk)),
        "connection": name,
        "pacing": pacing,
        "graphql_path": path,
        "document": document,
        "variables": variables,
    }


@contextlib.contextmanager
def recorder(sandbox: Any) -> Iterator[PrerenderedServer]:
    headers = {"X-Shopify-Access-Token": sandbox.shopify.access_token}
    with serve_prerendered(sandbox.shopify_url, [], headers, record=True) as server:
        yield server


def rounds(config: dict[str, Any], names: Sequence[str], repeats: int) -> dict[str, dict[str, Any]]:
    """`names` in turn, `repeats` times; the best of each (ours by wall time)."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_number in range(1, repeats + 1):
        for name in names:
            st.progress(f"round {round_number}/{repeats}: {name}")
            if name == "ours":
                st.forget_our_sync(config["db_url"])
            runs[name].append(st.run_phase(name, config))
    return {
        name: st.best_of(found, "wall" if name == "ours" else "seconds")
        for name, found in runs.items()
    }


def same_rows(db_url: str, bare_table: str, connection: str) -> bool:
    """Whether the bare table and ours hold exactly the same mapped values."""
    columns = ", ".join(st.NAMES)
    digest = f"SELECT md5(string_agg(ROW({columns})::text, ',' ORDER BY id)) FROM "
    with psycopg.connect(db_url) as conn:
        bare = conn.execute(digest + bare_table).fetchone()
        ours = conn.execute(digest + f"{st.OUR_TABLE} WHERE _connection = %s", (connection,))
        return bare is not None and bare == ours.fetchone()


def limits_off_lines(
    n: int,
    ours: dict[str, Any],
    extract: dict[str, Any],
    bare: dict[str, Any],
    served: dict[str, Any],
    same: bool,
    extract_label: str,
    target: float | None,
) -> list[st.Line]:
    ours_rate, bare_rate = st.rate(n, ours["wall"]), st.rate(n, bare["seconds"])
    extract_rate = st.rate(n, extract["seconds"])
    lines = [
        st.Line(
            "records/s end to end (asset wall time)",
            f"{ours_rate:,.0f}",
            f"bare pipeline {bare_rate:,.0f}",
            f"{ours_rate / bare_rate:.2f}",
            "" if target is None else f">= {target:.2f}",
            None if target is None else ours_rate / bare_rate >= target,
        ),
        st.Line(
            "records/s of the extract step alone",
            f"{st.rate(n, ours['extract_step']):,.0f}",
            f"{extract_label} {extract_rate:,.0f}",
            f"{st.rate(n, ours['extract_step']) / extract_rate:.2f}",
        ),
        st.Line(
            "seconds: wall = extract + load + Dagster",
            f"{ours['wall']:.1f} = {ours['extract_step']:.1f} + {ours['load_step']:.1f} + "
            f"{ours['wall'] - ours['steps']:.1f}",
            f"bare pipeline {bare['seconds']:.1f}, {extract_label} {extract['seconds']:.1f}",
        ),
        st.Line(
            "CPU seconds: syncing process / server",
            f"{ours['cpu']:.1f} / {ours['server_cpu']:.1f}",
            f"bare pipeline {bare['cpu']:.1f} / {bare['server_cpu']:.1f}",
        ),
        st.Line(
            "peak RSS MB (after imports)",
            f"{ours['peak_rss_mb']:.0f} ({ours['rss_before_sync_mb']:.0f})",
            f"bare pipeline {bare['peak_rss_mb']:.0f}",
            "",
            f"< {st.MAX_PEAK_RSS_MB:.0f}",
            ours["peak_rss_mb"] < st.MAX_PEAK_RSS_MB,
        ),
        st.Line(
            "requests answered from memory / forwarded",
            f"{served['hits']:,} / {served['misses']:,}",
            f"{served['recorded']:,} answers recorded from the sandbox",
            "",
            "0 forwarded",
            served["misses"] == 0,
        ),
        st.Line(
            "rows inserted", f"{ours['inserted']:,}", "", "", f"= {n:,}", ours["inserted"] == n
        ),
        st.Line("same values as the bare pipeline", "yes" if same else "NO", "", "", "yes", same),
    ]
    return lines


def graphql_section(args: Any, report: st.Report, db_url: str, workdir: Path) -> None:
    """Paginated GraphQL, limits off, N customers from recorded pages."""
    from integration_assets.sandbox import run_sandbox

    n = args.graphql_records or args.records
    sizes = st.sandbox_sizes(n)
    with run_sandbox(seed=st.SEED, sizes=sizes, rate_limits=False, process=True) as sb:
        token = sb.shopify.access_token
        with recorder(sb) as server:
            config = config_for(
                args, db_url, server.url, token, workdir, GRAPHQL_CONNECTION, "never", False
            )
            st.progress(f"graphql: recording our sync of {n:,} from the sandbox (untimed)")
            st.forget_our_sync(db_url)
            live = st.run_phase("ours", config)
            server.replay()  # the bare walk asks for the same pages: misses would show it
            best = rounds(config, ("graphql-extract", "graphql-pipeline", "ours"), args.repeat)
            served = server.stats()
    same = same_rows(db_url, BARE_GRAPHQL_TABLE, GRAPHQL_CONNECTION)
    lines = limits_off_lines(
        n,
        best["ours"],
        best["graphql-extract"],
        best["graphql-pipeline"],
        served,
        same,
        "bare extract",
        None,
    )
    lines.append(
        st.Line(
            "records/s of our sync against the sandbox itself (recording pass)",
            f"{st.rate(n, live['wall']):,.0f}",
            "the sandbox runs graphql-core per page",
        )
    )
    report.section(f"paginated GraphQL full sync of {n:,} customers, limits off", lines)


class GenerationWatch:
    """The wall time the sandbox spends writing the bulk file, watched from outside.

    The operation's own `createdAt`/`completedAt` are on the simulator's clock, which does
    not move with wall time, so a thread polls `GET /_sandbox/bulk` (the sandbox's control,
    neither logged nor rate limited) every `interval` seconds and notes when an operation is
    first seen and when it is first seen COMPLETED: the generation time to +- `interval`.
    """

    def __init__(self, sandbox_url: str, interval: float = 0.25) -> None:
        self.url, self.interval = f"{sandbox_url}/_sandbox/bulk", interval
        self.seen: float | None = None
        self.completed: float | None = None
        self.objects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set() and self.completed is None:
                operations = client.get(self.url).json()["operations"]
                now = time.perf_counter()
                if operations and self.seen is None:
                    self.seen = now
                done = [op for op in operations if op["status"] == "COMPLETED"]
                if done:
                    self.completed = now
                    self.objects = int(done[0]["objectCount"])
                self._stop.wait(self.interval)

    def __enter__(self) -> GenerationWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def figures(self) -> dict[str, Any]:
        if self.seen is None or self.completed is None:
            raise RuntimeError("the bulk operation was not seen to complete on the sandbox")
        return {"generation_seconds": self.completed - self.seen, "objects": self.objects}


def bulk_sections(
    args: Any, report: st.Report, db_url: str, workdir: Path, limits: set[str]
) -> None:
    """Bulk: the limits-on end-to-end run against the sandbox (recorded), then limits off.

    The run with limits on is also the recording pass: it goes through the recorder, which
    forwards each request (and the file) to the sandbox as it comes.
    """
    from integration_assets.sandbox import run_sandbox

    n = args.records
    sizes = st.sandbox_sizes(n)
    with run_sandbox(seed=st.SEED, sizes=sizes, rate_limits=True, process=True) as sb:
        token = sb.shopify.access_token
        with recorder(sb) as server:
            paced = config_for(
                args, db_url, server.url, token, workdir, BULK_CONNECTION, "always", True
            )
            st.progress(f"bulk: full refresh of {n:,} against the sandbox, limits on")
            st.forget_our_sync(db_url)
            with GenerationWatch(sb.shopify_url) as watch:
                live = st.run_phase("ours", paced)
            vendor = watch.figures()
            if "off" not in limits:
                best = {}
            server.replay()
            (file_target,) = server.stats()["recorded_gets"]
            config = {**paced, "pacing": False, "file_url": server.url + file_target}
            if "off" in limits:
                best = rounds(config, ("bulk-download", "bulk-pipeline", "ours"), args.repeat)
            served = server.stats()
    if best:
        bulk_limits_off_section(report, n, db_url, best, served, vendor)
    if "on" in limits:
        bulk_limits_on_section(report, n, live, vendor)


def bulk_limits_off_section(
    report: st.Report,
    n: int,
    db_url: str,
    best: dict[str, dict[str, Any]],
    served: dict[str, Any],
    vendor: dict[str, Any],
) -> None:
    same = same_rows(db_url, BARE_BULK_TABLE, BULK_CONNECTION)
    lines = limits_off_lines(
        n,
        best["ours"],
        best["bulk-download"],
        best["bulk-pipeline"],
        served,
        same,
        "bare download",
        MIN_BULK_RATIO_TO_BARE,
    )
    lines.append(
        st.Line(
            "the vendor's part: the sandbox writes the file (not ours)",
            f"{vendor['generation_seconds']:.1f} s",
            f"{st.rate(vendor['objects'], vendor['generation_seconds']):,.0f} objects/s, "
            f"{vendor['objects']:,} objects",
        )
    )
    report.section(
        f"bulk full refresh of {n:,} customers, limits off, the file served from memory", lines
    )


def bulk_limits_on_section(
    report: st.Report, n: int, live: dict[str, Any], vendor: dict[str, Any]
) -> None:
    ours_part = live["wall"] - vendor["generation_seconds"]
    report.section(
        f"bulk full refresh of {n:,} customers against the sandbox, limits on",
        [
            st.Line(
                "seconds end to end (asset wall time), generation included",
                f"{live['wall']:.1f}",
                f"the sandbox's generation alone {vendor['generation_seconds']:.1f}",
                f"{live['wall'] / vendor['generation_seconds']:.2f}",
            ),
            st.Line(
                "seconds beyond the generation (ours: start, poll, download, load)",
                f"{ours_part:.1f}",
                f"extract step {live['extract_step']:.1f}, load step {live['load_step']:.1f}",
            ),
            st.Line(
                "rows inserted",
                f"{live['inserted']:,}",
                "",
                "",
                f"= {n:,}",
                live["inserted"] == n,
            ),
        ],
    )


def allowed_seconds(pages: int, requested: float, actual: float) -> float:
    """The earliest the last page may be sent, from the bucket's first principles.

    The bucket starts full; a query is let through when its requested cost is available and
    then takes its actual cost (Shopify refunds the difference). So the last page may go when
    the actual cost of the pages before it plus its own requested cost has been restored
    beyond the bucket: ((pages - 1) x actual + requested - bucket) / restore rate.
    """
    spent = (pages - 1) * actual + requested
    return max(0.0, (spent - COST_BUCKET) / COST_RESTORE_PER_SECOND)


def probe_cost(config: dict[str, Any]) -> tuple[float, float]:
    """The requested and actual cost of one full page, as the sandbox counts them; then wait
    until the bucket is full again, so the measured sync starts as a fresh one would."""
    answer = httpx.post(
        config["server_url"] + config["graphql_path"],
        content=orjson.dumps({"query": config["document"], "variables": config["variables"]}),
        headers={"X-Shopify-Access-Token": config["token"], "Content-Type": "application/json"},
        timeout=60,
    ).json()
    cost = answer["extensions"]["cost"]
    available = cost["throttleStatus"]["currentlyAvailable"]
    time.sleep((COST_BUCKET - available) / COST_RESTORE_PER_SECOND + 1.0)
    return float(cost["requestedQueryCost"]), float(cost["actualQueryCost"])


def graphql_limited_section(args: Any, report: st.Report, db_url: str, workdir: Path) -> None:
    """Paginated GraphQL against the sandbox's cost limit, N picked for ~75 s allowed."""
    from integration_assets.sandbox import run_sandbox

    _, _, variables, cost = first_page()
    size = int(variables["first"])
    pages = math.ceil((LIMITED_TARGET_SECONDS * COST_RESTORE_PER_SECOND + COST_BUCKET) / cost)
    n = pages * size - size // 2  # the last page half full: no extra empty page
    pages = math.ceil(n / size)
    with run_sandbox(
        seed=st.SEED + 1, sizes=st.sandbox_sizes(n), rate_limits=True, process=True
    ) as sb:
        st.progress(f"graphql: rate-limited sync of {n:,}")
        token = sb.shopify.access_token
        config = config_for(
            args, db_url, sb.shopify_url, token, workdir, GRAPHQL_LIMITED_CONNECTION, "never", True
        )
        requested, actual = probe_cost(config)
        ours = st.run_phase("ours", config)
    allowed = allowed_seconds(pages, requested, actual)
    ratio = ours["steps"] / allowed if allowed else math.inf
    report.section(
        f"rate-limited paginated GraphQL sync of {n:,} customers (bucket {COST_BUCKET:,.0f} "
        f"points, {COST_RESTORE_PER_SECOND:.0f}/s restored, {cost:.0f} requested per page of "
        f"{size})",
        [
            st.Line(
                "seconds in the steps",
                f"{ours['steps']:.1f}",
                f"the limit allows {allowed:.1f} ({pages} pages, {requested:.0f} requested, "
                f"{actual:.0f} actual points each)",
                f"{ratio:.2f}",
                f"<= {MAX_GRAPHQL_LIMITED_RATIO:.2f}",
                ratio <= MAX_GRAPHQL_LIMITED_RATIO,
            ),
            st.Line(
                "extract / load step, wall",
                f"{ours['extract_step']:.1f} / {ours['load_step']:.1f}, {ours['wall']:.1f}",
                f"{ours['requests']} requests, {ours['throttled']} throttled",
            ),
            st.Line(
                "rows inserted", f"{ours['inserted']:,}", "", "", f"= {n:,}", ours["inserted"] == n
            ),
        ],
    )
