"""A cache written by the previous schema, with commands typed offline: after the upgrade the
desk sends them to the real server and resumes from the kept cursor."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore, CacheWorker, OutboxEntry
from dispatchdesk.domain.commands import CommandKind, CommandState, ConnectionState, PendingCommand
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from tests.cache.v1_cache import write_v1_cache

from .conftest import PASSWORD, Recorder, create_body, other_desk_creates
from .test_engine import make_engine

pytestmark = pytest.mark.anyio


async def test_commands_of_a_previous_schema_cache_are_sent(
    server: EmbeddedServer, other: ApiClient, tmp_path: Path
) -> None:
    first = await other_desk_creates(other, 1)  # seen by the old desk: cursor 1
    second = await other_desk_creates(other, 2)  # after the old desk last synced
    cid = str(uuid.uuid4())
    typed = OutboxEntry(
        command=PendingCommand(
            id=cid,
            kind=CommandKind.CREATE_INCIDENT,
            incident_id=None,
            description="New incident typed before the upgrade",
            created_at=first.created_at,
            state=CommandState.QUEUED,
            body=create_body(3).model_dump(mode="json"),
        ),
        idempotency_key=cid,
    )
    path = tmp_path / "desk" / "cache.sqlite3"
    write_v1_cache(path, cursor=1, incidents=[first], commands=[typed])

    worker = CacheWorker(CacheStore(path))
    rec = Recorder()
    engine = make_engine(server.url, worker, rec, max_command_age=timedelta(days=3650))
    try:
        await engine.show_cache()
        assert [c.id for c in rec.commands] == [cid] and engine.cursor == 1
        await engine._client.sign_in("alice", PASSWORD)
        await engine.start()
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        # Caught up from the kept cursor (no snapshot), and the command went out.
        await rec.wait_for(lambda: not rec.commands and len(rec.incidents) == 3)
        assert second.id in rec.incidents
        assert not rec.states[1:], "resumed from the cursor: no snapshot was needed"
        made = [i for i in rec.incidents.values() if i.summary == "Other desk 3"]
        assert len(made) == 1
    finally:
        await engine.stop()
        worker.close()


async def test_unsent_commands_of_a_version_2_cache_are_sent_after_the_upgrade(
    server: EmbeddedServer, other: ApiClient, tmp_path: Path
) -> None:
    """The cache of the previous release of the desk (schema 2), with a new incident and an
    edit typed offline: opened by this desk it is migrated in place (schema 5: notices,
    history answers, form drafts) and both go to the real server, once each, from the kept
    cursor."""
    from dispatchdesk.cache.migrations import SCHEMA_VERSION
    from tests.cache.v2_cache import write_v2_cache

    # The released desk before this one wrote schema 2; this one writes 5.
    assert SCHEMA_VERSION == 5, "a new release: write its predecessor's builder and this test"
    seen = await other_desk_creates(other, 1)
    await other_desk_creates(other, 2)  # after the old desk last synced
    when = seen.created_at
    create_id, edit_id = str(uuid.uuid4()), str(uuid.uuid4())
    commands = [
        OutboxEntry(
            command=PendingCommand(
                id=create_id,
                kind=CommandKind.CREATE_INCIDENT,
                incident_id=None,
                description="New incident typed before the upgrade",
                created_at=when,
                state=CommandState.QUEUED,
                body=create_body(3).model_dump(mode="json"),
            ),
            idempotency_key=create_id,
            attempted=True,  # sent once with no answer before the old desk stopped
        ),
        OutboxEntry(
            command=PendingCommand(
                id=edit_id,
                kind=CommandKind.UPDATE_INCIDENT,
                incident_id=seen.id,
                description=f"Edit summary of {seen.ref}",
                created_at=when,
                state=CommandState.QUEUED,
                body={"summary": "Edited before the upgrade"},
            ),
            idempotency_key=edit_id,
            if_match=seen.version,
        ),
    ]
    path = tmp_path / "desk" / "cache.sqlite3"
    write_v2_cache(path, cursor=1, incidents=[seen], commands=commands)

    store = CacheStore(path)
    assert store.opened_at_version == 2
    worker = CacheWorker(store)
    rec = Recorder()
    engine = make_engine(server.url, worker, rec, max_command_age=timedelta(days=3650))
    try:
        await engine.show_cache()
        assert [c.id for c in rec.commands] == [create_id, edit_id] and engine.cursor == 1
        await engine._client.sign_in("alice", PASSWORD)
        await engine.start()
        await rec.wait_for(lambda: not rec.commands and len(rec.incidents) == 3)
        assert not rec.states[1:], "resumed from the kept cursor: no snapshot was needed"
        assert [i.summary for i in rec.incidents.values()].count("Other desk 3") == 1
        assert rec.incidents[seen.id].summary == "Edited before the upgrade"
        assert rec.incidents[seen.id].version == seen.version + 1, "applied once"
    finally:
        await engine.stop()
        worker.close()
    snap = await other.snapshot()
    assert sorted(i.summary for i in snap.incidents) == [
        "Edited before the upgrade",
        "Other desk 2",
        "Other desk 3",
    ]
