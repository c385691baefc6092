"""``GET /snapshot``, ``GET /changes`` and ``GET /events`` (Server-Sent Events)."""

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from dispatchdesk.domain.roles import Right
from dispatchdesk.protocol.schemas import ChangesPage, Snapshot
from dispatchdesk.server import auth
from dispatchdesk.server.events import Hub, stream
from dispatchdesk.server.features.notices.service import Notices
from dispatchdesk.server.features.sync.service import Sync
from dispatchdesk.server.features.sync.shared import SharedSnapshot
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.features.warnings.service import WarningsDesk
from dispatchdesk.server.http_common import AUTH_ERRORS, Require, api_router, error

MAX_CHANGES_LIMIT = 5000


def router(
    sync: Sync,
    units: Units,
    warnings: WarningsDesk,
    notices: Notices,
    hub: Hub,
    poll: list[float | None],
    require: Require,
) -> APIRouter:
    """The sync routes. ``poll[0]``: seconds between a stream's polls of the log when no
    watcher wakes it (PostgreSQL without the app's lifespan), else None."""
    r = api_router(tags=["sync"])
    Viewer = Annotated[auth.User, Depends(require(Right.VIEW))]
    runner = sync.runner

    def build() -> Snapshot:
        units.sweep()
        warnings.sweep()
        snap = warnings.extend_snapshot(sync.snapshot())
        return snap.model_copy(update={"notices": notices.live(snap.server_time)})

    def day_end(at: datetime) -> datetime:
        next_day = runner.local_today(at) + timedelta(days=1)
        return datetime.combine(next_day, time(0), tzinfo=runner.tz()).astimezone(UTC)

    shared = SharedSnapshot(build, lambda: runner.head().seq, runner.now, day_end)

    @r.get(
        "/snapshot",
        response_model=Snapshot,
        responses=AUTH_ERRORS,
        summary="Live incidents (open, and closed today), server time, policy and cursor",
        description="Built once and shared by every desk asking while it is current; "
        "gzip-compressed when the request's Accept-Encoding allows it.",
    )
    async def snapshot(
        _user: Viewer,
        accept_encoding: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        return (await shared.get()).response(accept_encoding)

    @r.get(
        "/changes",
        response_model=ChangesPage,
        summary="Changes after a cursor, oldest first",
        responses={**AUTH_ERRORS, **error(410, "The log no longer holds changes after SEQ")},
    )
    def changes(
        _user: Viewer,
        since: Annotated[int, Query(ge=0, description="Cursor: changes with seq > since")],
        limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_LIMIT)] = 1000,
    ) -> ChangesPage:
        units.sweep()
        warnings.sweep()
        return sync.changes(since, limit)

    @r.get(
        "/events",
        summary="Server-Sent Events: each change as 'event: change', id = seq; heartbeats",
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
            **AUTH_ERRORS,
            **error(410, "The resume point is older than the retained log"),
        },
    )
    async def events(
        _user: Viewer,
        since: Annotated[int | None, Query(ge=0, description="Resume after this seq")] = None,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ) -> StreamingResponse:
        start = await run_in_threadpool(sync.resume_point, since, last_event_id)
        return StreamingResponse(
            stream(sync.runner, hub, start, poll=poll[0]),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return r
