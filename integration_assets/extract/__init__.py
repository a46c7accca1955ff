"""The extract stage: page a vendor's API lazily, paced, retried, incremental.

Entry point: `PageStream(spec, entity, connection, since=...)` (or `extract_pages(...)`), an
iterable of `Page`s whose `stats` count requests, retries, 429s and waits. Everything it knows
about a vendor comes from the connector spec; it never knows whether it talks to the vendor or a
simulator. Modules, one job each:

- `paginators`: next request from the last answer (Link header, JSON next link, cursor, …).
- `rate_limit`: the shared leaky bucket per vendor account (in-process, or Redis via REDIS_URL).
- `retry`: backoff with full jitter and Retry-After parsing; what is retried and why.
- `fetch`: one page (or one GraphQL answer), with pacing, retries and actionable errors.
- `records`: what a well-formed page body is; GraphQL connections flattened to lists.
- `errors`: `ExtractError` and friends, and URL redaction.
- `graphql`, `graphql_cost`, `graphql_errors`: GraphQL requests from the spec (first POST,
  cost-fitted page sizes, nested connections read whole, `GraphQLClient` for one document),
  Shopify's documented cost arithmetic, and what each error code inside a 200 means.
- `export`, `export_operation`, `export_download`, `export_lines`: an asynchronous export
  (Shopify bulk operations) as `ExportStream`, the same `Page`s from a vendor-side job: start
  / poll / cancel, a line download that resumes at the byte it broke, and children put back
  into their parents' lists.
"""

from integration_assets.extract.errors import (
    AuthenticationError,
    ExtractError,
    GraphQLQueryError,
    MalformedPageError,
    redact_url,
)
from integration_assets.extract.graphql import GraphQLClient
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.paginators import PageRequest, paginator_for, parse_link_header
from integration_assets.extract.rate_limit import (
    CostReport,
    LeakyBucketLimiter,
    RateLimiter,
    RateLimiterUnavailable,
    RateLimitKey,
    UnlimitedLimiter,
    limiter_for,
    shared_limiter,
)
from integration_assets.extract.records import records_from_body
from integration_assets.extract.retry import BackoffPolicy, parse_retry_after
from integration_assets.extract.settings import ExtractSettings
from integration_assets.extract.stream import PageStream, extract_pages

__all__ = [
    "AuthenticationError",
    "BackoffPolicy",
    "CostReport",
    "ExtractError",
    "ExtractSettings",
    "ExtractStats",
    "GraphQLClient",
    "GraphQLQueryError",
    "LeakyBucketLimiter",
    "MalformedPageError",
    "Page",
    "PageRequest",
    "PageStream",
    "RateLimitKey",
    "RateLimiter",
    "RateLimiterUnavailable",
    "UnlimitedLimiter",
    "extract_pages",
    "limiter_for",
    "paginator_for",
    "parse_link_header",
    "parse_retry_after",
    "records_from_body",
    "redact_url",
    "shared_limiter",
]
