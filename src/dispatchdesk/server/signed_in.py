"""The sign-in check of every request, made in the same worker-thread call as the route's work.

``require(Right.X)`` (:func:`requirer`) is a FastAPI dependency that runs on the event loop and
only reads the bearer token (401 when there is none); the token is checked against the
database, every request (a revoked token, a disabled user or a changed role is refused at
once, on every node), by the route itself: :class:`SignedInRoute` wraps each endpoint so that
the check runs first, on the worker thread that runs the endpoint. A command then costs one
hand-off to a worker thread instead of two (one for the check, one for the command); an async
endpoint gets its check in one hand-off as before.

The order of refusals is kept: a request whose body or parameters are refused (422) is first
checked for its sign-in, so 401 and 403 still come before 422.

A route that takes ``require(...)`` must be a :class:`SignedInRoute` (its router is made with
``route_class=SignedInRoute``): the dependency refuses to run for any other endpoint (500, never
a route without its check), and a route taking it other than as a parameter of its own (a
router's ``dependencies=``, a dependency of a dependency) is refused when it is declared.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dispatchdesk.domain.roles import Right, has_right
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import auth
from dispatchdesk.server.errors import Forbidden, Unauthorized
from dispatchdesk.server.reads import one_statement
from dispatchdesk.server.runner import CommandRunner

#: ``require(Right.X)``: a FastAPI dependency giving the signed-in user who has right X (as
#: the route sees it: :class:`SignedInRoute` checks the token before the endpoint runs).
Require = Callable[[Right], Callable[..., Awaitable[Any]]]

#: Set on a wrapped endpoint (the dependency runs only for those) and on the dependency.
_SIGNS_IN = "_dispatchdesk_signs_in"
_RIGHT = "_dispatchdesk_right"
#: The request's :class:`SignIn` objects, in its scope (checked before a 422 is answered).
_PENDING = "dispatchdesk.sign_ins"

NOT_SIGNED_IN = (
    f"Sign in first: send 'Authorization: Bearer <token>' with a token from "
    f"POST {API_PREFIX}/auth/token."
)
TOKEN_REFUSED = "Your session token is not valid or has expired: sign in again."


def lacks_right(user: auth.User, right: Right) -> str:
    return (
        f"Your role ({user.role.label}) does not have the right "
        f"'{right.value}' needed for this. Ask a supervisor."
    )


@dataclass(slots=True)
class SignIn:
    """A bearer token presented for a right; :meth:`user` checks it (blocking: one
    statement)."""

    token: str
    right: Right
    runner: CommandRunner

    def user(self) -> auth.User:
        """The token's user, who has the right: read from the database now (no cache)."""
        with one_statement(self.runner.engine) as conn:
            user = auth.user_for_token(conn, self.token, self.runner.now())
        if user is None:
            raise Unauthorized(TOKEN_REFUSED)
        if not has_right(user.role, self.right):
            raise Forbidden(lacks_right(user, self.right))
        return user


def requirer(runner: CommandRunner) -> Require:
    """``require``: the user of the request's bearer token, who must have a right."""
    bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")

    def require(right: Right) -> Callable[..., Awaitable[Any]]:
        async def dependency(
            request: Request,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> SignIn:
            if not getattr(request.scope.get("endpoint"), _SIGNS_IN, False):
                raise RuntimeError(
                    f"{request.url.path} takes require() but is not a SignedInRoute: "
                    "its sign-in would never be checked"
                )
            if creds is None:
                raise Unauthorized(NOT_SIGNED_IN)
            sign_in = SignIn(creds.credentials, right, runner)
            request.scope.setdefault(_PENDING, []).append(sign_in)
            return sign_in

        setattr(dependency, _RIGHT, right)
        return dependency

    return require


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each :class:`SignIn` checked and replaced by its user."""
    return {k: v.user() if isinstance(v, SignIn) else v for k, v in values.items()}


def _signing_in(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, checking its sign-ins first: in the worker thread that runs a sync
    endpoint, in one hand-off to the thread pool before an async one."""
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def signed_in_async(**values: Any) -> Any:
            if any(isinstance(v, SignIn) for v in values.values()):
                values = await run_in_threadpool(_checked, values)
            return await endpoint(**values)

        wrapper = signed_in_async
    else:

        @functools.wraps(endpoint)
        def signed_in(**values: Any) -> Any:
            return endpoint(**_checked(values))

        wrapper = signed_in
    setattr(wrapper, _SIGNS_IN, True)
    return wrapper


def _nested_sign_ins(dependant: Dependant, top: bool = True) -> Iterator[Dependant]:
    """The sign-in dependencies of ``dependant`` that its endpoint would not be given."""
    for sub in dependant.dependencies:
        if hasattr(sub.call, _RIGHT) and (not top or sub.name is None):
            yield sub
        yield from _nested_sign_ins(sub, top=False)


class SignedInRoute(APIRoute):
    """A route whose endpoint checks its ``require(...)`` sign-ins first (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _signing_in(endpoint), **kwargs)
        if any(_nested_sign_ins(self.dependant)):
            raise TypeError(
                f"{path}: require() must be a parameter of the endpoint itself, so that the "
                "endpoint is given it and checks it"
            )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                # 401 and 403 come before 422, as when the check ran before the body's
                for sign_in in request.scope.get(_PENDING, ()):
                    await run_in_threadpool(sign_in.user)
                raise

        return checked_first
