"""Client-side sync: the HTTP/SSE client, the outbox, and the engine that keeps the cache and
the screen in step with the server. No Qt here: the GUI listens through
:class:`dispatchdesk.sync.api.DeskListener`.

Wiring (the app's composition root, on the qasync loop)::

    store = await asyncio.to_thread(CacheStore, path)     # path=None: platformdirs user data
    worker = CacheWorker(store)                           # the one cache thread
    clock = ServerClock()                                 # shared by client, engine and GUI
    client = ApiClient(server_url, clock=clock)
    engine = SyncEngine(client, worker, listener, clock,
                        max_command_age=timedelta(minutes=10))
    await client.sign_in(username, password)              # Unauthorized / ConnectionLost
    await engine.start()          # on_state from the cache at once, then connects for ever
    ...                           # the GUI calls engine.create_incident(...) etc.
    await engine.stop()           # closes the stream and the client
    worker.close()                # after stop: finishes queued writes, closes SQLite

``engine.start()`` may run before a successful sign-in (offline start): the cached queue and
outbox are shown and the engine keeps retrying; a 401 is reported through ``on_signed_out``
and ``on_connection(OFFLINE, message)``. Signing in again on the same ``ApiClient`` is picked up
at the next attempt. One cache per server: do not point two servers at one cache file.
"""

from dispatchdesk.sync import _lean_imports  # noqa: F401  (first: before httpx)
from dispatchdesk.sync.client import ApiClient, Heartbeat
from dispatchdesk.sync.engine import SyncEngine
from dispatchdesk.sync.errors import (
    ApiError,
    Conflict,
    ConnectionLost,
    DeskError,
    Forbidden,
    Gone,
    InvalidRequest,
    MalformedPayload,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
)

__all__ = [
    "ApiClient",
    "ApiError",
    "Conflict",
    "ConnectionLost",
    "DeskError",
    "Forbidden",
    "Gone",
    "Heartbeat",
    "InvalidRequest",
    "MalformedPayload",
    "NotFound",
    "PreconditionFailed",
    "ServerError",
    "SyncEngine",
    "Unauthorized",
]
