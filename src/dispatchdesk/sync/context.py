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
        self.shown_versions: dict[int, int] = {}
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
