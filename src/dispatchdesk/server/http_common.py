"""What every feature's routes share: the Idempotency-Key and If-Match headers, read the same
way everywhere, with the same messages; the sign-in dependency (:func:`requirer`); the
OpenAPI error responses; and the one place a service's refusal becomes an HTTP answer
(:func:`install_error_handler`)."""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError

from dispatchdesk.domain.roles import Right, has_right
from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import ErrorBody
from dispatchdesk.server import auth
from dispatchdesk.server.db import read_tx
from dispatchdesk.server.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    Unauthorized,
)
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem, request_hash

MAX_KEY_LENGTH = 200

#: The answer to any request while the database cannot be reached.
DATABASE_UNAVAILABLE = (
    "The server cannot reach its database just now (it may be restarting or failing over). "
    "Try again in a few seconds: a command sent again with the same Idempotency-Key is "
    "recorded once."
)

log = logging.getLogger(__name__)

#: ``require(Right.X)``: a FastAPI dependency giving the signed-in user who has right X.
Require = Callable[[Right], Callable[..., auth.User]]


def install_error_handler(app: FastAPI) -> None:
    """Answer every refusal a service raises with its status
    (:data:`~dispatchdesk.server.errors.STATUS`) and ``{"detail": ...}``."""

    @app.exception_handler(DomainError)
    async def _refused(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is down, failing over or refusing connections: 503, which desks retry
        # (a command with the same Idempotency-Key, so it is recorded once either way).
        log.warning("database unavailable: %s", str(exc.orig or exc).splitlines()[0])
        return JSONResponse(
            {"detail": DATABASE_UNAVAILABLE}, status_code=503, headers={"Retry-After": "2"}
        )


def error(status: int, text: str) -> dict[int | str, dict[str, Any]]:
    """An error response of a route, for the OpenAPI document."""
    return {status: {"model": ErrorBody, "description": text}}


AUTH_ERRORS = {**error(401, "No valid bearer token"), **error(403, "The role lacks the right")}


def requirer(runner: CommandRunner) -> Require:
    """``require``: the user of the request's bearer token, who must have a right."""
    bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")

    def require(right: Right) -> Callable[..., auth.User]:
        def dependency(
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> auth.User:
            if creds is None:
                raise Unauthorized(
                    "Sign in first: send 'Authorization: Bearer <token>' with a token from "
                    f"POST {API_PREFIX}/auth/token."
                )
            with read_tx(runner.engine) as conn:
                user = auth.user_for_token(conn, creds.credentials, runner.now())
            if user is None:
                raise Unauthorized("Your session token is not valid or has expired: sign in again.")
            if not has_right(user.role, right):
                raise Forbidden(
                    f"Your role ({user.role.label}) does not have the right "
                    f"'{right.value}' needed for this. Ask a supervisor."
                )
            return user

        return dependency

    return require


def parse_if_match(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``3``, ``"3"`` or ``W/"3"``), or None."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise BadRequest(
            f"If-Match must be the version number you edited (for example If-Match: 3), "
            f"not {value!r}."
        ) from None


def check_key(key: str | None, required: bool) -> str | None:
    """The Idempotency-Key, stripped; 400 when it is required and missing, or too long."""
    if key is None or not key.strip():
        if required:
            raise BadRequest(
                f"The {IDEMPOTENCY_HEADER} header is required: send a new unique value "
                "(for example a UUID) with each command, and the same one when you resend it."
            )
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"The {IDEMPOTENCY_HEADER} header is longer than {MAX_KEY_LENGTH} characters."
        )
    return key.strip()


def idem_for(request: Request, key: str | None, body: Any, *, required: bool = True) -> Idem:
    """The idempotency facts of this request: its key, method and path, and a hash of the body
    (so a key reused for a different request is refused)."""
    method_path = f"{request.method} {request.url.path}"
    data = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
    return Idem(check_key(key, required), method_path, request_hash(method_path, data))


def command_response(result: CommandResult) -> JSONResponse:
    """A command's result with its ETag (the new version) and, for a replay, a header saying
    so."""
    headers = {}
    if "version" in result.body:
        headers["ETag"] = f'"{result.body["version"]}"'
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)
