"""Fault suite 2: a fault-injecting TCP proxy between a desk's sync engine and the real server.

1,000 commands (``--fault-commands``) from one desk: new incidents, and summary edits of
incidents another desk made. 30% of the HTTP exchanges through the proxy are faulted
(connection dropped before the request, reset after it, delayed, or the reply lost after the
server committed), and 30% of the event streams go half-open. Then: no command lost, none
applied twice, no command refused, the cache holds exactly the server's state, and every
half-open stream was given up within twice the server's heartbeat.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandState
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine
from tests.sync.conftest import PASSWORD, Recorder, draft, other_desk_creates

from .conftest import HEARTBEAT, cache_path, server_incidents
from .proxy import FaultProxy

pytestmark = pytest.mark.anyio

#: Slack for a loaded machine on top of twice the heartbeat (scheduling, the reconnect).
SLACK = 0.5


def engine_through(url: str, worker: CacheWorker, rec: Recorder) -> SyncEngine:
    """A desk's engine as the app makes it (heartbeat timeout and all), but quick to retry.
    One exchange per connection, so a fault hits one request."""
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    client = ApiClient(url, transport=transport, timeout=5.0)
    return SyncEngine(
        client,
        worker,
        rec,
        ServerClock(),
        max_command_age=timedelta(days=1),
        backoff_initial=0.01,
        backoff_max=0.1,
    )


async def test_faulted_exchanges_lose_nothing_and_apply_nothing_twice(
    server: EmbeddedServer, other: ApiClient, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    total = int(request.config.getoption("--fault-commands"))
    edits = total // 5
    creates = total - edits
    seed = 13
    # Incidents another desk made, each to be edited once by the faulted desk.
    targets = [await other_desk_creates(other, 10_000 + n) for n in range(edits)]

    proxy = FaultProxy(server.port or 0, random.Random(seed), rate=0.3, stream_rate=0.3)
    await proxy.start()
    worker = CacheWorker(CacheStore(cache_path(tmp_path, "desk")))
    rec = Recorder()
    engine = engine_through(proxy.url, worker, rec)
    started = time.monotonic()
    try:
        proxy.enabled = False  # sign-in is not what is tested here
        await engine._client.sign_in("alice", PASSWORD)
        proxy.enabled = True
        await engine.start()
        await rec.wait_for(lambda: len(rec.incidents) >= edits)
        rng = random.Random(seed)
        jobs = [("create", n) for n in range(creates)] + [("edit", n) for n in range(edits)]
        rng.shuffle(jobs)
        for batch, start in enumerate(range(0, len(jobs), 50)):
            for kind, n in jobs[start : start + 50]:
                if kind == "create":
                    engine.create_incident(draft(n))
                else:
                    target = rec.incidents[targets[n].id]
                    engine.edit_summary(target, f"Edited through faults {n}")
            # Meanwhile another desk's changes flow down the (faulted) feed.
            await other_desk_creates(other, 20_000 + batch)
            await asyncio.sleep(0)
        with anyio.fail_after(240):
            while rec.commands:
                assert not [c for c in rec.commands if c.state is CommandState.FAILED], [
                    (c.description, c.message) for c in rec.commands if c.failed
                ]
                await rec.wait_for(lambda: True)
                await asyncio.sleep(0.05)
        sent_in = time.monotonic() - started
        # However few streams a short run opened: at least three have gone half-open.
        proxy.stream_rate = 1.0
        with anyio.fail_after(60):
            while sum(h.noticed_at is not None for h in proxy.half_open) < 3:
                await asyncio.sleep(0.1)
        proxy.stream_rate = 0.3
        cursor, on_server = await server_incidents(server.url)
        await rec.wait_for(lambda: engine.cursor == cursor, timeout=60)
    finally:
        await engine.stop()
        await proxy.close()
    try:
        cached = {i.id: i for i in worker.store.load().incidents}
    finally:
        worker.close()

    summaries = [i.summary for i in on_server.values()]
    made = [f"Break-in number {n}" for n in range(creates)]
    lost = [s for s in made if s not in summaries]
    doubled = [s for s in made if summaries.count(s) > 1]
    assert not lost and not doubled, (len(lost), len(doubled))
    for n, target in enumerate(targets):
        now = on_server[target.id]
        assert now.summary == f"Edited through faults {n}"
        assert now.version == target.version + 1, "an edit applied once, not twice"
    assert {i: (x.version, x.summary) for i, x in on_server.items()} == {
        i: (x.version, x.summary) for i, x in cached.items()
    }, "the cache converged to the server's state"
    exchanges = sum(proxy.counts.values())
    faulted = exchanges - proxy.counts["none"]
    assert proxy.counts["lost_reply"] > 0 and proxy.half_open, proxy.counts
    silences = [h.silence for h in proxy.half_open if h.silence is not None]
    print(
        f"\n{total} commands ({creates} creates, {edits} edits) in {sent_in:.1f} s; "
        f"{exchanges} exchanges, {faulted} faulted ({faulted / exchanges:.0%}): "
        f"{dict(proxy.counts)}; {len(silences)} of {proxy.streams} event streams half-open, "
        "noticed after "
        f"{min(silences):.2f}-{max(silences):.2f} s (heartbeat {HEARTBEAT:g} s); "
        f"0 lost, 0 duplicated, cache = server ({len(on_server)} incidents)"
    )
    assert max(silences) <= 2 * HEARTBEAT + SLACK, silences
