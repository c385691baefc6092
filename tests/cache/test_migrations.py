"""An older cache is migrated in place, its outbox and cursor kept; a newer one is refused."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from dispatchdesk.cache.migrations import SCHEMA_VERSION, NewerCache
from dispatchdesk.cache.store import CacheStore, OutboxEntry
from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.protocol.schemas import UnitOut

from .conftest import NOW, make_incident
from .v1_cache import write_v1_cache


def queued(
    desc: str,
    kind: CommandKind = CommandKind.CREATE_INCIDENT,
    incident_id: int | None = None,
    if_match: int | None = None,
) -> OutboxEntry:
    cid = str(uuid.uuid4())
    return OutboxEntry(
        command=PendingCommand(
            id=cid,
            kind=kind,
            incident_id=incident_id,
            description=desc,
            created_at=NOW,
            state=CommandState.QUEUED,
            body={"summary": desc},
        ),
        idempotency_key=cid,
        if_match=if_match,
    )


def test_previous_schema_is_migrated_keeping_outbox_and_cursor(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    commands = [
        queued("New incident typed offline"),
        queued("Regrade CAD 1", CommandKind.UPDATE_INCIDENT, incident_id=1, if_match=1),
    ]
    write_v1_cache(path, cursor=41, incidents=[make_incident(1)], commands=commands)

    store = CacheStore(path)
    try:
        assert store.opened_at_version == 1
        state = store.load(now=NOW)
        assert state.cursor == 41, "the cursor is kept: catch-up resumes, no snapshot needed"
        assert [e.command for e in state.outbox] == [c.command for c in commands]
        assert [e.if_match for e in state.outbox] == [None, 1]
        assert all(e.state is CommandState.QUEUED for e in state.outbox), "still to be sent"
        assert [i.id for i in state.incidents] == [1]
        # The new tables are there and usable.
        store.add_acknowledgement(1, WarningRef("scheme", 5))
        assert store.load_warning_data(NOW).acknowledged == {(1, WarningRef("scheme", 5))}
    finally:
        store.close()
    meta = dict(sqlite3.connect(path).execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    reopened = CacheStore(path)  # idempotent: a second opening migrates nothing
    try:
        assert reopened.opened_at_version == SCHEMA_VERSION
        assert reopened.load(now=NOW).cursor == 41
    finally:
        reopened.close()


def test_migrated_cache_takes_entities_of_the_new_version(tmp_path: Path) -> None:
    from dispatchdesk.cache.entities import UNIT, EntityChanges

    path = tmp_path / "cache.sqlite3"
    write_v1_cache(path, cursor=3)
    store = CacheStore(path)
    try:
        unit = UnitOut(
            id=7,
            callsign="LX21",
            kind="IRV",
            borough="Westminster",
            status=UnitStatus.AVAILABLE,
            status_since=NOW,
            version=1,
        )
        store.apply_changes([], [], 4, NOW, entities=EntityChanges.of([(UNIT, [unit])]))
        state = store.load(now=NOW)
        assert [u.callsign for u in state.units] == ["LX21"] and state.cursor == 4
    finally:
        store.close()


def test_new_cache_is_written_at_the_current_version(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "cache.sqlite3")
    try:
        assert store.opened_at_version == 0
    finally:
        store.close()
    meta = dict(
        sqlite3.connect(tmp_path / "cache.sqlite3")
        .execute("SELECT key, value FROM meta")
        .fetchall()
    )
    assert meta["schema_version"] == str(SCHEMA_VERSION)


def test_newer_cache_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    write_v1_cache(
        path,
        cursor=3,
        commands=[queued("typed by a newer desk")],
        schema_version=str(SCHEMA_VERSION + 1),
    )
    with pytest.raises(NewerCache, match="newer version of Dispatch Desk") as refused:
        CacheStore(path)
    assert isinstance(refused.value, ValueError)  # what the desk sets aside for IT
    # Left exactly as it was for IT: the version and the outbox are untouched.
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION + 1),
    )
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert db.execute("SELECT name FROM sqlite_master WHERE name='units'").fetchone() is None


def test_desk_sets_a_newer_cache_aside_for_it(tmp_path: Path) -> None:
    from dispatchdesk.app.desk import open_cache

    path = tmp_path / "cache.sqlite3"
    write_v1_cache(
        path,
        cursor=3,
        commands=[queued("typed by a newer desk")],
        schema_version=str(SCHEMA_VERSION + 1),
    )
    store, aside = open_cache(path)
    try:
        assert aside is not None and aside.exists()
        assert sqlite3.connect(aside).execute("SELECT count(*) FROM outbox").fetchone() == (1,)
        assert store.load().outbox == [] and store.opened_at_version == 0
    finally:
        store.close()


def test_a_step_that_fails_leaves_the_cache_at_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (or bug) mid-step rolls the step back whole: the next start migrates again."""
    from sqlalchemy import Connection, MetaData

    from dispatchdesk.cache import migrations

    path = tmp_path / "cache.sqlite3"
    command = queued("typed before the upgrade")
    write_v1_cache(path, cursor=12, commands=[command])
    real = migrations.STEPS[1]

    def half_done(conn: Connection, metadata: MetaData) -> None:
        real(conn, metadata)
        raise RuntimeError("power cut")

    monkeypatch.setitem(migrations.STEPS, 1, half_done)
    with pytest.raises(RuntimeError, match="power cut"):
        CacheStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    assert db.execute("SELECT name FROM sqlite_master WHERE name='units'").fetchone() is None
    db.close()
    monkeypatch.setitem(migrations.STEPS, 1, real)
    store = CacheStore(path)
    try:
        state = store.load(now=NOW)
        assert state.cursor == 12 and [e.id for e in state.outbox] == [command.id]
    finally:
        store.close()


def test_migrated_cache_keeps_notices_and_reads(tmp_path: Path) -> None:
    from datetime import timedelta

    from dispatchdesk.cache.entities import NOTICE, EntityChanges
    from dispatchdesk.domain.roles import Role
    from dispatchdesk.protocol.notices import NoticeOut

    path = tmp_path / "cache.sqlite3"
    write_v1_cache(path, cursor=3)
    store = CacheStore(path)
    try:
        live = NoticeOut(
            id=7,
            version=1,
            title="Radio channel change",
            body="Use channel 4 from 22:00.",
            roles=[Role.DISPATCHER],
            requires_ack=True,
            expires_at=NOW + timedelta(days=1),
            created_by="sue",
            created_at=NOW,
        )
        gone = live.model_copy(update={"id": 8, "expires_at": NOW - timedelta(minutes=1)})
        store.apply_changes([], [], 4, NOW, entities=EntityChanges.of([(NOTICE, [live, gone])]))
        store.add_notice_reads({7: NOW})
        store.add_notice_reads({7: NOW + timedelta(hours=1)})  # the first read is kept
        cached = store.load_notices(NOW)
        assert [n.id for n in cached.notices] == [7]  # the expired one is purged
        assert cached.reads == {7: NOW}
    finally:
        store.close()


def test_version_2_cache_is_migrated_keeping_outbox_and_cursor_and_takes_drafts(
    tmp_path: Path,
) -> None:
    from .v2_cache import write_v2_cache

    path = tmp_path / "cache.sqlite3"
    commands = [
        queued("New incident typed before the upgrade"),
        queued("Regrade CAD 1", CommandKind.UPDATE_INCIDENT, incident_id=1, if_match=1),
    ]
    write_v2_cache(path, cursor=77, incidents=[make_incident(1)], commands=commands)
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master WHERE name='drafts'").fetchone() is None
    db.close()

    store = CacheStore(path)
    try:
        assert store.opened_at_version == 2
        state = store.load(now=NOW)
        assert state.cursor == 77
        assert state.outbox == commands, "every field of the unsent commands is kept"
        assert store.load_draft("new_incident") is None
        store.save_draft("new_incident", '{"address": "1 High St"}', NOW)
        assert store.load_draft("new_incident") == ('{"address": "1 High St"}', NOW)
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_command_from_a_draft_drops_it_in_the_same_transaction(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "cache.sqlite3")
    try:
        store.save_draft("new_incident", "{}", NOW)
        store.save_draft("other_form", "{}", NOW)
        entry = queued("Created from the form")
        store.add_command(entry, drop_draft="new_incident")
        assert [e.id for e in store.list_commands()] == [entry.id]
        assert store.load_draft("new_incident") is None
        assert store.load_draft("other_form") is not None, "only the form it came from"
        # A command that fails to store keeps the draft: nothing typed is lost.
        store.save_draft("new_incident", '{"summary": "kept"}', NOW)
        with pytest.raises(Exception, match="UNIQUE"):
            store.add_command(entry, drop_draft="new_incident")
        assert store.load_draft("new_incident") == ('{"summary": "kept"}', NOW)
        store.save_draft("new_incident", None, NOW)
        assert store.load_draft("new_incident") is None
    finally:
        store.close()
