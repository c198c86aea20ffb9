"""HTTP handlers for /events: submit (202, de-duplicated) and list a user's events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulators.http import Request, Response

from .contacts import Contact
from .errors import ApiError, invalid, not_found
from .events import parse_metadata

if TYPE_CHECKING:
    from .app import IntercomEmulator


def register(app: IntercomEmulator) -> None:
    contacts, events = app.contacts, app.events

    def identify(user_id: object, intercom_id: object, email: object) -> Contact:
        """The contact an event or event query is about; 404 "User Not Found" when there is none."""
        if isinstance(user_id, str) and user_id:
            contact = contacts.find_user(user_id)
        elif isinstance(intercom_id, str) and intercom_id:
            found = contacts.contacts.get(intercom_id)
            # Events sent with a merged lead's id land on the user it was merged into.
            contact = contacts.contacts.get(found.merged_into) if found and found.merged_into else found
        elif isinstance(email, str) and email:
            users = contacts.users_with_email(email)
            if len(users) > 1:
                message = "Multiple existing users match this email address - must be more specific using user_id"
                raise ApiError(409, "conflict", message)
            contact = users[0] if users else None
        else:
            raise ApiError(400, "parameter_not_found", "One of user_id, id or email is required")
        if contact is None or contact.archived:
            raise not_found()
        return contact

    def submit(request: Request) -> Response:
        body = app.body(request)
        name, created_at = body.get("event_name"), body.get("created_at")
        if not isinstance(name, str) or not name.strip():
            raise invalid("event_name is required")
        if not isinstance(created_at, int) or isinstance(created_at, bool):
            raise invalid("created_at is required and must be a Unix timestamp")
        contact = identify(body.get("user_id"), body.get("id"), body.get("email"))
        events.record(contact.id, name, created_at, parse_metadata(body.get("metadata")))
        return Response(202)

    def list_events(request: Request) -> Response:
        query = request.query_dict()
        if query.get("type") != "user":
            raise invalid("type must be user")
        contact = identify(query.get("user_id"), query.get("intercom_user_id"), query.get("email"))
        rows = [
            {
                "type": "event",
                "event_name": e["event_name"],
                "created_at": e["created_at"],
                "user_id": contact.external_id,
                "intercom_user_id": contact.id,
                "email": contact.email or "",
                "metadata": e["metadata"],
            }
            for e in sorted(events.by_contact.get(contact.id, []), key=lambda e: e["created_at"], reverse=True)
        ]
        return Response(200, {"type": "event.list", "events": rows, "pages": {}})

    app.api("POST", "/events", submit)
    app.api("GET", "/events", list_events)
