"""The PostgreSQL change watcher's thread: what it says when its database goes away."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import create_engine

from dispatchdesk.server.events import Hub
from dispatchdesk.server.watcher import PgWatcher

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
