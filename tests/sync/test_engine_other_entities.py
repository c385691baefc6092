"""Changes to entities the desk does not show yet (units) advance the cursor and are skipped:
no resync, no problem reported, and the incident changes around them still apply."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, other_desk_creates

pytestmark = pytest.mark.anyio


async def test_unit_changes_advance_the_cursor_and_are_skipped(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    first = await other_desk_creates(other, 1)
    rec = Recorder()
    engine = SyncEngine(ApiClient(server.url, timeout=5.0), worker, rec, ServerClock(),
                        heartbeat_timeout=3.0, backoff_initial=0.01, backoff_max=0.1)
    await engine._client.sign_in("alice", PASSWORD)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        states = len(rec.states)
        async with httpx.AsyncClient(base_url=server.url + API_PREFIX) as http:
            token = (await http.post("/auth/token", json={
                "username": "bob", "password": PASSWORD})).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            unit = (await http.post("/units", headers={"Idempotency-Key": uuid.uuid4().hex},
                                    json={"callsign": "LX21", "kind": "IRV",
                                          "borough": "Westminster"})).json()
            r = await http.post(f"/units/{unit['id']}/assign", json={"incident_id": first.id},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
            assert r.status_code == 200, r.text
            second = await other_desk_creates(other, 2)
            head = (await http.get("/snapshot")).json()["cursor"]
        await rec.wait_for(
            lambda: second.id in rec.incidents
            and rec.incidents[first.id].status is IncidentStatus.ASSIGNED
        )
    finally:
        await engine.stop()
    assert worker.store.load().cursor == head
    assert rec.problems == []
    assert len(rec.states) == states  # no new snapshot: no resync
