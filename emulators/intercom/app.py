"""The Intercom emulator: auth, versions, rate limit and errors around the resource handlers."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from emulators.http import EmulatorApp, Request, Response

from . import api_attributes, api_companies, api_contacts, api_events
from .attributes import AttributeRegistry
from .companies import CompanyStore, company_to_api
from .contacts import Contact, ContactStore, contact_to_api
from .errors import DEFAULT_CODES, ApiError, error_body, invalid, new_request_id
from .events import EventStore
from .ids import IdFactory
from .ratelimit import Clock, RateWindowCounter
from .search import SearchIndex

DEFAULT_TOKEN = "revsync-demo-token"
KNOWN_VERSIONS = frozenset([f"1.{i}" for i in range(5)] + [f"2.{i}" for i in range(17)] + ["Preview"])
STATE_FORMAT = 1


def _accepts_json(accept: str | None) -> bool:
    media_types = (part.split(";")[0].strip().lower() for part in (accept or "").split(","))
    return "application/json" in media_types


class IntercomEmulator(EmulatorApp):
    """A stateful, in-memory Intercom (REST API 2.16 shapes) for tests, the demo and benchmarks."""

    name = "intercom"

    def __init__(
        self,
        *,
        access_tokens: set[str] | None = None,
        rate_limit_per_minute: int | None = 10_000,
        search_lag_seconds: float = 0.0,
        clock: Clock = time.time,
        latency_ms: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        workspace_id: str = "revsyncemu",
    ) -> None:
        super().__init__(latency_ms=latency_ms, seed=seed)
        self.access_tokens = {DEFAULT_TOKEN} if access_tokens is None else set(access_tokens)
        self.clock = clock
        self.workspace_id = workspace_id
        self.rate_window = RateWindowCounter(rate_limit_per_minute, clock)
        self.rate_limited_count = 0
        self.versions_seen: Counter[str] = Counter()  # "unset" when a request sends no Intercom-Version
        self.ids = IdFactory(seed)
        self.attributes = AttributeRegistry()
        self.contacts = ContactStore(self.ids)
        self.companies = CompanyStore(self.ids)
        self.events = EventStore()
        self.search_index = SearchIndex(search_lag_seconds)
        self.route("GET", "/_emulator/stats", lambda r: Response(200, self.stats()))
        for module in (api_contacts, api_companies, api_attributes, api_events):
            module.register(self)

    # -- plumbing for the resource modules ----------------------------------------------------
    def api(self, method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
        """Register a handler whose ApiErrors (and bad JSON) become Intercom error responses."""

        def wrapped(request: Request) -> Response:
            request.params = {name: unquote(value) for name, value in request.params.items()}
            try:
                return handler(request)
            except ApiError as exc:
                return self.error(exc)

        self.route(method, pattern, wrapped)

    def now(self) -> int:
        return int(self.clock())

    @staticmethod
    def body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise invalid("Invalid JSON in the request body") from exc
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object")
        return body

    def error(self, exc: ApiError) -> Response:
        request_id = new_request_id()
        headers = {"X-Request-Id": request_id, **exc.headers}
        return Response(exc.status, error_body(exc.code, exc.message, request_id), headers)

    def contact_json(self, contact: Contact) -> dict[str, Any]:
        return contact_to_api(contact, self.companies.company_ids_of(contact.id), self.workspace_id)

    def company_json(self, company: Any) -> dict[str, Any]:
        return company_to_api(company, self.companies.user_count(company), self.workspace_id)

    def reindex(self, contact: Contact) -> None:
        """Hand the contact's current version to the (lagging) search index."""
        document = self.contact_json(contact) if contact.visible else None
        self.search_index.record(contact.id, self.clock(), document)

    # -- EmulatorApp hooks --------------------------------------------------------------------
    def error_response(self, status: int, message: str | None = None) -> Response:
        # Intercom answers an unsupported method with 404, not 405.
        status = 404 if status == 405 else status
        code = DEFAULT_CODES.get(status, "server_error" if status >= 500 else "bad_request")
        return self.error(ApiError(status, code, message or f"Injected {status}"))

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.access_tokens

    def before_route(self, request: Request) -> Response | None:
        if not self._authorised(request):
            return self.error(ApiError(401, "unauthorized", "Access Token Invalid"))
        if not _accepts_json(request.headers.get("accept")):
            return self.error(ApiError(406, "not_acceptable", "Accept header must be application/json"))
        version = request.headers.get("intercom-version")
        self.versions_seen[version or "unset"] += 1
        if version is not None and version not in KNOWN_VERSIONS:
            return self.error(ApiError(400, "intercom_version_invalid", f"Requested version {version} is unknown"))
        if self.rate_window.enabled and not self.rate_window.acquire():
            self.rate_limited_count += 1
            message = f"Exceeded rate limit of {self.rate_window.allowance} in 10_seconds"
            return self.error(ApiError(429, "rate_limit_exceeded", message))
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        response.headers.setdefault("X-Request-Id", new_request_id())
        if self.rate_window.enabled and self._authorised(request):
            response.headers.update(self.rate_window.headers())
        return response

    # -- state --------------------------------------------------------------------------------
    def state_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "ids_issued": self.ids.issued,
                "attributes": self.attributes.to_state(),
                "contacts": self.contacts.to_state(),
                "companies": self.companies.to_state(),
                "events": self.events.to_state(),
            }

    def restore_state(self, state: dict[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"Unsupported Intercom emulator state format: {state.get('format')!r}")
        with self.lock:
            self.ids.issued = int(state["ids_issued"])
            self.attributes.load_state(state["attributes"])
            self.contacts.load_state(state["contacts"])
            self.companies.load_state(state["companies"])
            self.events.load_state(state["events"])
            self.search_index.clear()
            for contact in self.contacts.contacts.values():
                # Loaded contacts were indexed long ago: visible to search at once.
                document = self.contact_json(contact) if contact.visible else None
                self.search_index.record(contact.id, float("-inf"), document)

    def reset_state(self) -> None:
        with self.lock:
            empty = {"attributes": {}, "contacts": [], "companies": {}, "events": {}}
            self.restore_state({"format": STATE_FORMAT, "ids_issued": 0, **empty})
            self.rate_window = RateWindowCounter(self.rate_window.per_minute, self.clock)
            self.rate_limited_count = 0
            self.versions_seen.clear()

    # -- accessors for tests and benchmarks ---------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "rate_limited": self.rate_limited_count,
                "versions_seen": dict(self.versions_seen),
                "contacts": len(self.contacts.contacts),
                "companies": len(self.companies.companies),
                "custom_attributes": len(self.attributes.by_name),
                "events": sum(len(v) for v in self.events.by_contact.values()),
            }

    def contacts_by_external_id(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                c.external_id: self.contact_json(c)
                for c in self.contacts.contacts.values()
                if c.external_id is not None and c.merged_into is None
            }

    def companies_by_company_id(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {c.company_id: self.company_json(c) for c in self.companies.companies.values()}

    def events_for(self, external_id: str) -> list[dict[str, Any]]:
        with self.lock:
            contact_id = self.contacts.by_external_id.get(external_id)
            return [dict(e) for e in self.events.by_contact.get(contact_id or "", [])]

    def data_attributes(self, model: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {a["name"]: a for a in self.attributes.list(model, include_archived=True) if a["custom"]}
