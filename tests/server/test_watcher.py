"""The change watchers: the PostgreSQL one's thread when its database goes away; on both
databases, a commit made by another process (an import run while the server serves) reaching
the open streams at once; the SQLite file's writers' lock across processes."""

from __future__ import annotations

import fcntl
import logging
import os
import queue
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from dispatchdesk.server import EmbeddedServer, ServerSettings, changelog
from dispatchdesk.server.db import SqliteWriters, create_schema, make_engine, write_tx
from dispatchdesk.server.events import Hub
from dispatchdesk.server.imports import import_schemes
from dispatchdesk.server.watcher import PgWatcher, SqliteWatcher

from .conftest import START, login
from .helpers import Stream
from .test_warning_imports import SCHEMES_OK

# A port nothing listens on: every connection attempt fails at once.
_NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def _watcher() -> PgWatcher:
    return PgWatcher(create_engine(_NOWHERE), Hub(), poll_seconds=0.01)


def test_a_running_watcher_that_loses_its_database_warns_and_keeps_trying(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _watcher()
    tries: list[int] = []

    def listen() -> None:
        tries.append(1)
        if len(tries) == 3:
            w.stop()
        raise OSError("connection refused")

    monkeypatch.setattr(w, "_listen", listen)
    with caplog.at_level(logging.WARNING, logger="dispatchdesk.server.watcher"):
        w._run()
    assert len(tries) == 3
    assert [r.message for r in caplog.records].count(
        "change watcher lost its database connection"
    ) == 2  # the two failures before it was stopped


def test_a_watcher_stopped_while_its_database_goes_away_ends_without_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app closed (stop) and its schema or database was dropped before the thread's
    # read came back: the read fails, nothing is served any more, so nothing is said.
    w = _watcher()
    tries: list[int] = []

    def listen() -> None:
        tries.append(1)
        w.stop()
        raise OSError('relation "log_head" does not exist')

    monkeypatch.setattr(w, "_listen", listen)
    with caplog.at_level(logging.WARNING, logger="dispatchdesk.server.watcher"):
        w._run()
    assert tries == [1]
    assert not caplog.records


def test_a_notification_says_its_seq_and_the_node_whose_command_committed_it() -> None:
    from dispatchdesk.server.watcher import _parsed

    assert _parsed("12") == (12, None)  # a direct append (a scheme, an import, a sweep)
    assert _parsed("12 a1b2-77") == (12, "a1b2-77")  # a command's flush on node a1b2-77
    assert _parsed("anything") == (None, None)  # wakes the streams all the same


@pytest.mark.postgres
def test_the_watcher_passes_over_its_own_nodes_commands_and_hears_every_other(
    make_desk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command's changes reach this node's streams from the runner itself, so the watcher
    does not wake them a second time for it; another node's commit, and a change appended
    outside a command, it does."""
    import threading

    import psycopg

    from dispatchdesk.server import changelog
    from dispatchdesk.server.watcher import libpq_url

    desk = make_desk()
    app: Any = desk.client.app
    if app.state.services.runner.engine.dialect.name != "postgresql":
        pytest.skip("the watcher runs on PostgreSQL only")
    heard: list[int | None] = []
    got = threading.Event()

    def notify(seq: int | None = None) -> None:
        heard.append(seq)
        if seq is not None and seq > own:
            got.set()

    own = app.state.services.runner.head().seq + 1  # the command's change
    monkeypatch.setattr(app.state.hub, "notify", notify)
    made = desk.cathy.create(summary="Own command")
    assert made.status_code == 201, made.text
    assert app.state.services.runner.head().seq == own
    with psycopg.connect(libpq_url(app.state.services.runner.engine), autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (changelog.CHANNEL, f"{own + 1} elsewhere-1"))
    assert got.wait(10)
    # its own command's seq was passed over, the other node's not (None: the watcher's
    # look at the head after a quiet spell)
    assert [seq for seq in heard if seq is not None] == [own + 1]


# --- commits made by another process, seen by a running server's streams --------------------


def test_an_import_run_while_the_server_serves_reaches_open_streams_at_once(
    settings: ServerSettings, tmp_path: Path
) -> None:
    # `dispatchdesk import schemes` writes the database directly (another process, here another
    # engine) while a desk is on the live stream, and no command follows it: the schemes must
    # reach the desk now, not with the next command. The heartbeat is far longer than the
    # stream's read timeout, so only the watcher can wake it.
    with (
        EmbeddedServer(replace(settings, heartbeat_seconds=15)) as srv,
        httpx.Client(base_url=srv.url, timeout=10) as http,
    ):
        api = login(http, "dan")
        s = Stream(http, api.token or "")  # from now on
        assert s.next() == {"comment": "connected heartbeat=15"}
        csv = tmp_path / "schemes.csv"
        csv.write_text(SCHEMES_OK, encoding="utf-8")
        report = import_schemes(settings.db_url, csv, clock=settings.clock)
        assert report.ok
        changes = s.changes(2)
        s.close()
    assert [(c.entity, c.op) for c in changes] == [("scheme", "upsert")] * 2
    assert {c.data["summary"] for c in changes} == {
        "DA victim; ex on bail",
        "Occupant threatened officers with a knife",
    }


def test_a_write_transaction_holds_the_file_lock_the_other_processes_queue_on(
    tmp_path: Path,
) -> None:
    # Another process's writer (another open file of the lock) cannot take the lock while this
    # process writes, and can the moment it commits.
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    create_schema(engine)
    lock_file = SqliteWriters.of(str(tmp_path / "server.db")).lock_file

    def other_process_may_write() -> bool:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    try:
        with write_tx(engine):
            assert not other_process_may_write()
        assert other_process_may_write()
        with write_tx(engine):  # and again: the lock is let go of after each turn
            assert not other_process_may_write()
        assert other_process_may_write()
    finally:
        engine.dispose()


def test_the_sqlite_watcher_wakes_the_streams_when_another_connection_commits(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    create_schema(engine)
    hub = Hub()
    woken: queue.Queue[int | None] = queue.Queue()
    hub.notify = woken.put  # type: ignore[method-assign]
    watcher = SqliteWatcher(str(tmp_path / "server.db"), hub, every=0.001)
    watcher.start()
    try:
        assert woken.get(timeout=10) == 0  # its first look: the head as it is
        with write_tx(engine) as conn:
            changelog.lock_head(conn)
            changelog.append(
                conn, entity="incident", entity_id=1, data={"id": 1}, now=START, retention=100
            )
        # the next wake-up is the new head's: looks that found nothing new woke nobody
        assert woken.get(timeout=10) == 1
    finally:
        watcher.stop()
        engine.dispose()


def test_an_sqlite_watcher_whose_file_is_gone_warns_and_makes_no_empty_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone.db"
    w = SqliteWatcher(str(gone), Hub(), every=0.001)
    monkeypatch.setattr("dispatchdesk.server.watcher.SQLITE_RETRY_SECONDS", 0.001)
    watch = w._watch
    tries: list[int] = []

    def counted() -> None:
        tries.append(1)
        if len(tries) == 2:
            w.stop()
        watch()

    monkeypatch.setattr(w, "_watch", counted)
    with caplog.at_level(logging.WARNING, logger="dispatchdesk.server.watcher"):
        w._run()
    assert len(tries) == 2
    assert not gone.exists()
    assert [r.message for r in caplog.records] == ["change watcher could not read the database"]
