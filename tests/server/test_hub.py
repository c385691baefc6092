"""The hub's wake-ups: a burst of commits wakes each event loop's streams once, not once per
commit, and never misses a commit (tests/server/test_events.py covers the streams over HTTP)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dispatchdesk.server.events import Hub

from .conftest import Desk


class _CountingHub(Hub):
    """A hub that counts the wake-ups it sends to the loops."""

    def __init__(self, fanout_seconds: float) -> None:
        super().__init__(fanout_seconds)
        self.sent = 0

    def _send(self, loop: asyncio.AbstractEventLoop, call: Any, *args: Any) -> None:
        self.sent += 1
        super()._send(loop, call, *args)


async def _woken(event: asyncio.Event) -> bool:
    """Whether ``event`` is set once the loop has run what was sent to it."""
    for _ in range(5):  # the thread-safe call, then the wake-up
        await asyncio.sleep(0)
    return event.is_set()


def test_first_commit_after_a_quiet_spell_wakes_at_once() -> None:
    async def main() -> None:
        hub = Hub(fanout_seconds=3600)
        _loop, event = hub.register()
        hub.notify()
        assert await _woken(event)

    asyncio.run(main())


def test_a_burst_of_commits_wakes_once_and_the_last_is_not_missed() -> None:
    async def main() -> None:
        hub = _CountingHub(fanout_seconds=3600)  # the burst's wake-up held back for an hour
        waiters = [hub.register() for _ in range(3)]
        generation = hub.tail.generation
        hub.notify()  # wakes at once
        assert all([await _woken(e) for _l, e in waiters])
        for _l, e in waiters:
            e.clear()
        # a hundred commits from the command threads while the streams are woken
        threads = [threading.Thread(target=hub.notify) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert hub.tail.generation == generation + 101  # every commit counted for the reads
        assert hub.sent == 2  # one wake-up for the first commit, one for the whole burst
        assert not any([await _woken(e) for _l, e in waiters])  # within the fan-out time
        hub.notify()
        assert hub.sent == 2  # still on its way
        hub.close()
        assert all([await _woken(e) for _l, e in waiters])

    asyncio.run(main())


def test_the_held_back_wake_up_comes_once_the_fanout_time_has_passed() -> None:
    async def main() -> None:
        hub = _CountingHub(fanout_seconds=0.02)
        _loop, event = hub.register()
        hub.notify()
        assert await _woken(event)
        event.clear()
        hub.notify()  # within the fan-out time of the last: held back, then sent
        async with asyncio.timeout(10):
            await event.wait()
        hub.notify()  # a commit after that wake-up sends another
        assert hub.sent == 3

    asyncio.run(main())


def test_close_wakes_at_once_even_within_the_fanout_time() -> None:
    async def main() -> None:
        hub = Hub(fanout_seconds=3600)
        _loop, event = hub.register()
        hub.notify()
        assert await _woken(event)
        event.clear()
        hub.notify()  # held back for an hour
        assert not await _woken(event)
        hub.close()
        assert await _woken(event)
        assert hub.closed

    asyncio.run(main())


def test_an_unregistered_loop_is_forgotten() -> None:
    async def main() -> Hub:
        hub = Hub()
        waiter = hub.register()
        hub.unregister(waiter)
        hub.notify()
        return hub

    hub = asyncio.run(main())
    hub.notify()  # its loop is closed: nothing is sent to it
    assert not hub._loops


def test_a_notification_of_a_change_already_read_wakes_nobody() -> None:
    """On PostgreSQL a node hears its own commits again from the watcher: those are not read
    a second time; another node's commit is."""
    from dispatchdesk.server.events import _Window

    async def main() -> None:
        hub = _CountingHub(fanout_seconds=0)
        _loop, event = hub.register()
        hub.tail._window = _Window(end=5, generation=hub.tail.generation)
        generation = hub.tail.generation
        hub.notify(5)
        hub.notify(4)
        assert (hub.tail.generation, hub.sent) == (generation, 0)
        assert not await _woken(event)
        hub.notify(6)
        assert (hub.tail.generation, hub.sent) == (generation + 1, 1)
        assert await _woken(event)

    asyncio.run(main())


def test_the_window_read_past_a_pruned_log_is_refused_not_served_with_a_gap(
    make_desk: Callable[..., Desk],
) -> None:
    """The shared window reads what follows its end in one statement; when the log was pruned
    past that end, the gap is never served: the window starts again and a stream behind the
    floor ends (its desk's resume gets 410 and takes a snapshot)."""
    from dispatchdesk.server import changelog, events

    desk = make_desk(change_retention=2)
    app: Any = desk.client.app
    runner, tail = app.state.services.runner, app.state.hub.tail
    runner.on_changes = None  # every commit read from the log (as another node's would be)
    desk.cathy.create(summary="One")
    assert [c.seq for c in events._read_window(runner, 0)[0]] == [1]
    tail.after(runner, 0)  # the window starts at the head
    tail.generation += 1
    assert [c.seq for c, _t in tail.after(runner, 1)[0]] == []  # nothing after the head yet
    for i in range(4):
        desk.cathy.create(summary=f"Call {i}")  # seqs 2 to 5; the log keeps 4 and 5
    assert [c.seq for c in events._read_window(runner, 3)[0]] == [4, 5]
    with pytest.raises(changelog.LogGone):
        events._read_window(runner, 1)
    tail.generation += 1
    with pytest.raises(changelog.LogGone):
        tail.after(runner, 1)  # the window started again; seq 2 and 3 are gone
    assert [c.seq for c, _t in tail.after(runner, 3)[0]] == [4, 5]


def test_the_window_slides_over_new_changes_only_and_stays_the_logs_tail(
    make_desk: Callable[..., Desk],
) -> None:
    """Each read adds the new changes to the kept ones and drops the oldest past its size:
    the window is always the log's newest changes, its seqs matching its items, and a
    stream anywhere inside it gets exactly what the log holds after its cursor."""
    from dispatchdesk.server import events

    desk = make_desk()
    app: Any = desk.client.app
    runner, tail = app.state.services.runner, app.state.hub.tail
    tail._size = 4
    tail.after(runner, 0)  # the window starts at the head (0)
    for burst in (1, 3, 1, 5, 2):  # commits read one at a time and several at once
        for i in range(burst):
            desk.cathy.create(summary=f"Call {i}")
        tail.generation += 1
        head = runner.head().seq
        tail.after(runner, head)
        window = tail._window
        assert window.end == head
        assert window.seqs == tuple(c.seq for c, _t in window.items)
        assert window.seqs == tuple(range(max(1, head - 3), head + 1))
        for since in range(window.seqs[0] - 1, head + 1):
            served = [(c.seq, t) for c, t in tail.after(runner, since)[0]]
            logged = [(c.seq, events._text(c)) for c in events._read(runner, since)[0]]
            assert served == logged


def test_own_commits_join_the_window_without_a_read_only_when_they_follow_its_end(
    make_desk: Callable[..., Desk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process's commits are put in the shared window as they are (the streams take them
    without the log being read) only when they follow the window's end and it is current;
    a gap, a stale window or a scheme's change leaves them to the next read."""
    from dispatchdesk.server import events

    desk = make_desk()
    app: Any = desk.client.app
    runner, hub = app.state.services.runner, app.state.hub
    tail = hub.tail
    for i in range(3):
        desk.cathy.create(summary=f"Call {i}")
    logged = events._read(runner, 0)[0]  # seqs 1 to 3
    reads: list[int] = []
    real_read = events._read_window
    monkeypatch.setattr(
        events, "_read_window", lambda r, end: (reads.append(end), real_read(r, end))[1]
    )

    tail._window = events._Window(end=0, generation=tail.generation)
    generation = tail.generation
    hub.committed(logged[:2])
    assert (tail._window.end, tail.generation) == (2, generation)
    assert tail.after(runner, 0)[0] == [(c, events._text(c)) for c in logged[:2]]
    assert reads == []  # served from what was committed, the log not read

    hub.committed(logged[2:])  # follows on: joins too
    assert (tail._window.end, reads) == (3, [])

    tail._window = events._Window(end=0, generation=tail.generation)
    hub.committed(logged[1:])  # a gap (seq 1 not in the window): counted, read next
    assert tail.generation == generation + 1 and tail._window.end == 0
    assert [c.seq for c, _t in tail.after(runner, 0)[0]] == [1, 2, 3]
    assert reads == [0]

    tail._window = events._Window(end=0, generation=tail.generation - 1)  # stale
    assert not tail.add(logged)
    tail._window = events._Window(end=0, generation=tail.generation)
    scheme = events.Change(seq=1, entity="scheme", op="upsert", data={"id": 1})
    assert not tail.add([scheme])  # a scheme's text is served only once checked
    assert tail._window.end == 0


def test_a_commands_changes_reach_the_window_as_committed_over_http(
    make_desk: Callable[..., Desk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command sent over HTTP hands its committed change rows to the hub: the window holds
    them at once, byte for byte as the log would give them, without a read of the log."""
    from dispatchdesk.server import events

    desk = make_desk()
    app: Any = desk.client.app
    runner, tail = app.state.services.runner, app.state.hub.tail
    desk.cathy.create(summary="First")
    tail.after(runner, runner.head().seq)  # the window starts, current at the head
    reads: list[int] = []
    real_read = events._read_window
    monkeypatch.setattr(
        events, "_read_window", lambda r, end: (reads.append(end), real_read(r, end))[1]
    )
    before = runner.head().seq
    made = desk.cathy.create(summary="Second")
    assert made.status_code == 201, made.text
    edited = desk.cathy.patch(
        f"/incidents/{made.json()['id']}",
        json={"summary": "Second, edited"},
        headers={"If-Match": str(made.json()["version"]), "Idempotency-Key": "edit-1"},
    )
    assert edited.status_code == 200, edited.text
    head = runner.head().seq
    assert head > before and tail._window.end == head
    served = tail.after(runner, before)[0]
    assert reads == []
    logged = [(c.seq, events._text(c)) for c in events._read(runner, before)[0]]
    assert [(c.seq, t) for c, t in served] == logged


def test_the_fanout_time_grows_with_a_loops_streams_up_to_its_most() -> None:
    hub = Hub(fanout_seconds=0.01, per_stream_seconds=0.0001, most_seconds=0.04)
    times = [hub.fanout_seconds(n) for n in (1, 50, 100, 200, 400, 5000)]
    assert times == pytest.approx([0.01, 0.01, 0.01, 0.02, 0.04, 0.04])
    assert Hub(fanout_seconds=3600).fanout_seconds(400) == 3600  # never below the floor


def test_a_loop_with_a_room_of_streams_is_woken_less_often_than_one_with_a_few() -> None:
    """A write to every stream is what a wake-up costs: with a whole room on one loop, a
    burst's held-back wake-up waits the time of that many streams (here 200 × 1 ms), with
    one stream only its 1 ms. Nothing is lost either way: the wake-up comes."""

    async def held_back(streams: int) -> float:
        hub = Hub(fanout_seconds=0.0, per_stream_seconds=0.001, most_seconds=1.0)
        loop = asyncio.get_running_loop()
        waiters = [hub.register() for _ in range(streams)]
        event = waiters[0][1]
        hub.notify()  # after a quiet spell: at once
        assert await _woken(event)
        event.clear()
        start = loop.time()
        hub.notify()  # right after it: held back
        async with asyncio.timeout(10):
            await event.wait()
        return loop.time() - start

    assert asyncio.run(held_back(200)) >= 0.2 - 0.02
    assert asyncio.run(held_back(1)) < 0.1
