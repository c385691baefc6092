"""A half-open event stream (nothing arrives, nothing closes) is noticed within twice the
server's heartbeat, whatever the desk's own ceiling (``heartbeat_timeout``, 30 s by default).

Found by the fault proxy suite's brief: the server beats every 10 s by default, and the desk
waited 30 s (three beats) before it gave up on a silent stream.
"""

from __future__ import annotations

import asyncio
import time

import anyio
import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.protocol.schemas import ChangesPage
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine
from dispatchdesk.sync.feed import BeatWatch

from .conftest import Recorder
from .test_engine import signed_in_engine
from .test_engine_faults import NOW, FakeServer, engine_for, stream_response

pytestmark = pytest.mark.anyio


def test_the_interval_is_the_announced_one_or_the_longest_gap_heard() -> None:
    beats = BeatWatch()
    assert beats.limit(30.0) == 30.0, "nothing known: the ceiling"
    beats.connecting()
    beats.heard("connected", 0.0)
    beats.heard("heartbeat 2026-12-05T10:00:00+00:00", 4.0)
    beats.heard("heartbeat 2026-12-05T10:00:04+00:00", 8.5)
    assert beats.limit(30.0) == 9.0, "measured: twice the longest recent gap"
    beats.connecting()
    beats.heard("connected heartbeat=2", 20.0)
    assert beats.limit(30.0) == 4.0, "announced: the server's promise, whatever gaps were heard"
    beats.heard("connected heartbeat=10", 21.0)
    assert beats.limit(30.0) == 20.0
    beats.heard("connected heartbeat=bogus", 21.0)
    beats.heard("connected heartbeat=-1", 21.0)
    assert beats.announced == 10.0, "a nonsense announcement is ignored"
    assert beats.limit(12.0) == 12.0, "never later than the ceiling"


async def _silent_after(first: str, worker: CacheWorker) -> float:
    """Seconds from the stream's last byte to the engine's next /events request."""
    worker.store.replace_snapshot([], DEFAULT_POLICY, 7, NOW)
    fake = FakeServer()
    fake.routes["/changes"] = lambda r, n: httpx.Response(
        200, content=ChangesPage(changes=[], cursor=7).model_dump_json().encode()
    )
    sent: list[float] = []

    def events(request: httpx.Request, n: int) -> httpx.Response:
        sent.append(time.monotonic())
        return stream_response(first, stay_open=True)

    fake.routes["/events"] = events
    rec = Recorder()
    engine = engine_for(fake, worker, rec, heartbeat_timeout=30.0)
    await engine.start()
    try:
        await rec.wait_for(lambda: len(sent) >= 2, timeout=10)
    finally:
        await engine.stop()
    return sent[1] - sent[0]


async def test_a_silent_stream_is_left_after_twice_the_announced_heartbeat(
    worker: CacheWorker,
) -> None:
    waited = await _silent_after(": connected heartbeat=0.25\n\n", worker)
    assert 0.5 <= waited < 1.5, waited


async def test_the_real_server_announces_its_heartbeat(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    assert server.settings.heartbeat_seconds == 0.2
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec, heartbeat_timeout=30.0)
    try:
        await engine.start()
        with anyio.fail_after(10):
            while engine._feed._beats.announced is None:
                await anyio.sleep(0.01)
        assert engine._feed.stall_limit() == pytest.approx(0.4)
    finally:
        await engine.stop()


async def test_a_stream_that_never_answers_is_left_after_the_request_timeout(
    worker: CacheWorker,
) -> None:
    """Found by the several-desks suite: a fresh desk (no heartbeat known yet) whose first
    stream got no reply at all waited its 30 s ceiling."""
    worker.store.replace_snapshot([], DEFAULT_POLICY, 7, NOW)
    fake = FakeServer()
    fake.routes["/changes"] = lambda r, n: httpx.Response(
        200, content=ChangesPage(changes=[], cursor=7).model_dump_json().encode()
    )
    sent: list[float] = []

    async def never(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            sent.append(time.monotonic())
            await asyncio.Event().wait()  # accepted, never answered
        return fake(request)

    rec = Recorder()
    client = ApiClient("http://fake.test", transport=httpx.MockTransport(never), timeout=0.5)
    engine = SyncEngine(
        client, worker, rec, ServerClock(), heartbeat_timeout=30.0, backoff_initial=0.01
    )
    await engine.start()
    try:
        with anyio.fail_after(10):
            while len(sent) < 2:
                await anyio.sleep(0.01)
    finally:
        await engine.stop()
    assert sent[1] - sent[0] < 1.5, "left after the request timeout, not the 30 s ceiling"
