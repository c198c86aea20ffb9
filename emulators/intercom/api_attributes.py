"""HTTP handlers for /data_attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulators.http import Request, Response

from .attributes import MODELS
from .errors import ApiError, invalid

if TYPE_CHECKING:
    from .app import IntercomEmulator


def register(app: IntercomEmulator) -> None:
    attributes = app.attributes

    def list_attributes(request: Request) -> Response:
        query = request.query_dict()
        model = query.get("model")
        if model == "conversation":
            raise ApiError(422, "parameter_invalid", "Use GET /conversations/attributes instead")
        if model is not None and model not in MODELS:
            raise invalid("model must be contact or company")
        include_archived = query.get("include_archived", "false").lower() == "true"
        data = [row for m in ([model] if model else MODELS) for row in attributes.list(m, include_archived)]
        return Response(200, {"type": "list", "data": data})

    def create(request: Request) -> Response:
        return Response(200, attributes.create(app.body(request), app.now()).to_api())

    def update(request: Request) -> Response:
        attribute_id = int(request.params["attribute_id"])
        return Response(200, attributes.update(attribute_id, app.body(request), app.now()).to_api())

    app.api("GET", "/data_attributes", list_attributes)
    app.api("POST", "/data_attributes", create)
    app.api("PUT", r"/data_attributes/(?P<attribute_id>\d+)", update)
