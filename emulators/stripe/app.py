"""`StripeEmulator`: the HTTP face of the Stripe emulator (API routes, auth, rate limit, controls).

Stripe API routes (v1, pinned shape):
  customers (list, retrieve, create, update, delete), products (list, retrieve, create, update,
  delete), prices (list, retrieve, create, update), coupons (list, retrieve, create, update, delete),
  subscriptions (list, retrieve, create, update, DELETE = cancel, POST …/resume),
  invoices, charges, invoice_payments, refunds (list, retrieve; POST /v1/refunds), events (list, retrieve).

Simulation controls (not Stripe's API; also Python methods of the same names):
  GET  /_emulator/clock                      {"now": T}
  POST /_emulator/clock                      {"now": T} or {"advance_seconds": S}, optional
                                             "event_api_version": runs billing up to the new time
  POST /_emulator/customers/{id}/payments    {"fail": true|false}: the customer's payments fail or not
  POST /_emulator/purchases                  {"customer", "amount", "currency", "description"?}:
                                             a one-off invoice (billing_reason manual)
  GET|POST /_emulator/config                 event_api_version, livemode, rate_limit (null = off),
                                             retry_schedule_days, final_action
  POST /_emulator/load                       {"customers": [...], "subscriptions": [...], ...}

The request header `Stripe-Emulator-Event-Version: 2024-06-20` renders the events a write emits in
that older API version; `event_api_version` in the config does it for every event.
"""

from __future__ import annotations

import base64
import itertools
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import parse_qsl

from emulators.http import EmulatorApp, Request, Response
from emulators.stripe import billing, filters, subscription_writes, writes
from emulators.stripe.errors import StripeError, invalid, no_such
from emulators.stripe.expand import ExpandError, expand, validate
from emulators.stripe.items import EMBEDDED_ITEMS, list_subscription_items, truncate_embedded_items
from emulators.stripe.listing import list_response
from emulators.stripe.params import ParamError, decode
from emulators.stripe.ratelimit import SlidingWindowLimiter
from emulators.stripe.render import PINNED_API_VERSION, copy_for_response
from emulators.stripe.state import EVENT_RETENTION_SECONDS, BillingSettings, StripeState

StripeObject = dict[str, Any]
Params = dict[str, Any]
ApiHandler = Callable[[Request, Params], StripeObject]

EVENT_VERSION_HEADER = "stripe-emulator-event-version"
_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_\w+$")
_MAX_EVENT_TYPES = 20


def _mask(key: str) -> str:
    match = re.match(r"^((?:sk|rk|pk)_(?:test|live)_)", key)
    return f"{match.group(1) if match else ''}****{key[-4:]}"


class _Resolver:
    def __init__(self, state: StripeState) -> None:
        self.state = state

    def fetch(self, kind: str, object_id: str) -> StripeObject | None:
        found = self.state.fetch(kind, object_id)
        return copy_for_response(found) if found is not None else None

    def include(self, kind: str, obj: StripeObject, field: str) -> Any:
        stored = self.state.fetch(kind, obj["id"]) or {}
        return copy_for_response(stored.get(field))


class StripeEmulator(EmulatorApp):
    name = "stripe"

    def __init__(
        self,
        *,
        api_keys: set[str] | None = None,
        now: int | None = None,
        livemode: bool = False,
        rate_limit: int | None = 25,
        event_api_version: str = PINNED_API_VERSION,
        billing_settings: BillingSettings | None = None,
        latency_ms: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
    ) -> None:
        """`api_keys=None` accepts any sk_test_/sk_live_/rk_ key; `now` starts the emulator clock
        (default: wall time); `rate_limit` is requests/s per endpoint (None = unlimited)."""
        super().__init__(latency_ms=latency_ms, seed=seed)
        self.api_keys = api_keys
        self._initial_api_keys = api_keys
        self.limiter = SlidingWindowLimiter(rate_limit)
        self._initial_rate_limit = rate_limit
        self._fresh_state = lambda: StripeState(
            now=int(time.time()) if now is None else now,
            livemode=livemode,
            event_api_version=event_api_version,
            billing=replace(billing_settings or BillingSettings()),
        )
        self.state = self._fresh_state()
        self.embedded_items_limit = EMBEDDED_ITEMS  # a subscription shows this many items, then has_more
        self._request_ids = itertools.count(1)
        self._add_api_routes()
        self._add_simulation_routes()

    # -- EmulatorApp hooks ----------------------------------------------------------------
    def error_response(self, status: int, message: str | None = None) -> Response:
        if status == 404:
            error = invalid(message or "Unrecognized request URL.")
            error.status = 404
        else:
            error = StripeError(status, message or "An unknown error occurred.", type="api_error")
        return Response(status, error.body())

    def before_route(self, request: Request) -> Response | None:
        key = self._api_key(request)
        if key is None:
            message = (
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "
                "See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
            )
            return Response(401, StripeError(401, message).body())
        accepted = key in self.api_keys if self.api_keys is not None else bool(_KEY_PATTERN.match(key))
        if not accepted:
            return Response(401, StripeError(401, f"Invalid API Key provided: {_mask(key)}").body())
        endpoint = request.path
        for name, value in request.params.items():
            endpoint = endpoint.replace(value, "{" + name + "}")
        if not self.limiter.allow(f"{request.method} {endpoint}"):
            message = (
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
            )
            return Response(429, StripeError(429, message, code="rate_limit").body())
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        response.headers.setdefault("Request-Id", self._new_request_id())
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", PINNED_API_VERSION)
        return response

    def state_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return self.state.snapshot()

    def restore_state(self, snapshot: dict[str, Any]) -> None:
        """Replace all state with a `state_snapshot()` (the --state-file format)."""
        with self.lock:
            self.state = StripeState.from_snapshot(snapshot)

    def reset_state(self) -> None:
        """Back to the constructor's clock and settings, with no objects."""
        with self.lock:
            self.state = self._fresh_state()
            self.limiter.reset()
            self.limiter.per_second = self._initial_rate_limit
            self.api_keys = self._initial_api_keys
            self.embedded_items_limit = EMBEDDED_ITEMS

    # -- plumbing -------------------------------------------------------------------------
    @staticmethod
    def _api_key(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        if scheme.lower() == "basic" and credentials:
            return base64.b64decode(credentials).decode(errors="replace").partition(":")[0] or None
        return None

    def _new_request_id(self) -> str:
        return f"req_{next(self._request_ids):014d}"

    def _api(
        self, method: str, pattern: str, kind: str, handler: ApiHandler, accepts: frozenset[str] | None = None
    ) -> None:
        """Register a Stripe route: decoded params, expand validated up front, Stripe's errors.

        `accepts` lists the parameters a read takes; any other is refused, as Stripe refuses it.
        """

        def serve(request: Request) -> Response:
            request_id = self._new_request_id()
            try:
                params = decode(request.query + parse_qsl(request.body.decode(), keep_blank_values=True))
                unknown = sorted(set(params) - accepts) if accepts is not None else []
                if unknown:
                    raise invalid(f"Received unknown parameter: {unknown[0]}", unknown[0])
                paths = params.get("expand") or []
                if not isinstance(paths, list):
                    raise invalid("Invalid array", "expand")
                for path in paths:
                    validate(kind, path)
                version = request.headers.get(EVENT_VERSION_HEADER)
                with self.state.event_context(api_version=version, request_id=request_id):
                    body = handler(request, params)
                body = expand(copy_for_response(body), kind, paths, _Resolver(self.state))
                if kind in ("subscription", "list:subscription"):
                    truncate_embedded_items(body, self.embedded_items_limit)
                response = Response(200, body)
            except ExpandError as e:
                response = Response(400, invalid(str(e), "expand").body())
            except ParamError as e:
                response = Response(400, invalid(str(e), e.param).body())
            except StripeError as e:
                response = Response(e.status, e.body())
            except Exception as e:  # a bug in the emulator: answer like Stripe's 500 and keep serving
                traceback.print_exc()
                response = Response(500, StripeError(500, f"Emulator error: {e!r}", type="api_error").body())
            response.headers["Request-Id"] = request_id
            return response

        self.route(method, pattern, serve, name=f"{method} {pattern}")

    def _retrieve(self, kind: str, url_kind: str) -> ApiHandler:
        def handler(request: Request, params: Params) -> StripeObject:
            found = self.state.fetch(kind, request.params["id"])
            if found is None and kind == "customer" and request.params["id"] in self.state.deleted_customers:
                return {"id": request.params["id"], "object": "customer", "deleted": True}
            if found is None:
                raise no_such(url_kind, request.params["id"])
            return found

        return handler

    def _lister(
        self,
        kind: str,
        url: str,
        filters: Callable[[Params], tuple[Callable[[StripeObject], bool] | None, tuple[str, str] | None]],
    ) -> ApiHandler:
        def handler(request: Request, params: Params) -> StripeObject:
            predicate, index = filters(params)
            return list_response(self.state.by_kind[kind], params, kind=kind, url=url, predicate=predicate, index=index)

        return handler

    # -- routes ---------------------------------------------------------------------------
    def _add_api_routes(self) -> None:
        s = self.state_ref
        ident = r"(?P<id>[^/]+)"
        for kind, plural, list_filters, filter_params in (
            ("customer", "customers", filters.customer_filters, {"email"}),
            ("product", "products", filters.product_filters, {"active"}),
            ("price", "prices", filters.price_filters, {"product", "active", "type", "currency"}),
            ("coupon", "coupons", filters.no_filters, set()),
            ("subscription", "subscriptions", filters.subscription_filters, {"status", "price", "customer"}),
            ("invoice", "invoices", filters.invoice_filters, {"subscription", "customer", "status"}),
            ("charge", "charges", filters.charge_filters, {"payment_intent", "customer"}),
            ("invoice_payment", "invoice_payments", filters.invoice_payment_filters, {"invoice", "payment"}),
            ("refund", "refunds", filters.refund_filters, {"charge"}),
        ):
            lister = self._lister(kind, f"/v1/{plural}", list_filters)
            self._api("GET", f"/v1/{plural}", f"list:{kind}", lister, filters.LIST_PARAMS | filter_params)
            self._api("GET", f"/v1/{plural}/{ident}", kind, self._retrieve(kind, kind), filters.RETRIEVE_PARAMS)
        self._api(
            "GET",
            "/v1/subscription_items",
            "list:subscription_item",
            lambda r, p: list_subscription_items(self.state.fetch, p),
            filters.LIST_PARAMS | {"subscription"},
        )
        self._api("GET", "/v1/events", "list:event", self._list_events, filters.LIST_PARAMS | {"type", "types"})
        self._api("GET", f"/v1/events/{ident}", "event", self._retrieve_event, filters.RETRIEVE_PARAMS)
        self._api("POST", "/v1/customers", "customer", lambda r, p: writes.create_customer(s(), p))
        self._api(
            "POST", f"/v1/customers/{ident}", "customer", lambda r, p: writes.update_customer(s(), r.params["id"], p)
        )
        self._api("POST", "/v1/products", "product", lambda r, p: writes.create_product(s(), p))
        self._api("POST", "/v1/prices", "price", lambda r, p: writes.create_price(s(), p))
        self._api("POST", "/v1/coupons", "coupon", lambda r, p: writes.create_coupon(s(), p))
        self._api(
            "POST", f"/v1/products/{ident}", "product", lambda r, p: writes.update_product(s(), r.params["id"], p)
        )
        self._api("POST", f"/v1/prices/{ident}", "price", lambda r, p: writes.update_price(s(), r.params["id"], p))
        self._api("POST", f"/v1/coupons/{ident}", "coupon", lambda r, p: writes.update_coupon(s(), r.params["id"], p))
        for kind, plural in (("customer", "customers"), ("product", "products"), ("coupon", "coupons")):
            self._api(
                "DELETE", f"/v1/{plural}/{ident}", kind,
                lambda r, p, kind=kind: writes.delete(s(), kind, r.params["id"]),
            )  # fmt: skip
        self._api(
            "POST", "/v1/subscriptions", "subscription", lambda r, p: subscription_writes.create_subscription(s(), p)
        )
        self._api(
            "POST", f"/v1/subscriptions/{ident}", "subscription",
            lambda r, p: subscription_writes.update_subscription(s(), r.params["id"], p),
        )  # fmt: skip
        self._api(
            "POST", f"/v1/subscriptions/{ident}/resume", "subscription",
            lambda r, p: subscription_writes.resume_subscription(s(), r.params["id"], p),
        )  # fmt: skip
        self._api(
            "DELETE", f"/v1/subscriptions/{ident}", "subscription",
            lambda r, p: subscription_writes.cancel_subscription(s(), r.params["id"], p),
        )  # fmt: skip
        self._api("POST", "/v1/refunds", "refund", lambda r, p: writes.create_refund(s(), p))

    def state_ref(self) -> StripeState:
        """The current state (reset and restore replace it, so routes look it up per call)."""
        return self.state

    def _event_floor(self) -> int:
        return self.state.now - EVENT_RETENTION_SECONDS

    def _list_events(self, request: Request, params: Params) -> StripeObject:
        if "type" in params and "types" in params:
            raise invalid("You may only specify one of these parameters: type, types.", "types")
        types = params.get("types")
        if types is not None:
            if not isinstance(types, list) or len(types) > _MAX_EVENT_TYPES:
                raise invalid(f"You may pass at most {_MAX_EVENT_TYPES} event types.", "types")
            wanted = set(types)
            predicate: Callable[[StripeObject], bool] | None = lambda e: e["type"] in wanted  # noqa: E731
        elif params.get("type"):
            pattern = re.compile("^" + ".*".join(map(re.escape, params["type"].split("*"))) + "$")
            predicate = lambda e: bool(pattern.match(e["type"]))  # noqa: E731
        else:
            predicate = None
        return list_response(
            self.state.by_kind["event"], params, kind="event", url="/v1/events", predicate=predicate,
            created_floor=self._event_floor(),
        )  # fmt: skip

    def _retrieve_event(self, request: Request, params: Params) -> StripeObject:
        found = self.state.fetch("event", request.params["id"])
        if found is None or found["created"] < self._event_floor():
            raise no_such("event", request.params["id"])
        return found

    # -- simulation -----------------------------------------------------------------------
    def _add_simulation_routes(self) -> None:
        self.route("GET", "/_emulator/clock", lambda r: Response(200, {"now": self.state.now}))
        self.route("POST", "/_emulator/clock", self._clock)
        self.route("POST", "/_emulator/customers/(?P<id>[^/]+)/payments", self._payments)
        self.route("POST", "/_emulator/purchases", self._purchase)
        self.route("GET", "/_emulator/config", lambda r: Response(200, self.config()))
        self.route("POST", "/_emulator/config", lambda r: Response(200, self.configure(**(r.json() or {}))))
        self.route("POST", "/_emulator/load", lambda r: Response(200, self.load(r.json() or {})))

    def set_clock(self, now: int, event_api_version: str | None = None) -> int:
        """Move the clock to `now` (never backwards), running billing on the way."""
        with self.lock, self.state.event_context(api_version=event_api_version):
            billing.advance(self.state, now)
            return self.state.now

    def advance(self, seconds: int, event_api_version: str | None = None) -> int:
        return self.set_clock(self.state.now + seconds, event_api_version)

    def set_payments_failing(self, customer_id: str, failing: bool = True) -> None:
        with self.lock:
            if failing:
                self.state.failing_customers.add(customer_id)
            else:
                self.state.failing_customers.discard(customer_id)

    def purchase(
        self, customer_id: str, amount: int, currency: str = "usd", description: str | None = None
    ) -> StripeObject:
        with self.lock:
            return copy_for_response(writes.purchase(self.state, customer_id, amount, currency, description))

    def config(self) -> dict[str, Any]:
        state = self.state
        return {
            "event_api_version": state.event_api_version,
            "livemode": state.livemode,
            "rate_limit": self.limiter.per_second,
        } | asdict(state.billing)

    def configure(
        self,
        *,
        event_api_version: str | None = None,
        livemode: bool | None = None,
        rate_limit: int | str | None = "unchanged",
        retry_schedule_days: list[int] | None = None,
        final_action: str | None = None,
    ) -> dict[str, Any]:
        """Change settings in place (`rate_limit=None` disables the limit)."""
        with self.lock:
            state = self.state
            state.event_api_version = event_api_version or state.event_api_version
            state.livemode = state.livemode if livemode is None else livemode
            if rate_limit != "unchanged":
                self.limiter.per_second = rate_limit  # type: ignore[assignment]
            if retry_schedule_days is not None:
                state.billing.retry_schedule_days = tuple(retry_schedule_days)
            if final_action is not None:
                if final_action not in ("cancel", "unpaid", "past_due"):
                    raise ValueError(f"final_action must be cancel, unpaid or past_due, not {final_action!r}")
                state.billing.final_action = final_action
            return self.config()

    def load(self, objects: dict[str, list[StripeObject]]) -> dict[str, int]:
        """Bulk-insert objects in the pinned shape (see `StripeState.load`)."""
        with self.lock:
            return self.state.load(objects)

    def _clock(self, request: Request) -> Response:
        body = request.json() or {}
        version = body.get("event_api_version")
        if "now" in body:
            return Response(200, {"now": self.set_clock(int(body["now"]), version)})
        return Response(200, {"now": self.advance(int(body.get("advance_seconds", 0)), version)})

    def _payments(self, request: Request) -> Response:
        customer_id = request.params["id"]
        if self.state.fetch("customer", customer_id) is None:
            return Response(404, no_such("customer", customer_id).body())
        failing = bool((request.json() or {}).get("fail", True))
        self.set_payments_failing(customer_id, failing)
        return Response(200, {"customer": customer_id, "fail": failing})

    def _purchase(self, request: Request) -> Response:
        body = request.json() or {}
        try:
            invoice = self.purchase(
                body["customer"], int(body["amount"]), body.get("currency", "usd"), body.get("description")
            )
        except StripeError as e:
            return Response(e.status, e.body())
        return Response(200, invoice)
