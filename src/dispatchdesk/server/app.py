"""The HTTP face of the reference server (FastAPI): routes of sync contract v1."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatchdesk.domain.clock import Clock
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER, SERVER_TIME_HEADER
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    ChangesPage,
    ClearRequest,
    CloseRequest,
    DivertModel,
    DivertRequest,
    ErrorBody,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    ReviewRequest,
    Snapshot,
    TokenRequest,
    TokenResponse,
    UnitCreate,
    UnitOut,
    UnitStatusRequest,
)
from dispatchdesk.server import auth
from dispatchdesk.server.db import create_schema, is_postgres, make_engine, read_tx, write_tx
from dispatchdesk.server.dispatch import Dispatch
from dispatchdesk.server.events import Hub, stream
from dispatchdesk.server.http_common import command_response, idem_for, parse_if_match
from dispatchdesk.server.service import Service, ServiceError
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.warnings_api import WarningsDesk, redact_audit_rows
from dispatchdesk.server.watcher import PgWatcher

MAX_CHANGES_LIMIT = 5000

log = logging.getLogger(__name__)


class AuditRow(BaseModel):
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: int | None
    detail: str


class ServerTimeMiddleware:
    """Stamps every response with ``X-Server-Time`` from the server's clock."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = self.clock.now().astimezone(UTC).isoformat()
                headers = list(message.get("headers", []))
                headers.append((SERVER_TIME_HEADER.lower().encode(), stamp.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


def _error(status: int, text: str) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": text}}


_AUTH_ERRORS = {**_error(401, "No valid bearer token"), **_error(403, "The role lacks the right")}


def create_app(settings: ServerSettings) -> FastAPI:
    """The server's ASGI app over ``settings.db_url``; creates missing tables."""
    engine = make_engine(settings.db_url)
    create_schema(engine)
    hub = Hub()
    service = Service(engine, settings, hub.notify)
    if said := service.rationales.open(service.now()):  # earlier rationales, index order
        log.info("%s", said)
    warn = WarningsDesk(service)
    dispatch = Dispatch(service)
    # Without the watcher (an app used without its lifespan) PostgreSQL streams poll the log.
    poll: list[float | None] = [settings.poll_seconds if is_postgres(engine) else None]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if is_postgres(engine):
            watcher = PgWatcher(engine, hub, settings.poll_seconds)
            watcher.start()
            poll[0] = None
        sweeper = asyncio.create_task(_sweep_forever(dispatch, settings.sweep_seconds))
        warn_sweeper = warn.start_sweeper()
        try:
            yield
        finally:
            warn_sweeper.stop()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if watcher is not None:
                watcher.stop()
            hub.close()
            engine.dispose()

    app = FastAPI(
        title="Dispatch Desk reference server",
        version="1",
        summary="Sync contract v1: snapshot, change feed, SSE events and incident commands.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.dispatch = dispatch
    app.state.hub = hub
    app.state.engine = engine
    app.add_middleware(ServerTimeMiddleware, clock=settings.clock)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")

    def require(right: Right) -> Callable[..., auth.User]:
        def dependency(
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> auth.User:
            if creds is None:
                raise ServiceError(
                    401, "Sign in first: send 'Authorization: Bearer <token>' with a token from "
                    f"POST {API_PREFIX}/auth/token."
                )
            with read_tx(engine) as conn:
                user = auth.user_for_token(conn, creds.credentials, service.now())
            if user is None:
                raise ServiceError(
                    401, "Your session token is not valid or has expired: sign in again."
                )
            if not has_right(user.role, right):
                raise ServiceError(
                    403, f"Your role ({user.role.label}) does not have the right "
                    f"'{right.value}' needed for this. Ask a supervisor."
                )
            return user

        return dependency

    router = APIRouter(prefix=API_PREFIX)

    @router.post(
        "/auth/token", response_model=TokenResponse, summary="Sign in: a bearer token and role",
        responses=_error(401, "Wrong username or password"), tags=["auth"],
    )
    def token(body: TokenRequest) -> TokenResponse:
        with write_tx(engine) as conn:
            got = auth.login(conn, body.username, body.password, service.now(), settings.token_ttl)
        if got is None:
            raise ServiceError(401, "Wrong username or password.")
        tok, user = got
        return TokenResponse(access_token=tok, role=user.role, username=user.username)

    @router.get(
        "/snapshot", response_model=Snapshot, responses=_AUTH_ERRORS, tags=["sync"],
        summary="Live incidents (open, and closed today), server time, policy and cursor",
    )
    def snapshot(_user: Annotated[auth.User, Depends(require(Right.VIEW))]) -> Snapshot:
        dispatch.sweep()
        warn.sweep()
        return warn.extend_snapshot(service.snapshot())

    @router.get(
        "/changes", response_model=ChangesPage, tags=["sync"],
        summary="Changes after a cursor, oldest first",
        responses={**_AUTH_ERRORS, **_error(410, "The log no longer holds changes after SEQ")},
    )
    def changes(
        _user: Annotated[auth.User, Depends(require(Right.VIEW))],
        since: Annotated[int, Query(ge=0, description="Cursor: changes with seq > since")],
        limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_LIMIT)] = 1000,
    ) -> ChangesPage:
        dispatch.sweep()
        warn.sweep()
        return service.changes(since, limit)

    @router.get(
        "/events", tags=["sync"],
        summary="Server-Sent Events: each change as 'event: change', id = seq; heartbeats",
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
            **_AUTH_ERRORS, **_error(410, "The resume point is older than the retained log"),
        },
    )
    async def events(
        _user: Annotated[auth.User, Depends(require(Right.VIEW))],
        since: Annotated[int | None, Query(ge=0, description="Resume after this seq")] = None,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ) -> StreamingResponse:
        start = since
        if last_event_id is not None and last_event_id.strip():
            try:
                start = int(last_event_id.strip())
            except ValueError:
                raise ServiceError(
                    400, f"Last-Event-ID must be a change seq number, not {last_event_id!r}."
                ) from None
        head = await run_in_threadpool(service.head)
        if start is None:
            start = head.seq
        if start < head.floor:
            raise ServiceError(
                410, f"Changes after {start} are no longer kept (the log starts after "
                f"{head.floor}). Take a new snapshot from /snapshot and resume from its cursor."
            )
        if start > head.seq:
            raise ServiceError(
                410, f"Resume point {start} is ahead of this server's change log, which ends at "
                f"{head.seq}. Take a new snapshot from /snapshot."
            )
        return StreamingResponse(
            stream(service, hub, start, poll=poll[0]),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post(
        "/incidents", status_code=201, response_model=IncidentOut, tags=["incidents"],
        summary="Create an incident (Idempotency-Key required)",
        responses={**_AUTH_ERRORS, **_error(400, "Idempotency-Key missing")},
    )
    def create_incident(
        request: Request,
        body: IncidentCreate,
        user: Annotated[auth.User, Depends(require(Right.CREATE_INCIDENT))],
        idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(service.create_incident(user, body, idem))

    @router.patch(
        "/incidents/{incident_id}", response_model=IncidentOut, tags=["incidents"],
        summary="Regrade, change status, edit summary or appointment (If-Match required)",
        responses={
            **_AUTH_ERRORS, **_error(404, "No such incident"),
            **_error(409, "A move the rules do not allow"),
            **_error(412, "Stale If-Match: the detail names the current version"),
            **_error(428, "If-Match missing"),
        },
    )
    def patch_incident(
        request: Request,
        incident_id: int,
        body: IncidentPatch,
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
        idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
    ) -> JSONResponse:
        for needed, given in (
            (Right.REGRADE, body.grade is not None),
            (Right.CHANGE_STATUS, body.status is not None),
            (Right.EDIT_SUMMARY, bool(body.model_fields_set & {"summary", "appointment_at"})),
        ):
            if given and not has_right(user.role, needed):
                raise ServiceError(
                    403, f"Your role ({user.role.label}) does not have the right "
                    f"'{needed.value}' needed for this change. Ask a supervisor."
                )
        version = parse_if_match(if_match)
        if version is None:
            raise ServiceError(
                428, "The If-Match header is required: send the version of the incident you "
                "edited (for example If-Match: 3)."
            )
        idem = idem_for(request, idempotency_key, body, required=False)
        return command_response(service.patch_incident(user, incident_id, body, version, idem))

    @router.post(
        "/incidents/{incident_id}/close", response_model=IncidentOut, tags=["incidents"],
        summary="Close an incident with a rationale specific to it",
        responses={
            **_AUTH_ERRORS, **_error(404, "No such incident"),
            **_error(409, "Rationale refused, or already closed"),
            **_error(412, "Stale If-Match (only when If-Match is sent)"),
        },
    )
    def close_incident(
        request: Request,
        incident_id: int,
        body: CloseRequest,
        user: Annotated[auth.User, Depends(require(Right.CLOSE_INCIDENT))],
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
        idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        version = parse_if_match(if_match)
        return command_response(service.close_incident(user, incident_id, body, version, idem))

    @router.get(
        "/incidents/{incident_id}", response_model=IncidentOut, tags=["incidents"],
        summary="One incident", responses={**_AUTH_ERRORS, **_error(404, "No such incident")},
    )
    def get_incident(
        incident_id: int, _user: Annotated[auth.User, Depends(require(Right.VIEW))]
    ) -> IncidentOut:
        dispatch.sweep()
        return service.get_incident(incident_id)

    @router.get(
        "/audit", response_model=list[AuditRow], tags=["audit"],
        summary="Recent audit rows, newest first (supervisor)", responses=_AUTH_ERRORS,
    )
    def get_audit(
        user: Annotated[auth.User, Depends(require(Right.VIEW))],
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    ) -> list[AuditRow]:
        if user.role is not Role.SUPERVISOR:
            raise ServiceError(
                403, f"Your role ({user.role.label}) cannot read the audit log: it needs the "
                "supervisor role."
            )
        return [AuditRow.model_validate(r) for r in redact_audit_rows(service.audit_rows(limit))]

    _unit_routes(router, require, dispatch)
    app.include_router(router)
    app.include_router(warn.router(require))
    return app


async def _sweep_forever(dispatch: Dispatch, every: float) -> None:
    """Escalate owed incidents while the app runs (reads also sweep, so none waits long)."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(dispatch.sweep)
        except Exception:  # a database hiccup must not end the sweeps
            log.exception("escalation sweep failed; trying again in %.0f s", every)


_UNIT_ERRORS = {
    **_AUTH_ERRORS, **_error(400, "Idempotency-Key missing"),
    **_error(404, "No such unit or incident"),
    **_error(409, "A rule broken: the detail says what to do"),
    **_error(412, "Stale If-Match (only when If-Match is sent)"),
}


def _unit_routes(
    router: APIRouter, require: Callable[[Right], Callable[..., auth.User]], dispatch: Dispatch
) -> None:
    """Units, dispatch commands and the DIVERT tag list."""
    Dispatcher = Annotated[auth.User, Depends(require(Right.DISPATCH_UNITS))]
    Viewer = Annotated[auth.User, Depends(require(Right.VIEW))]
    Key = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
    IfMatch = Annotated[str | None, Header(alias="If-Match")]

    @router.post(
        "/units", status_code=201, response_model=UnitOut, tags=["units"],
        summary="Add a unit to the fleet (supervisor; Idempotency-Key required)",
        responses=_UNIT_ERRORS,
    )
    def create_unit(
        request: Request, body: UnitCreate,
        user: Annotated[auth.User, Depends(require(Right.MANAGE_UNITS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        return command_response(
            dispatch.create_unit(user, body, idem_for(request, idempotency_key, body))
        )

    @router.get("/units", response_model=list[UnitOut], tags=["units"],
                summary="The whole fleet", responses=_AUTH_ERRORS)
    def list_units(_user: Viewer) -> list[UnitOut]:
        return dispatch.units()

    @router.get("/units/{unit_id}", response_model=UnitOut, tags=["units"], summary="One unit",
                responses={**_AUTH_ERRORS, **_error(404, "No such unit")})
    def get_unit(unit_id: int, _user: Viewer) -> UnitOut:
        return dispatch.unit(unit_id)

    @router.post(
        "/units/{unit_id}/assign", response_model=UnitOut, tags=["units"],
        summary="Assign an AVAILABLE unit to an incident (409 names the incident it is on)",
        responses=_UNIT_ERRORS,
    )
    def assign(request: Request, unit_id: int, body: AssignRequest, user: Dispatcher,
               if_match: IfMatch = None, idempotency_key: Key = None) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(
            dispatch.assign(user, unit_id, body, parse_if_match(if_match), idem)
        )

    @router.post(
        "/units/{unit_id}/divert", response_model=UnitOut, tags=["units"],
        summary="Move a unit off its incident to another; the one it left stays owed",
        responses=_UNIT_ERRORS,
    )
    def divert(request: Request, unit_id: int, body: DivertRequest, user: Dispatcher,
               if_match: IfMatch = None, idempotency_key: Key = None) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(
            dispatch.divert(user, unit_id, body, parse_if_match(if_match), idem)
        )

    @router.post(
        "/units/{unit_id}/arrive", response_model=UnitOut, tags=["units"],
        summary="The unit is at scene (stops the countdown; releases an owed incident)",
        responses=_UNIT_ERRORS,
    )
    def arrive(request: Request, unit_id: int, user: Dispatcher,
               if_match: IfMatch = None, idempotency_key: Key = None) -> JSONResponse:
        idem = idem_for(request, idempotency_key, None)
        return command_response(dispatch.arrive(user, unit_id, parse_if_match(if_match), idem))

    @router.post(
        "/units/{unit_id}/clear", response_model=UnitOut, tags=["units"],
        summary="The unit is free again (AVAILABLE), off its incident. A unit that has not "
        "arrived needs a reason (422 without); if it was the last unit on the incident, the "
        "incident is tagged WITHDRAWN and owed, like a divert",
        responses=_UNIT_ERRORS,
    )
    def clear(request: Request, unit_id: int, user: Dispatcher,
              body: ClearRequest | None = None, if_match: IfMatch = None,
              idempotency_key: Key = None) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(
            dispatch.clear(user, unit_id, body, parse_if_match(if_match), idem)
        )

    @router.post(
        "/units/{unit_id}/status", response_model=UnitOut, tags=["units"],
        summary="AVAILABLE, COMMITTED or OFF_DUTY, for a unit not on an incident",
        responses=_UNIT_ERRORS,
    )
    def unit_status(request: Request, unit_id: int, body: UnitStatusRequest, user: Dispatcher,
                    if_match: IfMatch = None, idempotency_key: Key = None) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(
            dispatch.set_status(user, unit_id, body, parse_if_match(if_match), idem)
        )

    @router.get(
        "/diverts", response_model=list[DivertModel], tags=["diverts"],
        summary="The DIVERT tag list: open (still owed or not reviewed) or all",
        responses=_AUTH_ERRORS,
    )
    def list_diverts(
        _user: Viewer, state: Annotated[Literal["open", "all"], Query()] = "open"
    ) -> list[DivertModel]:
        dispatch.sweep()
        return dispatch.diverts(state)

    @router.post(
        "/diverts/{divert_id}/review", response_model=DivertModel, tags=["diverts"],
        summary="Mark a DIVERT tag-list entry reviewed, with a note (supervisor)",
        responses={**_UNIT_ERRORS, **_error(404, "No such divert")},
    )
    def review_divert(
        request: Request, divert_id: int, body: ReviewRequest,
        user: Annotated[auth.User, Depends(require(Right.REVIEW_DIVERTS))],
        idempotency_key: Key = None,
    ) -> JSONResponse:
        idem = idem_for(request, idempotency_key, body)
        return command_response(dispatch.review(user, divert_id, body, idem))
