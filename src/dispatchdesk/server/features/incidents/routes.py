"""``/incidents``: create, edit, close, read."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from dispatchdesk.domain.roles import Right, has_right
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import CloseRequest, IncidentCreate, IncidentOut, IncidentPatch
from dispatchdesk.server import auth
from dispatchdesk.server.errors import Forbidden, PreconditionRequired
from dispatchdesk.server.features.incidents.service import Incidents
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

Key = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def check_patch_rights(user: auth.User, body: IncidentPatch) -> None:
    """403 unless the user's role has the right for each kind of change in ``body``."""
    for needed, given in (
        (Right.REGRADE, body.grade is not None),
        (Right.CHANGE_STATUS, body.status is not None),
        (
            Right.EDIT_SUMMARY,
            bool(body.model_fields_set & {"summary", "appointment_at", "weapons", "type"}),
        ),
    ):
        if given and not has_right(user.role, needed):
            raise Forbidden(
                f"Your role ({user.role.label}) does not have the right "
                f"'{needed.value}' needed for this change. Ask a supervisor."
            )


def router(incidents: Incidents, units: Units, require: Require) -> APIRouter:
    r = api_router(tags=["incidents"])
    _create_and_edit_routes(r, incidents, require)
    _close_and_read_routes(r, incidents, units, require)
    return r


def _create_and_edit_routes(r: APIRouter, incidents: Incidents, require: Require) -> None:
    """``POST /incidents`` and ``PATCH /incidents/{id}``."""

    @r.post(
        "/incidents",
        status_code=201,
        response_model=IncidentOut,
        summary="Create an incident (Idempotency-Key required)",
        responses={**AUTH_ERRORS, **error(400, "Idempotency-Key missing")},
    )
    def create_incident(
        request: Request,
        body: IncidentCreate,
        user: Annotated[auth.User, Depends(require(Right.CREATE_INCIDENT))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(incidents.create_incident(user, body, idem))

    @r.patch(
        "/incidents/{incident_id}",
        response_model=IncidentOut,
        summary="Regrade, change status, edit summary or appointment (If-Match required)",
        responses={
            **AUTH_ERRORS,
            **error(404, "No such incident"),
            **error(409, "A move the rules do not allow"),
            **error(412, "Stale If-Match: the detail names the current version"),
            **error(422, "Downgrade reason missing or refused (it copies a template or another)"),
            **error(428, "If-Match missing"),
        },
    )
    def patch_incident(
        request: Request,
        incident_id: int,
        body: IncidentPatch,
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        check_patch_rights(user, body)
        if if_match is None or not if_match.strip():
            raise PreconditionRequired(
                "The If-Match header is required: send the version of the incident you "
                "edited (for example If-Match: 3)."
            )
        version = parse_if_match(if_match)
        idem = idem_for(request, idempotency_key, body, required=False)
        return command_response(incidents.patch_incident(user, incident_id, body, version, idem))


def _close_and_read_routes(
    r: APIRouter, incidents: Incidents, units: Units, require: Require
) -> None:
    """``POST /incidents/{id}/close`` and ``GET /incidents/{id}``."""

    @r.post(
        "/incidents/{incident_id}/close",
        response_model=IncidentOut,
        summary="Close an incident with a rationale specific to it",
        responses={
            **AUTH_ERRORS,
            **error(404, "No such incident"),
            **error(409, "Already closed, or owed and not a supervisor"),
            **error(
                422, "Rationale refused: the detail names the field, what it copies, how similar"
            ),
            **error(412, "Stale If-Match (only when If-Match is sent)"),
        },
    )
    def close_incident(
        request: Request,
        incident_id: int,
        body: CloseRequest,
        user: Annotated[auth.User, Depends(require(Right.CLOSE_INCIDENT))],
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        version = parse_if_match(if_match)
        return command_response(incidents.close_incident(user, incident_id, body, version, idem))

    @r.get(
        "/incidents/{incident_id}",
        response_model=IncidentOut,
        summary="One incident",
        responses={**AUTH_ERRORS, **error(404, "No such incident")},
    )
    def get_incident(
        incident_id: int, _user: Annotated[auth.User, Depends(require(Right.VIEW))]
    ) -> IncidentOut:
        units.sweep()
        return incidents.get_incident(incident_id)
