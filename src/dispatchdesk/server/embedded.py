"""Running the server: ``serve`` (blocking, for the CLI) and ``EmbeddedServer`` (a thread).

Both close the open SSE streams before uvicorn's graceful shutdown, which would otherwise wait
for them forever. ``serve(settings, workers=N)`` runs N uvicorn worker processes on one
listening socket, each with its own app (:class:`AppFactory`), all on one database (PostgreSQL,
or one SQLite file): a commit in one wakes the streams of the others
(:mod:`~dispatchdesk.server.watcher`); a worker's streams end within :data:`GRACEFUL_SECONDS`
of a stop. An in-memory SQLite database is one process's own (:func:`check_workers`).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from dispatchdesk.server.app import create_app
from dispatchdesk.server.db import create_schema, make_engine, sqlite_file
from dispatchdesk.server.events import Hub
from dispatchdesk.server.settings import ServerSettings

#: Seconds uvicorn waits for requests still running at shutdown before cancelling them.
GRACEFUL_SECONDS = 5
#: Seconds a worker process may take to answer the supervisor's health check.
WORKER_HEALTHCHECK_SECONDS = 60


class _Server(uvicorn.Server):
    """A uvicorn server that ends the SSE streams as soon as it is asked to exit."""

    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.hub.close()
        super().handle_exit(sig, frame)


def _config(
    app: FastAPI | AppFactory, settings: ServerSettings, workers: int = 1
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        lifespan="on",
        ssl_certfile=settings.certfile,
        ssl_keyfile=settings.keyfile,
        factory=isinstance(app, AppFactory),
        workers=workers,
        # uvicorn replaces a worker that does not answer its health check in time; 5 s (its
        # default) is less than a worker takes to start on a busy machine, so it never would
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


@dataclass(frozen=True)
class AppFactory:
    """Makes the app in a worker process (uvicorn pickles this to each worker); its open
    streams end as soon as the worker is asked to stop (:func:`_end_streams_on_exit`)."""

    settings: ServerSettings

    def __call__(self) -> FastAPI:
        app = create_app(self.settings)
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(running: FastAPI) -> AsyncIterator[Any]:
            async with inner(running) as state:
                _end_streams_on_exit(app.state.hub)
                yield state

        app.router.lifespan_context = lifespan
        return app


def _end_streams_on_exit(hub: Hub) -> None:
    """Chain onto the worker's SIGINT/SIGTERM handlers (uvicorn's, set before the lifespan
    starts): the hub is closed on the loop, so the SSE streams end at once instead of holding
    the shutdown for :data:`GRACEFUL_SECONDS` and being cut."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(hub.close)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


def check_workers(settings: ServerSettings, workers: int) -> None:
    """Refuse (ValueError) a number of worker processes the database cannot serve."""
    if workers < 1:
        raise ValueError("--workers must be at least 1.")
    postgres = settings.db_url.startswith("postgresql")
    if workers > 1 and not postgres and sqlite_file(settings.db_url) is None:
        raise ValueError(
            "Several worker processes need one database they all open: an in-memory SQLite "
            "database is each process's own. Serve a database file (sqlite:///path/server.db) "
            "or PostgreSQL, or leave out --workers."
        )


def serve(settings: ServerSettings, workers: int = 1) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM), in ``workers`` processes."""
    check_workers(settings, workers)
    if workers == 1:
        app = create_app(settings)
        _Server(_config(app, settings), app.state.hub).run()
        return
    engine = make_engine(settings.db_url)
    create_schema(engine)  # once, here, so the workers do not race to create tables
    engine.dispose()
    config = _config(AppFactory(settings), settings, workers)
    Multiprocess(config, sockets=[_listening_socket(settings)]).run()


def _listening_socket(settings: ServerSettings) -> socket.socket:
    """The socket the workers share. Made with proto=IPPROTO_TCP (uvicorn's own leaves it 0):
    asyncio sets TCP_NODELAY on accepted connections only when the socket says it is TCP, and
    without it Nagle + delayed ACK add ~40 ms to a reply written in two parts."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.set_inheritable(True)
    return sock


class EmbeddedServer:
    """The server on loopback in a background thread with its own event loop.

    ``start()`` returns once it accepts connections; port 0 picks a free port (see ``url``).
    ``stop()`` ends the SSE streams and shuts down. ``start()`` again (or a new
    ``EmbeddedServer`` on the same database and port) serves again on the same port, so a
    test can kill the server mid-stream and bring it back where clients expect it.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.app: FastAPI | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the embedded server has not been started")
        scheme = "https" if self.settings.certfile else "http"
        return f"{scheme}://{self.settings.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        if self._thread is not None:
            raise RuntimeError("this embedded server is running: stop() it first")
        port = self.port if self.port is not None else self.settings.port
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
        # the socket says it is TCP, and without it Nagle + delayed ACK add ~40 ms per reply.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, port))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._error = None
        try:
            self.app = create_app(self.settings)
        except BaseException:
            self._close_socket()
            raise
        server = _Server(_config(self.app, self.settings), self.app.state.hub)
        self._server = server
        self._thread = threading.Thread(
            target=self._run, name=f"dispatchdesk-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if self._error is not None or not self._thread.is_alive():
                self._close_socket()
                self._thread = self._server = None
                raise RuntimeError(f"the embedded server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the embedded server did not start in time")
            time.sleep(0.005)

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            loop.close()

    def stop(self, timeout: float = 15.0) -> None:
        """Close the SSE streams, shut down, and release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.hub.close()
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._close_socket()
        self._server = None
        self._thread = None

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
