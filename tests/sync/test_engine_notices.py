"""Operational notices through the sync engine, against the real reference server on loopback:
a posted notice reaches a running desk live, a read is kept locally at once and its receipt
reaches the server even when read offline, a restart shows the notices and reads from the cache,
and a read made at another position is learnt at the next snapshot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandKind, ConnectionState
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.notices import NoticeCreate
from dispatchdesk.server import EmbeddedServer, add_user
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder

pytestmark = pytest.mark.anyio


def notice(title: str = "New DA policy", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "body": "Contact the informant on every domestic incident, anonymous callers included.",
        "roles": ["call_handler"],
        "requires_ack": True,
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }
    body.update(over)
    return body


async def signed_in(server: EmbeddedServer, username: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.url + API_PREFIX, timeout=30.0)
    r = await http.post("/auth/token", json={"username": username, "password": PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


async def post_notice(http: httpx.AsyncClient, **over: Any) -> dict[str, Any]:
    r = await http.post(
        "/notices", json=notice(**over), headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def open_engine(server: EmbeddedServer, worker: CacheWorker) -> tuple[SyncEngine, Recorder]:
    rec = Recorder()
    engine = SyncEngine(
        ApiClient(server.url, timeout=5.0),
        worker,
        rec,
        ServerClock(),
        heartbeat_timeout=3.0,
        backoff_initial=0.01,
        backoff_max=0.1,
    )
    await engine._client.sign_in("carol", PASSWORD)
    await engine.start()
    await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
    return engine, rec


def sent(rec: Recorder, kind: CommandKind) -> bool:
    """A command of ``kind`` was queued, and none is left."""
    queued = any(c.kind is kind for batch in rec.command_lists for c in batch)
    return queued and not rec.commands


async def receipts(http: httpx.AsyncClient, notice_id: int) -> list[str]:
    r = await http.get(f"/notices/{notice_id}/receipts")
    return [u["username"] for u in r.json()["read"]]


async def test_a_notice_arrives_live_and_a_read_reaches_the_server(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    add_user(server.settings.db_url, "carol", Role.CALL_HANDLER, PASSWORD)
    sup = await signed_in(server, "bob")
    engine, rec = await open_engine(server, worker)
    try:
        posted = await post_notice(sup)
        await rec.wait_for(lambda: posted["id"] in rec.notices)
        assert rec.notice_reads == {}
        engine.read_notice(rec.notices[posted["id"]])
        assert posted["id"] in rec.notice_reads  # at once, before the server answers
        await rec.wait_for(lambda: sent(rec, CommandKind.NOTICE_READ))
        assert await receipts(sup, posted["id"]) == ["carol"]
        lists = len(rec.command_lists)
        engine.read_notice(rec.notices[posted["id"]])  # again: nothing more is sent
        assert len(rec.command_lists) == lists
    finally:
        await engine.stop()
        await sup.aclose()


async def test_a_read_made_offline_is_sent_later_and_a_restart_keeps_it(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    add_user(server.settings.db_url, "carol", Role.CALL_HANDLER, PASSWORD)
    sup = await signed_in(server, "bob")
    path = tmp_path / "desk" / "cache.sqlite3"
    worker = CacheWorker(CacheStore(path))
    engine, rec = await open_engine(server, worker)
    try:
        posted = await post_notice(sup)
        await rec.wait_for(lambda: posted["id"] in rec.notices)
        server.stop()
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)
        engine.read_notice(rec.notices[posted["id"]])
        await rec.wait_for(lambda: [c.kind for c in rec.commands] == [CommandKind.NOTICE_READ])
    finally:
        await engine.stop()
        worker.close()
    # the desk restarts while the server is still down: notice and read are both there
    worker = CacheWorker(CacheStore(path))
    rec = Recorder()
    engine = SyncEngine(
        ApiClient(server.url, timeout=5.0), worker, rec, ServerClock(), backoff_initial=0.01
    )
    try:
        await engine.show_cache()
        await engine.cache_shown()
        assert set(rec.notices) == {posted["id"]} and set(rec.notice_reads) == {posted["id"]}
        assert [c.kind for c in rec.commands] == [CommandKind.NOTICE_READ]
        server.start()
        await engine._client.sign_in("carol", PASSWORD)
        await engine.start()
        await rec.wait_for(lambda: not rec.commands)
        sup2 = await signed_in(server, "bob")
        assert await receipts(sup2, posted["id"]) == ["carol"]
        await sup2.aclose()
    finally:
        await engine.stop()
        worker.close()
        await sup.aclose()


async def test_a_read_at_another_position_is_learnt_and_supervisors_post_through_the_outbox(
    server: EmbeddedServer, worker: CacheWorker, tmp_path: Path
) -> None:
    add_user(server.settings.db_url, "carol", Role.CALL_HANDLER, PASSWORD)
    sup = await signed_in(server, "bob")
    elsewhere = await signed_in(server, "carol")
    try:
        posted = await post_notice(sup)
        r = await elsewhere.post(
            f"/notices/{posted['id']}/read", headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 200, r.text
        engine, rec = await open_engine(server, worker)
        try:
            await rec.wait_for(lambda: posted["id"] in rec.notice_reads)
        finally:
            await engine.stop()
        # a supervisor's desk posts a notice through the outbox; it arrives through the feed
        sup_worker = CacheWorker(CacheStore(tmp_path / "sup" / "cache.sqlite3"))
        rec2 = Recorder()
        sup_engine = SyncEngine(
            ApiClient(server.url, timeout=5.0),
            sup_worker,
            rec2,
            ServerClock(),
            backoff_initial=0.01,
        )
        await sup_engine._client.sign_in("alice", PASSWORD)
        await sup_engine.start()
        try:
            body = NoticeCreate.model_validate(notice("Radio channel change", requires_ack=False))
            sup_engine.post_notice(body)
            await rec2.wait_for(lambda: sent(rec2, CommandKind.POST_NOTICE))
            assert any(n.title == "Radio channel change" for n in rec2.notices.values())
        finally:
            await sup_engine.stop()
            sup_worker.close()
    finally:
        await sup.aclose()
        await elsewhere.aclose()
