"""The PostgreSQL change watcher's thread: what it says when its database goes away."""

from __future__ import annotations

import logging

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
