"""ApiClient against the real server app (ASGI / loopback); MockTransport only for faults."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import Change, CloseRequest, IncidentPatch
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user, create_app
from dispatchdesk.sync.client import ApiClient, Heartbeat
from dispatchdesk.sync.errors import (
    ApiError,
    Conflict,
    ConnectionLost,
    DeskError,
    Gone,
    InvalidRequest,
    MalformedPayload,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)

from .conftest import PASSWORD, create_body

pytestmark = pytest.mark.anyio


def asgi_client(tmp_path: Path, **settings: object) -> tuple[ApiClient, ServerSettings]:
    s = ServerSettings(db_url=f"sqlite:///{tmp_path / 's.db'}", **settings)  # type: ignore[arg-type]
    app = create_app(s)
    add_user(s.db_url, "alice", Role.SUPERVISOR, PASSWORD)
    add_user(s.db_url, "carol", Role.CALL_HANDLER, PASSWORD)
    return ApiClient("http://desk.test", transport=httpx.ASGITransport(app=app)), s


async def test_sign_in_snapshot_changes_and_commands(tmp_path: Path) -> None:
    client, _ = asgi_client(tmp_path)
    try:
        with pytest.raises(Unauthorized):
            await client.snapshot()
        with pytest.raises(Unauthorized) as wrong:
            await client.sign_in("alice", "wrong password")
        assert "password" in str(wrong.value).lower()
        token = await client.sign_in("alice", PASSWORD)
        assert token.role is Role.SUPERVISOR
        snap = await client.snapshot()
        key = str(uuid.uuid4())
        created = await client.create_incident(create_body(1), idempotency_key=key)
        again = await client.create_incident(create_body(1), idempotency_key=key)
        assert again == created  # replayed, not applied twice
        page = await client.changes(snap.cursor)
        assert [c.data["id"] for c in page.changes] == [created.id]
        assert page.cursor > snap.cursor
        patched = await client.patch_incident(
            created.id,
            IncidentPatch(summary="Updated"),
            idempotency_key=str(uuid.uuid4()),
            if_match=created.version,
        )
        assert patched.version == created.version + 1
        with pytest.raises(PreconditionFailed) as stale:
            await client.patch_incident(
                created.id,
                IncidentPatch(summary="Stale"),
                idempotency_key=str(uuid.uuid4()),
                if_match=created.version,
            )
        assert stale.value.status == 412 and str(stale.value)
        with pytest.raises(NotFound):
            await client.get_incident(999_999)
        closed = await client.close_incident(
            created.id,
            CloseRequest(rationale="Suspect detained at the address by the attending unit"),
            idempotency_key=str(uuid.uuid4()),
        )
        assert closed.closed_at is not None
        with pytest.raises(Conflict):
            await client.close_incident(
                created.id,
                CloseRequest(rationale="Closed again with a different specific rationale text"),
                idempotency_key=str(uuid.uuid4()),
            )
    finally:
        await client.aclose()


async def test_invalid_request_has_readable_field_messages(tmp_path: Path) -> None:
    client, _ = asgi_client(tmp_path)
    await client.sign_in("alice", PASSWORD)
    body = create_body(1).model_dump(mode="json")
    body["location"]["postcode"] = "not a postcode"
    with pytest.raises(InvalidRequest) as exc:
        await client.create_incident(body, idempotency_key=str(uuid.uuid4()))
    assert exc.value.status == 422
    assert any("location.postcode" in f and "postcode" in f for f in exc.value.fields), (
        exc.value.fields
    )
    assert isinstance(exc.value, ApiError) and isinstance(exc.value, DeskError)
    await client.aclose()


async def test_gone_when_cursor_older_than_log(tmp_path: Path) -> None:
    client, _ = asgi_client(tmp_path, change_retention=2)
    await client.sign_in("alice", PASSWORD)
    for n in range(5):
        await client.create_incident(create_body(n), idempotency_key=str(uuid.uuid4()))
    with pytest.raises(Gone):
        await client.changes(0)
    await client.aclose()


class HourAhead:
    """A server clock that runs in real time, an hour ahead of this workstation's."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)


async def test_server_clock_follows_server_time(tmp_path: Path) -> None:
    server_time = HourAhead()
    clock = ServerClock()
    assert abs(clock.offset_seconds) < 1
    s = ServerSettings(db_url=f"sqlite:///{tmp_path / 's.db'}", clock=server_time)
    client = ApiClient(
        "http://desk.test", transport=httpx.ASGITransport(app=create_app(s)), clock=clock
    )
    add_user(s.db_url, "alice", Role.SUPERVISOR, PASSWORD)
    await client.sign_in("alice", PASSWORD)
    assert clock.synced
    # The sign-in's round trip holds a deliberately slow password hash (seconds on a loaded
    # machine); each reply re-anchors the clock, to within half its round trip.
    await client.changes(0)
    assert abs((clock.now() - server_time.now()).total_seconds()) < 1
    assert abs(clock.offset_seconds - 3600) < 1
    await client.aclose()


async def test_connection_lost_when_nothing_listens() -> None:
    client = ApiClient("http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(ConnectionLost) as exc:
        await client.snapshot()
    assert "reach" in str(exc.value)
    await client.aclose()


def _mock(handler: object) -> ApiClient:
    return ApiClient("http://desk.test", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_malformed_json_and_schema_are_reported() -> None:
    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{not json", headers={"X-Server-Time": "garbage"})

    client = _mock(not_json)
    with pytest.raises(MalformedPayload) as exc:
        await client.snapshot()
    assert "not valid JSON" in str(exc.value)

    def wrong_shape(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"changes": [{"seq": "x"}], "cursor": 3})

    client = _mock(wrong_shape)
    with pytest.raises(MalformedPayload) as exc:
        await client.changes(0)
    assert "changes.0.seq" in str(exc.value)

    def server_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="maintenance")

    client = _mock(server_error)
    with pytest.raises(ApiError) as err:
        await client.snapshot()
    assert err.value.status == 503 and "maintenance" in str(err.value)


async def test_events_yield_changes_and_heartbeats_then_malformed() -> None:
    good = Change(seq=5, entity="incident", op="delete", data={"id": 1})
    body = (
        ": connected\n\n"
        f"id: 5\nevent: change\ndata: {good.model_dump_json()}\n\n"
        ": heartbeat\n\n"
        "id: 6\nevent: change\ndata: {broken\n\n"
        f"id: 7\nevent: change\ndata: {good.model_copy(update={'seq': 7}).model_dump_json()}\n\n"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Last-Event-ID"] == "4"
        return httpx.Response(
            200, content=body.encode(), headers={"content-type": "text/event-stream"}
        )

    client = _mock(handler)
    got: list[object] = []
    with pytest.raises(MalformedPayload) as exc:
        async for item in client.events(4):
            got.append(item)
    assert got == [Heartbeat("connected"), good, Heartbeat("heartbeat")]
    assert "id 6" in str(exc.value)


async def test_events_against_real_server(server: EmbeddedServer) -> None:
    client = ApiClient(server.url)
    await client.sign_in("alice", PASSWORD)
    snap = await client.snapshot()
    created = await client.create_incident(create_body(1), idempotency_key=str(uuid.uuid4()))
    seen: list[Change] = []
    beats = 0
    async with contextlib.aclosing(client.events(snap.cursor, read_timeout=5)) as events:
        async for item in events:
            if isinstance(item, Change):
                seen.append(item)
            else:
                beats += 1
            if seen and beats >= 2:
                break
    assert [c.data["id"] for c in seen] == [created.id]
    assert json.loads(json.dumps(seen[0].data))["version"] == created.version
    await client.aclose()
