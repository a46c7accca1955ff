"""Walking the simulators' pages the way a client would, for the test stories."""

from __future__ import annotations

from typing import Any

import httpx


def shopify_pages(
    client: httpx.Client, resource: str, params: dict[str, Any] | None = None
) -> list[httpx.Response]:
    """Every page of a Shopify list, following `Link: rel="next"` as given."""
    responses = []
    response = client.get(f"/admin/api/2024-10/{resource}.json", params=params or {})
    while True:
        response.raise_for_status()
        responses.append(response)
        following = response.links.get("next", {}).get("url")
        if not following:
            return responses
        response = client.get(following)


def shopify_records(
    client: httpx.Client, resource: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """All records of a Shopify list walk, in the order served."""
    return [
        record
        for response in shopify_pages(client, resource, params)
        for record in response.json()[resource]
    ]


def klaviyo_pages(
    client: httpx.Client, resource: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every JSON:API document of a Klaviyo list, following `links.next`."""
    documents = []
    response = client.get(f"/api/{resource}/", params=params or {})
    while True:
        response.raise_for_status()
        document = response.json()
        documents.append(document)
        if not document["links"]["next"]:
            return documents
        response = client.get(document["links"]["next"])


def klaviyo_records(
    client: httpx.Client, resource: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """All resource objects of a Klaviyo list walk, in the order served."""
    return [
        item for document in klaviyo_pages(client, resource, params) for item in document["data"]
    ]
