"""Shopify bulk query operations (GraphQL Admin API 2026-10) for the simulated shop.

Modules, one job each: `rules` (which inner queries Shopify accepts, and their connection
tree), `paging` (the query rewritten to be read page by page), `jsonl` (executed nodes →
JSONL lines with `__parentId`), `snapshot` (the shop frozen at the operation's start),
`runner` (the background thread), `operations` (lifecycle, the five-query limit, files,
signed URLs, expiry), `signing` (the URL signatures), `download` (the token-free storage
route), `controls` (`/_sandbox/bulk`), `listing` (`bulkOperations`), `api` (the schema
extension and resolvers the simulator registers).
"""
