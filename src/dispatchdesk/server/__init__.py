"""Reference backend of Dispatch Desk: FastAPI over SQLite or PostgreSQL, sync contract v1.

Never imports Qt; imports only ``domain`` and ``protocol`` from the product.

Modules: ``settings`` (ServerSettings), ``db`` (tables, engines), ``auth`` (passwords,
tokens), ``changelog`` (seq, pruning, 410), ``service`` (commands and queries, no HTTP),
``events`` (SSE fan-out), ``watcher`` (PostgreSQL LISTEN/NOTIFY across nodes), ``app``
(routes), ``embedded`` (serve, EmbeddedServer), ``users`` (add_user), ``warnings_api``
(special schemes, protective orders, ``GET /warnings``, the scheme expiry sweep), ``imports``
(CSV bulk load of schemes and orders).

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
