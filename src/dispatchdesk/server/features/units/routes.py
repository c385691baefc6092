"""``/units`` (the fleet and the dispatch commands) and ``/diverts`` (the DIVERT tag list)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    ClearRequest,
    DivertModel,
    DivertRequest,
    ReviewRequest,
    UnitCreate,
    UnitOut,
    UnitStatusRequest,
)
from dispatchdesk.server import auth
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.http_common import (
    AUTH_ERRORS,
    Require,
    api_router,
    command_response,
    error,
    idem_for,
    parse_if_match,
)

_UNIT_ERRORS = {
    **AUTH_ERRORS,
    **error(400, "Idempotency-Key missing"),
    **error(404, "No such unit or incident"),
    **error(409, "A rule broken: the detail says what to do"),
    **error(412, "Stale If-Match (only when If-Match is sent)"),
    **error(422, "A reason or note refused: missing, or copying a template or another"),
}


Key = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def router(units: Units, require: Require) -> APIRouter:
    """Units, dispatch commands and the DIVERT tag list."""
    r = api_router()
    _fleet_routes(r, units, require)
    _move_routes(r, units, require)
    _divert_routes(r, units, require)
    return r


def _fleet_routes(r: APIRouter, units: Units, require: Require) -> None:
    """Adding a unit, reading the fleet, and a free unit's status."""
    Dispatcher = Annotated[auth.User, Depends(require(Right.DISPATCH_UNITS))]
    Viewer = Annotated[auth.User, Depends(require(Right.VIEW))]

    @r.post(
        "/units",
        status_code=201,
        response_model=UnitOut,
        tags=["units"],
        summary="Add a unit to the fleet (supervisor; Idempotency-Key required)",
        responses=_UNIT_ERRORS,
    )
    def create_unit(
        request: Request,
        body: UnitCreate,
        user: Annotated[auth.User, Depends(require(Right.MANAGE_UNITS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        return command_response(
            units.create_unit(user, body, idem_for(request, idempotency_key, body))
        )

    @r.get(
        "/units",
        response_model=list[UnitOut],
        tags=["units"],
        summary="The whole fleet",
        responses=AUTH_ERRORS,
    )
    def list_units(_user: Viewer) -> list[UnitOut]:
        return units.units()

    @r.get(
        "/units/{unit_id}",
        response_model=UnitOut,
        tags=["units"],
        summary="One unit",
        responses={**AUTH_ERRORS, **error(404, "No such unit")},
    )
    def get_unit(unit_id: int, _user: Viewer) -> UnitOut:
        return units.unit(unit_id)

    @r.post(
        "/units/{unit_id}/status",
        response_model=UnitOut,
        tags=["units"],
        summary="AVAILABLE, COMMITTED or OFF_DUTY, for a unit not on an incident",
        responses=_UNIT_ERRORS,
    )
    def unit_status(
        request: Request,
        unit_id: int,
        body: UnitStatusRequest,
        user: Dispatcher,
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(
            units.set_status(user, unit_id, body, parse_if_match(if_match), idem)
        )


def _move_routes(r: APIRouter, units: Units, require: Require) -> None:
    """Sending a unit to an incident, and what follows: divert, arrive, clear."""
    Dispatcher = Annotated[auth.User, Depends(require(Right.DISPATCH_UNITS))]

    @r.post(
        "/units/{unit_id}/assign",
        response_model=UnitOut,
        tags=["units"],
        summary="Assign an AVAILABLE unit to an incident (409 names the incident it is on)",
        responses=_UNIT_ERRORS,
    )
    def assign(
        request: Request,
        unit_id: int,
        body: AssignRequest,
        user: Dispatcher,
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(units.assign(user, unit_id, body, parse_if_match(if_match), idem))

    @r.post(
        "/units/{unit_id}/divert",
        response_model=UnitOut,
        tags=["units"],
        summary="Move a unit off its incident to another; the one it left stays owed",
        responses=_UNIT_ERRORS,
    )
    def divert(
        request: Request,
        unit_id: int,
        body: DivertRequest,
        user: Dispatcher,
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(units.divert(user, unit_id, body, parse_if_match(if_match), idem))

    @r.post(
        "/units/{unit_id}/arrive",
        response_model=UnitOut,
        tags=["units"],
        summary="The unit is at scene (stops the countdown; releases an owed incident)",
        responses=_UNIT_ERRORS,
    )
    def arrive(
        request: Request,
        unit_id: int,
        user: Dispatcher,
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, None)
        return command_response(units.arrive(user, unit_id, parse_if_match(if_match), idem))

    @r.post(
        "/units/{unit_id}/clear",
        response_model=UnitOut,
        tags=["units"],
        summary="The unit is free again (AVAILABLE), off its incident. A unit that has not "
        "arrived needs a reason (422 without); if it was the last unit on the incident, the "
        "incident is tagged WITHDRAWN and owed, like a divert",
        responses=_UNIT_ERRORS,
    )
    def clear(
        request: Request,
        unit_id: int,
        user: Dispatcher,
        body: ClearRequest | None = None,
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(units.clear(user, unit_id, body, parse_if_match(if_match), idem))


def _divert_routes(r: APIRouter, units: Units, require: Require) -> None:
    """The DIVERT tag list and its review."""
    Viewer = Annotated[auth.User, Depends(require(Right.VIEW))]

    @r.get(
        "/diverts",
        response_model=list[DivertModel],
        tags=["diverts"],
        summary="The DIVERT tag list: open (still owed or not reviewed) or all",
        responses=AUTH_ERRORS,
    )
    def list_diverts(
        _user: Viewer, state: Annotated[Literal["open", "all"], Query()] = "open"
    ) -> list[DivertModel]:
        units.sweep()
        return units.diverts(state)

    @r.post(
        "/diverts/{divert_id}/review",
        response_model=DivertModel,
        tags=["diverts"],
        summary="Mark a DIVERT tag-list entry reviewed, with a note (supervisor)",
        responses={**_UNIT_ERRORS, **error(404, "No such divert")},
    )
    def review_divert(
        request: Request,
        divert_id: int,
        body: ReviewRequest,
        user: Annotated[auth.User, Depends(require(Right.REVIEW_DIVERTS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(units.review(user, divert_id, body, idem))
