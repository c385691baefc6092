"""SyncEngine against the real reference server on loopback (faults injected by transports)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandKind, CommandState, ConnectionState
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.schemas import IncidentPatch
from dispatchdesk.server import EmbeddedServer, ServerSettings
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, draft, other_desk_creates

pytestmark = pytest.mark.anyio


def make_engine(
    url: str,
    worker: CacheWorker,
    rec: Recorder,
    transport: httpx.AsyncBaseTransport | None = None,
    **kw: Any,
) -> SyncEngine:
    client = ApiClient(url, transport=transport, timeout=5.0)
    kw.setdefault("heartbeat_timeout", 3.0)
    kw.setdefault("backoff_initial", 0.01)
    kw.setdefault("backoff_max", 0.1)
    return SyncEngine(client, worker, rec, ServerClock(), **kw)


async def signed_in_engine(
    server: EmbeddedServer, worker: CacheWorker, rec: Recorder, **kw: Any
) -> SyncEngine:
    engine = make_engine(server.url, worker, rec, **kw)
    await engine._client.sign_in("alice", PASSWORD)
    return engine


async def server_view(url: str) -> dict[int, int]:
    client = ApiClient(url)
    await client.sign_in("bob", PASSWORD)
    snap = await client.snapshot()
    await client.aclose()
    return {i.id: i.version for i in snap.incidents}


def cache_view(worker: CacheWorker) -> tuple[dict[int, int], int | None]:
    state = worker.store.load()
    return {i.id: i.version for i in state.incidents}, state.cursor


async def test_snapshot_then_live_changes(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    first = await other_desk_creates(other, 1)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        assert [i.id for i in rec.states[-1][0]] == [first.id]
        second = await other_desk_creates(other, 2)
        patched = await other.patch_incident(
            first.id,
            IncidentPatch(summary="More detail"),
            idempotency_key=str(uuid.uuid4()),
            if_match=first.version,
        )
        await rec.wait_for(
            lambda: (
                second.id in rec.incidents and rec.incidents[first.id].version == patched.version
            )
        )
        assert rec.incidents[first.id].summary == "More detail"
        assert cache_view(worker)[0] == await server_view(server.url)
    finally:
        await engine.stop()
    assert rec.connection is ConnectionState.OFFLINE
    assert rec.problems == []


async def test_server_restart_mid_stream_no_gap_no_duplicate(
    server: EmbeddedServer,
    server_settings: ServerSettings,
    other: ApiClient,
    worker: CacheWorker,
) -> None:
    await other_desk_creates(other, 1)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        live = await other_desk_creates(other, 2)
        await rec.wait_for(lambda: live.id in rec.incidents)
        port = server.port
        await anyio.to_thread.run_sync(server.stop)
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)

        # Meanwhile another API node on the same database takes changes.
        node = EmbeddedServer(
            ServerSettings(db_url=server_settings.db_url, port=0, heartbeat_seconds=0.2)
        )
        await anyio.to_thread.run_sync(node.start)
        try:
            desk = ApiClient(node.url)
            await desk.sign_in("bob", PASSWORD)
            made = [await other_desk_creates(desk, n) for n in range(3, 8)]
            await desk.patch_incident(
                live.id,
                IncidentPatch(summary="Changed while away"),
                idempotency_key=str(uuid.uuid4()),
                if_match=live.version,
            )
            await desk.aclose()
        finally:
            await anyio.to_thread.run_sync(node.stop)

        back = EmbeddedServer(
            ServerSettings(db_url=server_settings.db_url, port=port, heartbeat_seconds=0.2)
        )
        await anyio.to_thread.run_sync(back.start)
        try:
            await rec.wait_for(
                lambda: (
                    all(m.id in rec.incidents for m in made)
                    and rec.incidents[live.id].summary == "Changed while away"
                )
            )
            await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
            after = await other_desk_creates(await _signed(back.url), 8)
            await rec.wait_for(lambda: after.id in rec.incidents)
            truth = await server_view(back.url)
            assert {i: x.version for i, x in rec.incidents.items()} == truth
            rows, cursor = cache_view(worker)
            assert rows == truth
            assert cursor == engine.cursor
            seen = rec.upserts_seen()
            assert len(seen) == len(set(seen)), "an upsert was delivered twice"
        finally:
            await engine.stop()
            await anyio.to_thread.run_sync(back.stop)
    finally:
        await engine.stop()


async def _signed(url: str) -> ApiClient:
    c = ApiClient(url)
    await c.sign_in("bob", PASSWORD)
    return c


@pytest.fixture
def short_log_settings(server_settings: ServerSettings) -> ServerSettings:
    server_settings.change_retention = 2
    return server_settings


async def test_gone_takes_fresh_snapshot(
    short_log_settings: ServerSettings,
    server: EmbeddedServer,
    other: ApiClient,
    worker: CacheWorker,
) -> None:
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
    finally:
        await engine.stop()
    made = [await other_desk_creates(other, n) for n in range(5)]  # log pruned past our cursor
    rec2 = Recorder()
    engine2 = await signed_in_engine(server, worker, rec2)
    await engine2.start()
    try:
        await rec2.wait_for(lambda: all(m.id in rec2.incidents for m in made))
        assert len(rec2.states) == 2  # the cache at once, then the fresh snapshot
        assert cache_view(worker)[0] == await server_view(server.url)
    finally:
        await engine2.stop()


async def test_offline_restart_shows_cache_at_once(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    made = await other_desk_creates(other, 1)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: made.id in rec.incidents)
    finally:
        await engine.stop()
    url = server.url
    await anyio.to_thread.run_sync(server.stop)

    rec2 = Recorder()
    engine2 = make_engine(url, worker, rec2)
    await engine2.start()
    try:
        # Before any network result: the cached queue is on screen.
        assert [i.id for i in rec2.states[0][0]] == [made.id]
        assert rec2.connections[0].last_synced_at is not None
        await rec2.wait_for(lambda: rec2.connection is ConnectionState.OFFLINE)
        assert rec2.connections[-1].message
        issued = engine2.create_incident(draft(9))
        await rec2.wait_for(lambda: [c.id for c in rec2.commands] == [issued])
        assert rec2.commands[0].state is CommandState.QUEUED
    finally:
        await engine2.stop()
    rec3 = Recorder()
    engine3 = make_engine(url, worker, rec3)
    await engine3.start()
    try:
        assert [c.id for c in rec3.command_lists[0]] == [issued]  # the outbox survived
    finally:
        await engine3.stop()


class LoseFirstReply(httpx.AsyncBaseTransport):
    """Delivers requests to the real server, but loses the reply to the first create."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/incidents"):
            self.creates += 1
            if self.creates == 1:
                await response.aread()
                await response.aclose()
                raise httpx.ReadError("connection reset (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_command_issued_offline_sent_once_when_server_returns(
    server_settings: ServerSettings, server: EmbeddedServer, worker: CacheWorker
) -> None:
    port = server.port
    url = server.url
    transport = LoseFirstReply()
    rec = Recorder()
    engine = make_engine(url, worker, rec, transport=transport)
    await engine._client.sign_in("alice", PASSWORD)
    await anyio.to_thread.run_sync(server.stop)
    await engine.start()
    back: EmbeddedServer | None = None
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)
        command_id = engine.create_incident(draft(42))
        await rec.wait_for(lambda: [c.id for c in rec.commands] == [command_id])
        assert rec.commands[0].state is CommandState.QUEUED

        back = EmbeddedServer(
            ServerSettings(db_url=server_settings.db_url, port=port, heartbeat_seconds=0.2)
        )
        await anyio.to_thread.run_sync(back.start)
        await rec.wait_for(
            lambda: any(i.summary == "Break-in number 42" for i in rec.incidents.values())
        )
        await rec.wait_for(lambda: rec.commands == [])  # SENT, then confirmed by the feed
        assert transport.creates >= 2  # the lost reply was resent with the same key
        client = await _signed(back.url)
        snap = await client.snapshot()
        await client.aclose()
        assert [i.summary for i in snap.incidents].count("Break-in number 42") == 1
        assert worker.store.list_commands() == []
    finally:
        await engine.stop()
        if back is not None:
            await anyio.to_thread.run_sync(back.stop)


async def test_refused_commands_fail_with_message_and_keep_body(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    made = await other_desk_creates(other, 1)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: made.id in rec.incidents)
        seen = rec.incidents[made.id]
        await other.patch_incident(
            made.id,
            IncidentPatch(summary="Theirs"),
            idempotency_key=str(uuid.uuid4()),
            if_match=made.version,
        )
        await rec.wait_for(lambda: rec.incidents[made.id].summary == "Theirs")
        # 412: the operator edited the version they saw, which is now stale.
        edit = engine.edit_summary(seen, "Mine")
        await rec.wait_for(
            lambda: any(c.id == edit and c.state is CommandState.FAILED for c in rec.commands)
        )
        failed = next(c for c in rec.commands if c.id == edit)
        assert failed.message and failed.body == {"summary": "Mine"}
        assert any("refused" in p for p in rec.problems)
        assert worker.store.list_commands()[0].command == failed  # durable, body kept
        # The operator reads it and sends it again: a new key, on the version now shown.
        engine.retry(edit)
        await rec.wait_for(lambda: rec.incidents[made.id].summary == "Mine")
        await rec.wait_for(lambda: rec.commands == [])

        # 409: closing an incident someone else has closed.
        current = rec.incidents[made.id]
        await other.close_incident(
            made.id,
            {"rationale": "Resolved by phone: caller confirmed all is well now"},
            idempotency_key=str(uuid.uuid4()),
        )
        close = engine.close(current, "Attended, no offence disclosed, advice given on site")
        await rec.wait_for(
            lambda: any(c.id == close and c.state is CommandState.FAILED for c in rec.commands)
        )
        refused = next(c for c in rec.commands if c.id == close)
        assert refused.kind is CommandKind.CLOSE_INCIDENT and refused.message
        assert refused.body == {"rationale": "Attended, no offence disclosed, advice given on site"}
        engine.discard(close)
        await rec.wait_for(lambda: rec.commands == [])
        assert rec.incidents[made.id].status is IncidentStatus.CLOSED
    finally:
        await engine.stop()


async def test_queued_command_held_after_max_age(
    server_settings: ServerSettings, server: EmbeddedServer, worker: CacheWorker
) -> None:
    port, url = server.port, server.url
    now = [datetime(2026, 11, 23, 9, 0, tzinfo=UTC)]
    rec = Recorder()
    engine = make_engine(
        url,
        worker,
        rec,
        wall=lambda: now[0],
        max_command_age=timedelta(minutes=10),
        outbox_check_interval=0.02,
    )
    await engine._client.sign_in("alice", PASSWORD)
    await anyio.to_thread.run_sync(server.stop)
    await engine.start()
    back: EmbeddedServer | None = None
    try:
        command_id = engine.create_incident(draft(7))
        await rec.wait_for(lambda: [c.id for c in rec.commands] == [command_id])
        now[0] += timedelta(minutes=11)
        await rec.wait_for(lambda: rec.commands[0].state is CommandState.HELD)
        assert rec.commands[0].message
        back = EmbeddedServer(
            ServerSettings(db_url=server_settings.db_url, port=port, heartbeat_seconds=0.2)
        )
        await anyio.to_thread.run_sync(back.start)
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        desk = await _signed(back.url)
        marker = await other_desk_creates(desk, 99)
        await rec.wait_for(lambda: marker.id in rec.incidents)
        assert rec.commands[0].state is CommandState.HELD  # not replayed without say-so
        assert not any(i.summary == "Break-in number 7" for i in rec.incidents.values())
        engine.retry(command_id)  # the operator's say-so
        await rec.wait_for(lambda: rec.commands == [])
        snap = await desk.snapshot()
        await desk.aclose()
        assert [i.summary for i in snap.incidents].count("Break-in number 7") == 1
    finally:
        await engine.stop()
        if back is not None:
            await anyio.to_thread.run_sync(back.stop)


async def test_cached_clock_offset_used_offline(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    worker.store.set_synced(datetime.now(UTC), clock_offset=3600.0)
    rec = Recorder()
    url = server.url
    await anyio.to_thread.run_sync(server.stop)
    engine = make_engine(url, worker, rec)
    clock = engine._clock
    await engine.start()
    try:
        assert abs(clock.offset_seconds - 3600.0) < 1
        assert not clock.synced
    finally:
        await engine.stop()


async def test_not_signed_in_then_signed_in_and_forbidden_command(
    server: EmbeddedServer,
    server_settings: ServerSettings,
    other: ApiClient,
    worker: CacheWorker,
) -> None:
    from dispatchdesk.domain.roles import Role
    from dispatchdesk.server import add_user

    add_user(server_settings.db_url, "carol", Role.CALL_HANDLER, PASSWORD)
    made = await other_desk_creates(other, 1)
    rec = Recorder()
    engine = make_engine(server.url, worker, rec)
    await engine.start()  # before signing in: the engine waits, saying why
    try:
        await rec.wait_for(lambda: rec.signed_out)  # on_signed_out, not on_problem: a 401
        assert "sign in" in rec.signed_out[0].lower() and not rec.problems
        assert rec.connection is ConnectionState.OFFLINE
        await engine._client.sign_in("carol", PASSWORD)
        await rec.wait_for(lambda: made.id in rec.incidents)
        # A call handler may not close: 403 -> FAILED with the server's reason.
        close = engine.close(rec.incidents[made.id], "Caller rang back, all is well at home now")
        await rec.wait_for(
            lambda: any(c.id == close and c.state is CommandState.FAILED for c in rec.commands)
        )
        failed = next(c for c in rec.commands if c.id == close)
        assert "right" in (failed.message or "")
    finally:
        await engine.stop()
