"""Several API nodes on one database (issue 14): the desk fails over to the next node when the
one it is on stops answering, resuming from its cursor: no change missed or shown twice, no
command lost or applied twice (the outbox resends with the same Idempotency-Key).

Two real ``dispatchdesk serve`` processes on loopback share one database (a SQLite file, and
PostgreSQL when ``DISPATCHDESK_TEST_PG_URL`` is set); one is killed with SIGKILL while the desk
sends commands and another desk's changes stream in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandState, ConnectionState
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import IncidentOut, IncidentPatch
from dispatchdesk.server import add_user
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine
from dispatchdesk.sync.errors import ConnectionLost
from tests.app.test_demo_and_cli import _free_port, _wait_for_port

from .conftest import PASSWORD, Recorder, create_body, draft

pytestmark = pytest.mark.anyio

SERVE = [sys.executable, "-m", "dispatchdesk.app", "serve"]
#: Commands from each side: half before the kill, half after.
EACH = 16


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    base = os.environ.get("DISPATCHDESK_TEST_PG_URL")
    if not base:
        pytest.skip("DISPATCHDESK_TEST_PG_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def nodes(shared_db: str) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Two API nodes on ``shared_db``: [(url, process), ...]."""
    add_user(shared_db, "alice", Role.SUPERVISOR, PASSWORD)
    add_user(shared_db, "bob", Role.SUPERVISOR, PASSWORD)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen(
                [*SERVE, "--db", shared_db, "--port", str(port)],
                env=env,
            )
            started.append((f"http://127.0.0.1:{port}", process))
            _wait_for_port(port, process)
        yield started
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


async def resend_until_done(client: ApiClient, n: int) -> IncidentOut:
    """Another desk: create an incident and edit it, each command resent with its own key
    until a node answers (as the outbox does)."""
    key = str(uuid.uuid4())
    while True:
        try:
            created = await client.create_incident(create_body(n), idempotency_key=key)
            break
        except ConnectionLost:
            continue  # both nodes tried: the next attempt finds the survivor
    key = str(uuid.uuid4())
    while True:
        try:
            return await client.patch_incident(
                created.id,
                IncidentPatch(summary=f"Other desk {n}, edited"),
                idempotency_key=key,
                if_match=created.version,
            )
        except ConnectionLost:
            continue


@pytest.mark.timeout(240)
async def test_the_desk_fails_over_to_the_other_node_without_gap_or_duplicate(
    nodes: list[tuple[str, subprocess.Popen[bytes]]], worker: CacheWorker
) -> None:
    (first_url, first), (second_url, _) = nodes
    urls = [first_url, second_url]
    rec = Recorder()
    client = ApiClient(urls, timeout=10.0)
    snapshots = 0
    take_snapshot = client.snapshot

    async def counted_snapshot() -> object:
        nonlocal snapshots
        snapshots += 1
        return await take_snapshot()

    client.snapshot = counted_snapshot  # type: ignore[method-assign]
    engine = SyncEngine(
        client,
        worker,
        rec,
        ServerClock(),
        heartbeat_timeout=5.0,
        backoff_initial=0.01,
        backoff_max=0.1,
    )
    await client.sign_in("alice", PASSWORD)
    other = ApiClient(urls, timeout=10.0)
    await other.sign_in("bob", PASSWORD)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        assert rec.connections[-1].server == first_url
        # Load on the first node: the desk's commands and the other desk's changes.
        theirs = [await resend_until_done(other, n) for n in range(EACH // 2)]
        for n in range(EACH // 2):
            engine.create_incident(draft(n))
        await rec.wait_for(lambda: len(rec.incidents) >= EACH // 2 + 2)
        # More commands in the outbox, then the node the desk is on dies under them.
        for n in range(EACH // 2, EACH):
            engine.create_incident(draft(n))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        theirs += [await resend_until_done(other, n) for n in range(EACH // 2, EACH)]

        def settled() -> bool:
            commands = engine.commands
            return (
                rec.connection is ConnectionState.ONLINE
                and not commands
                and all(_version(rec, i.id) == i.version for i in theirs)
                and len(rec.incidents) == 2 * EACH
            )

        await rec.wait_for(lambda: settled() or _failed(engine), timeout=120)
        assert not _failed(engine), [c.message for c in engine.commands]
        assert rec.connections[-1].server == second_url  # the status bar names it
        assert any(
            c.server == second_url and c.state is ConnectionState.ONLINE for c in rec.connections
        )

        # Every command applied exactly once, on whichever node took it.
        view = await _server_view(second_url)
        summaries = Counter(i.summary for i in view.values())
        for n in range(EACH):
            assert summaries[f"Break-in number {n}"] == 1, n
            assert summaries[f"Other desk {n}, edited"] == 1, n
        assert len(view) == 2 * EACH
        # No gap: the cache is the server's state at its head; resumed, not reloaded.
        cached, cursor = _cache_view(worker)
        assert cached == {i: v.version for i, v in view.items()}
        assert cursor == await _head(second_url)
        assert snapshots == 1
        # No duplicate: the other desk's changes were each shown once (a version may be
        # skipped only when two arrived in one batch), none after a newer one.
        for incident in theirs:
            seen = [v for i, v in rec.upserts_seen() if i == incident.id]
            assert seen == sorted(set(seen)) and seen[-1] == incident.version, (incident.id, seen)
    finally:
        await engine.stop()
        await other.aclose()


def _version(rec: Recorder, incident_id: int) -> int | None:
    shown = rec.incidents.get(incident_id)
    return None if shown is None else shown.version


def _failed(engine: SyncEngine) -> bool:
    return any(c.state in (CommandState.FAILED, CommandState.HELD) for c in engine.commands)


async def _server_view(url: str) -> dict[int, IncidentOut]:
    client = ApiClient(url)
    try:
        await client.sign_in("bob", PASSWORD)
        snap = await client.snapshot()
    finally:
        await client.aclose()
    return {i.id: i for i in snap.incidents}


async def _head(url: str) -> int:
    client = ApiClient(url)
    try:
        await client.sign_in("bob", PASSWORD)
        return (await client.snapshot()).cursor
    finally:
        await client.aclose()


def _cache_view(worker: CacheWorker) -> tuple[dict[int, int], int | None]:
    state = worker.store.load()
    return {i.id: i.version for i in state.incidents}, state.cursor


async def test_a_request_goes_to_the_next_node_when_the_first_cannot_be_reached() -> None:
    """Unit level: the client tries each node in turn, stays on the one that answered, and
    says which node failed when none answers."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        if request.url.host == "a":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(
            200, json={"access_token": "t", "role": "supervisor", "username": "alice"}
        )

    client = ApiClient(["http://a", "http://b"], transport=httpx.MockTransport(handler))
    await client.sign_in("alice", PASSWORD)
    await client.sign_in("alice", PASSWORD)
    assert calls == ["a", "b", "b"] and client.server == "http://b"
    assert not client.fail_over("http://a")  # a late failure of the old node moves nothing
    assert client.server == "http://b"
    await client.aclose()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = ApiClient(["http://a", "http://c"], transport=httpx.MockTransport(refuse))
    with pytest.raises(
        ConnectionLost, match=r"Cannot reach the server \(tried http://a, http://c\)"
    ):
        await down.sign_in("alice", PASSWORD)
    await down.aclose()
