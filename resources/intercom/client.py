"""The Intercom endpoints revsync calls (API 2.16), one method each, over `IntercomTransport`.

Paths and bodies follow the 2.16 OpenAPI description. Each method passes a route template so the
transport's counters group calls by endpoint rather than by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from resources.intercom.errors import IntercomAPIError
from resources.intercom.transport import IntercomTransport

MAX_FILTERS_PER_GROUP = 15  # contact search: filters per AND/OR group (spec 2.16, "Nesting & Limitations")


def identity_queries(
    emails: Sequence[str], external_ids: Sequence[str], values_per_filter: int
) -> list[dict[str, Any]]:
    """Search queries that together match every contact with one of the emails or external ids.

    Each is one `OR` group (one level of nesting; Intercom allows two) of at most 15 `IN` filters
    (Intercom's limit per group) of at most `values_per_filter` values, so one call covers up to
    15 x `values_per_filter` identities. Intercom compares emails case-insensitively.
    """
    if values_per_filter < 1:
        raise ValueError(f"values_per_filter must be at least 1, got {values_per_filter}")
    filters = [
        {"field": field, "operator": "IN", "value": list(values[start : start + values_per_filter])}
        for field, values in (("email", emails), ("external_id", external_ids))
        for start in range(0, len(values), values_per_filter)
    ]
    return [
        {"operator": "OR", "value": filters[start : start + MAX_FILTERS_PER_GROUP]}
        for start in range(0, len(filters), MAX_FILTERS_PER_GROUP)
    ]


class IntercomClient:
    def __init__(self, transport: IntercomTransport) -> None:
        self.transport = transport

    async def _call(self, method: str, route: str, path: str | None = None, **kwargs: Any) -> Any:
        return await self.transport.request(method, path or route, route=route, **kwargs)

    # -- data attributes ------------------------------------------------------------------
    async def list_data_attributes(self, model: str) -> list[dict[str, Any]]:
        body = await self._call("GET", "/data_attributes", params={"model": model, "include_archived": "true"})
        return list(body.get("data", []))

    async def create_data_attribute(self, *, name: str, model: str, data_type: str, description: str) -> dict:
        return await self._call(
            "POST",
            "/data_attributes",
            json={"name": name, "model": model, "data_type": data_type, "description": description},
        )

    async def unarchive_data_attribute(self, attribute_id: str | int) -> dict:
        return await self._call(
            "PUT", "/data_attributes/{id}", f"/data_attributes/{attribute_id}", json={"archived": False}
        )

    # -- companies ------------------------------------------------------------------------
    async def upsert_company(self, body: dict[str, Any]) -> dict:
        """`POST /companies` creates or updates by `company_id`."""
        return await self._call("POST", "/companies", json=body)

    # -- contacts -------------------------------------------------------------------------
    async def create_contact(self, body: dict[str, Any]) -> dict:
        return await self._call("POST", "/contacts", json=body)

    async def update_contact(self, contact_id: str, body: dict[str, Any]) -> dict:
        return await self._call("PUT", "/contacts/{id}", f"/contacts/{contact_id}", json=body)

    async def get_contact(self, contact_id: str) -> dict:
        return await self._call("GET", "/contacts/{id}", f"/contacts/{contact_id}")

    async def find_contact_by_external_id(self, external_id: str) -> dict | None:
        """The user with this external id, or None (the endpoint covers users, not leads)."""
        try:
            return await self._call(
                "GET",
                "/contacts/find_by_external_id/{external_id}",
                f"/contacts/find_by_external_id/{quote(external_id, safe='')}",
                expected=frozenset({404}),
            )
        except IntercomAPIError as error:
            if error.status == 404:
                return None
            raise

    async def search_contacts(self, query: dict[str, Any], per_page: int = 150) -> list[dict[str, Any]]:
        """Every contact matching `query`, page by page (the cursor goes in the body, not the URL).

        Search lags writes by minutes in Intercom, so it only sees contacts that are not brand new.
        """
        found: list[dict[str, Any]] = []
        pagination: dict[str, Any] = {"per_page": per_page}
        while True:
            page = await self._call("POST", "/contacts/search", json={"query": query, "pagination": pagination})
            found.extend(page.get("data", []))
            after = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not after:
                return found
            pagination = {"per_page": per_page, "starting_after": after}

    async def find_contacts(
        self, emails: Sequence[str], external_ids: Sequence[str], values_per_filter: int = 100
    ) -> list[dict[str, Any]]:
        """Contacts (leads and users) with any of these emails or external ids, in as few searches as
        Intercom's limits allow (see `identity_queries`), run concurrently."""
        queries = identity_queries(emails, external_ids, values_per_filter)
        pages = await asyncio.gather(*(self.search_contacts(query) for query in queries))
        return [contact for page in pages for contact in page]

    async def unarchive_contact(self, contact_id: str) -> dict:
        return await self._call("POST", "/contacts/{id}/unarchive", f"/contacts/{contact_id}/unarchive")

    async def merge_lead_into_user(self, lead_id: str, user_id: str) -> dict:
        return await self._call("POST", "/contacts/merge", json={"from": lead_id, "into": user_id})

    async def attach_company(self, contact_id: str, company_intercom_id: str) -> dict:
        return await self._call(
            "POST", "/contacts/{id}/companies", f"/contacts/{contact_id}/companies", json={"id": company_intercom_id}
        )

    async def detach_company(self, contact_id: str, company_intercom_id: str) -> dict:
        return await self._call(
            "DELETE",
            "/contacts/{id}/companies/{company_id}",
            f"/contacts/{contact_id}/companies/{company_intercom_id}",
        )

    # -- data events ----------------------------------------------------------------------
    async def submit_event(self, body: dict[str, Any]) -> None:
        """`POST /events`; Intercom de-duplicates a resend with the same user, name and `created_at`."""
        await self._call("POST", "/events", json=body)
