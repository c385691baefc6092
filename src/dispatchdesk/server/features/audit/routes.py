"""``GET /audit``: recent audit rows (supervisor)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import auth
from dispatchdesk.server.features.audit.service import AuditLog
from dispatchdesk.server.http_common import AUTH_ERRORS, Require


class AuditRow(BaseModel):
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: int | None
    detail: str


def router(audit_log: AuditLog, require: Require) -> APIRouter:
    r = APIRouter(prefix=API_PREFIX, tags=["audit"])

    @r.get(
        "/audit",
        response_model=list[AuditRow],
        summary="Recent audit rows, newest first (supervisor)",
        responses=AUTH_ERRORS,
    )
    def get_audit(
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    ) -> list[AuditRow]:
        return [AuditRow.model_validate(row) for row in audit_log.recent(user, limit)]

    return r
