"""What the feed, the outbox and the clocks share: the client, the cache, the listeners, the
server clock, and the state the feed keeps (cursor, policy, versions, units and warnings).

One :class:`SyncContext` per engine, on the event loop only (no locks needed for it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from dispatchdesk.cache.entities import INCIDENT
from dispatchdesk.cache.worker import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
from dispatchdesk.domain.grades import DEFAULT_POLICY, GradePolicy
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.entities import EntityState
from dispatchdesk.sync.listeners import Listeners

Sleep = Callable[[float], Awaitable[None]]


class Backoff:
    """Exponential backoff with jitter (half the delay fixed, half random)."""

    def __init__(self, initial: float, maximum: float, factor: float, rng: random.Random) -> None:
        self.initial, self.maximum, self.factor, self._rng = initial, maximum, factor, rng

    def delay(self, attempt: int) -> float:
        delay = min(self.maximum, self.initial * self.factor**attempt)
        return delay / 2 + self._rng.random() * delay / 2


class ShownVersions:
    """Incident versions last shown to the listener, by id: the feed's own (``feed()``, the
    engine's ``versions["incident"]``) except where they differ, which are held here.

    They differ only where a command's reply showed a version the feed has not brought yet
    (or the feed brought an older one than was shown): a handful. A second map of every id
    beside the feed's cost 2.5 MB at 50,000 incidents. The feed's versions of incidents are
    changed through :meth:`feed_brought` and :meth:`forget` (and replaced whole, then
    :meth:`reset`), so each id's shown version stays exactly what it was set to.
    """

    def __init__(self, feed: Callable[[], dict[int, int]]) -> None:
        self._feed = feed
        self._differing: dict[int, int] = {}

    def get(self, incident_id: int, default: int) -> int:
        held = self._differing.get(incident_id)
        return self._feed().get(incident_id, default) if held is None else held

    def __setitem__(self, incident_id: int, version: int) -> None:
        """Shown ``version`` (a command's reply)."""
        if self._feed().get(incident_id) == version:
            self._differing.pop(incident_id, None)
        else:
            self._differing[incident_id] = version

    def feed_brought(self, incident_id: int, version: int) -> bool:
        """The feed brought ``version``: it is the feed's now, and shown unless an older one
        than is shown; returns whether it is to be shown."""
        before = self.get(incident_id, -1)
        self._feed()[incident_id] = version
        if version >= before:
            self._differing.pop(incident_id, None)
            return True
        self._differing[incident_id] = before  # a command's reply showed a newer one
        return False

    def forget(self, incident_id: int) -> None:
        """The incident is gone: neither the feed nor the screen has a version of it."""
        self._feed().pop(incident_id, None)
        self._differing.pop(incident_id, None)

    def reset(self) -> None:
        """Shown = the feed's, for every id (a snapshot, or the cache at start, was shown)."""
        self._differing.clear()

    def __len__(self) -> int:
        """Ids whose shown version differs from the feed's."""
        return len(self._differing)


class SyncContext:
    """Shared by the parts of one sync engine."""

    def __init__(
        self,
        client: ApiClient,
        worker: CacheWorker,
        listeners: Listeners,
        clock: ServerClock,
        *,
        backoff: Backoff,
        sleep: Sleep,
        wall: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.worker = worker
        self.store = worker.store
        self.listeners = listeners
        self.clock = clock
        self.backoff = backoff
        self.sleep = sleep
        #: The local wall clock that stamps commands and ages them.
        self.wall = wall
        self.policy: GradePolicy = DEFAULT_POLICY
        self.cursor: int | None = None
        self.last_synced_at: datetime | None = None
        #: Units, schemes, orders, acknowledgements, and the versions the feed has brought.
        self.entities = EntityState()
        #: Incident versions last shown to the listener (feed, or a command's returned entity).
        self.shown_versions = ShownVersions(lambda: self.entities.versions[INCIDENT.name])
        self.online = False
        self.stopping = False
        #: Set when the warnings changed: the expiry clock looks again.
        self.expiry_wake = asyncio.Event()
        self._connection: ConnectionInfo | None = None
        self._last_problem: str | None = None
        self._writes: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the loop; :meth:`drain` waits for it at stop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def drain(self) -> None:
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    def problem(self, message: str) -> None:
        """Report ``message`` once (until the next problem, or going online)."""
        if message != self._last_problem:
            self._last_problem = message
            self.listeners.on_problem(message)

    def signed_out(self, message: str) -> None:
        """The server refused the session; reported once, like a problem."""
        if message != self._last_problem:
            self._last_problem = message
            self.listeners.on_signed_out(message)

    def clear_problem(self) -> None:
        self._last_problem = None

    def set_connection(self, state: ConnectionState, message: str | None = None) -> None:
        server = self.client.server if len(self.client.servers) > 1 else None
        info = ConnectionInfo(
            state=state, last_synced_at=self.last_synced_at, message=message, server=server
        )
        if info != self._connection:
            self._connection = info
            self.listeners.on_connection(info)

    def emit_notices(self) -> None:
        self.listeners.on_notices(
            list(self.entities.notices.values()), dict(self.entities.notice_reads)
        )

    def emit_warnings(self) -> None:
        self.listeners.on_warnings(self.entities.index, frozenset(self.entities.acknowledged))
