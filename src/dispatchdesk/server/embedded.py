"""Running the server: ``serve`` (blocking, for the CLI) and ``EmbeddedServer`` (a thread).

Both close the open SSE streams before uvicorn's graceful shutdown, which would otherwise wait
for them forever.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from dispatchdesk.server.app import create_app
from dispatchdesk.server.events import Hub
from dispatchdesk.server.settings import ServerSettings

#: Seconds uvicorn waits for requests still running at shutdown before cancelling them.
GRACEFUL_SECONDS = 5


class _Server(uvicorn.Server):
    """A uvicorn server that ends the SSE streams as soon as it is asked to exit."""

    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.hub.close()
        super().handle_exit(sig, frame)


def _config(app: FastAPI, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        lifespan="on",
        ssl_certfile=settings.certfile,
        ssl_keyfile=settings.keyfile,
    )


def serve(settings: ServerSettings) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    app = create_app(settings)
    _Server(_config(app, settings), app.state.hub).run()


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
