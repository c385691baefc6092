"""``/incidents/{id}/downgrade/approve`` and ``/reject``: a supervisor decides a request."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from dispatchdesk.domain.downgrades import DowngradeOutcome
from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import DowngradeDecisionRequest, IncidentOut
from dispatchdesk.server import auth
from dispatchdesk.server.features.downgrades.service import Downgrades
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

_ERRORS = {
    **AUTH_ERRORS,
    **error(400, "Idempotency-Key missing"),
    **error(404, "No such incident"),
    **error(409, "No downgrade request awaits a decision"),
    **error(412, "Stale If-Match (only when If-Match is sent)"),
    **error(422, "The note is missing, or refused as a copy"),
}


def router(downgrades: Downgrades, require: Require) -> APIRouter:
    r = api_router(tags=["incidents"])
    supervisor = Depends(require(Right.DECIDE_DOWNGRADES))

    @r.post(
        "/incidents/{incident_id}/downgrade/approve",
        response_model=IncidentOut,
        summary="Approve the incident's downgrade request (supervisors)",
        responses=_ERRORS,
    )
    def approve(
        request: Request,
        incident_id: int,
        body: DowngradeDecisionRequest,
        user: Annotated[auth.User, supervisor],
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        version = parse_if_match(if_match)
        return command_response(
            downgrades.decide(user, incident_id, DowngradeOutcome.APPROVED, body, version, idem)
        )

    @r.post(
        "/incidents/{incident_id}/downgrade/reject",
        response_model=IncidentOut,
        summary="Reject the incident's downgrade request (supervisors)",
        responses=_ERRORS,
    )
    def reject(
        request: Request,
        incident_id: int,
        body: DowngradeDecisionRequest,
        user: Annotated[auth.User, supervisor],
        if_match: IfMatch = None,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        version = parse_if_match(if_match)
        return command_response(
            downgrades.decide(user, incident_id, DowngradeOutcome.REJECTED, body, version, idem)
        )

    return r
