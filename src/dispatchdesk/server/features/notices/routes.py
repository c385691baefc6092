"""``/notices``: post a notice (supervisor), record a read, list receipts (supervisor)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from dispatchdesk.domain.roles import Right, Role
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.notices import (
    NoticeCreate,
    NoticeForMe,
    NoticeOut,
    NoticeReadReply,
    NoticeReceipts,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.features.notices.service import Notices, is_for
from dispatchdesk.server.http_common import (
    AUTH_ERRORS,
    Require,
    api_router,
    command_response,
    error,
    idem_for,
)

key_header = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def router(notices: Notices, require: Require) -> APIRouter:
    r = api_router(tags=["notices"])
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.post(
        "/notices",
        status_code=201,
        response_model=NoticeOut,
        summary="Post an operational notice to the operators of some roles (supervisor; "
        "Idempotency-Key required)",
        responses={
            **AUTH_ERRORS,
            **error(403, "Only supervisors post notices"),
            **error(422, "A field is wrong (a blank title, no roles, an expiry in the past)"),
        },
    )
    def create_notice(
        request: Request, body: NoticeCreate, user: viewer, key: key_header = None
    ) -> JSONResponse:
        return command_response(notices.create(user, body, idem_for(request, key, body)))

    @r.get(
        "/notices",
        response_model=list[NoticeForMe],
        summary="Live notices for my role (all of them for a supervisor), with when I read each",
        responses=AUTH_ERRORS,
    )
    def my_notices(user: viewer) -> list[NoticeForMe]:
        read = notices.read_by(user)
        return [
            NoticeForMe(notice=n, read_at=read.get(n.id))
            for n in notices.live(notices.runner.now())
            if user.role is Role.SUPERVISOR or is_for(n, user.role)
        ]

    @r.post(
        "/notices/{notice_id}/read",
        response_model=NoticeReadReply,
        summary="Record that I have read (acknowledged) a notice; the first read is kept "
        "(Idempotency-Key required)",
        responses={
            **AUTH_ERRORS,
            **error(403, "The notice is not addressed to your role"),
            **error(404, "No such notice"),
        },
    )
    def read_notice(
        request: Request, notice_id: NoticeId, user: viewer, key: key_header = None
    ) -> JSONResponse:
        return command_response(notices.read(user, notice_id, idem_for(request, key, None)))

    @r.get(
        "/notices/{notice_id}/receipts",
        response_model=NoticeReceipts,
        summary="Who has read a notice, and who among the users of its roles has not (supervisor)",
        responses={
            **AUTH_ERRORS,
            **error(403, "Only supervisors see receipts"),
            **error(404, "No such notice"),
        },
    )
    def receipts(notice_id: NoticeId, user: viewer) -> NoticeReceipts:
        return notices.receipts(user, notice_id)

    return r
