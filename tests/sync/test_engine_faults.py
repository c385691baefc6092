"""Faults the real server does not produce on demand, injected with httpx.MockTransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandState, ConnectionState
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Location
from dispatchdesk.protocol.convert import policy_to_wire
from dispatchdesk.protocol.schemas import Change, ChangesPage, Snapshot
from dispatchdesk.sync.api import IncidentDraft
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import Recorder

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC)


def wire(i: int, version: int = 1, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": i,
        "ref": f"CAD {i:04d}/23NOV26",
        "version": version,
        "grade": "I",
        "status": "OPEN",
        "created_at": NOW.isoformat(),
        "deadline": (NOW + timedelta(minutes=15)).isoformat(),
        "type": "Burglary",
        "summary": f"Incident {i}",
        "location": {"address": f"{i} High St", "postcode": "SW1A 1AA", "borough": "WM"},
    }
    data.update(extra)
    return data


def snapshot(cursor: int, incidents: list[dict[str, Any]]) -> bytes:
    snap = Snapshot.model_validate(
        {
            "cursor": cursor,
            "server_time": NOW.isoformat(),
            "policy": policy_to_wire(DEFAULT_POLICY).model_dump(mode="json"),
            "incidents": incidents,
        }
    )
    return snap.model_dump_json().encode()


def sse_change(seq: int, data: dict[str, Any] | str) -> str:
    if isinstance(data, str):
        return f"id: {seq}\nevent: change\ndata: {data}\n\n"
    change = Change(seq=seq, entity="incident", op="upsert", data=data)
    return f"id: {seq}\nevent: change\ndata: {change.model_dump_json()}\n\n"


class FakeServer:
    """Routes for MockTransport; counts requests per path."""

    def __init__(self) -> None:
        self.calls: dict[str, list[httpx.Request]] = {}
        self.routes: dict[str, Callable[[httpx.Request, int], httpx.Response]] = {}
        self.on_request: Callable[[], None] = lambda: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        seen = self.calls.setdefault(path, [])
        seen.append(request)
        self.on_request()
        return self.routes[path](request, len(seen))


def stream_response(text: str, stay_open: bool = False) -> httpx.Response:
    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield text.encode()
            if stay_open:
                await asyncio.Event().wait()  # silent: no event, no heartbeat

    return httpx.Response(200, stream=Body(), headers={"content-type": "text/event-stream"})


def engine_for(fake: FakeServer, worker: CacheWorker, rec: Recorder, **kw: Any) -> SyncEngine:
    client = ApiClient("http://fake.test", transport=httpx.MockTransport(fake))
    fake.on_request = rec._ping  # wake the test's wait_for on every request
    kw.setdefault("heartbeat_timeout", 5.0)
    return SyncEngine(
        client, worker, rec, ServerClock(), backoff_initial=0.01, backoff_max=0.05, **kw
    )


async def test_malformed_sse_change_reported_not_applied_then_resync(worker: CacheWorker) -> None:
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(
        200,
        content=snapshot(10, [wire(1)])
        if n == 1
        else snapshot(13, [wire(1), wire(2), wire(3, version=2)]),
    )
    good_then_bad = (
        ": connected\n\n"
        + sse_change(11, wire(2))
        + sse_change(12, wire(3, grade="Z"))  # not a grade
        + sse_change(13, wire(4))
    )
    fake.routes["/events"] = lambda r, n: (
        stream_response(good_then_bad) if n == 1 else stream_response(": hi\n\n", stay_open=True)
    )
    cursor_at_problem: list[int | None] = []
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    original = rec.on_problem

    def on_problem(message: str) -> None:
        cursor_at_problem.append(engine.cursor)
        original(message)

    rec.on_problem = on_problem  # type: ignore[method-assign]
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.problems)
        assert "grade" in rec.problems[0] and "change 12" in rec.problems[0]
        assert cursor_at_problem == [11]  # 11 applied; 12 neither applied nor skipped
        assert not any(i.id in (3, 4) for batch, _ in rec.changes for i in batch)
        # Resynced from a fresh snapshot: everything the server says now, nothing lost.
        await rec.wait_for(lambda: engine.cursor == 13 and rec.connection is ConnectionState.ONLINE)
        assert sorted(rec.incidents) == [1, 2, 3]
        await rec.wait_for(lambda: len(fake.calls["/events"]) >= 2)
        assert fake.calls["/events"][1].headers["Last-Event-ID"] == "13"
    finally:
        await engine.stop()
    state = worker.store.load()
    assert state.cursor == 13 and sorted(i.id for i in state.incidents) == [1, 2, 3]


async def test_malformed_changes_page_reported(worker: CacheWorker) -> None:
    worker.store.replace_snapshot([], DEFAULT_POLICY, 5, NOW)
    fake = FakeServer()
    fake.routes["/changes"] = lambda r, n: httpx.Response(200, content=b'{"changes": [{')
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(5, []))
    fake.routes["/events"] = lambda r, n: stream_response(": hi\n\n", stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.problems)
        assert "not valid JSON" in rec.problems[0]
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
    finally:
        await engine.stop()
    assert worker.store.load().cursor == 5


async def test_events_arriving_together_are_one_batch(worker: CacheWorker) -> None:
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(0, []))
    burst = "".join(sse_change(s, wire(s)) for s in range(1, 51)) + sse_change(51, wire(1, 2))
    fake.routes["/events"] = lambda r, n: stream_response(burst, stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.cursor == 51)
        assert len(rec.changes) == 1
        upserts, removed = rec.changes[0]
        assert len(upserts) == 50 and removed == []
        assert next(i for i in upserts if i.id == 1).version == 2
    finally:
        await engine.stop()


async def test_watchdog_reconnects_a_silent_stream(worker: CacheWorker) -> None:
    worker.store.replace_snapshot([], DEFAULT_POLICY, 7, NOW)
    fake = FakeServer()
    fake.routes["/changes"] = lambda r, n: httpx.Response(
        200, content=ChangesPage(changes=[], cursor=7).model_dump_json().encode()
    )
    fake.routes["/events"] = lambda r, n: stream_response(": connected\n\n", stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec, heartbeat_timeout=0.1)
    await engine.start()
    try:
        await rec.wait_for(lambda: len(fake.calls.get("/events", [])) >= 3)
        offline = [c for c in rec.connections if c.state is ConnectionState.OFFLINE]
        assert offline and "Nothing from the server" in (offline[0].message or "")
        assert all(r.headers["Last-Event-ID"] == "7" for r in fake.calls["/events"])
    finally:
        await engine.stop()


async def test_listener_errors_do_not_stop_sync(worker: CacheWorker) -> None:
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(0, [wire(1)]))
    fake.routes["/events"] = lambda r, n: stream_response(sse_change(1, wire(2)), stay_open=True)
    rec = Recorder()

    def broken(*_a: object) -> None:
        raise RuntimeError("GUI bug")

    rec.on_state = broken  # type: ignore[method-assign]
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: 2 in rec.incidents)
    finally:
        await engine.stop()


async def test_closed_incidents_purged_when_the_day_turns(worker: CacheWorker) -> None:
    late = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)  # London is on UTC in November
    closed = wire(1, status="CLOSED", closed_at=(late - timedelta(minutes=30)).isoformat())
    body = Snapshot.model_validate_json(snapshot(3, [closed, wire(2)])).model_copy(
        update={"server_time": late}
    )
    stamp = {"X-Server-Time": late.isoformat()}
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(
        200, content=body.model_dump_json().encode(), headers=stamp
    )
    fake.routes["/events"] = lambda r, n: stream_response(": hi\n\n", stay_open=True)
    mono = [1000.0]
    clock = ServerClock(monotonic=lambda: mono[0])
    rec = Recorder()
    client = ApiClient("http://fake.test", transport=httpx.MockTransport(fake))
    engine = SyncEngine(client, worker, rec, clock, outbox_check_interval=0.02)
    await engine.start()
    try:
        await rec.wait_for(lambda: sorted(rec.incidents) == [1, 2])
        await rec.wait_for(lambda: engine._day_turn.day is not None)
        mono[0] += 120  # the server's clock passes midnight
        await rec.wait_for(lambda: sorted(rec.incidents) == [2])
        assert rec.changes[-1] == ([], [1])
    finally:
        await engine.stop()
    assert [i.id for i in worker.store.load(now=late + timedelta(minutes=2)).incidents] == [2]


async def test_invalid_draft_is_kept_failed_not_sent(worker: CacheWorker) -> None:
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(0, []))
    fake.routes["/events"] = lambda r, n: stream_response(": hi\n\n", stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        bad = IncidentDraft(
            grade=Grade.IMMEDIATE,
            type="Assault",
            summary="Man hurt",
            location=Location(address="1 High St", postcode="NOPE", borough="Camden"),
        )
        command_id = engine.create_incident(bad)
        await rec.wait_for(lambda: rec.commands and rec.problems)
        failed = rec.commands[0]
        assert failed.id == command_id and failed.state is CommandState.FAILED
        assert "postcode" in (failed.message or "") and "postcode" in rec.problems[0]
        assert failed.body is not None and failed.body["summary"] == "Man hurt"
        assert failed.body["location"]["postcode"] == "NOPE"  # what was typed is kept
        assert "/incidents" not in fake.calls
    finally:
        await engine.stop()
    assert worker.store.list_commands()[0].command == failed


def unit_wire(i: int, version: int = 1, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": i,
        "callsign": f"LX{i}",
        "kind": "IRV",
        "borough": "WM",
        "status": "AVAILABLE",
        "status_since": NOW.isoformat(),
        "version": version,
    }
    data.update(extra)
    return data


def entity_change(seq: int, entity: str, data: dict[str, Any]) -> str:
    change = Change(seq=seq, entity=entity, op="upsert", data=data)  # type: ignore[arg-type]
    return f"id: {seq}\nevent: change\ndata: {change.model_dump_json()}\n\n"


async def test_malformed_unit_and_scheme_changes_resync_and_lose_nothing(
    worker: CacheWorker,
) -> None:
    """A unit with an unknown status, then a scheme with no expiry: each is reported, never
    applied nor skipped; the fresh snapshot brings everything."""
    fake = FakeServer()
    good = Snapshot.model_validate(
        {
            "cursor": 14,
            "server_time": NOW.isoformat(),
            "policy": policy_to_wire(DEFAULT_POLICY).model_dump(mode="json"),
            "incidents": [wire(1)],
            "units": [unit_wire(1, 2), unit_wire(2)],
        }
    )
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(
        200, content=snapshot(10, [wire(1)]) if n == 1 else good.model_dump_json().encode()
    )
    bad = (
        ": connected\n\n"
        + entity_change(11, "unit", unit_wire(1, 2))
        + entity_change(12, "unit", unit_wire(2, status="ON_A_BREAK"))
        + entity_change(13, "scheme", {"id": 5, "summary": "no expiry"})
    )
    fake.routes["/events"] = lambda r, n: (
        stream_response(bad) if n == 1 else stream_response(": hi\n\n", stay_open=True)
    )
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.problems)
        assert "unit in change 12" in rec.problems[0] and "status" in rec.problems[0]
        await rec.wait_for(lambda: engine.cursor == 14 and set(rec.units) == {1, 2})
        assert rec.units[1].version == 2
    finally:
        await engine.stop()
    assert {u.id for u in worker.store.load().units} == {1, 2}


async def test_unreadable_warning_rows_in_the_cache_reload_from_the_server(
    worker: CacheWorker,
) -> None:
    """A scheme row the cache cannot parse stops nothing: it is said, and a fresh snapshot
    replaces it (the engine does not resume from the cursor over data it could not read)."""
    from sqlalchemy import insert

    from dispatchdesk.cache.entities import schemes_table

    worker.store.apply_changes([], [], 10, NOW)
    with worker.store._engine.begin() as conn:
        conn.execute(
            insert(schemes_table).values(id=1, expires_ts=NOW.timestamp() + 9e5, data="{not json")
        )
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(11, [wire(1)]))
    fake.routes["/events"] = lambda r, n: stream_response(": hi\n\n", stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        assert rec.problems and "could not be read" in rec.problems[0]
        await rec.wait_for(lambda: engine.cursor == 11 and rec.connection is ConnectionState.ONLINE)
        assert "/changes" not in fake.calls  # a snapshot, not a resume
    finally:
        await engine.stop()
    assert worker.store.load_warning_data(NOW).schemes == []


async def test_revoked_session_is_reported_as_signed_out_once_and_nothing_is_lost(
    worker: CacheWorker,
) -> None:
    """A 401 mid-shift (token revoked): on_signed_out, never on_problem; reported once while
    it lasts; a command typed meanwhile stays QUEUED (a 401 on it too) and goes out after."""
    refused = {"feed": 3, "command": 1}  # 401s still to give
    denied = httpx.Response(401, json={"detail": "Your session has ended: sign in again."})

    def feed(ok: Callable[[], httpx.Response]) -> Callable[[httpx.Request, int], httpx.Response]:
        def route(request: httpx.Request, n: int) -> httpx.Response:
            if refused["feed"] > 0:
                refused["feed"] -= 1
                return denied
            return ok()

        return route

    def create(request: httpx.Request, n: int) -> httpx.Response:
        if refused["command"] > 0:
            refused["command"] -= 1
            return denied
        return httpx.Response(201, json=wire(9))

    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(1, [wire(1)]))
    fake.routes["/events"] = feed(lambda: stream_response(": hi\n\n", stay_open=True))
    fake.routes["/changes"] = feed(
        lambda: httpx.Response(200, json={"changes": [], "cursor": 1, "more": False})
    )
    fake.routes["/incidents"] = create
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.signed_out)
        command_id = engine.create_incident(
            IncidentDraft(
                grade=Grade.IMMEDIATE,
                type="Burglary",
                summary="Typed meanwhile",
                location=Location(address="9 High St", postcode="SW1A 1AA", borough="WM"),
            )
        )
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        await rec.wait_for(lambda: len(fake.calls.get("/incidents", [])) >= 2)
        # Taken (SENT until the feed brings it; this fake feed never does).
        await rec.wait_for(
            lambda: any(c.id == command_id and c.state is CommandState.SENT for c in rec.commands)
        )
        assert len(rec.signed_out) == 1 and "session has ended" in rec.signed_out[0]
        assert rec.problems == [], "a 401 is not a problem to read: it asks to sign in"
        assert not any(
            c.state is CommandState.FAILED for batch in rec.command_lists for c in batch
        ), "a 401 never fails a command"
        assert 9 in rec.incidents
    finally:
        await engine.stop()


async def test_a_kind_of_record_from_a_newer_server_is_said_once_and_the_rest_goes_on(
    worker: CacheWorker,
) -> None:
    fake = FakeServer()
    fake.routes["/snapshot"] = lambda r, n: httpx.Response(200, content=snapshot(10, [wire(1)]))

    def future(seq: int) -> str:
        change = Change(seq=seq, entity="briefing", op="upsert", data={"id": 1, "text": "x"})
        return f"id: {seq}\nevent: change\ndata: {change.model_dump_json()}\n\n"

    stream = ": connected\n\n" + future(11) + sse_change(12, wire(2)) + future(13)
    fake.routes["/events"] = lambda r, n: stream_response(stream, stay_open=True)
    rec = Recorder()
    engine = engine_for(fake, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.cursor == 13)
        assert sorted(rec.incidents) == [1, 2]  # the change after it was applied
        assert len(rec.problems) == 1 and "'briefing'" in rec.problems[0]
        assert "update this desk" in rec.problems[0]
        assert len(fake.calls["/snapshot"]) == 1  # no resync loop over it
    finally:
        await engine.stop()
    assert worker.store.load().cursor == 13
