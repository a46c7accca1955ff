"""The connector spec: everything the extract stage needs to know about a vendor, as data.

A connector is not a class to subclass. Adding a vendor means writing one `ConnectorSpec`
value (see `shopify.py`, `klaviyo.py`) plus its mapping files; the extract client interprets
the spec. Every field here describes the vendor's public wire protocol, never our sandbox.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from integration_assets.connectors.versions import VersionPolicy
from integration_assets.connectors.webhooks import WebhookSpec

RETRYABLE_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthSpec(_Frozen):
    """How requests are authenticated.

    `headers` maps a header name to a template whose `{placeholders}` name secrets; each
    connection says which environment variable holds each secret, so values never live in
    the spec, the repo or logs.
    """

    headers: dict[str, str]
    secrets: tuple[str, ...]

    @model_validator(mode="after")
    def _templates_use_declared_secrets(self) -> AuthSpec:
        for name, template in self.headers.items():
            for secret in self.secrets:
                template = template.replace("{" + secret + "}", "")
            if "{" in template:
                raise ValueError(f"auth header {name!r} uses an undeclared secret placeholder")
        return self


PaginatorKind = Literal[
    "link_header", "json_next_link", "cursor", "offset", "page_number", "graphql_cursor"
]


class PaginatorSpec(_Frozen):
    """How to find the next page.

    - `link_header`: RFC 8288 `Link: <url>; rel="next"` (Shopify). The next URL already carries
      every parameter the vendor wants; the client must not add its own filters to it.
    - `json_next_link`: a full URL at `next_path` in the body (Klaviyo's `links.next`).
    - `cursor`: a token at `next_path` sent back as `cursor_param`.
    - `offset` / `page_number`: classic numbered paging with `offset_param` / `page_param`.
    - `graphql_cursor`: a Relay connection (`request="graphql"` connectors). The records are
      the connection's `nodes` (the entity's `records_path` ends in them) and its
      `page_info_field` object beside them says `hasNextPage` and `endCursor`; the page size
      is the GraphQL variable `page_size_param` (`first`) and the cursor goes back as the
      variable `cursor_param` (`after`), every other variable kept.
    Paging stops when there is no next link/token or a page comes back empty.

    `resumable`: whether a retried extract may resume from the stored URL of the request after
    the last page it landed, instead of walking again from page 1. True for every kind here,
    because each one's next request is entirely in its URL: the vendor's next link as given
    (`link_header`, `json_next_link`), or the first request's parameters plus the token,
    offset or page number (`cursor`, `offset`, `page_number`). A resumed walk is as exposed
    to changes between pages as a walk that never stopped, and the cursor rule covers both
    (the first attempt's start bounds the cursor). Set it False for a vendor whose tokens
    expire within a retry's delay or are bound to the connection that made them.
    """

    kind: PaginatorKind
    page_size_param: str
    page_size: int = Field(gt=0)
    max_page_size: int = Field(gt=0)
    next_path: str | None = None
    cursor_param: str | None = None
    offset_param: str | None = None
    page_param: str | None = None
    page_info_field: str = "pageInfo"
    resumable: bool = True

    @model_validator(mode="after")
    def _kind_has_its_fields(self) -> PaginatorSpec:
        needs = {
            "json_next_link": ("next_path",),
            "cursor": ("next_path", "cursor_param"),
            "offset": ("offset_param",),
            "page_number": ("page_param",),
            "graphql_cursor": ("cursor_param",),
        }.get(self.kind, ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"paginator {self.kind!r} needs {', '.join(missing)}")
        if self.page_size > self.max_page_size:
            raise ValueError("page_size exceeds max_page_size")
        return self


class CostReportSpec(_Frozen):
    """Where a cost-budgeted vendor reports, in the answer's BODY, what a request cost and
    what is left of the budget (dotted paths in the parsed body).

    Shopify GraphQL: `extensions.cost.requestedQueryCost` (what the query was charged before
    it ran), `actualQueryCost` (what it really cost; the difference is refunded) and
    `throttleStatus.{currentlyAvailable, maximumAvailable, restoreRate}`.
    """

    requested_path: str
    actual_path: str
    available_path: str
    maximum_path: str
    restore_rate_path: str


class RateLimitSpec(_Frozen):
    """The vendor's published budget, so we slow down before it answers 429.

    Modelled as a leaky bucket of `capacity` requests draining `refill_per_second`, shared by
    every run against the same (vendor, account). `budget_header` lets the client resync with
    what the vendor says is left: `used/limit` (Shopify's `X-Shopify-Shop-Api-Call-Limit: 3/40`)
    or `remaining` (a plain count such as Klaviyo's `RateLimit-Remaining`).
    `retry_after_header` is where a 429/503 says how long to wait (`extract/fetch.py` reads it).

    `unit="cost"` is for vendors that charge each request by its computed cost instead of one
    (Shopify GraphQL): `capacity` and `refill_per_second` are then in points, each request
    acquires its estimated cost, and `cost_report` says where the answer's body reports the
    real cost and what is left (the limiter refunds the difference and resyncs from it).
    `max_request_cost` is the most a single request may cost (Shopify: 1000 points); the
    extract stage refuses to send a request estimated above it.
    """

    capacity: int = Field(gt=0)
    refill_per_second: float = Field(gt=0)
    budget_header: str | None = None
    budget_header_format: Literal["used/limit", "remaining"] | None = None
    retry_after_header: str = "Retry-After"
    unit: Literal["request", "cost"] = "request"
    cost_report: CostReportSpec | None = None
    max_request_cost: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _cost_fields_with_cost_unit(self) -> RateLimitSpec:
        if self.unit == "request" and (
            self.cost_report is not None or self.max_request_cost is not None
        ):
            raise ValueError("cost_report and max_request_cost need unit='cost'")
        return self


class IncrementalSpec(_Frozen):
    """How to ask only for records changed since a cursor.

    `params` are query parameters whose values may contain `{since}`, replaced by the cursor
    (minus the lookback) formatted with `since_format` (a `strftime` pattern, in UTC). For a
    GraphQL connector they are variables of the entity's query instead (Shopify:
    `query: "updated_at:>='{since}'"`, with the document sorting by `UPDATED_AT`).
    `cursor_field` is the dotted path, inside a raw record, of the value the cursor tracks.
    """

    cursor_field: str
    params: dict[str, str]
    since_format: str = "%Y-%m-%dT%H:%M:%SZ"


ExportStatusSet = tuple[str, ...]


class ExportSpec(_Frozen):
    """An asynchronous export: the vendor runs a query in the background and hands back a file.

    The client (`extract/export.py`) interprets it: start the export with `start_document`
    (the entity's `export_query` goes in as the variable `query_variable`), poll it with
    `poll_document` every `poll_interval_seconds` (growing by `poll_backoff` up to
    `poll_max_interval_seconds`) until its status is terminal, download the file at the
    operation's `url_field` as a stream of `line_format` lines, put each child line back into
    its parent, and cancel with `cancel_document` when anything on our side fails first.

    Where things are in the answers: `*_payload_path` are dotted paths (from the GraphQL
    `data`) to the mutation payload; inside it, `operation_field` holds the operation and
    `user_errors_field` the list of user errors, each with a `code` and a `message`. The
    operation object has the fields named `*_field` below.

    Statuses: `completed_statuses` mean the file is ready; `failed_statuses` are terminal
    without a usable file (the vendor's `error_code_field` says why; a `partial_url_field`
    may point at an incomplete file, which is never loaded as if complete). Anything else is
    still running and can be canceled. `busy_codes` are the user-error codes of a start that
    was refused because too many exports are running: the client waits and tries again
    rather than failing. `refused_codes` are the error codes of a failed operation that no
    retry can fix (a missing access scope): the error says so and is not retried.

    `find_document` lists the operations still running (`find_paths`: where their lists
    are in the answer; each operation carries its query text in `query_field`): before
    starting, an operation running the very same query is adopted rather than started
    twice (an extract that crashed left it running).

    Lines: one JSON object per line. A child line (an item of a nested connection) carries
    `parent_field` (the id of the object it belongs to) and is recognised by its
    `type_field` or else by the type inside its id (`id_type_pattern`, group 1); the
    entity's `export_children` maps that type to the parent's list field. `grouped` says
    the start document asks the vendor to write each object's children right after it, so
    one family at a time is in memory; a child that arrives after another parent is then a
    clear error, never a silently misplaced record.

    The export's walk began when the vendor created the operation: `created_at_field` (an
    ISO 8601 instant on the vendor's clock), else the `Date` of the answer that started it.

    `deadline_seconds` bounds one export from its start (or adoption) to the end of the
    download: past it the operation is canceled and the extract fails.
    """

    start_document: str
    query_variable: str = "query"
    start_payload_path: str
    poll_document: str
    poll_operation_path: str
    id_variable: str = "id"
    cancel_document: str
    cancel_payload_path: str
    find_document: str | None = None
    find_paths: tuple[str, ...] = ()
    query_field: str = "query"
    operation_field: str = "bulkOperation"
    user_errors_field: str = "userErrors"
    id_field: str = "id"
    status_field: str = "status"
    url_field: str = "url"
    partial_url_field: str | None = "partialDataUrl"
    error_code_field: str | None = "errorCode"
    object_count_field: str | None = "objectCount"
    file_size_field: str | None = "fileSize"
    created_at_field: str | None = "createdAt"
    completed_statuses: ExportStatusSet = ("COMPLETED",)
    failed_statuses: ExportStatusSet = ("FAILED", "CANCELED", "CANCELING", "EXPIRED")
    busy_codes: ExportStatusSet = ()
    refused_codes: ExportStatusSet = ()
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    poll_backoff: float = Field(default=1.5, ge=1)
    poll_max_interval_seconds: float = Field(default=30.0, gt=0)
    deadline_seconds: float = Field(default=3 * 3600, gt=0)
    line_format: Literal["jsonl"] = "jsonl"
    parent_field: str = "__parentId"
    type_field: str | None = "__typename"
    id_type_pattern: str = r"^gid://[^/]+/([^/]+)/"
    grouped: bool = True
    page_records: int = Field(default=250, gt=0)

    @model_validator(mode="after")
    def _statuses_disjoint(self) -> ExportSpec:
        if set(self.completed_statuses) & set(self.failed_statuses):
            raise ValueError("an export status cannot be both completed and failed")
        if not self.grouped:
            raise ValueError(
                "ungrouped export files (children anywhere in the file) are not supported: "
                "reassembling them needs the whole file; ask the vendor for grouped output"
            )
        return self


class NestedConnectionSpec(_Frozen):
    """A connection inside each record whose further pages come from a follow-up query.

    `field` is the dotted path of the connection inside a record (`lineItems`); `query` is a
    document reading that connection of one node, taking the record's id as the variable
    `id_variable` and the paginator's page size and cursor variables (`first`, `after`);
    `records_path` is where that answer's `nodes` are (`data.node.lineItems.nodes`, the
    page info beside them). `page_size` is the `first` of the follow-up pages.
    """

    field: str
    query: str
    records_path: str
    id_variable: str = "id"
    page_size: int = Field(default=250, gt=0)


class EntitySpec(_Frozen):
    """One listable resource of the vendor.

    `page_size`, `max_page_size` and `rate_limit` override the connector's when the vendor
    documents different values per endpoint (Klaviyo budgets each endpoint separately, and
    its events take up to 1,000 per page where profiles take 100). `sends_page_size=False`
    is for endpoints that take no page-size parameter at all, where sending one would be an
    unknown parameter.

    `ids_only_params` are the query parameters (added to `params`) that make the listing
    return little more than ids: the vendor's sparse field option (Shopify `fields=id`,
    Klaviyo `fields[profile]=…`). Listings never show deleted records, so reconciliation
    (`sync/reconcile.py`) walks ids with them and soft-deletes the rows the vendor no longer
    has. None means the entity is not reconciled: append-only entities (Klaviyo events) are
    never deleted by the vendor in the normal course, so a walk would only cost requests, and
    an id walk over millions of events is the most expensive listing there is.

    `primary_key` is the dotted path of the record's id in a raw record (redaction finds a
    person's records by it); `append_only` marks entities whose records never change or go
    away, which the spec refuses to reconcile.

    `depends_on` names entities of the same vendor whose records this one references (Shopify
    orders name customers and products). A run that syncs both runs them in that order, so
    an order lands after the customers and products that existed when its walk began.

    GraphQL connectors (`ConnectorSpec.request == "graphql"`): `query` is the document that
    lists the entity (variables: the paginator's page size and cursor, the incremental
    ones, and `params` as further string variables); `ids_query` is the same listing
    selecting only ids, the GraphQL counterpart of `ids_only_params` for reconciliation.
    `nested_connections` declare the connections inside each record that a page may cut
    short (an order with more line items than the query's `first`): the extract stage
    fetches the rest with each one's follow-up query, so no record is silently truncated.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: str
    records_path: str
    primary_key: str = "id"
    params: dict[str, str] = Field(default_factory=dict)
    incremental: IncrementalSpec | None = None
    append_only: bool = False
    page_size: int | None = Field(default=None, gt=0)
    max_page_size: int | None = Field(default=None, gt=0)
    sends_page_size: bool = True
    rate_limit: RateLimitSpec | None = None
    ids_only_params: dict[str, str] | None = None
    description: str = ""
    depends_on: tuple[str, ...] = ()

    query: str | None = None
    ids_query: str | None = None
    nested_connections: tuple[NestedConnectionSpec, ...] = ()
    export_query: str | None = None
    """The query the connector's `ExportSpec` runs for this entity (None: no export). It
    selects what the paginated query selects, written the way the vendor's exports want it
    (Shopify: connections without `first`/`pageInfo`). `{since_filter}` in it is replaced by
    `export_since_filter` (with `{since}` filled in) on an incremental export, else by ''."""
    export_since_filter: str | None = None
    export_children: dict[str, str] = Field(default_factory=dict)
    """Child type (e.g. `LineItem`) -> the parent record's list field (`lineItems`): where
    the export's child lines go, so an exported record has the paginated record's shape."""

    @model_validator(mode="after")
    def _append_only_not_reconciled(self) -> EntitySpec:
        if self.append_only and self.reconciled:
            raise ValueError(f"{self.name}: an append-only entity is not reconciled")
        if (
            self.page_size is not None
            and self.max_page_size is not None
            and self.page_size > self.max_page_size
        ):
            raise ValueError(f"{self.name}: page_size exceeds max_page_size")
        return self

    @property
    def reconciled(self) -> bool:
        """Whether reconciliation can walk this entity's ids (GET or GraphQL)."""
        return self.ids_only_params is not None or self.ids_query is not None


class PersonReference(_Frozen):
    """Where records of another entity point at a person, and what in them is personal.

    `path` is the dotted path of the person's id inside a raw record of `entity` (Shopify
    orders: `customer.id`). `personal_fields` are dotted raw paths holding the person's data
    (contact details, addresses, free text): redaction removes them from landed records and
    nulls the warehouse columns mapped from them (or from anything under them), and keeps
    everything else, the business facts (order totals, line items).
    """

    entity: str
    path: str
    personal_fields: tuple[str, ...]


class PersonSpec(_Frozen):
    """Which entity is a person and which entities reference one; drives `sync/redact.py`.

    `raw_id` is how a person's id (as redaction is given it, the warehouse's id) is written
    in raw records, `{id}` standing for it: the id itself by default, a global id where the
    API uses them (Shopify GraphQL: `gid://shopify/Customer/{id}`).
    """

    entity: str
    references: tuple[PersonReference, ...] = ()
    raw_id: str = "{id}"


RequestKind = Literal["get", "graphql"]


class GraphQLErrorSpec(_Frozen):
    """How a GraphQL vendor reports errors inside a 200 answer, and what each code means.

    `path` is the errors array in the body; `code_path` the code inside one error. An answer
    with errors is never landed: codes in `throttled_codes` wait for the budget the answer
    reports and try again (not counted as a failed attempt); `retryable_codes` are retried
    like a 5xx; `access_denied_codes` fail like a 403 (the token's scopes); `max_cost_codes`
    fail saying the query is too expensive; anything else (syntax, validation) is permanent,
    since sending the same document again cannot succeed.
    """

    path: str = "errors"
    code_path: str = "extensions.code"
    retryable_codes: tuple[str, ...] = ()
    throttled_codes: tuple[str, ...] = ()
    access_denied_codes: tuple[str, ...] = ()
    max_cost_codes: tuple[str, ...] = ()


class GraphQLSpec(_Frozen):
    """Where a GraphQL API takes its documents: one endpoint, `POST {query, variables}`.

    `path` is relative to the connector's `api_prefix` (Shopify: `graphql.json`).
    """

    path: str
    errors: GraphQLErrorSpec = Field(default_factory=GraphQLErrorSpec)


VERSION_PLACEHOLDER = "{version}"


def _refuse_dependency_cycles(vendor: str, entities: tuple[EntitySpec, ...]) -> None:
    """A cycle in `depends_on` would leave Dagster no order to run the entities in."""
    needs = {entity.name: set(entity.depends_on) for entity in entities}
    done: set[str] = set()
    while needs:
        ready = [name for name, deps in needs.items() if deps <= done]
        if not ready:
            raise ValueError(f"{vendor}: depends_on forms a cycle among {sorted(needs)}")
        for name in ready:
            done.add(name)
            del needs[name]


class ConnectorSpec(_Frozen):
    """A vendor's API, declaratively.

    `version` is the API version this spec speaks by default (a connection may override it,
    see `Connection.api_version`), and `version_policy` the vendor's published schedule for
    versions (`connectors/versions.py`). The version reaches the wire through the
    placeholder `{version}`: in `api_prefix` for a vendor that puts it in the path (Shopify
    `/admin/api/{version}`), in a `headers` value for one that sends it as a header (Klaviyo
    `revision: {version}`). `api` names which of the vendor's APIs this is, for people.

    A vendor may offer several APIs (Shopify: the GraphQL Admin API, and the legacy REST
    one); `api_id` names this one among them (`Connection.api` chooses, see the registry in
    `connectors/__init__.py`). `request` is the request shape: `get` (query parameters on
    each entity's path) or `graphql` (each entity's `query` document POSTed with its
    variables to the one `graphql.path` endpoint).
    """

    vendor: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    api: str = ""
    default_base_url: str | None = None
    api_prefix: str = ""
    version: str | None = None
    version_policy: VersionPolicy | None = None
    auth: AuthSpec
    headers: dict[str, str] = Field(default_factory=dict)
    paginator: PaginatorSpec
    rate_limit: RateLimitSpec
    retryable_statuses: tuple[int, ...] = RETRYABLE_STATUSES
    entities: tuple[EntitySpec, ...]
    person: PersonSpec | None = None
    export: ExportSpec | None = None
    """The vendor's asynchronous export, used for first syncs and full refreshes of the
    entities that declare an `export_query` (see `sync/steps.py`)."""
    docs_url: str = ""
    webhooks: WebhookSpec | None = None
    """How the vendor signs and shapes webhook deliveries (`connectors/webhooks.py`); None
    when the connector takes none."""

    api_id: str = Field(default="rest", pattern=r"^[a-z][a-z0-9_]*$")
    request: RequestKind = "get"
    graphql: GraphQLSpec | None = None

    @model_validator(mode="after")
    def _request_shape_complete(self) -> ConnectorSpec:
        graphql_paging = self.paginator.kind == "graphql_cursor"
        if self.request == "get":
            if self.graphql is not None or graphql_paging:
                raise ValueError(f"{self.vendor}: GraphQL settings on a GET connector")
            return self
        if self.graphql is None or not graphql_paging:
            raise ValueError(
                f"{self.vendor}: a graphql connector needs `graphql` and the graphql_cursor paginator"
            )
        for entity in self.entities:
            if entity.query is None:
                raise ValueError(f"{self.vendor}/{entity.name}: a graphql entity needs `query`")
            if entity.ids_only_params is not None:
                raise ValueError(
                    f"{self.vendor}/{entity.name}: use ids_query, not ids_only_params, on graphql"
                )
        return self

    @model_validator(mode="after")
    def _entity_names_unique(self) -> ConnectorSpec:
        names = [entity.name for entity in self.entities]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.vendor}: duplicate entity names in {names}")
        for entity in self.entities:
            unknown = [name for name in entity.depends_on if name not in names]
            if unknown or entity.name in entity.depends_on:
                raise ValueError(
                    f"{self.vendor}/{entity.name}: depends_on names "
                    f"{unknown or [entity.name]}, not another entity of this vendor"
                )
            if entity.export_query is not None and self.export is None:
                raise ValueError(
                    f"{self.vendor}/{entity.name}: export_query without an export spec"
                )
        _refuse_dependency_cycles(self.vendor, self.entities)
        if self.person is not None:
            for name in (self.person.entity, *(r.entity for r in self.person.references)):
                if name not in names:
                    raise ValueError(f"{self.vendor}: person spec names unknown entity {name!r}")
        return self

    @model_validator(mode="after")
    def _webhook_entities_known(self) -> ConnectorSpec:
        names = {entity.name for entity in self.entities}
        for topic in self.webhooks.topics if self.webhooks else ():
            if topic.entity is not None and topic.entity not in names:
                raise ValueError(
                    f"{self.vendor}: webhook topic {topic.topic!r} names unknown entity "
                    f"{topic.entity!r}"
                )
        return self

    @model_validator(mode="after")
    def _version_reaches_the_wire(self) -> ConnectorSpec:
        """A templated `{version}` needs a version; a policy says where it goes, and it must."""
        templated = VERSION_PLACEHOLDER in self.api_prefix or any(
            VERSION_PLACEHOLDER in value for value in self.headers.values()
        )
        if templated and self.version is None:
            raise ValueError(f"{self.vendor}: {VERSION_PLACEHOLDER} is used but no version is set")
        policy = self.version_policy
        if policy is None:
            return self
        if self.version is None:
            raise ValueError(f"{self.vendor}: a version policy needs a default version")
        try:
            policy.check_format(self.version)
        except ValueError as exc:
            raise ValueError(f"{self.vendor}: {exc}") from None
        if policy.placement == "path" and VERSION_PLACEHOLDER not in self.api_prefix:
            raise ValueError(f"{self.vendor}: the version goes in the path: api_prefix lacks it")
        if policy.placement == "header" and self.headers.get(policy.header or "") != (
            VERSION_PLACEHOLDER
        ):
            raise ValueError(
                f"{self.vendor}: the version goes in header {policy.header!r}, "
                f"whose value must be {VERSION_PLACEHOLDER}"
            )
        return self

    def versioned(self, template: str, version: str | None = None) -> str:
        """`template` with `{version}` replaced by `version` (default: the spec's own)."""
        chosen = version or self.version
        return template.replace(VERSION_PLACEHOLDER, chosen) if chosen else template

    def entity(self, name: str) -> EntitySpec:
        """The entity called `name`, or a KeyError listing the ones that exist."""
        for entity in self.entities:
            if entity.name == name:
                return entity
        known = ", ".join(entity.name for entity in self.entities)
        raise KeyError(f"{self.vendor} has no entity {name!r} (known: {known})")
