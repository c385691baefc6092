"""``/history`` and ``/incidents/{id}/history`` (reads), ``/incidents/{id}/links`` (commands)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dispatchdesk.domain.roles import Right
from dispatchdesk.domain.warnings import Place
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.protocol.schemas import IncidentOut, IncidentPersonModel, LinkCreate, LinkRemove
from dispatchdesk.server import auth
from dispatchdesk.server.errors import Invalid
from dispatchdesk.server.features.history.service import History
from dispatchdesk.server.http_common import (
    AUTH_ERRORS,
    Require,
    api_router,
    command_response,
    error,
    idem_for,
)

Key = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
Digits = Annotated[str | None, Query(max_length=12, pattern=r"^\s*[0-9]{0,12}\s*$")]


def _person(name: str | None, dob: date | None) -> IncidentPersonModel | None:
    """The person asked about, or None; 422 naming the query field for one that cannot be."""
    if not name or not name.strip():
        return None
    try:
        return IncidentPersonModel(name=name.strip(), dob=dob)
    except ValidationError as exc:
        raise Invalid(
            [
                {"loc": ["query", *(str(p) for p in e["loc"])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
        ) from None


def router(history: History, require: Require) -> APIRouter:
    r = api_router(tags=["history"])
    _read_routes(r, history, require)
    _link_routes(r, history, require)
    return r


def _read_routes(r: APIRouter, history: History, require: Require) -> None:
    """``GET /history`` and ``GET /incidents/{id}/history``."""

    @r.get(
        "/history",
        response_model=HistoryPage,
        summary="Earlier incidents at a location and/or involving a person, most recent first",
        responses={**AUTH_ERRORS, **error(422, "Nothing to look up, or years below five")},
    )
    def search_history(
        user: Annotated[auth.User, Depends(require(Right.VIEW_HISTORY))],
        uprn: Digits = None,
        parent_uprn: Digits = None,
        usrn: Digits = None,
        address: Annotated[str | None, Query(max_length=500)] = None,
        postcode: Annotated[str | None, Query(max_length=10)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        dob: Annotated[date | None, Query(ge=date(1900, 1, 1), lt=date(3000, 1, 1))] = None,
        years: Annotated[int | None, Query(le=100)] = None,
    ) -> HistoryPage:
        ids = {
            k: (v or "").strip() or None
            for k, v in (("uprn", uprn), ("parent_uprn", parent_uprn), ("usrn", usrn))
        }
        text = {
            k: (v or "").strip() or None for k, v in (("address", address), ("postcode", postcode))
        }
        place = Place(**ids, **text) if any(ids.values()) or any(text.values()) else None
        return history.search(user, place, _person(name, dob), years)

    @r.get(
        "/incidents/{incident_id}/history",
        response_model=HistoryPage,
        summary="Earlier incidents at an incident's location or involving anyone on it, and "
        "its linked incidents (audited)",
        responses={**AUTH_ERRORS, **error(404, "No such incident")},
    )
    def incident_history(
        incident_id: int,
        user: Annotated[auth.User, Depends(require(Right.VIEW_HISTORY))],
    ) -> HistoryPage:
        return history.incident_history(user, incident_id)


def _link_routes(r: APIRouter, history: History, require: Require) -> None:
    """``POST /incidents/{id}/links`` and ``POST /incidents/{id}/links/{other_id}/remove``."""

    @r.post(
        "/incidents/{incident_id}/links",
        status_code=201,
        response_model=IncidentOut,
        summary="Link an incident to another (the other gets the inverse relation)",
        responses={
            **AUTH_ERRORS,
            **error(404, "No such incident"),
            **error(409, "Already linked, or the reason refused"),
        },
    )
    def link(
        request: Request,
        incident_id: int,
        body: LinkCreate,
        user: Annotated[auth.User, Depends(require(Right.LINK_INCIDENTS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(history.link(user, incident_id, body, idem))

    @r.post(
        "/incidents/{incident_id}/links/{other_id}/remove",
        response_model=IncidentOut,
        summary="Remove the link between two incidents (both sides), with a reason",
        responses={
            **AUTH_ERRORS,
            **error(404, "No such incident, or not linked"),
            **error(409, "Reason refused"),
        },
    )
    def unlink(
        request: Request,
        incident_id: int,
        other_id: int,
        body: LinkRemove,
        user: Annotated[auth.User, Depends(require(Right.UNLINK_INCIDENTS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(history.unlink(user, incident_id, other_id, body, idem))
