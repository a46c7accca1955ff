"""`POST /admin/api/{version}/graphql.json`: Shopify's GraphQL Admin API over HTTP.

What a client meets, as on the real service (shopify.dev: "GraphQL Admin API reference",
"About Shopify API versioning", "GraphQL Admin API rate limits"):

* The versions served are 2026-01, 2026-04, 2026-07 and 2026-10. A request for any other
  (retired or unknown) `YYYY-MM` version is answered as the oldest supported one, and
  `X-Shopify-API-Version` names the version actually served; `unstable` is served too. A
  path that is no version at all is a 404.
* The body is JSON `{"query", "variables", "operationName"}` (or the bare query with
  `Content-Type: application/graphql`). No query is a 400
  `{"errors": {"query": "Required parameter missing or invalid"}}`; any method but POST is a
  405.
* Syntax, validation and resolver errors come back with status 200 in `errors`, beside
  whatever `data` could be computed. Every answer carries `extensions.cost`
  (`requestedQueryCost`, `actualQueryCost`, `throttleStatus`).
* A query whose requested cost is over 1,000 is refused before it runs (MAX_COST_EXCEEDED);
  when the bucket cannot cover the requested cost the answer is 200 with
  `errors: [{"message": "Throttled", "extensions": {"code": "THROTTLED", …}}]` and
  `actualQueryCost: null`. After a query ran, requested minus actual goes back to the bucket.
* Since 2025-04, `X-Shopify-API-Deprecated-Reason` lists the deprecated fields a query used
  ("Customer.email, Customer.phone"); the `deprecated_reason` fault switch adds a fixed
  reason (a URL), as for a deprecated version.
* `extensions.search` reports the search terms Shopify ignored (unknown fields).
* GraphQL over HTTP (changelog "GraphQL Over HTTP", 2025-01): the `…/graphql` path (without
  `.json`) honours `Accept: application/graphql-response+json`; with that format a document
  that fails parsing or static validation is answered 400 instead of 200, in that media type.
  `…/graphql.json` always answers `application/json`.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.execution.collect_fields import collect_fields
from starlette.requests import Request
from starlette.responses import Response

from integration_assets.sandbox.shopify.graphql.cost import CostCalculator
from integration_assets.sandbox.shopify.graphql.errors import format_errors
from integration_assets.sandbox.shopify.graphql.executor import Outcome, execute, parse_and_validate
from integration_assets.sandbox.shopify.graphql.throttle import SINGLE_QUERY_MAX_COST, full_status
from integration_assets.sandbox.shopify.graphql.views import parse_gid

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/graphql(?P<json>\.json)?$")
_VERSION = re.compile(r"^\d{4}-\d{2}$")
JSON = "application/json; charset=utf-8"
GRAPHQL_RESPONSE = "application/graphql-response+json"
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
MISSING_QUERY = {"errors": {"query": "Required parameter missing or invalid"}}
_DRIFT_ENTITIES = {"customers", "orders", "products"}


def served_version(requested: str) -> str | None:
    """The version Shopify answers a request for `requested` with (None: not a version).

    `unstable` is answered as itself (here with the 2026-10 schema).
    """
    if requested in SUPPORTED_VERSIONS or requested == "unstable":
        return requested
    if _VERSION.match(requested):
        return SUPPORTED_VERSIONS[0]
    return None


def _json(body: Any, status: int, headers: dict[str, str], media_type: str = JSON) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=media_type)


def _graphql_response_format(request: Request, json_path: bool) -> bool:
    """Whether the client asked first for `application/graphql-response+json` (not on .json)."""
    if json_path:
        return False
    accept = request.headers.get("accept", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first == GRAPHQL_RESPONSE


def max_cost_error(cost: int) -> dict[str, Any]:
    """Shopify's refusal of a query over the single-query limit."""
    return {
        "message": f"Query cost is {cost}, which exceeds the single query max cost limit "
        f"({SINGLE_QUERY_MAX_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits "
        "for more information on how the\ncost of a query is calculated.\n\nTo query larger "
        "amounts of data with fewer limits, bulk operations should be used instead.\nSee "
        "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage "
        "details.\n",
        "extensions": {
            "code": "MAX_COST_EXCEEDED",
            "cost": cost,
            "maxCost": SINGLE_QUERY_MAX_COST,
            "documentation": RATE_LIMITS_DOC,
        },
    }


THROTTLED_ERROR = {
    "message": "Throttled",
    "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
}


def internal_error(request_id: str) -> dict[str, Any]:
    """Shopify's error for a failure on its side, inside a 200."""
    return {
        "message": "Internal error. Looks like something went wrong on our end.\n"
        f"Request ID: {request_id} (include this in support requests).",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }


def deprecated_fields(outcome: Outcome) -> list[str]:
    """`Type.field` of every deprecated field the document selected, in order of appearance."""
    document = outcome.document
    if document is None:
        return []
    schema = outcome.context.simulator.graphql.schema
    type_info = TypeInfo(schema)
    found: list[str] = []

    class _Deprecations(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            definition = type_info.get_field_def()
            parent = type_info.get_parent_type()
            if definition is not None and parent is not None and definition.deprecation_reason:
                name = f"{parent.name}.{node.name.value}"
                if name not in found:
                    found.append(name)

    visit(document, TypeInfoVisitor(type_info, _Deprecations()))
    return found


class GraphQLEndpoint:
    """Answers GraphQL requests for one simulated shop (called with the simulator's lock)."""

    def __init__(self, simulator: ShopifySimulator) -> None:
        self.simulator = simulator

    def answer(self, request: Request, body: bytes, headers: dict[str, str]) -> Response:
        """The full GraphQL exchange: version, method, body, cost, throttle, execute, faults."""
        match = PATH.match(request.url.path)
        version = served_version(match["version"]) if match else None
        if version is None:
            return _json({"errors": "Not Found"}, 404, headers)
        headers["X-Shopify-API-Version"] = version
        assert match is not None
        strict = _graphql_response_format(request, match["json"] is not None)
        media_type = f"{GRAPHQL_RESPONSE}; charset=utf-8" if strict else JSON
        if request.method != "POST":
            return _json({"errors": "Method Not Allowed"}, 405, {**headers, "Allow": "POST"})
        parsed = _read_body(request, body)
        if parsed is None:
            return _json(MISSING_QUERY, 400, headers)
        source, variables, operation_name = parsed
        simulator = self.simulator
        schema = simulator.graphql.schema
        document, errors = parse_and_validate(schema, source)
        if document is None:
            body_out = {"errors": format_errors(errors), "extensions": self._cost(0, 0, None)}
            return _json(body_out, 400 if strict else 200, headers, media_type)
        request.state.log_params = _log_params(document, operation_name)
        calculator = CostCalculator(
            schema, document, variables, operation_name, simulator.graphql.costs
        )
        requested = calculator.requested()
        breakdown = None
        if request.headers.get("x-graphql-cost-include-fields", "").lower() == "true":
            breakdown = calculator.fields_breakdown()
        if requested > SINGLE_QUERY_MAX_COST:
            out = {
                "errors": [max_cost_error(requested)],
                "extensions": self._cost(requested, None, None, breakdown),
            }
            return _json(out, 200, headers, media_type)
        bucket = None
        if simulator.fault_settings.rate_limits:
            bucket = simulator.cost_bucket(request.headers.get("x-shopify-access-token", ""))
            if simulator.faults.graphql_throttled() or not bucket.take(requested):
                out = {
                    "errors": [THROTTLED_ERROR],
                    "extensions": self._cost(requested, None, bucket, breakdown),
                }
                return _json(out, 200, headers, media_type)
        outcome = execute(simulator, document, variables, operation_name=operation_name)
        result = outcome.result
        data = result.data
        errors_out = format_errors(result.errors or [])
        if simulator.faults.graphql_error():
            data = None
            errors_out = [internal_error(headers.get("X-Request-Id") or str(uuid.uuid4()))]
            actual = requested
        else:
            actual = calculator.actual(data)
            self._drift(outcome, data)
        if bucket is not None:
            bucket.refund(requested - actual)
        deprecations = deprecated_fields(outcome)
        if deprecations:
            headers["X-Shopify-API-Deprecated-Reason"] = ", ".join(deprecations)
        body_out: dict[str, Any] = {}
        if errors_out:
            body_out["errors"] = errors_out
        body_out["data"] = data
        extensions = self._cost(requested, actual, bucket, breakdown)
        if outcome.context.search:
            extensions = {"search": outcome.context.search, **extensions}
        body_out["extensions"] = extensions
        raw = orjson.dumps(body_out)
        if any(simulator.faults.malformed(entity, page) for entity, page in outcome.context.pages):
            raw = raw[: max(1, len(raw) // 2)]
        return Response(raw, status_code=200, headers=headers, media_type=media_type)

    def _cost(
        self,
        requested: int,
        actual: int | None,
        bucket: Any,
        fields: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        status = bucket.status() if bucket is not None else full_status(self.simulator.cost_limits)
        cost: dict[str, Any] = {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status,
        }
        if fields is not None:
            cost["fields"] = fields
        return {"cost": cost}

    def _drift(self, outcome: Outcome, data: Any) -> None:
        """Change one field's JSON type in drifted records, as a vendor-side drift would."""
        faults = self.simulator.faults
        if not faults.settings.type_drift or not isinstance(data, dict):
            return
        for key, entity in _top_level_entities(outcome).items():
            connection = data.get(key)
            if not isinstance(connection, dict):
                continue
            nodes = list(connection.get("nodes") or [])
            nodes += [
                edge.get("node") for edge in connection.get("edges") or [] if isinstance(edge, dict)
            ]
            for node in nodes:
                if not isinstance(node, dict) or not isinstance(node.get("id"), str):
                    continue
                parsed = parse_gid(node["id"])
                if parsed is None:
                    continue
                index = self.simulator.catalog.id_spaces[entity].index_of(parsed[1])
                if index is not None and faults.drifts(entity, index):
                    _drift_node(entity, node)


def _log_params(document: DocumentNode, operation_name: str | None) -> dict[str, str]:
    """What the request log keeps of a GraphQL request: its operation and top-level fields."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return {}
    names = [
        selection.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode)
    ]
    params = {"operation": operation.operation.value, "fields": ",".join(names)}
    if operation_name:
        params["operationName"] = operation_name
    return params


def _top_level_entities(outcome: Outcome) -> dict[str, str]:
    """Response key → entity for the query's top-level customers/orders/products fields."""
    document: DocumentNode | None = outcome.document
    schema = outcome.context.simulator.graphql.schema
    if document is None or schema.query_type is None:
        return {}
    operation = get_operation_ast(document, outcome.operation_name)
    if operation is None or operation.operation.value != "query":
        return {}
    fields = collect_fields(schema, {}, {}, schema.query_type, operation.selection_set)
    return {
        key: nodes[0].name.value
        for key, nodes in fields.items()
        if nodes[0].name.value in _DRIFT_ENTITIES
    }


def _drift_node(entity: str, node: dict[str, Any]) -> None:
    if entity == "customers" and isinstance(node.get("verifiedEmail"), bool):
        node["verifiedEmail"] = "yes" if node["verifiedEmail"] else "no"
    elif entity == "orders":
        money = (node.get("totalPriceSet") or {}).get("shopMoney") or {}
        if isinstance(money.get("amount"), str):
            money["amount"] = float(money["amount"])
    elif entity == "products":
        variants = node.get("variants") or {}
        for variant in [
            *(variants.get("nodes") or []),
            *(e.get("node") for e in variants.get("edges") or []),
        ]:
            if isinstance(variant, dict) and isinstance(variant.get("price"), str):
                variant["price"] = float(variant["price"])


def _read_body(
    request: Request, body: bytes
) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """(query, variables, operation name) of a GraphQL POST, or None when there is no query."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/graphql"):
        text = body.decode("utf-8", errors="replace")
        return (text, None, None) if text.strip() else None
    try:
        payload = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    return query, variables, operation_name if isinstance(operation_name, str) else None
