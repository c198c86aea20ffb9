"""HTTP handlers for /contacts: create, update, find, list, search, merge, archive, companies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.http import Request, Response

from .contacts import parse_fields
from .errors import ApiError, not_found
from .paging import MAX_PER_PAGE, cursor_pages, decode_cursor, encode_cursor, per_page_value
from .search import compile_query, sort_documents

if TYPE_CHECKING:
    from .app import IntercomEmulator

ID = r"(?P<contact_id>[^/]+)"


def register(app: IntercomEmulator) -> None:
    contacts, companies, attributes = app.contacts, app.companies, app.attributes

    def create(request: Request) -> Response:
        body = app.body(request)
        fields = parse_fields(body)
        custom = attributes.check_values("contact", body.get("custom_attributes") or {})
        contact = contacts.create(fields, custom, app.now())
        app.reindex(contact)
        return Response(200, app.contact_json(contact))

    def update(request: Request) -> Response:
        contact = contacts.get_live(request.params["contact_id"])
        body = app.body(request)
        fields = parse_fields(body)
        custom = attributes.check_values("contact", body.get("custom_attributes") or {})
        contacts.update(contact, fields, custom, app.now())
        app.reindex(contact)
        return Response(200, app.contact_json(contact))

    def show(request: Request) -> Response:
        return Response(200, app.contact_json(contacts.get(request.params["contact_id"])))

    def find_by_external_id(request: Request) -> Response:
        contact = contacts.find_user(request.params["external_id"])
        if contact is None:
            raise not_found()
        return Response(200, app.contact_json(contact))

    def list_contacts(request: Request) -> Response:
        query = request.query_dict()
        per_page = per_page_value(query.get("per_page"))
        page, position = decode_cursor(query["starting_after"]) if query.get("starting_after") else (0, -1)
        rows: list[Any] = []
        next_cursor = None
        for index, contact in contacts.visible_after(position):
            if len(rows) == per_page:
                next_cursor = encode_cursor(page + 1, rows[-1][0])
                break
            rows.append((index, contact))
        data = [app.contact_json(contact) for _, contact in rows]
        pages = cursor_pages(page + 1, per_page, contacts.visible_count, next_cursor)
        return Response(200, {"type": "list", "data": data, "total_count": contacts.visible_count, "pages": pages})

    def search(request: Request) -> Response:
        body = app.body(request)
        if "query" not in body:
            raise ApiError(400, "parameter_not_found", "query is required")
        predicate = compile_query(body["query"], lambda name: attributes.data_type_of("contact", name) == "date")
        found = sort_documents(
            (d for d in app.search_index.documents(app.clock(), body["query"]) if predicate(d)), body.get("sort")
        )
        pagination = body.get("pagination") or {}
        per_page = per_page_value(pagination.get("per_page"))
        cursor = pagination.get("starting_after")
        page, offset = decode_cursor(cursor) if cursor else (0, 0)
        data = found[offset : offset + per_page]
        has_more = offset + per_page < len(found)
        next_cursor = encode_cursor(page + 1, offset + per_page) if has_more else None
        pages = cursor_pages(page + 1, per_page, len(found), next_cursor)
        return Response(200, {"type": "list", "data": data, "total_count": len(found), "pages": pages})

    def merge(request: Request) -> Response:
        body = app.body(request)
        if not isinstance(body.get("from"), str) or not isinstance(body.get("into"), str):
            raise ApiError(400, "parameter_not_found", "from and into are required")
        lead, user = contacts.get_live(body["from"]), contacts.get_live(body["into"])
        contacts.merge(lead, user, app.now())
        companies.move_attachments(lead.id, user.id)
        app.events.move(lead.id, user.id)
        app.reindex(lead)
        app.reindex(user)
        return Response(200, app.contact_json(user))

    def archive(request: Request, archived: bool) -> Response:
        contact = contacts.get(request.params["contact_id"])
        contacts.set_archived(contact, archived, app.now())
        app.reindex(contact)
        body = {"type": "contact", "id": contact.id, "external_id": contact.external_id, "archived": archived}
        return Response(200, body)

    def attach(request: Request) -> Response:
        contact = contacts.get_live(request.params["contact_id"])
        company_id = app.body(request).get("id")
        if not isinstance(company_id, str):
            raise ApiError(400, "parameter_not_found", "company not specified")
        company = companies.get(company_id)
        companies.attach(contact.id, company)
        app.reindex(contact)
        return Response(200, app.company_json(company))

    def list_companies(request: Request) -> Response:
        contact = contacts.get(request.params["contact_id"])
        data = [app.company_json(companies.companies[cid]) for cid in companies.company_ids_of(contact.id)]
        pages = {"type": "pages", "next": None, "page": 1, "per_page": MAX_PER_PAGE, "total_pages": 1}
        return Response(200, {"type": "list", "companies": data, "total_count": len(data), "pages": pages})

    def detach(request: Request) -> Response:
        contact = contacts.get_live(request.params["contact_id"])
        company = companies.get(request.params["company_id"])
        companies.detach(contact.id, company)
        app.reindex(contact)
        return Response(200, app.company_json(company))

    app.api("POST", "/contacts", create)
    app.api("GET", "/contacts", list_contacts)
    app.api("POST", "/contacts/search", search)
    app.api("POST", "/contacts/merge", merge)
    app.api("GET", "/contacts/find_by_external_id/(?P<external_id>.+)", find_by_external_id)
    app.api("GET", f"/contacts/{ID}", show)
    app.api("PUT", f"/contacts/{ID}", update)
    app.api("POST", f"/contacts/{ID}/archive", lambda r: archive(r, True))
    app.api("POST", f"/contacts/{ID}/unarchive", lambda r: archive(r, False))
    app.api("POST", f"/contacts/{ID}/companies", attach)
    app.api("GET", f"/contacts/{ID}/companies", list_companies)
    app.api("DELETE", f"/contacts/{ID}/companies/(?P<company_id>[^/]+)", detach)
