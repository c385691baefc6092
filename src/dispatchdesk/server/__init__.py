"""Reference backend of Dispatch Desk: FastAPI over SQLite or PostgreSQL, sync contract v1.

Never imports Qt; imports only ``domain`` and ``protocol`` from the product.

Where things are:

- ``features/<feature>/`` -- one package per feature (``incidents``, ``units`` with diverts,
  ``warnings`` (schemes, orders), ``sync`` (snapshot, changes, events), ``auth``, ``audit``):
  ``service.py`` holds its commands and queries, pure of HTTP, raising the typed refusals of
  ``errors``; ``routes.py`` its ``APIRouter``. A new endpoint goes in its feature's
  ``routes.py``; a new feature is a new package there, included by ``app.create_app``.
- ``runner`` (CommandRunner: transaction, log lock, idempotency, change log, audit, refusal
  audit, notify: every command runs through it), ``errors`` (NotFound, Conflict, Stale, ...
  and the one table to HTTP statuses), ``http_common`` (headers, sign-in dependency, the
  error handler), ``services`` (every feature service over one runner), ``app`` (composes the
  routers), ``settings``, ``db`` (tables, engines), ``auth`` (passwords, tokens), ``changelog``
  (seq, pruning, 410), ``events`` (SSE fan-out), ``watcher`` (PostgreSQL LISTEN/NOTIFY across
  nodes), ``embedded`` (serve, EmbeddedServer), ``users`` (add_user), ``imports`` (CSV bulk
  load of schemes and orders), ``reference`` and ``rationales`` (checks the services use).

In tests::

    srv = EmbeddedServer(ServerSettings(db_url=f"sqlite:///{tmp_path}/s.db", port=0,
                                        clock=FakeClock(), heartbeat_seconds=0.2))
    srv.start()            # returns once it accepts connections
    ... httpx against srv.url ...
    srv.stop()             # ends open SSE streams too
    srv.start()            # same object: back on the same port, same database
"""

from dispatchdesk.server.app import create_app
from dispatchdesk.server.embedded import EmbeddedServer, serve
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.users import add_user

__all__ = ["EmbeddedServer", "ServerSettings", "add_user", "create_app", "serve"]
