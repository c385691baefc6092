"""The HTTP face of the reference server (FastAPI): sync contract v1.

:func:`create_app` only composes: one :class:`~dispatchdesk.server.runner.CommandRunner`, each
feature's service over it, each feature's router (``server/features/<feature>/routes.py``),
the one error handler (:func:`~dispatchdesk.server.http_common.install_error_handler`) and
the background work of the lifespan (the escalation and scheme sweeps, the PostgreSQL
watcher).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatchdesk.domain.clock import Clock
from dispatchdesk.protocol import SERVER_TIME_HEADER
from dispatchdesk.server.db import create_schema, is_postgres, make_engine, sqlite_path
from dispatchdesk.server.events import Hub
from dispatchdesk.server.features.audit import routes as audit_routes
from dispatchdesk.server.features.auth import routes as auth_routes
from dispatchdesk.server.features.downgrades import routes as downgrade_routes
from dispatchdesk.server.features.health import routes as health_routes
from dispatchdesk.server.features.health.service import Health, health_engine
from dispatchdesk.server.features.history import keys as history_keys
from dispatchdesk.server.features.history import routes as history_routes
from dispatchdesk.server.features.incidents import routes as incident_routes
from dispatchdesk.server.features.notices import routes as notice_routes
from dispatchdesk.server.features.sync import routes as sync_routes
from dispatchdesk.server.features.tasks import routes as task_routes
from dispatchdesk.server.features.units import routes as unit_routes
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.features.warnings import routes as warning_routes
from dispatchdesk.server.guard import GuardMiddleware
from dispatchdesk.server.http_common import install_error_handler, requirer
from dispatchdesk.server.openapi import install_openapi
from dispatchdesk.server.services import Services
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.watcher import PgWatcher, SqliteWatcher

log = logging.getLogger(__name__)


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


def create_app(settings: ServerSettings) -> FastAPI:
    """The server's ASGI app over ``settings.db_url``; creates missing tables."""
    engine = make_engine(settings.db_url)
    create_schema(engine)
    history_keys.backfill(engine)  # search keys of incidents stored by an earlier version
    hub = Hub()
    services = Services.open(engine, settings, hub.notify, hub.committed)
    runner, units, warn = services.runner, services.units, services.warnings
    if said := runner.rationales.open(runner.now()):  # earlier rationales, index order
        log.info("%s", said)
    # Without the watcher (an app used without its lifespan) PostgreSQL streams poll the log.
    poll: list[float | None] = [settings.poll_seconds if is_postgres(engine) else None]
    health = Health(health_engine(settings.db_url))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher: PgWatcher | SqliteWatcher | None = None
        if is_postgres(engine):
            watcher = PgWatcher(engine, hub, settings.poll_seconds, services.runner.node)
            poll[0] = None
        elif (path := sqlite_path(engine)) is not None:  # other processes may write it too
            watcher = SqliteWatcher(path, hub)
        if watcher is not None:
            watcher.start()
        sweeper = asyncio.create_task(_sweep_forever(units, settings.sweep_seconds))
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
            health.close()

    app = FastAPI(
        title="Dispatch Desk reference server",
        version="1",
        summary="Sync contract v1: snapshot, change feed, SSE events and incident commands.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.hub = hub
    app.state.engine = engine
    app.state.health = health
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ServerTimeMiddleware, clock=settings.clock)
    install_error_handler(app)
    install_openapi(app)

    require = requirer(runner)
    app.include_router(auth_routes.router(runner, require))
    app.include_router(
        sync_routes.router(services.sync, units, warn, services.notices, hub, poll, require)
    )
    app.include_router(incident_routes.router(services.incidents, units, require))
    app.include_router(audit_routes.router(services.audit, require))
    app.include_router(unit_routes.router(units, require))
    app.include_router(warning_routes.router(warn, require))
    app.include_router(notice_routes.router(services.notices, require))
    app.include_router(downgrade_routes.router(services.downgrades, require))
    app.include_router(task_routes.router(services.tasks, require))
    app.include_router(history_routes.router(services.history, require))
    app.include_router(health_routes.router(health))
    return app


async def _sweep_forever(units: Units, every: float) -> None:
    """Escalate owed incidents while the app runs (reads also sweep, so none waits long)."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(units.sweep)
        except Exception:  # a database hiccup must not end the sweeps
            log.exception("escalation sweep failed; trying again in %.0f s", every)
