"""The slice of Shopify's GraphQL Admin API 2026-10 schema that the simulator serves.

Type, field, argument and enum names follow Shopify's published 2026-10 reference exactly, so
a query written against the real service validates here unchanged; only the types the shop's
customers, orders and products need are declared. Fields Shopify marks deprecated in 2026-10
but still serves (`Customer.email`, `Customer.phone`, `Customer.emailMarketingConsent` …)
carry `@deprecated` with Shopify's reason, so introspection shows what Shopify shows.

The query root is `QueryRoot` (Shopify's name). The mutation root is not declared here: other
features (bulk operations) add it with `SchemaExtension`s, which `build_executable_schema`
merges with this SDL, so no placeholder field ever leaks into the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    build_ast_schema,
    parse,
)
from graphql.language import DocumentNode, StringValueNode, ValueNode

Resolver = Callable[..., Any]

SDL = '''
"""An object with an ID field to support global identification."""
interface Node {
  id: ID!
}

"""
An ISO-8601 encoded UTC date time string, for example `2019-09-07T15:50:00Z`.
"""
scalar DateTime

"""A monetary value string without a currency symbol or code, for example `"100.57"`."""
scalar Money

"""A signed decimal number, serialized as a string, for example `"29.99"`."""
scalar Decimal

"""An unsigned 64-bit integer, serialized as a string, for example `"34"`."""
scalar UnsignedInt64

"""An RFC 3986 and RFC 3987 compliant URI string."""
scalar URL

"""A string containing HTML code."""
scalar HTML

"""
Returns information about pagination in a connection, in accordance with the Relay
specification.
"""
type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

enum CurrencyCode {
  AUD
  CAD
  CHF
  DKK
  EUR
  GBP
  JPY
  NZD
  SEK
  USD
}

"""A monetary value with currency."""
type MoneyV2 {
  amount: Decimal!
  currencyCode: CurrencyCode!
}

"""A collection of monetary values in their respective currencies."""
type MoneyBag {
  presentmentMoney: MoneyV2!
  shopMoney: MoneyV2!
}

enum CountryCode {
  AU
  CA
  DE
  ES
  FR
  GB
  IE
  IT
  NL
  US
}

"""Represents a mailing address for customers and shipping."""
type MailingAddress implements Node {
  address1: String
  address2: String
  city: String
  company: String
  country: String
  countryCodeV2: CountryCode
  firstName: String
  formattedArea: String
  id: ID!
  lastName: String
  name: String
  phone: String
  province: String
  provinceCode: String
  zip: String
}

type MailingAddressEdge {
  cursor: String!
  node: MailingAddress!
}

type MailingAddressConnection {
  edges: [MailingAddressEdge!]!
  nodes: [MailingAddress!]!
  pageInfo: PageInfo!
}

"""The valid values for the state of a customer's account with a shop."""
enum CustomerState {
  DECLINED
  DISABLED
  ENABLED
  INVITED
}

"""The possible email marketing states for a customer."""
enum CustomerEmailAddressMarketingState {
  INVALID
  NOT_SUBSCRIBED
  PENDING
  SUBSCRIBED
  UNSUBSCRIBED
}

"""The possible email marketing states for a customer (deprecated consent object)."""
enum CustomerEmailMarketingState {
  INVALID
  NOT_SUBSCRIBED
  PENDING
  REDACTED
  SUBSCRIBED
  UNSUBSCRIBED
}

"""The possible values for the marketing subscription opt-in level."""
enum CustomerMarketingOptInLevel {
  CONFIRMED_OPT_IN
  SINGLE_OPT_IN
  UNKNOWN
}

"""The valid SMS marketing states for a customer's phone number."""
enum CustomerSmsMarketingState {
  NOT_SUBSCRIBED
  PENDING
  REDACTED
  SUBSCRIBED
  UNSUBSCRIBED
}

"""The source from which the SMS marketing information for the customer was collected."""
enum CustomerConsentCollectedFrom {
  OTHER
  SHOPIFY
}

"""Describes an email address associated with a customer."""
type CustomerEmailAddress {
  emailAddress: String!
  marketingOptInLevel: CustomerMarketingOptInLevel
  marketingState: CustomerEmailAddressMarketingState!
  marketingUpdatedAt: DateTime
  validFormat: Boolean!
}

"""
A phone number. Its SMS marketing fields are deprecated (Shopify's reference lists them
under "Deprecated fields" without a replacement); they are still served.
"""
type CustomerPhoneNumber {
  marketingCollectedFrom: CustomerConsentCollectedFrom @deprecated
  marketingOptInLevel: CustomerMarketingOptInLevel @deprecated
  marketingState: CustomerSmsMarketingState! @deprecated
  marketingUpdatedAt: DateTime @deprecated
  phoneNumber: String!
}

"""The record of when a customer consented to receive marketing material by email."""
type CustomerEmailMarketingConsentState {
  consentUpdatedAt: DateTime
  marketingOptInLevel: CustomerMarketingOptInLevel
  marketingState: CustomerEmailMarketingState!
}

"""The record of when a customer consented to receive marketing material by SMS."""
type CustomerSmsMarketingConsentState {
  consentCollectedFrom: CustomerConsentCollectedFrom
  consentUpdatedAt: DateTime
  marketingOptInLevel: CustomerMarketingOptInLevel!
  marketingState: CustomerSmsMarketingState!
}

"""Available customer tax exemptions."""
enum TaxExemption {
  CA_STATUS_CARD_EXEMPTION
  US_CO_RESELLER_EXEMPTION
}

"""Represents information about a customer of the shop."""
type Customer implements Node {
  addresses(first: Int): [MailingAddress!]! @deprecated(reason: "Limited to 250 addresses. Use `addressesV2` for paginated access to all addresses.")
  addressesV2(after: String, before: String, first: Int, last: Int, reverse: Boolean = false): MailingAddressConnection!
  amountSpent: MoneyV2!
  canDelete: Boolean!
  createdAt: DateTime!
  defaultAddress: MailingAddress
  defaultEmailAddress: CustomerEmailAddress
  defaultPhoneNumber: CustomerPhoneNumber
  displayName: String!
  email: String @deprecated(reason: "Use `defaultEmailAddress.emailAddress` instead.")
  dataSaleOptOut: Boolean!
  emailMarketingConsent: CustomerEmailMarketingConsentState @deprecated(reason: "Use `defaultEmailAddress.marketingState`, `defaultEmailAddress.marketingOptInLevel`, `defaultEmailAddress.marketingUpdatedAt`, and `defaultEmailAddress.sourceLocation` instead.")
  firstName: String
  id: ID!
  lastName: String
  lastOrder: Order
  legacyResourceId: UnsignedInt64!
  locale: String!
  multipassIdentifier: String
  note: String
  numberOfOrders: UnsignedInt64!
  phone: String @deprecated(reason: "Use `defaultPhoneNumber.phoneNumber` instead.")
  smsMarketingConsent: CustomerSmsMarketingConsentState @deprecated(reason: "Use `defaultPhoneNumber.marketingState`, `defaultPhoneNumber.marketingOptInLevel`, `defaultPhoneNumber.marketingUpdatedAt`, `defaultPhoneNumber.marketingCollectedFrom`, and `defaultPhoneNumber.sourceLocation` instead.")
  state: CustomerState!
  tags: [String!]!
  taxExempt: Boolean!
  taxExemptions: [TaxExemption!]!
  updatedAt: DateTime!
  validEmailAddress: Boolean!
  verifiedEmail: Boolean!
}

type CustomerEdge {
  cursor: String!
  node: Customer!
}

type CustomerConnection {
  edges: [CustomerEdge!]!
  nodes: [Customer!]!
  pageInfo: PageInfo!
}

"""The set of valid sort keys for the Customer query."""
enum CustomerSortKeys {
  CREATED_AT
  ID
  LOCATION
  NAME
  RELEVANCE
  UPDATED_AT
}

"""Represents the order's current financial status."""
enum OrderDisplayFinancialStatus {
  AUTHORIZED
  EXPIRED
  PAID
  PARTIALLY_PAID
  PARTIALLY_REFUNDED
  PENDING
  REFUNDED
  VOIDED
}

"""Represents the order's aggregated fulfillment status for display purposes."""
enum OrderDisplayFulfillmentStatus {
  FULFILLED
  IN_PROGRESS
  ON_HOLD
  OPEN
  PARTIALLY_FULFILLED
  PENDING_FULFILLMENT
  REQUEST_DECLINED
  RESTOCKED
  SCHEDULED
  UNFULFILLED
}

"""Represents the reason for the order's cancellation."""
enum OrderCancelReason {
  CUSTOMER
  DECLINED
  FRAUD
  INVENTORY
  OTHER
  STAFF
}

"""A custom key and value (an order's note attributes, a line item's properties)."""
type Attribute {
  key: String!
  value: String
}

"""A tax applied to an order or line item."""
type TaxLine {
  priceSet: MoneyBag!
  rate: Float
  ratePercentage: Float
  title: String!
}

"""A shipping line of an order."""
type ShippingLine {
  code: String
  id: ID
  originalPriceSet: MoneyBag!
  source: String
  title: String!
}

type ShippingLineEdge {
  cursor: String!
  node: ShippingLine!
}

type ShippingLineConnection {
  edges: [ShippingLineEdge!]!
  nodes: [ShippingLine!]!
  pageInfo: PageInfo!
}

"""Represents individual products and quantities purchased in the associated order."""
type LineItem implements Node {
  currentQuantity: Int!
  customAttributes: [Attribute!]!
  discountedTotalSet: MoneyBag!
  id: ID!
  isGiftCard: Boolean!
  name: String!
  originalTotalSet: MoneyBag!
  originalUnitPriceSet: MoneyBag!
  product: Product
  quantity: Int!
  requiresShipping: Boolean!
  sku: String
  taxable: Boolean!
  title: String!
  totalDiscountSet: MoneyBag!
  unfulfilledQuantity: Int!
  variant: ProductVariant
  variantTitle: String
  vendor: String
}

type LineItemEdge {
  cursor: String!
  node: LineItem!
}

type LineItemConnection {
  edges: [LineItemEdge!]!
  nodes: [LineItem!]!
  pageInfo: PageInfo!
}

"""An order is a customer's request to purchase one or more products from a shop."""
type Order implements Node {
  billingAddress: MailingAddress
  cancelReason: OrderCancelReason
  cancelledAt: DateTime
  closed: Boolean!
  closedAt: DateTime
  confirmationNumber: String
  confirmed: Boolean!
  createdAt: DateTime!
  currencyCode: CurrencyCode!
  currentSubtotalPriceSet: MoneyBag!
  currentTotalDiscountsSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  currentTotalTaxSet: MoneyBag!
  customAttributes: [Attribute!]!
  customer: Customer
  customerAcceptsMarketing: Boolean!
  customerLocale: String
  discountCodes: [String!]!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  email: String
  id: ID!
  legacyResourceId: UnsignedInt64!
  lineItems(after: String, before: String, first: Int, last: Int, reverse: Boolean = false): LineItemConnection!
  name: String!
  note: String
  number: Int!
  paymentGatewayNames: [String!]!
  phone: String
  presentmentCurrencyCode: CurrencyCode!
  processedAt: DateTime!
  shippingAddress: MailingAddress
  shippingLines(after: String, before: String, first: Int, last: Int, reverse: Boolean = false): ShippingLineConnection!
  sourceIdentifier: String
  sourceName: String
  subtotalLineItemsQuantity: Int!
  subtotalPriceSet: MoneyBag
  tags: [String!]!
  taxLines: [TaxLine!]!
  taxesIncluded: Boolean!
  test: Boolean!
  totalDiscountsSet: MoneyBag
  totalOutstandingSet: MoneyBag!
  totalPriceSet: MoneyBag!
  totalShippingPriceSet: MoneyBag!
  totalTaxSet: MoneyBag
  totalTipReceivedSet: MoneyBag!
  totalWeight: UnsignedInt64
  updatedAt: DateTime!
}

type OrderEdge {
  cursor: String!
  node: Order!
}

type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

"""The set of valid sort keys for the Order query."""
enum OrderSortKeys {
  CREATED_AT
  CUSTOMER_NAME
  DESTINATION
  FINANCIAL_STATUS
  FULFILLMENT_STATUS
  ID
  ORDER_NUMBER
  PO_NUMBER
  PROCESSED_AT
  RELEVANCE
  TOTAL_ITEMS_QUANTITY
  TOTAL_PRICE
  UPDATED_AT
}

"""The possible product statuses."""
enum ProductStatus {
  ACTIVE
  ARCHIVED
  DRAFT
  UNLISTED
}

"""The possible inventory policies for a product variant."""
enum ProductVariantInventoryPolicy {
  CONTINUE
  DENY
}

"""Properties used by customers to select a product variant."""
type SelectedOption {
  name: String!
  value: String!
}

"""The quantity of inventory items that are stocked at a location (only its id here)."""
type InventoryItem implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  requiresShipping: Boolean!
  sku: String
  tracked: Boolean!
}

"""The product property names (Size, Color) and their values."""
type ProductOption implements Node {
  id: ID!
  name: String!
  position: Int!
  values: [String!]!
}

"""A count with its precision."""
type Count {
  count: Int!
  precision: CountPrecision!
}

enum CountPrecision {
  AT_LEAST
  EXACT
}

"""Represents a product variant."""
type ProductVariant implements Node {
  barcode: String
  compareAtPrice: Money
  createdAt: DateTime!
  displayName: String!
  id: ID!
  inventoryItem: InventoryItem!
  inventoryPolicy: ProductVariantInventoryPolicy!
  inventoryQuantity: Int
  legacyResourceId: UnsignedInt64!
  position: Int!
  price: Money!
  product: Product!
  selectedOptions: [SelectedOption!]!
  sku: String
  taxable: Boolean!
  title: String!
  updatedAt: DateTime!
}

type ProductVariantEdge {
  cursor: String!
  node: ProductVariant!
}

type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}

"""The Product object lets you manage products in a merchant's store."""
type Product implements Node {
  createdAt: DateTime!
  descriptionHtml: HTML!
  handle: String!
  id: ID!
  legacyResourceId: UnsignedInt64!
  options(first: Int): [ProductOption!]!
  productType: String!
  publishedAt: DateTime
  status: ProductStatus!
  tags: [String!]!
  templateSuffix: String
  title: String!
  updatedAt: DateTime!
  variants(after: String, before: String, first: Int, last: Int, reverse: Boolean = false): ProductVariantConnection!
  variantsCount: Count
  vendor: String!
}

type ProductEdge {
  cursor: String!
  node: Product!
}

type ProductConnection {
  edges: [ProductEdge!]!
  nodes: [Product!]!
  pageInfo: PageInfo!
}

"""The set of valid sort keys for the Product query."""
enum ProductSortKeys {
  CREATED_AT
  ID
  INVENTORY_TOTAL
  PRODUCT_TYPE
  PUBLISHED_AT
  RELEVANCE
  TITLE
  UPDATED_AT
  VENDOR
}

"""The schema's entry point for queries."""
type QueryRoot {
  customer(id: ID!): Customer
  customers(after: String, before: String, first: Int, last: Int, query: String, reverse: Boolean = false, sortKey: CustomerSortKeys = ID): CustomerConnection!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  order(id: ID!): Order
  orders(after: String, before: String, first: Int, last: Int, query: String, reverse: Boolean = false, sortKey: OrderSortKeys = PROCESSED_AT): OrderConnection!
  product(id: ID!): Product
  products(after: String, before: String, first: Int, last: Int, query: String, reverse: Boolean = false, sortKey: ProductSortKeys = ID): ProductConnection!
}
'''


@dataclass(frozen=True)
class SchemaExtension:
    """More SDL and its resolvers, merged into the served schema.

    `sdl` may declare new types (`type Mutation { … }`, `type BulkOperation implements Node`)
    and extend existing ones (`extend type QueryRoot { currentBulkOperation: BulkOperation }`).
    `resolvers` maps a type name to {field name: resolver}; a resolver has graphql-core's
    signature `(source, info, **arguments)` and finds the simulator as
    `info.context.simulator`. `costs` sets manual query costs by "Type.field" (a mutation
    field costs 10 by default, as on Shopify). `nodes` maps a global-id type name
    ("BulkOperation") to `lookup(simulator, numeric_id) -> object | None`, so `node(id:)` and
    `nodes(ids:)` find the extension's objects too (the object needs a `__typename`).
    """

    sdl: str
    resolvers: Mapping[str, Mapping[str, Resolver]] = field(default_factory=dict)
    costs: Mapping[str, int] = field(default_factory=dict)
    nodes: Mapping[str, Callable[[Any, int], Any]] = field(default_factory=dict)


def _serialize_money(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
    except InvalidOperation:
        raise GraphQLError(f"Money cannot represent value: {value!r}") from None


def _serialize_string(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _parse_string(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(f"expected a string, got {value!r}")
    return value


def _parse_string_literal(node: ValueNode, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("expected a string literal", node)
    return node.value


def _string_scalar(name: str, serialize: Callable[[Any], str] = _serialize_string) -> dict:
    return {
        "serialize": serialize,
        "parse_value": _parse_string,
        "parse_literal": _parse_string_literal,
    }


_SCALARS = {
    "DateTime": _string_scalar("DateTime"),
    "Money": _string_scalar("Money", _serialize_money),
    "Decimal": _string_scalar("Decimal", _serialize_money),
    "UnsignedInt64": _string_scalar("UnsignedInt64"),
    "URL": _string_scalar("URL"),
    "HTML": _string_scalar("HTML"),
}


def _has_mutation(document: DocumentNode) -> bool:
    return any(
        isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode)
        and node.name.value == "Mutation"
        for node in document.definitions
    )


def build_executable_schema(
    resolvers: Mapping[str, Mapping[str, Resolver]],
    extensions: Sequence[SchemaExtension] = (),
) -> GraphQLSchema:
    """The schema with `resolvers` (and every extension's) attached to their fields.

    The `schema { query: QueryRoot mutation: Mutation }` root is generated: `Mutation` is named
    only when an extension declared it.
    """
    parts = [SDL, *(extension.sdl for extension in extensions)]
    document = parse("\n".join(parts))
    root = "query: QueryRoot"
    if _has_mutation(document):
        root += " mutation: Mutation"
    schema = build_ast_schema(parse("\n".join([*parts, f"schema {{ {root} }}"])))
    for name, options in _SCALARS.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalar.serialize = options["serialize"]  # type: ignore[method-assign]
        scalar.parse_value = options["parse_value"]  # type: ignore[method-assign]
        scalar.parse_literal = options["parse_literal"]  # type: ignore[method-assign]
    every = [resolvers, *(extension.resolvers for extension in extensions)]
    for mapping in every:
        for type_name, fields in mapping.items():
            graphql_type = schema.type_map.get(type_name)
            if graphql_type is None or not hasattr(graphql_type, "fields"):
                raise ValueError(f"no object type {type_name!r} to attach resolvers to")
            for field_name, resolver in fields.items():
                if field_name not in graphql_type.fields:
                    raise ValueError(f"{type_name} has no field {field_name!r}")
                graphql_type.fields[field_name].resolve = resolver
    return schema
