"""The Intercom endpoints revsync calls (API 2.16), one method each, over `IntercomTransport`.

Paths and bodies follow the 2.16 OpenAPI description. Each method passes a route template so the
transport's counters group calls by endpoint rather than by id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from resources.intercom.errors import IntercomAPIError
from resources.intercom.transport import IntercomTransport


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

    async def search_leads_by_email(self, emails: list[str], per_page: int = 150) -> list[dict]:
        """Leads whose email is in `emails` (Intercom compares emails case-insensitively).

        Search lags writes by minutes in Intercom, so this only sees leads that are not brand new.
        """
        query = {
            "operator": "AND",
            "value": [
                {"field": "role", "operator": "=", "value": "lead"},
                {"field": "email", "operator": "IN", "value": emails},
            ],
        }
        found: list[dict] = []
        pagination: dict[str, Any] = {"per_page": per_page}
        while True:
            page = await self._call("POST", "/contacts/search", json={"query": query, "pagination": pagination})
            found.extend(page.get("data", []))
            after = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not after:
                return found
            pagination = {"per_page": per_page, "starting_after": after}

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
