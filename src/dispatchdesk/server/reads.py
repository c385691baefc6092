"""A connection for a read made of one statement, made many times a second (the sign-in check
of every request, the shared window of the event streams)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from dispatchdesk.server.db import is_postgres, read_tx


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for one read statement, which sees one snapshot by itself: on PostgreSQL
    in autocommit (no BEGIN and COMMIT round trips, no isolation level set and reset); on
    SQLite a read transaction (in-process, cheap)."""
    if not is_postgres(engine):
        with read_tx(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")
