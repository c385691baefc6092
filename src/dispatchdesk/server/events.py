"""Server-Sent Events: each change-log row as an event, read from the log, never a queue.

A stream resumes after ``Last-Event-ID`` with no gap and no duplicate because it always asks
for ``seq > last sent``. Commits in this process wake the streams at once (:meth:`Hub.notify`,
thread-safe); a watcher wakes them for commits made by other processes too (other API nodes
on PostgreSQL; other workers, nodes and imports on one SQLite file).

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
import bisect
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server import changelog
from dispatchdesk.server.db import changes, read_tx
from dispatchdesk.server.features.warnings.tables import schemes
from dispatchdesk.server.reads import one_statement
from dispatchdesk.server.runner import CommandRunner

#: Changes read from the log per query while a stream catches up.
BATCH = 500


@dataclass(frozen=True, slots=True)
class _Window:
    """The shared changes at one moment: replaced whole, never changed, so the event loop
    reads it without a lock while a thread reads the next one."""

    #: (change, its SSE event), ascending seq, contiguous up to ``end``.
    items: tuple[tuple[Change, bytes], ...] = ()
    seqs: tuple[int, ...] = ()
    #: Every change up to this seq has been read (the window's end).
    end: int | None = None
    #: The :attr:`Tail.generation` it was read at.
    generation: int = -1
    #: The seq of its last scheme upsert (served only once checked against the schemes
    #: table), or 0: a stream past it takes its changes without a check.
    last_scheme_upsert: int = 0

    def extended(
        self,
        kept: tuple[tuple[Change, bytes], ...],
        new: list[tuple[Change, bytes]],
        end: int,
        generation: int,
        size: int,
    ) -> _Window:
        """The next window: ``kept`` (this window's items, some perhaps rewritten) and ``new``
        after them, the oldest dropped past ``size``. Only the new items are walked: the
        seqs and the last scheme upsert carry over (walking the whole window per commit was
        a quarter of the server's CPU at a few hundred commits a second)."""
        drop = max(0, len(kept) + len(new) - size)
        upserts = [c.seq for c, _t in new if _is_scheme_upsert(c)]
        return _Window(
            (kept + tuple(new))[drop:],
            (self.seqs + tuple(c.seq for c, _t in new))[drop:],
            end,
            generation,
            # An older upsert rewritten to its delete, or dropped off the front, only makes
            # a stream check the schemes table once more than it needed to.
            upserts[-1] if upserts else self.last_scheme_upsert,
        )

    def after(self, since: int) -> list[tuple[Change, bytes]] | None:
        """The changes after ``since``, or None when ``since`` is outside the window."""
        start = self.seqs[0] - 1 if self.seqs else self.end
        if start is None or self.end is None or not start <= since <= self.end:
            return None
        return list(self.items[bisect.bisect_right(self.seqs, since) :])


class Tail:
    """The newest changes as SSE text, read once after each commit and shared by the streams.

    ``generation`` counts wake-ups (:meth:`Hub.notify`); the window is current when it was read
    at the latest generation. Reads happen on the thread pool under one lock, so streams woken
    together wait for a single read instead of making one each; on the event loop
    (:meth:`after_async`) they wait for it without holding a thread each, and take their
    changes from the window without a thread at all unless a scheme must be checked.
    """

    def __init__(self, size: int = 2000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self.generation = 0
        self._window = _Window()
        self._refreshing: asyncio.Task[None] | None = None

    def after(self, runner: CommandRunner, since: int) -> tuple[list[tuple[Change, bytes]], bool]:
        """Changes after ``since`` (SSE text; expired schemes redacted) and whether more
        wait. Blocking: call it on the thread pool. Raises LogGone like the log."""
        self._refresh_if_stale(runner)
        return self._serve(self._window, runner, since)

    async def after_async(
        self, runner: CommandRunner, since: int
    ) -> tuple[list[tuple[Change, bytes]], bool]:
        """:meth:`after` for a stream on the event loop: one shared read per commit for all
        the streams of this loop, and the changes from the window on the loop itself."""
        window = self._window
        if window.generation != self.generation or window.end is None:
            loop = asyncio.get_running_loop()
            task = self._refreshing
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(run_in_threadpool(self._refresh_if_stale, runner))
                self._refreshing = task
            await asyncio.shield(task)
            window = self._window
        found = window.after(since)
        if found is not None and window.last_scheme_upsert <= since:
            return found, False  # nothing to check against the schemes table
        return await run_in_threadpool(self._serve, window, runner, since)

    def add(self, changes: Sequence[Change]) -> bool:
        """Put this process's just-committed ``changes`` (contiguous seqs, in order) in the
        window without reading the log, when they follow its end and it is current; whether
        they were (or were read into it already). Otherwise (another commit not read yet, a
        scheme's change, which is served only once checked) nothing is done: the next read
        finds them."""
        with self._lock:
            window = self._window
            if changes and window.end is not None and changes[-1].seq <= window.end:
                return True  # read with another commit's changes already
            if (
                window.end is None
                or window.generation != self.generation
                or not changes
                or any(c.seq != window.end + 1 + i for i, c in enumerate(changes))
                or any(c.entity == "scheme" for c in changes)
            ):
                return False
            new = [(c, _text(c)) for c in changes]
            self._window = window.extended(
                window.items, new, changes[-1].seq, window.generation, self._size
            )
            return True

    def has(self, seq: int) -> bool:
        """Whether the window has read the change ``seq`` (so every stream is given it after
        the wake-up that made the window read it)."""
        end = self._window.end
        return end is not None and seq <= end

    def _refresh_if_stale(self, runner: CommandRunner) -> None:
        with self._lock:
            if self._window.generation != self.generation or self._window.end is None:
                self._refresh(runner)

    def _serve(
        self, window: _Window, runner: CommandRunner, since: int
    ) -> tuple[list[tuple[Change, bytes]], bool]:
        found = window.after(since)
        if found is None:  # behind the window (catching up), or ahead: read the log
            page, _head, more = _read(runner, since)
            return [(c, _text(c)) for c in page], more
        return _redacted(found, runner), False

    def _refresh(self, runner: CommandRunner) -> None:
        """Read the changes after the window's end and make the next window of them."""
        generation = self.generation  # before reading: a commit during the read re-reads
        window = self._window
        if window.end is None:
            self._window = _Window(end=runner.head().seq, generation=generation)
            return
        kept, end = window.items, window.end
        new: list[tuple[Change, bytes]] = []
        try:
            while True:
                page, more = _read_window(runner, end)
                gone = {_sid(c) for c in page if c.entity == "scheme" and c.op == "delete"}
                if gone:  # an ended or expired scheme: its text leaves the window now
                    kept = tuple(_gone_if(item, gone) for item in kept)
                    new = [_gone_if(item, gone) for item in new]
                new.extend((c, _text(c)) for c in page)
                if page:
                    end = page[-1].seq
                if not more:
                    break
        except changelog.LogGone:
            self._window = _Window()  # pruned under us: start the window again
            return
        self._window = window.extended(kept, new, end, generation, self._size)


def _is_scheme_upsert(change: Change) -> bool:
    return change.entity == "scheme" and change.op == "upsert"


def _text(change: Change) -> bytes:
    """The change's SSE event, encoded once for every stream that sends it."""
    return format_change(change.model_dump_json(), change.seq).encode()


def _sid(change: Change) -> Any:
    return change.data.get("id")


def _as_delete(change: Change) -> tuple[Change, bytes]:
    gone = Change(seq=change.seq, entity="scheme", op="delete", data={"id": _sid(change)})
    return gone, _text(gone)


def _gone_if(item: tuple[Change, bytes], gone: set[int]) -> tuple[Change, bytes]:
    change = item[0]
    if change.entity == "scheme" and change.op == "upsert" and _sid(change) in gone:
        return _as_delete(change)
    return item


def _redacted(
    items: list[tuple[Change, bytes]], runner: CommandRunner
) -> list[tuple[Change, bytes]]:
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


#: The streams of one event loop are woken at most once per this many seconds: the commits of
#: that time reach every desk in one write each (with fifty desks a write per commit per desk
#: was most of what the streams cost the server). A commit after a quiet spell wakes them at
#: once, so this adds at most this long, and only while commits come faster than this.
FANOUT_SECONDS = 0.01
#: ... and with many streams on a loop, at most once per this many seconds per stream, up to
#: :data:`FANOUT_MOST_SECONDS`. A write to a stream costs the loop ~45 µs (its send through
#: the ASGI layers and the socket): with a whole room of 400 desks on one node, a wake-up per
#: commit made the writes alone fill the server's core at ~55 commands/s. Waking them at
#: most every 400 × 0.1 ms = 40 ms holds their writes to under half of the loop's time
#: whatever the rate of commands, for at most 40 ms more on the way to a desk.
FANOUT_PER_STREAM_SECONDS = 0.0001
FANOUT_MOST_SECONDS = 0.04


@dataclass(slots=True)
class _LoopWake:
    """The streams of one event loop, and whether a wake-up is on its way to them."""

    events: set[asyncio.Event] = field(default_factory=set)
    pending: bool = False
    #: The loop's time of the last wake-up.
    last: float = float("-inf")


class Hub:
    """Wakes every open stream when a change is committed; closes them all on shutdown."""

    def __init__(
        self,
        fanout_seconds: float = FANOUT_SECONDS,
        per_stream_seconds: float = FANOUT_PER_STREAM_SECONDS,
        most_seconds: float = FANOUT_MOST_SECONDS,
    ) -> None:
        self._lock = threading.Lock()
        self._loops: dict[asyncio.AbstractEventLoop, _LoopWake] = {}
        self._every = fanout_seconds
        self._per_stream = per_stream_seconds
        self._most = most_seconds
        self.closed = False
        self.tail = Tail()

    def register(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._loops.setdefault(waiter[0], _LoopWake()).events.add(waiter[1])
        return waiter

    def unregister(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        loop, event = waiter
        with self._lock:
            wake = self._loops.get(loop)
            if wake is not None:
                wake.events.discard(event)
                if not wake.events:
                    del self._loops[loop]

    def notify(self, seq: int | None = None) -> None:
        """Wake every stream; callable from any thread. ``seq``: the change committed, when
        known (the watcher's notifications): nothing is done when the shared window has
        already read it (this process's own commits, announced to it a second time).

        One wake-up per event loop sets all of that loop's streams' events (a thread-safe
        call writes to the loop's wake-up pipe), and none is sent while one is still on its
        way: it will find this commit too, as the generation is counted first."""
        if seq is not None and self.tail.has(seq):
            return
        self._wake_all(count=True)

    def committed(self, changes: Sequence[Change]) -> None:
        """This process committed ``changes`` (its change rows, contiguous seqs in order):
        they go into the shared window at once when they follow its end, so the streams
        take them without the log being read again; then every stream is woken. Otherwise
        as :meth:`notify`."""
        self._wake_all(count=not self.tail.add(changes))

    def _wake_all(self, *, count: bool) -> None:
        """Wake every loop's streams; ``count``: a commit the window has not read yet."""
        with self._lock:
            if count:
                self.tail.generation += 1
            due = [(loop, wake) for loop, wake in self._loops.items() if not wake.pending]
            for _loop, wake in due:
                wake.pending = True
        for loop, wake in due:
            self._send(loop, self._wake, loop, wake)

    def close(self) -> None:
        """End every stream (so a server shutdown does not wait on them)."""
        self.closed = True
        with self._lock:
            self.tail.generation += 1
            loops = list(self._loops.items())
        for loop, wake in loops:
            self._send(loop, self._fire, loop, wake)

    def _send(self, loop: asyncio.AbstractEventLoop, call: Any, *args: Any) -> None:
        try:
            loop.call_soon_threadsafe(call, *args)
        except RuntimeError:  # that loop is closed
            with self._lock:
                self._loops.pop(loop, None)

    def fanout_seconds(self, streams: int) -> float:
        """The least time between two wake-ups of a loop with ``streams`` open streams."""
        return max(self._every, min(self._most, streams * self._per_stream))

    def _wake(self, loop: asyncio.AbstractEventLoop, wake: _LoopWake) -> None:
        """On the loop: wake its streams now, or once :meth:`fanout_seconds` have passed since
        the last time."""
        delay = wake.last + self.fanout_seconds(len(wake.events)) - loop.time()
        if delay > 0 and not self.closed:
            loop.call_later(delay, self._fire, loop, wake)
        else:
            self._fire(loop, wake)

    def _fire(self, loop: asyncio.AbstractEventLoop, wake: _LoopWake) -> None:
        with self._lock:
            wake.pending = False  # first: a commit from now on sends another wake-up
            events = list(wake.events)
        wake.last = loop.time()
        for event in events:
            event.set()


def format_change(change_json: str, seq: int) -> str:
    return f"id: {seq}\nevent: change\ndata: {change_json}\n\n"


async def stream(
    runner: CommandRunner,
    hub: Hub,
    since: int,
    *,
    poll: float | None,
) -> AsyncIterator[bytes]:
    """Yield SSE bytes: every change after ``since``, then new ones as they commit.

    Ends when the hub closes, or when the log is pruned past this stream (the client's next
    resume then gets 410 and takes a new snapshot).
    """
    heartbeat = runner.settings.heartbeat_seconds
    loop = asyncio.get_running_loop()
    waiter = hub.register()
    event = waiter[1]
    last = since
    next_beat = loop.time() + heartbeat
    # The heartbeat's timer wakes the stream as a commit would; it is set again only when a
    # heartbeat is sent (a timeout around every wait cost each wake-up a timer of its own).
    beat = loop.call_at(next_beat, event.set)
    try:
        # The interval is announced so that a client notices a silent (half-open) stream
        # within twice it, whatever this server's setting.
        yield f": connected heartbeat={heartbeat:g}\n\n".encode()
        while not hub.closed:
            event.clear()  # before reading, so a commit during the read is not missed
            try:
                page, more = await hub.tail.after_async(runner, last)
            except changelog.LogGone:
                return
            if page:  # one write for all the changes read together
                yield b"".join(text for _change, text in page)
                last = page[-1][0].seq
            if more:
                continue
            now = loop.time()
            if now >= next_beat:
                stamp = runner.now().astimezone(UTC).isoformat()
                yield f": heartbeat {stamp}\n\n".encode()
                next_beat = now + heartbeat
                beat.cancel()
                beat = loop.call_at(next_beat, event.set)
            if event.is_set():
                continue
            if poll is None:
                await event.wait()
            else:  # no watcher: look at the log every ``poll`` seconds too
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll):
                        await event.wait()
    finally:
        beat.cancel()
        hub.unregister(waiter)


#: :func:`_read_window`'s statement, built once (it runs after every commit).
_AFTER_END = (
    sa.select(changes.c.seq, changes.c.entity, changes.c.op, changes.c.data)
    .where(changes.c.seq > sa.bindparam("end"))
    .order_by(changes.c.seq)
    .limit(BATCH + 1)
)


def _read_window(runner: CommandRunner, end: int) -> tuple[list[Change], bool]:
    """The changes after the window's ``end`` (and whether more wait) in one statement: the
    log's seqs are contiguous above its floor (each append bumps the head under its lock), so
    a first row other than ``end + 1`` means the log was pruned past the window; that, and
    only that, is read the full way (:func:`_read`: the head too, LogGone when pruned)."""
    with one_statement(runner.engine) as conn:
        rows = conn.execute(_AFTER_END, {"end": end}).all()
    if rows and int(rows[0].seq) != end + 1:
        page, _head, more = _read(runner, end)
        return page, more
    now = runner.now()
    page = [
        changelog.redact_expired(
            Change(seq=int(r.seq), entity=r.entity, op=r.op, data=json.loads(r.data)), now
        )
        for r in rows[:BATCH]
    ]
    return page, len(rows) > BATCH


def _read(runner: CommandRunner, since: int) -> tuple[list[Change], changelog.Head, bool]:
    with read_tx(runner.engine) as conn:
        return changelog.read_changes(conn, since, BATCH, now=runner.now())
