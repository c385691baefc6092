"""Server-Sent Events: each change-log row as an event, read from the log, never a queue.

A stream resumes after ``Last-Event-ID`` with no gap and no duplicate because it always reads
``seq > last sent`` from the database. Commits in this process wake the streams at once
(:meth:`Hub.notify`, thread-safe); on PostgreSQL the streams also re-read the log every
``poll_seconds`` so commits made by other API nodes on the same database fan out too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from datetime import UTC

from starlette.concurrency import run_in_threadpool

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server import changelog
from dispatchdesk.server.db import read_tx
from dispatchdesk.server.service import Service

#: Changes read from the log per query while a stream catches up.
BATCH = 500


class Hub:
    """Wakes every open stream when a change is committed; closes them all on shutdown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    def register(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    def unregister(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    def notify(self) -> None:
        """Wake every stream; callable from any thread."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                self.unregister((loop, event))

    def close(self) -> None:
        """End every stream (so a server shutdown does not wait on them)."""
        self.closed = True
        self.notify()


def format_change(change_json: str, seq: int) -> str:
    return f"id: {seq}\nevent: change\ndata: {change_json}\n\n"


async def stream(
    service: Service,
    hub: Hub,
    since: int,
    *,
    poll: float | None,
) -> AsyncIterator[str]:
    """Yield SSE text: every change after ``since``, then new ones as they commit.

    Ends when the hub closes, or when the log is pruned past this stream (the client's next
    resume then gets 410 and takes a new snapshot).
    """
    heartbeat = service.settings.heartbeat_seconds
    loop = asyncio.get_running_loop()
    waiter = hub.register()
    event = waiter[1]
    last = since
    next_beat = loop.time() + heartbeat
    try:
        yield ": connected\n\n"
        while not hub.closed:
            event.clear()  # before reading, so a commit during the read is not missed
            try:
                page, _head, more = await run_in_threadpool(_read, service, last)
            except changelog.LogGone:
                return
            for change in page:
                yield format_change(change.model_dump_json(), change.seq)
                last = change.seq
            if more:
                continue
            now = loop.time()
            if now >= next_beat:
                stamp = service.now().astimezone(UTC).isoformat()
                yield f": heartbeat {stamp}\n\n"
                next_beat = now + heartbeat
            timeout = next_beat - now
            if poll is not None:
                timeout = min(timeout, poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.0))
    finally:
        hub.unregister(waiter)


def _read(service: Service, since: int) -> tuple[list[Change], changelog.Head, bool]:
    with read_tx(service.engine) as conn:
        return changelog.read_changes(conn, since, BATCH, now=service.now())
