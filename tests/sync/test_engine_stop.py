"""``SyncEngine.stop()``: when it returns, the cache is idle, even if a task it cancelled was
waiting for a cache write (the write runs to its end on the cache's thread). A test, or the
desk signing out, may then read the cache at once.

Found in the same hunt as the downgrade test's failure: ``test_engine_other_entities`` read
the cache right after ``stop()`` and, now and then, met the feed's last write still open
("cannot start a transaction within a transaction").
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, other_desk_creates

pytestmark = pytest.mark.anyio


async def test_stop_returns_once_a_cache_write_of_a_cancelled_task_has_finished(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    client = ApiClient(server.url, timeout=5.0)
    await client.sign_in("alice", PASSWORD)
    rec = Recorder()
    engine = SyncEngine(client, worker, rec, ServerClock(), heartbeat_timeout=3.0)
    await engine.start()
    await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)

    entered, release = threading.Event(), threading.Event()
    finished: list[bool] = []
    apply_changes = worker.store.apply_changes

    def slow_apply(*args: Any, **kwargs: Any) -> Any:  # the feed's write, on the cache thread
        entered.set()
        release.wait(20)
        result = apply_changes(*args, **kwargs)
        finished.append(True)
        return result

    worker.store.apply_changes = slow_apply  # type: ignore[method-assign]
    close_client = client.aclose

    async def aclose() -> None:  # stop() has cancelled the feed by now
        await close_client()
        release.set()

    client.aclose = aclose  # type: ignore[method-assign]
    await other_desk_creates(other, 1)
    assert await anyio.to_thread.run_sync(entered.wait, 20)
    await engine.stop()  # cancels the feed waiting on that write
    assert finished == [True]
    worker.store.apply_changes = apply_changes  # type: ignore[method-assign]
    state = worker.store.load()  # on this thread, at once: no write is open
    assert len(state.incidents) == 1
