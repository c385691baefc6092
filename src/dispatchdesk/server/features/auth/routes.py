"""``POST /auth/token``: sign in with a username and password."""

from fastapi import APIRouter

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.schemas import TokenRequest, TokenResponse
from dispatchdesk.server import auth
from dispatchdesk.server.db import write_tx
from dispatchdesk.server.errors import Unauthorized
from dispatchdesk.server.http_common import error
from dispatchdesk.server.runner import CommandRunner


def router(runner: CommandRunner) -> APIRouter:
    r = APIRouter(prefix=API_PREFIX, tags=["auth"])

    @r.post(
        "/auth/token",
        response_model=TokenResponse,
        summary="Sign in: a bearer token and role",
        responses=error(401, "Wrong username or password"),
    )
    def token(body: TokenRequest) -> TokenResponse:
        with write_tx(runner.engine) as conn:
            got = auth.login(
                conn, body.username, body.password, runner.now(), runner.settings.token_ttl
            )
        if got is None:
            raise Unauthorized("Wrong username or password.")
        tok, user = got
        return TokenResponse(access_token=tok, role=user.role, username=user.username)

    return r
