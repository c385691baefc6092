"""``POST /auth/token``: sign in with a username and password; ``POST /auth/logout``: revoke
the caller's token."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol.schemas import TokenRequest, TokenResponse
from dispatchdesk.server import auth
from dispatchdesk.server.features.auth.service import SignIn
from dispatchdesk.server.http_common import VALIDATION_ERROR, Require, api_router, error
from dispatchdesk.server.runner import CommandRunner


def router(runner: CommandRunner, require: Require) -> APIRouter:
    r = api_router(tags=["auth"])
    service = SignIn(runner)
    bearer = HTTPBearer(auto_error=False)

    @r.post(
        "/auth/token",
        response_model=TokenResponse,
        summary="Sign in: a bearer token and role",
        responses={
            **error(401, "Wrong username or password"),
            **error(403, "The sign-in is disabled"),
            **VALIDATION_ERROR,
            **error(
                429,
                "Too many failed sign-ins for this name or address: wait",
                {"Retry-After": "Seconds to wait before trying again"},
            ),
        },
    )
    async def token(request: Request, body: TokenRequest) -> TokenResponse:
        address = request.client.host if request.client else "unknown"
        tok, user = await run_in_threadpool(service.sign_in, body.username, body.password, address)
        return TokenResponse(access_token=tok, role=user.role, username=user.username)

    @r.post(
        "/auth/logout",
        status_code=204,
        summary="Sign out: the caller's token stops working at once",
        responses=error(401, "No valid bearer token"),
    )
    async def logout(
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Response:
        assert creds is not None  # require() refused a request without one
        await run_in_threadpool(service.sign_out, user, creds.credentials)
        return Response(status_code=204)

    return r
