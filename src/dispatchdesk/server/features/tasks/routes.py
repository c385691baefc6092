"""``/incidents/{id}/tasks/{task_id}/done`` and ``/not-done``: the attending officers' tasks,
recorded by those who may close the incident (dispatchers and supervisors)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import IncidentOut
from dispatchdesk.protocol.tasks import TaskDone, TaskNotDone
from dispatchdesk.server import auth
from dispatchdesk.server.features.tasks.service import Tasks
from dispatchdesk.server.http_common import (
    AUTH_ERRORS,
    Require,
    api_router,
    command_response,
    error,
    idem_for,
)

Key = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]

_ERRORS = {
    **AUTH_ERRORS,
    **error(404, "No such incident, or no such task on it"),
    **error(409, "Already recorded, incident closed, history not opened, or reason refused"),
}


def router(tasks: Tasks, require: Require) -> APIRouter:
    r = api_router(tags=["tasks"])

    @r.post(
        "/incidents/{incident_id}/tasks/{task_id}/done",
        response_model=IncidentOut,
        summary="Record a task done, with what was found (a history check: after opening "
        "the incident's history)",
        responses=_ERRORS,
    )
    def task_done(
        request: Request,
        incident_id: int,
        task_id: int,
        body: TaskDone,
        user: Annotated[auth.User, Depends(require(Right.CLOSE_INCIDENT))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(tasks.done(user, incident_id, task_id, body, idem))

    @r.post(
        "/incidents/{incident_id}/tasks/{task_id}/not-done",
        response_model=IncidentOut,
        summary="Record a task not done, with a reason specific to the incident",
        responses=_ERRORS,
    )
    def task_not_done(
        request: Request,
        incident_id: int,
        task_id: int,
        body: TaskNotDone,
        user: Annotated[auth.User, Depends(require(Right.CLOSE_INCIDENT))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(tasks.not_done(user, incident_id, task_id, body, idem))

    return r
