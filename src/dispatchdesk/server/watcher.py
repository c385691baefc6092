"""Fan-out of changes other processes commit: several API nodes on one PostgreSQL database,
and the processes sharing one SQLite file.

PostgreSQL: every command transaction sends ``NOTIFY dispatchdesk_changes`` (delivered at
commit). One thread per app LISTENs for it and wakes this process's SSE streams; it also reads
the log head after ``poll_seconds`` without one, so a lost notification or a dropped listening
connection costs at most that long.

SQLite: other processes write the file too (the workers of ``serve --workers N``, another
``serve``, ``dispatchdesk import schemes`` run while the server serves), and SQLite has no
notifications. One thread per app asks ``PRAGMA data_version`` every
:data:`SQLITE_WATCH_SECONDS` (it changes when another connection has committed; a read of the
WAL index, microseconds) and then wakes the streams with the log's head, which they pass over
when they have read it already (this process's own commits).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import ClassVar
from urllib.request import pathname2url

import psycopg
from sqlalchemy.engine import Engine

from dispatchdesk.server.changelog import CHANNEL
from dispatchdesk.server.events import Hub

log = logging.getLogger(__name__)


def libpq_url(engine: Engine) -> str:
    """The engine's URL as psycopg takes it (no SQLAlchemy driver suffix)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class _WatchThread:
    """A daemon thread watching the database for ``hub`` (:meth:`_watch`) until stopped; when
    the watch fails it says so and starts again after :meth:`_pause`, and the server keeps
    serving."""

    _name: ClassVar[str]
    #: What the warning says when the watch fails.
    _failure: ClassVar[str]
    _errors: ClassVar[tuple[type[Exception], ...]] = (Exception,)

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it does within its polling interval (not waited for)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except self._errors:
                if self._stop.is_set():
                    # Stopping: what it read from may be gone already (a schema or database
                    # dropped after the app closed); nothing is served any more.
                    return
                log.warning(self._failure, exc_info=True)
                self._stop.wait(self._pause())

    def _watch(self) -> None:
        raise NotImplementedError

    def _pause(self) -> float:
        raise NotImplementedError


class PgWatcher(_WatchThread):
    """A daemon thread that wakes ``hub`` when another connection commits a change."""

    _name = "dispatchdesk-pg-watch"
    _failure = "change watcher lost its database connection"

    def __init__(self, engine: Engine, hub: Hub, poll_seconds: float, node: str = "") -> None:
        """``node``: the node this watcher's commands say they come from
        (:attr:`~dispatchdesk.server.runner.CommandRunner.node`); their notifications are
        passed over."""
        super().__init__(hub)
        self._dsn = libpq_url(engine)
        self._node = node or None
        self._poll = poll_seconds
        self._last: int | None = None

    def _watch(self) -> None:
        self._listen()

    def _pause(self) -> float:
        return self._poll

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute("LISTEN " + CHANNEL)
            while not self._stop.is_set():
                woke = False
                for note in conn.notifies(timeout=self._poll, stop_after=1):
                    woke = True
                    seq, by = _parsed(note.payload)
                    # A command of this node's own handed its changes to the streams
                    # itself; for any other the hub skips a seq it has read already.
                    if by is None or by != self._node:
                        self._hub.notify(seq)
                if woke:  # the streams read the log themselves: no need to read the head
                    continue
                row = conn.execute("SELECT seq FROM log_head WHERE id = 1").fetchone()
                seq = None if row is None else int(row[0])
                if seq != self._last:
                    self._last = seq
                    self._hub.notify()


def _parsed(payload: str) -> tuple[int | None, str | None]:
    """The seq a notification carries and the node whose command committed it (None when it
    does not say); a seq of None for any other payload (it wakes the streams)."""
    seq, _, by = payload.partition(" ")
    try:
        return int(seq), by or None
    except ValueError:
        return None, None


#: How often an SQLite server looks whether another connection committed: the longest another
#: process's change waits before this process's streams read it.
SQLITE_WATCH_SECONDS = 0.02
#: The pause before an SQLite watcher that failed (the file unreadable) tries again.
SQLITE_RETRY_SECONDS = 1.0


class SqliteWatcher(_WatchThread):
    """A daemon thread that wakes ``hub`` when another connection commits to the SQLite file
    ``path`` (see the module)."""

    _name = "dispatchdesk-sqlite-watch"
    _failure = "change watcher could not read the database"
    _errors = (sqlite3.Error,)

    def __init__(self, path: str, hub: Hub, every: float = SQLITE_WATCH_SECONDS) -> None:
        super().__init__(hub)
        self._path = path
        self._every = every

    def _pause(self) -> float:
        return SQLITE_RETRY_SECONDS

    def _watch(self) -> None:
        # mode=rw: a file that is gone is an error here, never made anew empty
        uri = f"file:{pathname2url(self._path)}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        try:
            version = None
            while not self._stop.wait(self._every):
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now == version:
                    continue
                version = now
                row = conn.execute("SELECT seq FROM log_head WHERE id = 1").fetchone()
                self._hub.notify(None if row is None else int(row[0]))
        finally:
            conn.close()
