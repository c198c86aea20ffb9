"""HTTP handlers for /companies: upsert, update, retrieve, attached contacts, list and scroll."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from emulators.http import Request, Response

from .companies import Company, company_not_found, parse_fields
from .errors import ApiError, invalid
from .paging import per_page_value

if TYPE_CHECKING:
    from .app import IntercomEmulator

ID = r"(?P<company_id>[^/]+)"
LIST_PER_PAGE = 15  # Intercom's default for page-based company lists
SCROLL_PAGE = 50


def register(app: IntercomEmulator) -> None:
    companies, attributes = app.companies, app.attributes
    scroll: dict[str, Any] = {"param": None, "offset": 0}  # one open scroll per app, as in Intercom

    def page_of(rows: list[Company], request: Request) -> Response:
        query = request.query_dict()
        per_page = per_page_value(query.get("per_page"), LIST_PER_PAGE)
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError as exc:
            raise invalid("page must be an integer") from exc
        data = [app.company_json(c) for c in rows[(page - 1) * per_page : page * per_page]]
        total_pages = max(1, -(-len(rows) // per_page))
        pages = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
        return Response(200, {"type": "list", "data": data, "total_count": len(rows), "pages": pages})

    def upsert(request: Request) -> Response:
        body = app.body(request)
        company_id = body.get("company_id")
        if not isinstance(company_id, str) or not company_id:
            raise ApiError(400, "bad_request", "company_id is required and must be a string")
        fields = parse_fields(body)
        custom = attributes.check_values("company", body.get("custom_attributes") or {})
        return Response(200, app.company_json(companies.upsert(company_id, fields, custom, app.now())))

    def update(request: Request) -> Response:
        company = companies.get(request.params["company_id"])
        body = app.body(request)
        if body.get("company_id") not in (None, company.company_id):
            raise invalid("company_id can't be changed")
        fields = parse_fields(body)
        custom = attributes.check_values("company", body.get("custom_attributes") or {})
        companies.update(company, fields, custom, app.now())
        for contact_id in companies.contacts_of.get(company.id, {}):
            app.reindex(app.contacts.contacts[contact_id])
        return Response(200, app.company_json(company))

    def show(request: Request) -> Response:
        return Response(200, app.company_json(companies.get(request.params["company_id"])))

    def retrieve(request: Request) -> Response:
        query = request.query_dict()
        if query.get("company_id"):
            rows = [companies.find(query["company_id"])]
        elif query.get("name"):
            name = query["name"].lower()
            rows = [c for c in companies.companies.values() if (c.name or "").lower() == name]
            if not rows:
                raise company_not_found()
        else:
            rows = companies.listed()
        return page_of(rows, request)

    def attached_contacts(request: Request) -> Response:
        company = companies.get(request.params["company_id"])
        contacts = [app.contacts.contacts[cid] for cid in companies.contacts_of.get(company.id, {})]
        data = [app.contact_json(c) for c in contacts if c.merged_into is None]
        pages = {"type": "pages", "page": 1, "per_page": max(1, len(data)), "total_pages": 1}
        return Response(200, {"type": "list", "data": data, "total_count": len(data), "pages": pages})

    def list_companies(request: Request) -> Response:
        return page_of(companies.listed(), request)

    def scroll_companies(request: Request) -> Response:
        param = request.query_dict().get("scroll_param")
        if param and param != scroll["param"]:
            raise ApiError(400, "scroll_exists", "Please restart the scroll operation: the scroll_param is unknown")
        if not param:
            scroll.update(param=uuid.uuid4().hex, offset=0)
        rows = companies.listed()[scroll["offset"] : scroll["offset"] + SCROLL_PAGE]
        scroll["offset"] += len(rows)
        body = {"type": "list", "data": [app.company_json(c) for c in rows], "pages": None, "total_count": None}
        body["scroll_param"] = scroll["param"]
        return Response(200, body)

    app.api("POST", "/companies", upsert)
    app.api("GET", "/companies", retrieve)
    app.api("POST", "/companies/list", list_companies)
    app.api("GET", "/companies/scroll", scroll_companies)  # before /companies/{id}, which would match it
    app.api("GET", f"/companies/{ID}", show)
    app.api("PUT", f"/companies/{ID}", update)
    app.api("GET", f"/companies/{ID}/contacts", attached_contacts)
