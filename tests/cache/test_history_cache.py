"""The last history answer of each incident held: cache schema 3, kept while its incident is
in the cache and gone with it."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from dispatchdesk.cache.history import CachedHistory
from dispatchdesk.cache.migrations import SCHEMA_VERSION
from dispatchdesk.cache.store import CacheStore
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import IncidentStatus

from .conftest import NOW, make_incident
from .test_migrations import queued

ANSWER = '{"server_time": "2026-11-23T12:00:00Z", "incidents": []}'


def test_a_schema_3_cache_gains_the_history_table_keeping_its_outbox(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    command = queued("typed before the upgrade")
    store = CacheStore(path)
    store.replace_snapshot([make_incident(1)], DEFAULT_POLICY, 7, NOW)
    store.add_command(command)
    store.close()
    # As a schema 2 desk left it: no history table, version 2.
    db = sqlite3.connect(path)
    db.execute("DROP TABLE history_answers")
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.commit()
    db.close()

    store = CacheStore(path)
    try:
        assert store.opened_at_version == 3
        state = store.load(now=NOW)
        assert state.cursor == 7 and [e.id for e in state.outbox] == [command.id]
        assert store.save_history(CachedHistory(1, NOW, ANSWER))
        assert store.load_history(1) == CachedHistory(1, NOW, ANSWER)
    finally:
        store.close()
    meta = dict(sqlite3.connect(path).execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)


def test_the_last_answer_replaces_the_one_before(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "cache.sqlite3")
    try:
        store.replace_snapshot([make_incident(1)], DEFAULT_POLICY, 1, NOW)
        assert store.load_history(1) is None, "nothing held yet"
        store.save_history(CachedHistory(1, NOW, ANSWER))
        later = NOW + timedelta(minutes=3)
        store.save_history(CachedHistory(1, later, '{"newer": true}'))
        assert store.load_history(1) == CachedHistory(1, later, '{"newer": true}')
    finally:
        store.close()


def test_nothing_is_kept_for_an_incident_the_cache_does_not_hold(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "cache.sqlite3")
    try:
        assert not store.save_history(CachedHistory(99, NOW, ANSWER))
        assert store.load_history(99) is None
    finally:
        store.close()


def test_an_answer_goes_with_its_incident(tmp_path: Path) -> None:
    """Removed by the feed, left out of a new snapshot, or closed: five years of a person's
    history stays on no disk for an incident that is not open on the desk."""
    store = CacheStore(tmp_path / "cache.sqlite3")
    try:
        incidents = [make_incident(i) for i in (1, 2, 3, 4)]
        store.replace_snapshot(incidents, DEFAULT_POLICY, 1, NOW)
        for i in (1, 2, 3, 4):
            store.save_history(CachedHistory(i, NOW, ANSWER))
        store.apply_changes([], [1], 2, NOW)  # removed by the feed
        assert store.load_history(1) is None and store.load_history(2) is not None
        store.replace_snapshot(incidents[2:], DEFAULT_POLICY, 3, NOW)  # 2 not in the snapshot
        assert store.load_history(2) is None and store.load_history(3) is not None
        closed = make_incident(
            3, version=2, status=IncidentStatus.CLOSED, closed_at=NOW - timedelta(minutes=1)
        )
        store.apply_changes([closed], [], 4, NOW)
        assert store.load_history(3) is None, "closed: its answer goes at once"
        assert not store.save_history(CachedHistory(3, NOW, ANSWER)), "none kept when closed"
        assert store.load_history(4) == CachedHistory(4, NOW, ANSWER), "open: kept"
    finally:
        store.close()
