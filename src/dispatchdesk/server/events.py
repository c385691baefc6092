"""Server-Sent Events: each change-log row as an event, read from the log, never a queue.

A stream resumes after ``Last-Event-ID`` with no gap and no duplicate because it always asks
for ``seq > last sent``. Commits in this process wake the streams at once (:meth:`Hub.notify`,
thread-safe); on PostgreSQL a watcher wakes them for commits made by other API nodes too.

The newest changes are read from the database once per commit and shared (:class:`Tail`):
with twenty desks connected, twenty streams each reading and re-encoding the same rows cost the
server twice what the command itself did. A stream that has fallen behind the shared window
reads the log itself, as before.

A special scheme's text leaves the window as soon as it is ended or expires: the window's
upserts of a scheme are rewritten to its delete when the delete is read, and every upsert of a
scheme the window serves is first checked against the schemes table, so not even a stream
woken before the window was refreshed gets the text of a scheme that is no longer live.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server import changelog
from dispatchdesk.server.db import read_tx
from dispatchdesk.server.features.warnings.tables import schemes
from dispatchdesk.server.runner import CommandRunner

#: Changes read from the log per query while a stream catches up.
BATCH = 500


class Tail:
    """The newest changes as SSE text, read once after each commit and shared by the streams.

    ``generation`` counts wake-ups (:meth:`Hub.notify`); the window is current when it was read
    at the latest generation. Reads happen on the thread pool under one lock, so streams woken
    together wait for a single read instead of making one each.
    """

    def __init__(self, size: int = 2000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self.generation = 0
        self._read_generation = -1
        #: (change, its SSE text), ascending seq, contiguous up to ``_end``.
        self._items: list[tuple[Change, str]] = []
        #: Every change up to this seq has been read (the window's end).
        self._end: int | None = None

    def after(self, runner: CommandRunner, since: int) -> tuple[list[tuple[Change, str]], bool]:
        """Changes after ``since`` (SSE text; expired schemes redacted) and whether more
        wait. Blocking: call it on the thread pool. Raises LogGone like the log."""
        with self._lock:
            if self._read_generation != self.generation or self._end is None:
                self._refresh(runner)
            start = self._items[0][0].seq - 1 if self._items else self._end
            inside = start is not None and self._end is not None and start <= since <= self._end
            found = [item for item in self._items if item[0].seq > since] if inside else []
        if not inside:  # behind the window (catching up), or ahead: read the log, unlocked
            page, _head, more = _read(runner, since)
            return [(c, _text(c)) for c in page], more
        return _redacted(found, runner), False

    def _refresh(self, runner: CommandRunner) -> None:
        generation = self.generation  # before reading: a commit during the read re-reads
        if self._end is None:
            head = runner.head()
            self._end = head.seq
            self._read_generation = generation
            return
        try:
            while True:
                page, _head, more = _read(runner, self._end)
                gone = {_sid(c) for c in page if c.entity == "scheme" and c.op == "delete"}
                if gone:  # an ended or expired scheme: its text leaves the window now
                    self._items = [_gone_if(item, gone) for item in self._items]
                self._items.extend((c, _text(c)) for c in page)
                if page:
                    self._end = page[-1].seq
                if not more:
                    break
        except changelog.LogGone:
            self._items, self._end = [], None  # pruned under us: start the window again
            return
        del self._items[: max(0, len(self._items) - self._size)]
        self._read_generation = generation


def _text(change: Change) -> str:
    return format_change(change.model_dump_json(), change.seq)


def _sid(change: Change) -> Any:
    return change.data.get("id")


def _as_delete(change: Change) -> tuple[Change, str]:
    gone = Change(seq=change.seq, entity="scheme", op="delete", data={"id": _sid(change)})
    return gone, _text(gone)


def _gone_if(item: tuple[Change, str], gone: set[int]) -> tuple[Change, str]:
    change = item[0]
    if change.entity == "scheme" and change.op == "upsert" and _sid(change) in gone:
        return _as_delete(change)
    return item


def _redacted(items: list[tuple[Change, str]], runner: CommandRunner) -> list[tuple[Change, str]]:
    """A scheme upsert is served only while the scheme is live by the schemes table (not
    ended, not expired by the server's time): otherwise as its delete."""
    now = runner.now()
    ids = {_sid(c) for c, _t in items if c.entity == "scheme" and c.op == "upsert"}
    if not ids:
        return items
    with read_tx(runner.engine) as conn:
        live = set(
            conn.execute(
                sa.select(schemes.c.id).where(
                    schemes.c.id.in_(ids),
                    schemes.c.removed_at.is_(None),
                    schemes.c.expires_at > now,
                )
            ).scalars()
        )
    out = []
    for change, text in items:
        if change.entity == "scheme" and change.op == "upsert" and _sid(change) not in live:
            out.append(_as_delete(change))
        else:
            redacted = changelog.redact_expired(change, now)
            out.append((change, text) if redacted is change else (redacted, _text(redacted)))
    return out


class Hub:
    """Wakes every open stream when a change is committed; closes them all on shutdown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False
        self.tail = Tail()

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
            self.tail.generation += 1
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
    runner: CommandRunner,
    hub: Hub,
    since: int,
    *,
    poll: float | None,
) -> AsyncIterator[str]:
    """Yield SSE text: every change after ``since``, then new ones as they commit.

    Ends when the hub closes, or when the log is pruned past this stream (the client's next
    resume then gets 410 and takes a new snapshot).
    """
    heartbeat = runner.settings.heartbeat_seconds
    loop = asyncio.get_running_loop()
    waiter = hub.register()
    event = waiter[1]
    last = since
    next_beat = loop.time() + heartbeat
    try:
        # The interval is announced so that a client notices a silent (half-open) stream
        # within twice it, whatever this server's setting.
        yield f": connected heartbeat={heartbeat:g}\n\n"
        while not hub.closed:
            event.clear()  # before reading, so a commit during the read is not missed
            try:
                page, more = await run_in_threadpool(hub.tail.after, runner, last)
            except changelog.LogGone:
                return
            for change, text in page:
                yield text
                last = change.seq
            if more:
                continue
            now = loop.time()
            if now >= next_beat:
                stamp = runner.now().astimezone(UTC).isoformat()
                yield f": heartbeat {stamp}\n\n"
                next_beat = now + heartbeat
            timeout = next_beat - now
            if poll is not None:
                timeout = min(timeout, poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.0))
    finally:
        hub.unregister(waiter)


def _read(runner: CommandRunner, since: int) -> tuple[list[Change], changelog.Head, bool]:
    with read_tx(runner.engine) as conn:
        return changelog.read_changes(conn, since, BATCH, now=runner.now())
