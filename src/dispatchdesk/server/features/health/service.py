"""Whether this API node can serve: one cheap round trip to its database, bounded in time.

A load balancer asks every few seconds; the answer must come quickly whatever the database
does. So the check has its own engine (no pool: each check opens a connection, which is also
what the node's own pool needs to be able to do when it grows), a connect timeout and a
statement timeout on PostgreSQL, a busy timeout on SQLite, and an overall limit on the wait
(:data:`HEALTH_TIMEOUT`). At most one check runs at a time: while one hangs, the next is
answered "timeout" without starting another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from dispatchdesk.server.db import log_head

log = logging.getLogger(__name__)

#: Seconds the database may take to answer before the node reports itself unavailable.
HEALTH_TIMEOUT = 2.0


#: "ok"; "timeout": no answer within the limit; "error": it refused or failed.
DatabaseState = Literal["ok", "timeout", "error"]


@dataclass(frozen=True)
class HealthReport:
    """``seq``: the change log's head (when the database answered); ``database``: "ok",
    "timeout" (no answer within the limit) or "error" (it refused or failed)."""

    database: DatabaseState
    seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.database == "ok"


def health_engine(db_url: str, timeout: float = HEALTH_TIMEOUT) -> Engine:
    """An engine for health checks of ``db_url``: no pool, and the database's own timeouts."""
    url = sa.make_url(db_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": timeout}
    elif url.get_backend_name() == "postgresql" and url.get_driver_name() in (
        "psycopg",
        "psycopg2",
    ):
        # libpq counts whole seconds (and at least 2); a second more than the wait, so a
        # database that hangs is reported as the wait ending ("timeout"), not as a failure
        connect_args = {"connect_timeout": max(2, math.ceil(timeout) + 1)}
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)


class Health:
    """Checks the database behind ``engine`` (see :func:`health_engine`)."""

    def __init__(self, engine: Engine, timeout: float = HEALTH_TIMEOUT) -> None:
        self.engine = engine
        self.timeout = timeout
        #: Held by the check under way (released by its thread, however it ends).
        self._busy = threading.Lock()

    async def check(self) -> HealthReport:
        """The log head's seq, or why the database did not give it within :attr:`timeout`."""
        if not self._busy.acquire(blocking=False):
            log.warning("health check: the last check is still waiting for the database")
            return HealthReport("timeout")
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        # Its own thread, always run (a pool may drop a job cancelled before it starts, and
        # the lock with it); a daemon, so a hung database never holds up the process's exit.
        threading.Thread(
            target=self._run, args=(loop, answer), name="dispatchdesk-health", daemon=True
        ).start()
        try:
            async with asyncio.timeout(self.timeout):
                seq = await answer
        except TimeoutError:
            log.warning("health check: the database did not answer within %.3g s", self.timeout)
            return HealthReport("timeout")
        except Exception as exc:
            log.warning("health check: the database failed: %s", _first_line(exc))
            return HealthReport("error")
        return HealthReport("ok", seq)

    def _run(self, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[int]) -> None:
        try:
            seq, error = self._head(), None
        except Exception as exc:
            seq, error = None, exc
        finally:
            self._busy.release()
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(_settle, answer, seq, error)

    def _head(self) -> int:
        with self.engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                ms = int((self.timeout + 1) * 1000)
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            seq = conn.execute(sa.select(log_head.c.seq).where(log_head.c.id == 1)).scalar_one()
        return int(seq)

    def close(self) -> None:
        self.engine.dispose()


def _settle(answer: asyncio.Future[int], seq: int | None, error: Exception | None) -> None:
    if answer.done():  # the wait timed out
        return
    if error is not None:
        answer.set_exception(error)
    else:
        assert seq is not None
        answer.set_result(seq)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
