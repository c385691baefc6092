"""``GET /audit``: recent audit rows (supervisor)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from dispatchdesk.domain.roles import Right
from dispatchdesk.server import auth
from dispatchdesk.server.features.audit.service import AuditLog
from dispatchdesk.server.http_common import AUTH_ERRORS, Require, api_router


class AuditRow(BaseModel):
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: int | None
    detail: str
    #: The row's link in the audit hash chain (null on a row not chained).
    hash: str | None = None


def router(audit_log: AuditLog, require: Require) -> APIRouter:
    r = api_router(tags=["audit"])

    @r.get(
        "/audit",
        response_model=list[AuditRow],
        summary="Audit rows, newest first, a page at a time (supervisor)",
        description="The next (older) page: `before` = the `id` of the last row of this one. "
        "A page shorter than `limit` is the last.",
        responses=AUTH_ERRORS,
    )
    def get_audit(
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="Only rows with a smaller id")
        ] = None,
        entity: Annotated[
            str | None,
            Query(max_length=30, description="Only rows about this (incident, session, ...)"),
        ] = None,
    ) -> list[AuditRow]:
        rows = audit_log.recent(user, limit, before, entity)
        return [AuditRow.model_validate(row) for row in rows]

    return r
